/**
 * Message schemas of the CBOR client protocol (docs/PROTOCOL.md), and the validation that turns
 * an untrusted decoded value into a typed request or a precise error.
 *
 * Every client frame is a CBOR map. The first one is a {@linkcode ConnectRequest}; every later one
 * is a {@linkcode ClientRequest} with an `xid`. The server answers with {@linkcode ServerMessage}s.
 * @module
 */
import type { Acl, CreateMode, ErrorCode, Stat, WatchEventType } from "../tree/types.ts";
import {
  aclEntriesMax,
  authBytesMax,
  dataBytesMax,
  multiOpsMax,
  protocolVersion,
  protocolVersionMin,
  setWatchesPathsMax,
  snapshotReadBytesMax,
  ttlMsMax,
} from "../constants.ts";
import { createModes, sequentialModes, ttlModes } from "../tree/types.ts";
import { validatePath } from "../tree/path.ts";

/** First frame of a connection: open a new session (`sessionId` 0) or resume one. */
export interface ConnectRequest {
  op: "connect";
  /**
   * Protocol version the client speaks, from {@linkcode protocolVersionMin} to
   * {@linkcode protocolVersion}; the connection speaks it both ways.
   */
  proto: number;
  /** Requested session timeout; the server clamps it to [2, 20] ticks. */
  timeoutMs: number;
  /** 0 for a new session, else the id of the session to resume. */
  sessionId: number;
  /** Password of the session to resume (empty for a new one). */
  password: Uint8Array;
  /** Highest zxid the client has seen; a server behind it refuses the connection. */
  lastZxid: number;
}

/** One op of a multi (REFERENCE §1). */
export type MultiOp =
  | { op: "check"; path: string; version: number }
  | {
    op: "create";
    path: string;
    data: Uint8Array;
    acl: Acl[];
    mode: CreateMode;
    /** Milliseconds a TTL node may stay unchanged and childless (TTL modes only). */
    ttlMs?: number;
    /** ZooKeeper's null data (`data` must then be empty): getData answers `dataNull`. */
    dataNull?: true;
  }
  | {
    op: "setData";
    path: string;
    data: Uint8Array;
    version: number;
    /** ZooKeeper's null data (`data` must then be empty). */
    dataNull?: true;
  }
  | { op: "delete"; path: string; version: number };

/** A validated client request. `version` -1 means "any version". */
export type ClientRequest =
  & { xid: number }
  & (
    | MultiOp
    | { op: "exists"; path: string; watch: boolean }
    | { op: "getData"; path: string; watch: boolean }
    | { op: "getChildren"; path: string; watch: boolean }
    | { op: "getACL"; path: string }
    | { op: "setACL"; path: string; acl: Acl[]; version: number }
    | { op: "sync"; path: string }
    | { op: "multi"; ops: MultiOp[] }
    | { op: "ping" }
    | { op: "addAuth"; scheme: string; auth: Uint8Array }
    | {
      op: "setWatches";
      relativeZxid: number;
      dataWatches: string[];
      existWatches: string[];
      childWatches: string[];
      /** Persistent watches (addWatch) to register again; they fire nothing for what was missed. */
      persistentWatches?: string[];
      persistentRecursiveWatches?: string[];
    }
    /** A persistent watch on `path` (or on its whole subtree): it stays after it fires. */
    | { op: "addWatch"; path: string; mode: AddWatchMode }
    /** Removes this session's watches of `type` on `path`; NoWatcher when there are none. */
    | { op: "removeWatches"; path: string; type: WatcherType }
    /** NoWatcher unless this session has a watch of `type` on `path`; removes nothing. */
    | { op: "checkWatches"; path: string; type: WatcherType }
    /** Paths of this session's ephemerals that start with `prefix` (as a string). */
    | { op: "getEphemerals"; prefix: string }
    /** Number of nodes below `path`, at every depth. */
    | { op: "getAllChildrenNumber"; path: string }
    /** The identities the connection authenticated as. */
    | { op: "whoAmI" }
    /** Several reads answered together, each on its own (one failing does not fail the rest). */
    | { op: "multiRead"; ops: ReadOp[] }
    /** Deletes a container or TTL node that has no children (what the server does itself). */
    | { op: "deleteContainer"; path: string }
    | { op: "close" }
    /** Online backup: capture a consistent snapshot for this connection (super or loopback only). */
    | { op: "snapshot" }
    /** Online backup: read bytes of the snapshot captured on this connection. */
    | { op: "snapshotRead"; offset: number; length: number }
  );

/** The persistent watch modes of addWatch. */
export type AddWatchMode = "persistent" | "persistentRecursive";

/** Which watches removeWatches and checkWatches mean (ZooKeeper's WatcherType). */
export type WatcherType = "children" | "data" | "any" | "persistent" | "persistentRecursive";

/** Every {@linkcode WatcherType}, for validation. */
export const watcherTypes: readonly WatcherType[] = [
  "children",
  "data",
  "any",
  "persistent",
  "persistentRecursive",
];

/**
 * One read of a multiRead.
 *
 * @example
 * ```ts
 * import type { ReadOp } from "./messages.ts";
 * const reads: ReadOp[] = [{ op: "getData", path: "/config" }, { op: "getChildren", path: "/jobs" }];
 * ```
 */
export type ReadOp = { op: "getData"; path: string } | { op: "getChildren"; path: string };

/**
 * Result of one read of a multiRead: what the read returns, or an `{op: "error", err, message}`
 * object when that read failed (the others are unaffected).
 */
export type ReadResult =
  | { op: "getData"; data: Uint8Array; stat: Stat; dataNull?: true }
  | { op: "getChildren"; children: string[] }
  | { op: "error"; err: ErrorCode; message: string };

/** An identity a connection holds, as whoAmI tells it. */
export interface ClientInfo {
  /** `ip`, `digest`, or `super`. */
  scheme: string;
  /** For `digest`, the user name; for `ip`, the address. */
  user: string;
}

/** The op names a client may send after the handshake. */
export type RequestOp = ClientRequest["op"];

/** Ops that change the tree, and so become txns. */
export const writeOps: ReadonlySet<RequestOp> = new Set<RequestOp>([
  "create",
  "delete",
  "setData",
  "setACL",
  "multi",
  "check",
  "close",
  "deleteContainer",
]);

/** Result of one op inside a multi response. */
export type MultiResult =
  | { op: "check" }
  | { op: "create"; path: string; stat: Stat }
  | { op: "setData"; stat: Stat }
  | { op: "delete" }
  | { op: "error"; err: ErrorCode; message: string };

/**
 * The answer to one request. On success `err` is absent and the op's fields are set: create ->
 * `path`, `stat`; getData -> `data`, `stat`; exists -> `stat` (null when missing); getChildren ->
 * `children`, `stat`; getACL -> `acl`, `stat`; setData/setACL -> `stat`; sync -> `path`; multi ->
 * `results`. On failure `err` and `message` are set (and `results` for a failed multi).
 */
export interface ResponseMessage {
  t: "res";
  xid: number;
  /** The txn's zxid for a write; the server's last applied zxid otherwise. */
  zxid: number;
  err?: ErrorCode;
  message?: string;
  path?: string;
  stat?: Stat | null;
  data?: Uint8Array;
  /** getData: the node holds ZooKeeper's null data (`data` is then empty). */
  dataNull?: true;
  children?: string[];
  acl?: Acl[];
  results?: MultiResult[];
  /** multiRead: one result per read. */
  readResults?: ReadResult[];
  /** getEphemerals. */
  ephemerals?: string[];
  /** getAllChildrenNumber. */
  count?: number;
  /** whoAmI. */
  clientInfo?: ClientInfo[];
}

/** Limits the server announces in the handshake so a client can stay within them. */
export interface ServerLimits {
  /** Largest frame the server accepts, in bytes (length prefix excluded). */
  frameBytesMax: number;
  /** Largest znode value, in bytes. */
  dataBytesMax: number;
  /** Most requests one connection may have unanswered. */
  pendingRequestsMax: number;
}

/** Everything the server sends. */
export type ServerMessage =
  | {
    t: "connected";
    proto: number;
    sessionId: number;
    password: Uint8Array;
    timeoutMs: number;
    zxid: number;
    serverId: number;
    limits: ServerLimits;
  }
  | { t: "refused"; err: ErrorCode; message: string }
  | ResponseMessage
  | { t: "event"; type: WatchEventType; path: string; zxid: number }
  | { t: "error"; err: ErrorCode; message: string };

/** Why a decoded value is not a valid message. `xid` is set when the request can be answered. */
export interface Invalid {
  ok: false;
  xid: number | null;
  err: ErrorCode;
  message: string;
}

/** Outcome of validating one client frame. */
export type Parsed<T> = { ok: true; value: T } | Invalid;

class Bad extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Uint8Array);
}

function int(obj: Record<string, unknown>, key: string, fallback?: number): number {
  const value = obj[key];
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new Bad("BadArguments", `field "${key}" must be an integer`);
  }
  return value;
}

function bool(obj: Record<string, unknown>, key: string): boolean {
  const value = obj[key];
  if (value === undefined) return false;
  if (typeof value !== "boolean") throw new Bad("BadArguments", `field "${key}" must be a boolean`);
  return value;
}

function bytes(obj: Record<string, unknown>, key: string, max: number): Uint8Array {
  const value = obj[key];
  if (value === undefined || value === null) return new Uint8Array(0);
  if (!(value instanceof Uint8Array)) {
    throw new Bad("BadArguments", `field "${key}" must be a byte string`);
  }
  if (value.byteLength > max) {
    throw new Bad(
      "BadArguments",
      `field "${key}" is ${value.byteLength} bytes, over the ${max}-byte limit`,
    );
  }
  return value;
}

function str(obj: Record<string, unknown>, key: string): string {
  const value = obj[key];
  if (typeof value !== "string") throw new Bad("BadArguments", `field "${key}" must be a string`);
  return value;
}

function path(obj: Record<string, unknown>, key = "path", sequential = false): string {
  const value = str(obj, key);
  const problem = validatePath(value, sequential);
  if (problem !== null) {
    throw new Bad("BadArguments", `invalid path ${JSON.stringify(value)}: ${problem}`);
  }
  return value;
}

function version(obj: Record<string, unknown>): number {
  const value = int(obj, "version", -1);
  if (value < -1 || value > 0x7fffffff) {
    throw new Bad("BadArguments", `field "version" must be -1 or a 32-bit version`);
  }
  return value;
}

function acl(obj: Record<string, unknown>): Acl[] {
  const value = obj["acl"];
  if (value === undefined) return [{ perms: 31, scheme: "world", id: "anyone" }];
  if (!Array.isArray(value)) throw new Bad("BadArguments", `field "acl" must be an array`);
  if (value.length > aclEntriesMax) {
    throw new Bad("InvalidACL", `an ACL has at most ${aclEntriesMax} entries`);
  }
  return value.map((entry, i) => {
    if (!isRecord(entry)) throw new Bad("InvalidACL", `acl[${i}] must be a map`);
    const perms = entry["perms"];
    if (typeof perms !== "number" || !Number.isInteger(perms) || perms < 0 || perms > 31) {
      throw new Bad("InvalidACL", `acl[${i}].perms must be an integer in [0, 31]`);
    }
    if (typeof entry["scheme"] !== "string" || typeof entry["id"] !== "string") {
      throw new Bad("InvalidACL", `acl[${i}] needs string "scheme" and "id"`);
    }
    return { perms, scheme: entry["scheme"], id: entry["id"] };
  });
}

function mode(obj: Record<string, unknown>): CreateMode {
  const value = obj["mode"] ?? "persistent";
  if (typeof value !== "string" || !(createModes as readonly string[]).includes(value)) {
    throw new Bad("BadArguments", `field "mode" must be one of ${createModes.join(", ")}`);
  }
  return value as CreateMode;
}

function paths(obj: Record<string, unknown>, key: string): string[] {
  const value = obj[key];
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new Bad("BadArguments", `field "${key}" must be an array`);
  if (value.length > setWatchesPathsMax) {
    throw new Bad("BadArguments", `field "${key}" has more than ${setWatchesPathsMax} paths`);
  }
  return value.map((_, i) => path(value as unknown as Record<string, unknown>, String(i)));
}

function multiOp(value: unknown, i: number): MultiOp {
  if (!isRecord(value)) throw new Bad("BadArguments", `ops[${i}] must be a map`);
  switch (value["op"]) {
    case "check":
      return { op: "check", path: path(value), version: version(value) };
    case "create": {
      const createMode = mode(value);
      const withTtl = ttlModes.has(createMode);
      const created: Extract<MultiOp, { op: "create" }> = {
        op: "create",
        path: path(value, "path", sequentialModes.has(createMode)),
        data: bytes(value, "data", dataBytesMax),
        acl: acl(value),
        mode: createMode,
      };
      if (nullData(value)) created.dataNull = true;
      if (withTtl) {
        const ttlMs = int(value, "ttlMs");
        if (ttlMs < 1 || ttlMs > ttlMsMax) {
          throw new Bad("BadArguments", `field "ttlMs" must be in [1, ${ttlMsMax}]`);
        }
        created.ttlMs = ttlMs;
      } else if (value["ttlMs"] !== undefined) {
        throw new Bad("BadArguments", `field "ttlMs" is only for the TTL create modes`);
      }
      return created;
    }
    case "setData": {
      const set: Extract<MultiOp, { op: "setData" }> = {
        op: "setData",
        path: path(value),
        data: bytes(value, "data", dataBytesMax),
        version: version(value),
      };
      if (nullData(value)) set.dataNull = true;
      return set;
    }
    case "delete":
      return { op: "delete", path: path(value), version: version(value) };
    default:
      throw new Bad("BadArguments", `ops[${i}].op must be check, create, setData or delete`);
  }
}

/** The `dataNull` flag: absent (false), or true with empty (or no) `data`. */
function nullData(obj: Record<string, unknown>): boolean {
  const flag = obj["dataNull"];
  if (flag === undefined || flag === false) return false;
  if (flag !== true) throw new Bad("BadArguments", `field "dataNull" must be a boolean`);
  const data = obj["data"];
  if (data instanceof Uint8Array && data.byteLength > 0) {
    throw new Bad("BadArguments", `field "dataNull" is only for empty data`);
  }
  return true;
}

function readOp(value: unknown, i: number): ReadOp {
  if (!isRecord(value)) throw new Bad("BadArguments", `ops[${i}] must be a map`);
  const op = value["op"];
  if (op !== "getData" && op !== "getChildren") {
    throw new Bad("BadArguments", `ops[${i}].op must be getData or getChildren`);
  }
  return { op, path: path(value) };
}

function request(obj: Record<string, unknown>, xid: number): ClientRequest {
  const op = obj["op"];
  switch (op) {
    case "create":
    case "setData":
    case "delete":
    case "check": {
      // The op's own object gains the xid: no copy of it (the hot path of writes).
      const single = multiOp(obj, 0) as ClientRequest;
      single.xid = xid;
      return single;
    }
    case "exists":
    case "getData":
    case "getChildren":
      return { xid, op, path: path(obj), watch: bool(obj, "watch") };
    case "getACL":
    case "sync":
      return { xid, op, path: path(obj) };
    case "setACL":
      return { xid, op, path: path(obj), acl: acl(obj), version: version(obj) };
    case "multi": {
      const ops = obj["ops"];
      if (!Array.isArray(ops)) throw new Bad("BadArguments", `field "ops" must be an array`);
      if (ops.length > multiOpsMax) {
        throw new Bad("BadArguments", `a multi has at most ${multiOpsMax} ops`);
      }
      return { xid, op, ops: ops.map(multiOp) };
    }
    case "ping":
    case "close":
    case "snapshot":
      return { xid, op };
    case "snapshotRead": {
      const offset = int(obj, "offset");
      const length = int(obj, "length");
      if (offset < 0) throw new Bad("BadArguments", `field "offset" must not be negative`);
      if (length < 1 || length > snapshotReadBytesMax) {
        throw new Bad("BadArguments", `field "length" must be in [1, ${snapshotReadBytesMax}]`);
      }
      return { xid, op, offset, length };
    }
    case "addAuth":
      return { xid, op, scheme: str(obj, "scheme"), auth: bytes(obj, "auth", authBytesMax) };
    case "setWatches":
      return {
        xid,
        op,
        relativeZxid: int(obj, "relativeZxid", 0),
        dataWatches: paths(obj, "dataWatches"),
        existWatches: paths(obj, "existWatches"),
        childWatches: paths(obj, "childWatches"),
        ...(obj["persistentWatches"] === undefined
          ? {}
          : { persistentWatches: paths(obj, "persistentWatches") }),
        ...(obj["persistentRecursiveWatches"] === undefined
          ? {}
          : { persistentRecursiveWatches: paths(obj, "persistentRecursiveWatches") }),
      };
    case "addWatch": {
      const watchMode = obj["mode"];
      if (watchMode !== "persistent" && watchMode !== "persistentRecursive") {
        throw new Bad("BadArguments", `field "mode" must be persistent or persistentRecursive`);
      }
      return { xid, op, path: path(obj), mode: watchMode };
    }
    case "removeWatches":
    case "checkWatches": {
      const type = obj["type"];
      if (typeof type !== "string" || !(watcherTypes as readonly string[]).includes(type)) {
        throw new Bad("BadArguments", `field "type" must be one of ${watcherTypes.join(", ")}`);
      }
      return { xid, op, path: path(obj), type: type as WatcherType };
    }
    case "getEphemerals": {
      const prefix = obj["prefix"] ?? "/";
      if (typeof prefix !== "string" || !prefix.startsWith("/")) {
        throw new Bad("BadArguments", `field "prefix" must be a string that starts with /`);
      }
      return { xid, op, prefix };
    }
    case "getAllChildrenNumber":
    case "deleteContainer":
      return { xid, op, path: path(obj) };
    case "whoAmI":
      return { xid, op };
    case "multiRead": {
      const ops = obj["ops"];
      if (!Array.isArray(ops)) throw new Bad("BadArguments", `field "ops" must be an array`);
      if (ops.length > multiOpsMax) {
        throw new Bad("BadArguments", `a multiRead has at most ${multiOpsMax} ops`);
      }
      return { xid, op, ops: ops.map(readOp) };
    }
    default:
      throw new Bad(
        typeof op === "string" ? "Unimplemented" : "BadArguments",
        typeof op === "string"
          ? `unknown op ${JSON.stringify(op.slice(0, 64))}`
          : `field "op" must be a string`,
      );
  }
}

/**
 * Validates a decoded frame as a request. When the frame carries a usable `xid`, an invalid
 * request is answered with an error response; otherwise the connection must close.
 *
 * @example
 * ```ts
 * import { parseRequest } from "./messages.ts";
 * const parsed = parseRequest({ xid: 1, op: "getData", path: "/a" });
 * if (parsed.ok) console.log(parsed.value.op); // "getData"
 * ```
 */
export function parseRequest(value: unknown): Parsed<ClientRequest> {
  if (!isRecord(value)) {
    return {
      ok: false,
      xid: null,
      err: "MarshallingError",
      message: "a request must be a CBOR map",
    };
  }
  const xid = value["xid"];
  if (typeof xid !== "number" || !Number.isSafeInteger(xid) || xid < 0 || xid > 0x7fffffff) {
    return {
      ok: false,
      xid: null,
      err: "MarshallingError",
      message: `field "xid" must be an integer in [0, 2^31)`,
    };
  }
  try {
    return { ok: true, value: request(value, xid) };
  } catch (e) {
    if (e instanceof Bad) return { ok: false, xid, err: e.code, message: e.message };
    throw e;
  }
}

/** Validates the first frame of a connection. */
export function parseConnect(value: unknown): Parsed<ConnectRequest> {
  try {
    if (!isRecord(value) || value["op"] !== "connect") {
      throw new Bad("MarshallingError", `the first frame must be a map with op "connect"`);
    }
    const proto = int(value, "proto");
    if (proto < protocolVersionMin || proto > protocolVersion) {
      throw new Bad(
        "MarshallingError",
        `protocol version ${proto} is not supported; this server speaks ${protocolVersionMin} to ${protocolVersion}`,
      );
    }
    const timeoutMs = int(value, "timeoutMs");
    if (timeoutMs <= 0) throw new Bad("BadArguments", `field "timeoutMs" must be positive`);
    const sessionId = int(value, "sessionId", 0);
    if (sessionId < 0) throw new Bad("BadArguments", `field "sessionId" must not be negative`);
    return {
      ok: true,
      value: {
        op: "connect",
        proto,
        timeoutMs,
        sessionId,
        password: bytes(value, "password", 64),
        lastZxid: int(value, "lastZxid", 0),
      },
    };
  } catch (e) {
    if (e instanceof Bad) return { ok: false, xid: null, err: e.code, message: e.message };
    throw e;
  }
}
