/**
 * One connection of the ZooKeeper-protocol listener: turns ZooKeeper's jute frames into the
 * replica's requests and the replica's messages back into jute frames, so a session, znode or
 * watch made through either listener is the same through the other.
 *
 * Requests get xids of their own (1, 2, 3, ...) on the way in: ZooKeeper clients use -2 for pings,
 * -4 for auth and -8 for setWatches, and the replica wants growing xids. Each carries the client's
 * xid and opcode back out, since a ZooKeeper reply does not name its record. A request that cannot
 * be served (an unknown opcode, bad arguments, reconfig, SASL) becomes an `invalid` event, so its
 * error is answered in order like any other answer and the connection stays usable.
 * @module
 */
import { zeroStat } from "../tree/types.ts";
import type {
  ClientRequest,
  ConnectRequest,
  Invalid,
  MultiResult as CorralMultiResult,
  ServerMessage,
} from "../wire/messages.ts";
import { parseConnect, parseRequest } from "../wire/messages.ts";
import { protocolVersion, sessionPasswordBytes } from "../constants.ts";
import {
  CreateFlag,
  EventType,
  KeeperCode,
  KeeperState,
  WatcherType,
  Xid,
  zkCodeOf,
} from "../zk/codes.ts";
import {
  decodeConnectRequest,
  decodeRequest,
  encodeConnectResponse,
  encodeReply,
  type MultiResult,
  type ZkRequest,
  type ZkResponse,
} from "../zk/records.ts";

/** What the host does with one ZooKeeper frame. */
export type ZkInbound =
  | { kind: "request"; request: ClientRequest }
  | { kind: "invalid"; xid: number; err: Invalid["err"]; message: string }
  | { kind: "close"; reason: string };

interface Pending {
  /** The client's xid. */
  xid: number;
  /** The ZooKeeper opcode name the client sent. */
  op: ZkRequest["op"];
  /** For a multi: which of its creates asked for a stat in the result (create2, TTL, container). */
  createsWithStat?: boolean[];
}

const modeOfFlag: Record<number, string> = {
  [CreateFlag.persistent]: "persistent",
  [CreateFlag.ephemeral]: "ephemeral",
  [CreateFlag.persistentSequential]: "persistentSequential",
  [CreateFlag.ephemeralSequential]: "ephemeralSequential",
  [CreateFlag.container]: "container",
  [CreateFlag.persistentWithTtl]: "persistentWithTtl",
  [CreateFlag.persistentSequentialWithTtl]: "persistentSequentialWithTtl",
};

const watcherTypeName: Record<number, string> = {
  [WatcherType.children]: "children",
  [WatcherType.data]: "data",
  [WatcherType.any]: "any",
  [WatcherType.persistent]: "persistent",
  [WatcherType.persistentRecursive]: "persistentRecursive",
};

/**
 * Translates one ZooKeeper client connection.
 *
 * @example
 * ```ts
 * import { ZkConnection } from "./zk_connection.ts";
 * const zk = new ZkConnection();
 * // zk.connect(payload) for the first frame, zk.request(payload) for each later one, and
 * // zk.encode(message) for each message the replica sends to this connection.
 * ```
 */
export class ZkConnection {
  #nextXid = 1;
  readonly #pending = new Map<number, Pending>();
  /** Whether the client's connect request carried the trailing readOnly flag. */
  #sentReadOnly = false;
  /** Set once the connection should close after what is queued (a failed auth). */
  closeAfterSend = false;

  /** The first frame: ZooKeeper's ConnectRequest as the replica's connect request. */
  connect(payload: Uint8Array): { ok: true; request: ConnectRequest } | Invalid {
    const decoded = decodeConnectRequest(payload);
    if (!decoded.ok) {
      return { ok: false, xid: null, err: "MarshallingError", message: decoded.reason };
    }
    const zk = decoded.value;
    // A client that would accept a read-only server (canBeReadOnly) gets a read-write one, as
    // from a ZooKeeper server with a quorum: the reply says readOnly false.
    this.#sentReadOnly = zk.readOnly !== undefined;
    const parsed = parseConnect({
      op: "connect",
      proto: protocolVersion,
      timeoutMs: zk.timeOut,
      sessionId: zk.sessionId,
      password: zk.passwd,
      lastZxid: zk.lastZxidSeen,
    });
    return parsed.ok ? { ok: true, request: parsed.value } : parsed;
  }

  /** A later frame: one request, or an error to answer in order, or a reason to close. */
  request(payload: Uint8Array): ZkInbound {
    const decoded = decodeRequest(payload);
    if (!decoded.ok) {
      if (decoded.xid === null) return { kind: "close", reason: decoded.reason };
      const xid = this.#track({ xid: decoded.xid, op: "ping" });
      return { kind: "invalid", xid, err: "MarshallingError", message: decoded.reason };
    }
    const zk = decoded.request;
    const pending: Pending = { xid: decoded.header.xid, op: zk.op };
    const xid = this.#track(pending);
    switch (zk.op) {
      case "unknown":
        return invalid(xid, "Unimplemented", `opcode ${zk.type} is not implemented`);
      case "reconfig":
        return invalid(xid, "ReconfigDisabled", "dynamic reconfiguration is not supported");
      case "sasl":
        return invalid(xid, "Unimplemented", "SASL is not supported; use digest auth");
    }
    const body = this.#corralBody(zk, pending);
    if ("err" in body) return invalid(xid, body.err as Invalid["err"], body.message as string);
    (body as Record<string, unknown>).xid = xid;
    const parsed = parseRequest(body);
    return parsed.ok
      ? { kind: "request", request: parsed.value }
      : invalid(xid, parsed.err, parsed.message);
  }

  /** A replica message as ZooKeeper bytes; null when ZooKeeper has nothing to send for it. */
  encode(message: ServerMessage): Uint8Array | null {
    switch (message.t) {
      case "connected":
        return encodeConnectResponse({
          protocolVersion: 0,
          timeOut: message.timeoutMs,
          sessionId: message.sessionId,
          passwd: message.password,
          ...(this.#sentReadOnly ? { readOnly: false } : {}),
        });
      case "refused":
        // ZooKeeper tells an expired session by a zero timeout and session id, then closes.
        return message.err === "SessionExpired"
          ? encodeConnectResponse({
            protocolVersion: 0,
            timeOut: 0,
            sessionId: 0,
            passwd: new Uint8Array(sessionPasswordBytes),
            ...(this.#sentReadOnly ? { readOnly: false } : {}),
          })
          : null;
      case "event":
        return encodeReply({ xid: Xid.notification, zxid: message.zxid, err: 0 }, {
          record: "WatcherEvent",
          type: EventType[message.type],
          state: KeeperState.SyncConnected,
          path: message.path,
        });
      case "error":
        return null;
      case "res":
        return this.#reply(message);
    }
  }

  #track(pending: Pending): number {
    const xid = this.#nextXid++;
    if (this.#nextXid > 0x7fffffff) this.#nextXid = 1;
    this.#pending.set(xid, pending);
    return xid;
  }

  /** The request as the CBOR protocol spells it (validated by `parseRequest` next). */
  #corralBody(zk: Exclude<ZkRequest, { op: "unknown" | "reconfig" | "sasl" }>, pending: Pending) {
    switch (zk.op) {
      case "create":
      case "create2":
      case "createContainer":
      case "createTTL":
        return createBody(zk);
      case "delete":
        return { op: "delete", path: zk.path, version: zk.version };
      case "deleteContainer":
        return { op: "deleteContainer", path: zk.path };
      case "exists":
      case "getData":
      case "getChildren":
        return { op: zk.op, path: zk.path, watch: zk.watch };
      case "getChildren2":
        return { op: "getChildren", path: zk.path, watch: zk.watch };
      case "setData":
        return zk.data === null
          ? { op: "setData", path: zk.path, data: noData, dataNull: true, version: zk.version }
          : { op: "setData", path: zk.path, data: zk.data, version: zk.version };
      case "getACL":
      case "sync":
      case "getAllChildrenNumber":
        return { op: zk.op, path: zk.path };
      case "setACL":
        return { op: "setACL", path: zk.path, acl: zk.acl, version: zk.version };
      case "check":
        return { op: "check", path: zk.path, version: zk.version };
      case "multi": {
        pending.createsWithStat = zk.ops.map((op) => op.op !== "create");
        const ops = [];
        for (const op of zk.ops) {
          const body = op.op === "create" || op.op === "create2" || op.op === "createContainer" ||
              op.op === "createTTL"
            ? createBody(op)
            : op.op === "setData"
            ? {
              op: "setData",
              path: op.path,
              ...dataOf(op.data),
              version: op.version,
            }
            : { op: op.op, path: op.path, version: op.version };
          if ("err" in body) return body;
          ops.push(body);
        }
        return { op: "multi", ops };
      }
      case "multiRead":
        return { op: "multiRead", ops: zk.ops.map((op) => ({ op: op.op, path: op.path })) };
      case "checkWatches":
      case "removeWatches": {
        const type = watcherTypeName[zk.type];
        if (!type) return { err: "BadArguments", message: `unknown watcher type ${zk.type}` };
        return { op: zk.op, path: zk.path, type };
      }
      case "addWatch":
        if (zk.mode !== 0 && zk.mode !== 1) {
          return { err: "BadArguments", message: `unknown addWatch mode ${zk.mode}` };
        }
        return {
          op: "addWatch",
          path: zk.path,
          mode: zk.mode === 0 ? "persistent" : "persistentRecursive",
        };
      case "getEphemerals":
        return { op: "getEphemerals", prefix: zk.prefixPath ? zk.prefixPath : "/" };
      case "auth":
        return { op: "addAuth", scheme: zk.scheme, auth: zk.auth };
      case "setWatches":
      case "setWatches2":
        return {
          op: "setWatches",
          relativeZxid: zk.relativeZxid,
          dataWatches: zk.dataWatches,
          existWatches: zk.existWatches,
          childWatches: zk.childWatches,
          ...(zk.op === "setWatches2"
            ? {
              persistentWatches: zk.persistentWatches,
              persistentRecursiveWatches: zk.persistentRecursiveWatches,
            }
            : {}),
        };
      case "ping":
        return { op: "ping" };
      case "closeSession":
        return { op: "close" };
      case "whoAmI":
        return { op: "whoAmI" };
    }
  }

  #reply(message: Extract<ServerMessage, { t: "res" }>): Uint8Array | null {
    const pending = this.#pending.get(message.xid);
    if (!pending) return null;
    this.#pending.delete(message.xid);
    const header = { xid: pending.xid, zxid: message.zxid, err: 0 };
    if (message.err !== undefined) {
      if (pending.op === "multi" && message.results) {
        // A failed multi: header ok, every result an error (0 for the ops rolled back).
        return encodeReply(header, {
          record: "MultiResponse",
          results: message.results.map((r) => ({
            op: "error",
            err: r.op === "error" ? zkCodeOf(r.err) : KeeperCode.Ok,
          })),
        });
      }
      if (pending.op === "auth" && message.err === "AuthFailed") this.closeAfterSend = true;
      return encodeReply({ ...header, err: zkCodeOf(message.err) });
    }
    const body = this.#replyBody(pending, message);
    if (body === "noNode") return encodeReply({ ...header, err: KeeperCode.NoNode });
    return encodeReply(header, body);
  }

  #replyBody(
    pending: Pending,
    message: Extract<ServerMessage, { t: "res" }>,
  ): ZkResponse | null | "noNode" {
    const stat = message.stat ?? zeroStat();
    switch (pending.op) {
      case "create":
        return { record: "CreateResponse", path: message.path! };
      case "create2":
      case "createTTL":
      case "createContainer":
        return { record: "Create2Response", path: message.path!, stat };
      case "exists":
        return message.stat ? { record: "StatResponse", stat: message.stat } : "noNode";
      case "setData":
      case "setACL":
      case "check":
        return { record: "StatResponse", stat };
      case "getData":
        return {
          record: "GetDataResponse",
          data: message.dataNull ? null : message.data ?? new Uint8Array(0),
          stat,
        };
      case "getACL":
        return { record: "GetACLResponse", acl: message.acl ?? [], stat };
      case "getChildren":
        return { record: "GetChildrenResponse", children: message.children ?? [] };
      case "getChildren2":
        return { record: "GetChildren2Response", children: message.children ?? [], stat };
      case "sync":
        return { record: "SyncResponse", path: message.path ?? "/" };
      case "getEphemerals":
        return { record: "GetEphemeralsResponse", ephemerals: message.ephemerals ?? [] };
      case "getAllChildrenNumber":
        return { record: "GetAllChildrenNumberResponse", totalNumber: message.count ?? 0 };
      case "whoAmI":
        return {
          record: "WhoAmIResponse",
          clientInfo: (message.clientInfo ?? []).map((c) => ({
            authScheme: c.scheme,
            user: c.user,
          })),
        };
      case "addWatch":
        return { record: "ErrorResponse", err: 0 };
      case "multi":
        return {
          record: "MultiResponse",
          results: (message.results ?? []).map((r, i) =>
            multiResult(r, pending.createsWithStat?.[i])
          ),
        };
      case "multiRead":
        return {
          record: "MultiResponse",
          results: (message.readResults ?? []).map((r): MultiResult =>
            r.op === "error"
              ? { op: "error", err: zkCodeOf(r.err) }
              : r.op === "getData"
              ? { op: "getData", data: r.dataNull ? null : r.data, stat: r.stat }
              : r
          ),
        };
      default:
        return null;
    }
  }
}

/** An answer to a request that cannot be served: its error, answered in order. */
function invalid(xid: number, err: Invalid["err"], message: string): ZkInbound {
  return { kind: "invalid", xid, err, message };
}

/** The data of ZooKeeper's null data (with `dataNull`): shared, the tree never mutates data. */
const noData = new Uint8Array(0);

function createBody(
  zk: Extract<ZkRequest, { op: "create" | "create2" | "createContainer" | "createTTL" }>,
): Record<string, unknown> {
  const mode = modeOfFlag[zk.flags];
  const container = zk.flags === CreateFlag.container;
  const ttl = zk.flags === CreateFlag.persistentWithTtl ||
    zk.flags === CreateFlag.persistentSequentialWithTtl;
  if (!mode) return { err: "BadArguments", message: `unknown create flags ${zk.flags}` };
  if (container !== (zk.op === "createContainer")) {
    return { err: "BadArguments", message: "a container is created with createContainer only" };
  }
  if (ttl !== (zk.op === "createTTL")) {
    return { err: "BadArguments", message: "a TTL node is created with createTTL only" };
  }
  return {
    op: "create",
    path: zk.path,
    ...dataOf(zk.data),
    acl: zk.acl,
    mode,
    ...(zk.op === "createTTL" ? { ttlMs: zk.ttl } : {}),
  };
}

/** ZooKeeper's data as the CBOR protocol spells it: null data is empty data with `dataNull`. */
function dataOf(data: Uint8Array | null): { data: Uint8Array; dataNull?: true } {
  return data === null ? { data: noData, dataNull: true } : { data };
}

function multiResult(result: CorralMultiResult, withStat = false): MultiResult {
  switch (result.op) {
    case "create":
      return withStat
        ? { op: "create2", path: result.path, stat: result.stat }
        : { op: "create", path: result.path };
    case "setData":
      return { op: "setData", stat: result.stat };
    case "delete":
      return { op: "delete" };
    case "check":
      return { op: "check" };
    case "error":
      return { op: "error", err: zkCodeOf(result.err) };
  }
}
