/**
 * The replica: tree + sessions + watches + the request pipeline, as one deterministic state
 * machine. `step(event)` returns the actions the host must carry out (DESIGN.md).
 *
 * Pipeline (ZooKeeper's Prep -> Sync -> Final, standalone): a write is prepared on arrival
 * against the tree plus every ordered-but-unapplied change, gets the next zxid and is handed to
 * storage; once storage reports it durable it is applied in zxid order, its watches fire and its
 * origin is answered. Per connection, requests are answered strictly in arrival order: a read runs
 * only when every earlier request of its connection is answered, so it sees its own writes.
 * @module
 */
import { assert } from "../assert.ts";
import * as limits from "../constants.ts";
import type { AuthId } from "../tree/acl.ts";
import { allowed, digestId, isSuper } from "../tree/acl.ts";
import { type ApplyResult, DataTree, type TxnResult } from "../tree/data_tree.ts";
import { makeZxid, type Txn, type TxnRecord } from "../tree/txn.ts";
import { type ErrorCode, type OpError, Perms } from "../tree/types.ts";
import { SessionTable } from "../session/session_table.ts";
import type { SnapshotImage } from "../storage/types.ts";
import { WatchTable, type WatchTableKind } from "../watch/watch_table.ts";
import type {
  ClientRequest,
  ConnectRequest,
  MultiResult,
  ReadResult,
  ServerLimits,
  ServerMessage,
  WatcherType,
} from "../wire/messages.ts";
import {
  PendingChanges,
  prepareCloseSession,
  type PrepareContext,
  prepareDeleteContainer,
  prepareMulti,
  prepareOp,
  prepareSetAcl,
} from "./prepare.ts";
import type {
  ForwardedRequest,
  ForwardReply,
  HostCall,
  ReplicaAction,
  ReplicaEvent,
  ReplicaOptions,
  ReplicaRole,
} from "./types.ts";

type WriteRequest = Extract<
  ClientRequest,
  { op: "create" | "delete" | "setData" | "check" | "setACL" | "multi" | "deleteContainer" }
>;

/** An answer body: response fields, or an error with (for a multi) the per-op results. */
type AnswerBody = Record<string, unknown> | OpError & { results?: MultiResult[] };

type ReadRequest = Extract<
  ClientRequest,
  {
    op:
      | "exists"
      | "getData"
      | "getChildren"
      | "getACL"
      | "sync"
      | "ping"
      | "setWatches"
      | "addWatch"
      | "removeWatches"
      | "checkWatches"
      | "getEphemerals"
      | "getAllChildrenNumber"
      | "whoAmI"
      | "multiRead";
  }
>;

/** A request waiting for its turn to be answered on its connection. */
type Item =
  /**
   * An answer ready to send in its turn; with `upTo`, only once that txn is applied here (an
   * error that the txns ordered before it explain must not reach the client before they commit:
   * if they never do, neither does the error).
   */
  | { kind: "done"; xid: number; message: ServerMessage; upTo?: number }
  | { kind: "read"; request: ReadRequest; authIds: AuthId[] }
  /** A write; `zxid` is 0 on a follower until the leader says which txn it became. */
  | { kind: "write"; xid: number; zxid: number; op: ClientRequest["op"] }
  /** A follower's sync: answered once the leader's `upTo` (null until it replies) is applied. */
  | { kind: "sync"; xid: number; path: string; upTo: number | null }
  /** Work only the host can do (I/O), asked for when the item reaches the head, in order. */
  | { kind: "host"; xid: number; call: HostCall; authIds: AuthId[]; asked: boolean };

interface Conn {
  id: number;
  remoteAddress: string;
  state: "connecting" | "live";
  sessionId: number;
  authIds: AuthId[];
  queue: Item[];
  /** Requests that arrived before the session was established, replayed once it is. */
  early: ReplicaEvent[];
  /** The client protocol version the connection speaks (its connect's). */
  proto: number;
}

interface Ordered {
  record: TxnRecord;
  connId: number | null;
  item: Item | null;
}

/**
 * One server's deterministic core.
 *
 * @example
 * ```ts
 * import { Replica } from "./replica.ts";
 * const replica = new Replica({ serverId: 1, tickMs: 2000, sessionIdBase: 1 });
 * const actions = replica.step({ type: "tick", nowMs: 0 });
 * ```
 */
export class Replica {
  #tree = new DataTree();
  #sessions: SessionTable;
  /** Watch registrations of connected sessions. */
  readonly watches = new WatchTable();
  readonly #options: Required<ReplicaOptions>;
  #changes: PendingChanges;
  readonly #conns = new Map<number, Conn>();
  readonly #connOfSession = new Map<number, number>();
  readonly #ordered: Ordered[] = [];
  #toPersist: TxnRecord[] = [];
  #out: ReplicaAction[] = [];
  #lastOrderedZxid = 0;
  #nextSessionId: number;
  #nowTick = 0;
  #nowMs = 0;
  #role: ReplicaRole = "standalone";
  #appliedCount = 0;
  /** Connections waiting for their new session's createSession txn, by session id. */
  readonly #connecting = new Map<number, number>();
  /** Follower: sessions active since the last tick, reported to the leader. */
  #touched = new Set<number>();
  /** Follower: connections with a sync waiting for the leader's zxid to be applied. */
  readonly #syncWaiting = new Set<number>();
  /**
   * Connections resuming a session whose close is ordered but not yet applied, with their
   * request: answered once the close applies (expired) or is dropped (resumed after all).
   */
  readonly #resumesWaiting = new Map<number, ConnectRequest>();

  /** Makes a replica with an empty tree; see {@linkcode ReplicaOptions}. */
  constructor(options: ReplicaOptions) {
    this.#options = {
      serverId: options.serverId,
      tickMs: options.tickMs,
      sessionIdBase: options.sessionIdBase,
      epoch: options.epoch ?? 0,
      dataBytesMax: options.dataBytesMax ?? limits.dataBytesMax,
      frameBytesMax: options.frameBytesMax ?? limits.frameBytesMax,
      pendingRequestsMax: options.pendingRequestsMax ?? limits.pendingRequestsMax,
      watchesPerSessionMax: options.watchesPerSessionMax ?? limits.watchesPerSessionMax,
      superDigest: options.superDigest ?? null,
      ttlEnabled: options.ttlEnabled ?? false,
      extendedCheckIntervalMs: options.extendedCheckIntervalMs ?? 1000,
    };
    assert(this.#options.tickMs > 0, "tickMs is positive");
    assert(
      this.#options.frameBytesMax > this.#options.dataBytesMax,
      "a frame can hold a full value",
    );
    this.#sessions = new SessionTable(this.#options.tickMs);
    this.#changes = new PendingChanges(this.tree);
    this.#nextSessionId = options.sessionIdBase;
    this.#lastOrderedZxid = makeZxid(this.#options.epoch, 0);
  }

  /** The live sessions. */
  get sessions(): SessionTable {
    return this.#sessions;
  }

  /** The znode tree (read it, never mutate it). */
  get tree(): DataTree {
    return this.#tree;
  }

  /**
   * Restores the state recovered from storage: the snapshot, then its later records in order.
   * Call before the first event. Restored sessions get their full timeout from now, as ZooKeeper
   * gives them after a restart.
   */
  restore(snapshot: SnapshotImage | null, records: readonly TxnRecord[]): void {
    assert(this.#conns.size === 0 && this.#ordered.length === 0, "restore() runs before any event");
    if (snapshot) {
      this.#tree = DataTree.fromNodes(snapshot.nodes, snapshot.zxid);
      for (const session of snapshot.sessions) {
        this.sessions.add(session.id, session.timeoutMs, session.password, this.#nowTick);
      }
    }
    for (const record of records) {
      this.#tree.apply(record);
      this.#applySessionEffects(record.txn, undefined);
    }
    this.#changes = new PendingChanges(this.#tree);
    this.#lastOrderedZxid = Math.max(this.#lastOrderedZxid, this.#tree.lastZxid);
  }

  /**
   * Replaces the whole state with what storage now holds, after an ensemble sync cut the log
   * (TRUNC) or replaced it (SNAP). Only while no client is connected: the server is not serving.
   */
  reload(snapshot: SnapshotImage | null, records: readonly TxnRecord[]): void {
    assert(this.#conns.size === 0, "reload() runs while no client is connected");
    this.#tree = new DataTree();
    this.#sessions = new SessionTable(this.#options.tickMs);
    this.#ordered.length = 0;
    this.#toPersist = [];
    this.#lastOrderedZxid = 0;
    this.restore(snapshot, records);
  }

  /**
   * A consistent image of the applied state, for a snapshot. Synchronous, so nothing can change
   * under it; cheap, since node data and ACLs are shared, not copied.
   */
  captureImage(): SnapshotImage {
    return {
      zxid: this.#tree.lastZxid,
      nodes: this.#tree.exportNodes(),
      sessions: this.sessions.all().map((s) => ({
        id: s.id,
        timeoutMs: s.timeoutMs,
        password: s.password,
      })),
    };
  }

  /** Limits announced to clients in the handshake. */
  get limits(): ServerLimits {
    const o = this.#options;
    return {
      frameBytesMax: o.frameBytesMax,
      dataBytesMax: o.dataBytesMax,
      pendingRequestsMax: o.pendingRequestsMax,
    };
  }

  /** The replica's current part in the ensemble. */
  get role(): ReplicaRole {
    return this.#role;
  }

  /** Txns applied since this replica was made (restored ones not counted). */
  get appliedCount(): number {
    return this.#appliedCount;
  }

  /** Number of open client connections. */
  get connectionCount(): number {
    return this.#conns.size;
  }

  /** Records ordered and not yet durable. */
  get outstandingCount(): number {
    return this.#ordered.length;
  }

  /** Feeds one event; returns what the host must do, in order. */
  step(event: ReplicaEvent): ReplicaAction[] {
    this.#out = [];
    if ("nowMs" in event) this.#nowMs = Math.max(this.#nowMs, event.nowMs);
    switch (event.type) {
      case "connect":
        this.#onConnect(event);
        break;
      case "request":
      case "invalid":
        this.#onRequest(event);
        break;
      case "disconnect":
        this.#dropConn(event.connId);
        break;
      case "tick":
        this.#onTick();
        break;
      case "durable":
        this.#onDurable(event.zxid);
        break;
      case "storageFailed":
        this.#onStorageFailed(event.zxid, event.message);
        break;
      case "hostReply":
        this.#onHostReply(event);
        break;
      case "role":
        this.#onRole(event.role, event.epoch);
        break;
      case "commit":
        this.#onCommit(event.records);
        break;
      case "forwarded":
        this.#onForwarded(event.from, event.forward);
        break;
      case "reply":
        this.#onReply(event.reply);
        break;
      case "touch":
        for (const id of event.sessionIds) this.sessions.touch(id, this.#nowTick);
        break;
    }
    if (this.#toPersist.length > 0) {
      this.#out.push({ type: "persist", records: this.#toPersist });
      this.#toPersist = [];
    }
    return this.#out;
  }

  // ---- connections and sessions -------------------------------------------------------------

  #onConnect(event: Extract<ReplicaEvent, { type: "connect" }>): void {
    assert(!this.#conns.has(event.connId), `connection ${event.connId} is new`);
    const conn: Conn = {
      id: event.connId,
      remoteAddress: event.remoteAddress,
      state: "connecting",
      sessionId: 0,
      authIds: [{ scheme: "ip", id: event.remoteAddress }],
      queue: [],
      early: [],
      proto: event.request.proto,
    };
    this.#conns.set(conn.id, conn);
    const request = event.request;
    if (this.#role === "down") {
      return this.#refuse(
        conn,
        "ConnectionLoss",
        "this server is not serving clients now (its ensemble is electing a leader or syncing); " +
          "try another server",
      );
    }
    if (request.lastZxid > this.#tree.lastZxid) {
      return this.#refuse(
        conn,
        "SystemError",
        `client has seen zxid ${request.lastZxid}, newer than this server's ${this.#tree.lastZxid}`,
      );
    }
    if (request.sessionId === 0) return this.#openSession(conn, request, event.entropy);
    this.#resumeSession(conn, request);
  }

  #openSession(conn: Conn, request: ConnectRequest, entropy: Uint8Array): void {
    const { tickMs } = this.#options;
    const timeoutMs = Math.min(
      Math.max(request.timeoutMs, limits.sessionTimeoutTicksMin * tickMs),
      limits.sessionTimeoutTicksMax * tickMs,
    );
    assert(entropy.byteLength >= limits.sessionPasswordBytes, "the host supplies enough entropy");
    while (this.sessions.get(this.#nextSessionId)) this.#nextSessionId++;
    const sessionId = this.#nextSessionId++;
    conn.sessionId = sessionId;
    const password = entropy.slice(0, limits.sessionPasswordBytes);
    this.#connecting.set(sessionId, conn.id);
    if (this.#isLearner()) {
      return this.#forward({ op: "createSession", sessionId, timeoutMs, password });
    }
    this.#order(
      { type: "createSession", sessionId, timeoutMs, password },
      sessionId,
      conn.id,
      null,
    );
  }

  #resumeSession(conn: Conn, request: ConnectRequest): void {
    const session = this.sessions.get(request.sessionId);
    if (session?.closing) {
      // Refused now, the client would take its session for gone while a crash can still undo
      // the close (and the session, ephemerals and all, lives on). Decide once the close does.
      this.#resumesWaiting.set(conn.id, request);
      return;
    }
    if (!session) {
      return this.#refuse(
        conn,
        "SessionExpired",
        `session 0x${request.sessionId.toString(16)} has expired`,
      );
    }
    if (!equalBytes(session.password, request.password)) {
      return this.#refuse(
        conn,
        "SessionExpired",
        `wrong password for session 0x${session.id.toString(16)}`,
      );
    }
    const previous = this.#connOfSession.get(session.id);
    if (previous !== undefined) this.#closeConn(previous, "session moved to a newer connection");
    conn.sessionId = session.id;
    this.#touch(session.id);
    this.#goLive(conn);
  }

  #goLive(conn: Conn): void {
    const session = this.sessions.get(conn.sessionId)!;
    conn.state = "live";
    this.#connOfSession.set(session.id, conn.id);
    this.#send(conn.id, {
      t: "connected",
      proto: conn.proto,
      sessionId: session.id,
      password: session.password,
      timeoutMs: session.timeoutMs,
      zxid: this.#tree.lastZxid,
      serverId: this.#options.serverId,
      limits: this.limits,
    });
    this.#log("debug", "session connected", { sessionId: session.id, connId: conn.id });
    const early = conn.early;
    conn.early = [];
    for (const event of early) {
      this.#onRequest(event as Extract<ReplicaEvent, { type: "request" | "invalid" }>);
    }
  }

  #refuse(conn: Conn, err: ErrorCode, message: string): void {
    this.#send(conn.id, { t: "refused", err, message });
    this.#closeConn(conn.id, message);
  }

  /** Closes a connection from the server side: forget it now, tell the host to close it. */
  #closeConn(connId: number, reason: string): void {
    if (!this.#conns.has(connId)) return;
    this.#dropConn(connId);
    this.#out.push({ type: "close", connId, reason });
  }

  /** Forgets a connection; its session lives on (until it expires) but its watches do not. */
  #dropConn(connId: number): void {
    const conn = this.#conns.get(connId);
    if (!conn) return;
    this.#conns.delete(connId);
    this.#syncWaiting.delete(connId);
    this.#resumesWaiting.delete(connId);
    if (this.#connecting.get(conn.sessionId) === connId) this.#connecting.delete(conn.sessionId);
    if (this.#connOfSession.get(conn.sessionId) === connId) {
      this.#connOfSession.delete(conn.sessionId);
      this.watches.removeWatcher(conn.sessionId);
    }
  }

  #onTick(): void {
    this.#nowTick++;
    if (this.#isLearner()) {
      // Sessions expire only on the leader; it hears from us which ones are alive here.
      if (this.#touched.size > 0) this.#out.push({ type: "touch", sessionIds: [...this.#touched] });
      this.#touched = new Set();
      return;
    }
    if (this.#role === "down") return;
    for (const sessionId of this.sessions.expiredAt(this.#nowTick)) {
      this.#log("info", "session expired", { sessionId });
      this.#closeSession(sessionId, null, null);
    }
    const { extendedCheckIntervalMs, tickMs } = this.#options;
    if (this.#nowTick % Math.max(1, Math.round(extendedCheckIntervalMs / tickMs)) === 0) {
      this.#removeDueExtended();
    }
  }

  /**
   * Orders the removal of every container and TTL node that is due (ZooKeeper's container
   * manager). Each is prepared against the ordered changes, so a child created meanwhile, or a
   * removal already ordered, keeps it from being ordered.
   */
  #removeDueExtended(): void {
    for (const path of this.#tree.extendedDue(this.#nowMs)) {
      const prepared = prepareDeleteContainer(path, this.#changes, this.#prepareContext(0, []));
      if (prepared.ok) this.#order(prepared.txn, 0, null, null);
    }
  }

  #closeSession(sessionId: number, connId: number | null, item: Item | null): void {
    this.sessions.markClosing(sessionId);
    const zxid = this.#lastOrderedZxid + 1;
    this.#order(prepareCloseSession(sessionId, this.#changes, zxid), sessionId, connId, item);
  }

  // ---- requests -----------------------------------------------------------------------------

  #onRequest(event: Extract<ReplicaEvent, { type: "request" | "invalid" }>): void {
    const conn = this.#conns.get(event.connId);
    if (!conn) return;
    if (conn.state === "connecting") {
      conn.early.push(event);
      return;
    }
    if (conn.queue.length >= this.#options.pendingRequestsMax) {
      const message = `more than ${this.#options.pendingRequestsMax} requests in flight`;
      this.#send(conn.id, { t: "error", err: "Throttled", message });
      this.#closeConn(conn.id, message);
      return;
    }
    const session = this.sessions.get(conn.sessionId);
    if (event.type === "invalid") {
      this.#answerNow(conn, event.xid, { err: event.err, message: event.message });
    } else if (!session || session.closing) {
      const message = `session 0x${conn.sessionId.toString(16)} is closing or expired`;
      this.#answerAfterOrdered(conn, event.request.xid, { err: "SessionExpired", message });
    } else {
      this.#touch(session.id);
      this.#dispatch(conn, event.request);
    }
    this.#drain(conn);
  }

  #touch(sessionId: number): void {
    this.sessions.touch(sessionId, this.#nowTick);
    if (this.#isLearner()) this.#touched.add(sessionId);
  }

  #isLearner(): boolean {
    return this.#role === "follower" || this.#role === "observer";
  }

  #dispatch(conn: Conn, request: ClientRequest): void {
    if (this.#isLearner()) {
      // Writes, closes and syncs go to the leader; the answer comes with its commit.
      switch (request.op) {
        case "sync":
          conn.queue.push({ kind: "sync", xid: request.xid, path: request.path, upTo: null });
          return this.#forwardRequest(conn, request);
        case "close":
        case "setACL":
        case "multi":
        case "create":
        case "delete":
        case "setData":
        case "check":
        case "deleteContainer":
          this.#enqueueWrite(conn, request, 0);
          return this.#forwardRequest(conn, request);
      }
    }
    switch (request.op) {
      case "exists":
      case "getData":
      case "getChildren":
      case "getACL":
      case "sync":
      case "ping":
      case "setWatches":
      case "addWatch":
      case "removeWatches":
      case "checkWatches":
      case "getEphemerals":
      case "getAllChildrenNumber":
      case "whoAmI":
      case "multiRead":
        conn.queue.push({ kind: "read", request, authIds: conn.authIds });
        return;
      case "addAuth":
        return this.#addAuth(conn, request);
      case "snapshot":
      case "snapshotRead":
        conn.queue.push({
          kind: "host",
          xid: request.xid,
          call: request,
          authIds: conn.authIds,
          asked: false,
        });
        return;
      case "close":
        return this.#closeSession(
          conn.sessionId,
          conn.id,
          this.#enqueueWrite(conn, request, this.#lastOrderedZxid + 1),
        );
      case "setACL":
      case "multi":
      case "create":
      case "delete":
      case "setData":
      case "check":
      case "deleteContainer": {
        const prepared = this.#prepareWrite(request, conn.sessionId, conn.authIds);
        if (!prepared.ok) return this.#answerAfterOrdered(conn, request.xid, prepared.body);
        return this.#orderWrite(conn, request, prepared.txn);
      }
    }
  }

  /** What prepare needs to know of the next txn `sessionId` would order. */
  #prepareContext(sessionId: number, authIds: readonly AuthId[]): PrepareContext {
    return {
      zxid: this.#lastOrderedZxid + 1,
      timeMs: this.#nowMs,
      sessionId,
      authIds,
      dataBytesMax: this.#options.dataBytesMax,
      ttlEnabled: this.#options.ttlEnabled,
    };
  }

  /** Turns a write into its txn against the tree plus every ordered change, or an error. */
  #prepareWrite(
    request: WriteRequest,
    sessionId: number,
    authIds: AuthId[],
  ): { ok: true; txn: Txn } | { ok: false; body: AnswerBody } {
    const ctx = this.#prepareContext(sessionId, authIds);
    if (request.op === "deleteContainer") {
      const prepared = prepareDeleteContainer(request.path, this.#changes, ctx);
      return prepared.ok ? prepared : { ok: false, body: prepared };
    }
    if (request.op === "setACL") {
      const prepared = prepareSetAcl(
        request.path,
        request.acl,
        request.version,
        this.#changes,
        ctx,
      );
      return prepared.ok ? prepared : { ok: false, body: prepared };
    }
    if (request.op === "multi") {
      const prepared = prepareMulti(request.ops, this.#changes, ctx);
      if (prepared.ok) return prepared;
      const failed = prepared.results[prepared.failedIndex] as Extract<
        MultiResult,
        { op: "error" }
      >;
      return {
        ok: false,
        body: {
          err: failed.err,
          message: `multi op ${prepared.failedIndex} failed: ${failed.message}`,
          results: prepared.results,
        },
      };
    }
    const prepared = prepareOp(request, this.#changes, ctx);
    return prepared.ok ? prepared : { ok: false, body: prepared };
  }

  #addAuth(conn: Conn, request: Extract<ClientRequest, { op: "addAuth" }>): void {
    if (request.scheme !== "digest") {
      return this.#answerNow(conn, request.xid, {
        err: "AuthFailed",
        message: `auth scheme "${request.scheme}" is not supported (use digest)`,
      });
    }
    const text = new TextDecoder().decode(request.auth);
    if (!/^[^:]+:/.test(text)) {
      return this.#answerNow(conn, request.xid, {
        err: "AuthFailed",
        message: `digest auth must be "user:password"`,
      });
    }
    const id = digestId(text);
    // A new array, so reads queued earlier keep the identities they were sent with.
    const ids = [...conn.authIds, { scheme: "digest", id }];
    if (this.#options.superDigest !== null && id === this.#options.superDigest) {
      ids.push({ scheme: "super", id: "" });
    }
    conn.authIds = dedupeIds(ids);
    this.#answerNow(conn, request.xid, {});
  }

  /**
   * The last txn actually ordered, else the last applied (a new epoch's base zxid is no txn:
   * waiting for it would hang a sync until the epoch's first write; found by the ensemble-mode
   * tests).
   */
  get #orderedUpTo(): number {
    return this.#ordered.at(-1)?.record.zxid ?? this.#tree.lastZxid;
  }

  #answerNow(conn: Conn, xid: number, body: AnswerBody): void {
    conn.queue.push({ kind: "done", xid, message: answerMessage(xid, body) });
  }

  /**
   * An answer that depends on the txns ordered so far (a write's validation error, a session
   * found closing): it waits until they are applied, as ZooKeeper sends such errors through its
   * commit pipeline. Answered at once, it could report a state that a crash then undoes.
   */
  #answerAfterOrdered(conn: Conn, xid: number, body: AnswerBody): void {
    const upTo = this.#orderedUpTo;
    conn.queue.push({ kind: "done", xid, message: answerMessage(xid, body), upTo });
    if (upTo > this.#tree.lastZxid) this.#syncWaiting.add(conn.id);
  }

  #enqueueWrite(conn: Conn, request: ClientRequest, zxid: number): Item {
    const item: Item = { kind: "write", xid: request.xid, zxid, op: request.op };
    conn.queue.push(item);
    return item;
  }

  #orderWrite(conn: Conn, request: ClientRequest, txn: Txn): void {
    const item = this.#enqueueWrite(conn, request, this.#lastOrderedZxid + 1);
    this.#order(txn, conn.sessionId, conn.id, item);
  }

  /** Gives `txn` the next zxid and hands it to storage. */
  #order(txn: Txn, sessionId: number, connId: number | null, item: Item | null): void {
    const zxid = this.#lastOrderedZxid + 1;
    assert(
      item === null || item.kind !== "write" || item.zxid === zxid,
      "write item carries its zxid",
    );
    const record: TxnRecord = { zxid, timeMs: this.#nowMs, sessionId, txn };
    this.#lastOrderedZxid = zxid;
    this.#ordered.push({ record, connId, item });
    this.#toPersist.push(record);
  }

  // ---- commit and apply ---------------------------------------------------------------------

  #onDurable(zxid: number): void {
    while (this.#ordered.length > 0 && this.#ordered[0].record.zxid <= zxid) {
      this.#apply(this.#ordered.shift()!);
      this.#drainWaiting();
    }
  }

  /** Answers what waited for txns now applied: syncs, errors held by `upTo`, resumes. */
  #drainWaiting(): void {
    this.#retryResumes();
    for (const connId of this.#syncWaiting) {
      const conn = this.#conns.get(connId);
      if (conn) this.#drain(conn);
      const waits = (item: Item) =>
        item.kind === "sync" || (item.kind === "done" && item.upTo !== undefined);
      if (!conn || !conn.queue.some(waits)) {
        this.#syncWaiting.delete(connId);
      }
    }
  }

  /** Resumes that waited for a closing session, once the session is gone or no longer closing. */
  #retryResumes(): void {
    for (const [connId, request] of this.#resumesWaiting) {
      if (this.sessions.get(request.sessionId)?.closing) continue;
      this.#resumesWaiting.delete(connId);
      const conn = this.#conns.get(connId);
      if (conn) this.#resumeSession(conn, request);
    }
  }

  /**
   * Every ordered record from `zxid` on failed to reach storage: none of them may apply. Since
   * each was prepared against the ones before it, all are answered with an error, the prepared
   * changes are dropped and zxids are handed out again from the last applied one.
   */
  #onStorageFailed(zxid: number, message: string): void {
    assert(
      this.#ordered.length === 0 || this.#ordered[0].record.zxid >= zxid,
      "only unapplied records fail",
    );
    const failed = this.#ordered.splice(0);
    this.#changes = new PendingChanges(this.#tree);
    this.#lastOrderedZxid = this.#tree.lastZxid;
    this.#log("error", "storage failed; refusing the writes it could not make durable", {
      fromZxid: zxid,
      message,
      count: failed.length,
    });
    const touched = new Set<Conn>();
    for (const entry of failed) {
      const txn = entry.record.txn;
      if (txn.type === "closeSession") this.sessions.unmarkClosing(txn.sessionId, this.#nowTick);
      const conn = entry.connId === null ? undefined : this.#conns.get(entry.connId);
      if (!conn) continue;
      if (txn.type === "createSession") {
        this.#refuse(conn, "SystemError", `the server could not store the new session: ${message}`);
      } else if (entry.item && entry.item.kind === "write") {
        const index = conn.queue.indexOf(entry.item);
        const response = {
          t: "res" as const,
          xid: entry.item.xid,
          zxid: 0,
          err: "SystemError" as const,
          message: `storage failed: ${message}`,
        };
        if (index >= 0) {
          conn.queue[index] = { kind: "done", xid: entry.item.xid, message: response };
        }
        touched.add(conn);
      }
    }
    for (const conn of touched) this.#drain(conn);
    this.#retryResumes();
  }

  #apply(entry: Ordered): void {
    const { record } = entry;
    const conn = entry.connId === null ? undefined : this.#conns.get(entry.connId);
    // Reads queued before this write on its connection must see the tree as it was before it.
    if (conn && entry.item) this.#drainUntil(conn, entry.item);
    const applied = this.#tree.apply(record);
    this.#appliedCount++;
    this.#changes.forgetApplied(record.zxid);
    this.#applySessionEffects(record.txn, conn);
    this.#fireWatches(applied, record.zxid);
    if (conn && entry.item && entry.item.kind === "write" && this.#conns.has(conn.id)) {
      const index = conn.queue.indexOf(entry.item);
      if (index >= 0) {
        conn.queue[index] = {
          kind: "done",
          xid: entry.item.xid,
          message: this.#writeResponse(entry.item, applied),
        };
      }
      this.#drain(conn);
      if (record.txn.type === "closeSession") {
        this.#closeConn(conn.id, "session closed by the client");
      }
    }
  }

  #applySessionEffects(txn: Txn, conn: Conn | undefined): void {
    if (txn.type === "createSession") {
      this.sessions.add(txn.sessionId, txn.timeoutMs, txn.password, this.#nowTick);
      const connId = this.#connecting.get(txn.sessionId);
      const waiting = connId === undefined ? undefined : this.#conns.get(connId);
      if (waiting && waiting.state === "connecting" && waiting.sessionId === txn.sessionId) {
        this.#connecting.delete(txn.sessionId);
        if (this.#isLearner()) this.#touched.add(txn.sessionId);
        this.#goLive(waiting);
      }
    } else if (txn.type === "closeSession") {
      this.sessions.remove(txn.sessionId);
      this.watches.removeWatcher(txn.sessionId);
      const connId = this.#connOfSession.get(txn.sessionId);
      if (connId !== undefined && connId !== conn?.id) {
        this.#send(connId, { t: "error", err: "SessionExpired", message: "session expired" });
        this.#closeConn(connId, "session expired");
      }
    }
  }

  #fireWatches(applied: ApplyResult, zxid: number): void {
    for (const trigger of applied.triggers) {
      const mayRead = (sessionId: number) => {
        const conn = this.#conns.get(this.#connOfSession.get(sessionId) ?? -1);
        return !!conn && !!trigger.acl && allowed(trigger.acl, Perms.read, conn.authIds);
      };
      for (const sessionId of this.watches.trigger(trigger.type, trigger.path, mayRead)) {
        const connId = this.#connOfSession.get(sessionId);
        if (connId !== undefined) {
          this.#send(connId, { t: "event", type: trigger.type, path: trigger.path, zxid });
        }
      }
    }
  }

  #writeResponse(item: Extract<Item, { kind: "write" }>, applied: ApplyResult): ServerMessage {
    const base = { t: "res" as const, xid: item.xid, zxid: this.#tree.lastZxid };
    const result = applied.results[0];
    switch (item.op) {
      case "multi":
        return { ...base, results: applied.results.map(toMultiResult) };
      case "create":
        assert(result.type === "create", "create yields a create result");
        return { ...base, path: result.path, stat: result.stat };
      case "setData":
      case "setACL":
        assert(result.type === "setData" || result.type === "setACL", "set yields a stat");
        return { ...base, stat: result.stat };
      default:
        return { ...base } as ServerMessage;
    }
  }

  /** Answers, in order, every request at the head of the queue that can be answered now. */
  #drain(conn: Conn): void {
    while (conn.queue.length > 0 && this.#conns.has(conn.id)) {
      const head = conn.queue[0];
      if (head.kind === "write") return;
      if (head.kind === "sync") {
        if (head.upTo === null || this.#tree.lastZxid < head.upTo) return;
        conn.queue.shift();
        this.#send(conn.id, {
          t: "res",
          xid: head.xid,
          zxid: this.#tree.lastZxid,
          path: head.path,
        });
        continue;
      }
      if (head.kind === "host") {
        if (!head.asked && !this.#askHost(conn, head)) continue;
        return;
      }
      if (head.kind === "done" && head.upTo !== undefined && this.#tree.lastZxid < head.upTo) {
        return;
      }
      conn.queue.shift();
      if (head.kind === "done") {
        if (head.message.t === "res") head.message.zxid ||= this.#tree.lastZxid;
        this.#send(conn.id, head.message);
      } else {
        this.#send(conn.id, this.#read(conn, head));
      }
    }
  }

  /** Like {@linkcode Replica.#drain}, but stops at `stop` and asserts nothing else blocks. */
  #drainUntil(conn: Conn, stop: Item): void {
    while (conn.queue.length > 0 && conn.queue[0] !== stop) {
      const head = conn.queue[0];
      assert(head.kind !== "write", "writes of a connection apply in the order they were sent");
      this.#drain(conn);
      if (conn.queue[0] === head) return;
    }
  }

  // ---- ensemble ---------------------------------------------------------------------------

  /**
   * A new role. Leaving a role ends every client connection (clients reconnect, to this server
   * once it serves again or to another) and forgets ordered txns that never committed: the new
   * leader's history decides their fate. A new leader orders in its new epoch, and gives every
   * session a full timeout from now, as after a restart (its table was only a replica until now).
   */
  #onRole(role: ReplicaRole, epoch: number): void {
    const previous = this.#role;
    this.#role = role;
    if (previous !== role) {
      for (const connId of [...this.#conns.keys()]) {
        this.#closeConn(connId, `this server is now ${role}`);
      }
      for (const entry of this.#ordered.splice(0)) {
        const txn = entry.record.txn;
        if (txn.type === "closeSession") this.sessions.unmarkClosing(txn.sessionId, this.#nowTick);
      }
      this.#changes = new PendingChanges(this.#tree);
      this.#touched = new Set();
      this.#log("info", "replica role", { from: previous, to: role, epoch });
    }
    this.#lastOrderedZxid = this.#tree.lastZxid;
    if (role === "leader") {
      this.#lastOrderedZxid = makeZxid(epoch, 0);
      assert(this.#lastOrderedZxid > this.#tree.lastZxid, "a new epoch orders above its history");
      for (const session of this.sessions.all()) {
        if (!session.closing) this.sessions.touch(session.id, this.#nowTick);
      }
    }
  }

  /** Applies committed records in order: ours (leader) with their origin, others' as they come. */
  #onCommit(records: readonly TxnRecord[]): void {
    for (const record of records) {
      assert(record.zxid > this.#tree.lastZxid, `commit ${record.zxid} follows what is applied`);
      const head = this.#ordered[0];
      if (head && head.record.zxid === record.zxid) {
        this.#ordered.shift();
        this.#apply(head);
      } else {
        assert(!head || head.record.zxid > record.zxid, "commits follow the order we proposed in");
        this.#applyRemote(record);
      }
      this.#drainWaiting();
    }
  }

  /** Applies a txn another server ordered; answers it if it is one of our forwarded writes. */
  #applyRemote(record: TxnRecord): void {
    const connId = this.#connOfSession.get(record.sessionId);
    const conn = connId === undefined ? undefined : this.#conns.get(connId);
    const item = conn?.queue.find((i) => i.kind === "write" && i.zxid === record.zxid) ?? null;
    this.#apply({ record, connId: item && conn ? conn.id : null, item });
  }

  #forward(forward: ForwardedRequest): void {
    this.#out.push({ type: "forward", forward });
  }

  #forwardRequest(conn: Conn, request: ClientRequest): void {
    this.#forward({ op: "request", sessionId: conn.sessionId, authIds: conn.authIds, request });
  }

  /** Leader: orders a follower's request, or answers why not. */
  #onForwarded(from: number, forward: ForwardedRequest): void {
    const reply = (r: ForwardReply): void => {
      this.#out.push({ type: "reply", to: from, reply: r });
    };
    if (forward.op === "createSession") {
      const { sessionId, timeoutMs, password } = forward;
      if (this.#role !== "leader" || this.sessions.get(sessionId)) {
        const message = this.#role !== "leader"
          ? "the leader is not serving; try again"
          : `session id 0x${sessionId.toString(16)} is taken`;
        return reply({
          kind: "answer",
          sessionId,
          xid: 0,
          message: { t: "refused", err: "ConnectionLoss", message },
        });
      }
      return this.#order(
        { type: "createSession", sessionId, timeoutMs, password },
        sessionId,
        null,
        null,
      );
    }
    const { sessionId, authIds, request } = forward;
    const answer = (body: AnswerBody) =>
      reply({
        kind: "answer",
        sessionId,
        xid: request.xid,
        message: answerMessage(request.xid, body),
      });
    if (this.#role !== "leader") {
      return answer({ err: "ConnectionLoss", message: "the leader is not serving; try again" });
    }
    // An answer the txns ordered so far explain: the follower holds it until they are applied.
    const answerAfterOrdered = (body: AnswerBody) =>
      reply({
        kind: "answer",
        sessionId,
        xid: request.xid,
        message: answerMessage(request.xid, body),
        upTo: this.#orderedUpTo,
      });
    const session = this.sessions.get(sessionId);
    if (!session || session.closing) {
      return answerAfterOrdered({
        err: "SessionExpired",
        message: `session 0x${sessionId.toString(16)} is closing or expired`,
      });
    }
    this.sessions.touch(sessionId, this.#nowTick);
    switch (request.op) {
      case "sync":
        return reply({ kind: "sync", sessionId, xid: request.xid, zxid: this.#orderedUpTo });
      case "close":
        this.#closeSession(sessionId, null, null);
        return reply({ kind: "ordered", sessionId, xid: request.xid, zxid: this.#lastOrderedZxid });
      case "setACL":
      case "multi":
      case "create":
      case "delete":
      case "setData":
      case "check":
      case "deleteContainer": {
        const prepared = this.#prepareWrite(request, sessionId, authIds);
        if (!prepared.ok) return answerAfterOrdered(prepared.body);
        this.#order(prepared.txn, sessionId, null, null);
        return reply({ kind: "ordered", sessionId, xid: request.xid, zxid: this.#lastOrderedZxid });
      }
      default:
        return answer({
          err: "BadArguments",
          message: `${request.op} is not forwarded to a leader`,
        });
    }
  }

  /** Follower: the leader answered a forwarded request of one of our sessions. */
  #onReply(reply: ForwardReply): void {
    const connId = this.#connOfSession.get(reply.sessionId) ??
      this.#connecting.get(reply.sessionId);
    const conn = connId === undefined ? undefined : this.#conns.get(connId);
    if (!conn) return;
    if (conn.state === "connecting") {
      if (reply.kind === "answer") {
        this.#send(conn.id, reply.message);
        this.#closeConn(conn.id, "the leader refused the new session");
      }
      return;
    }
    // Replies come in the order the requests were forwarded: the first unresolved one is it.
    const index = conn.queue.findIndex((i) =>
      (i.kind === "write" && i.zxid === 0) || (i.kind === "sync" && i.upTo === null)
    );
    const item = conn.queue[index];
    if (!item || (item.kind !== "write" && item.kind !== "sync") || item.xid !== reply.xid) {
      return this.#log("warn", "a reply from the leader matches no forwarded request", {
        sessionId: reply.sessionId,
        xid: reply.xid,
      });
    }
    if (reply.kind === "answer") {
      conn.queue[index] = { kind: "done", xid: item.xid, message: reply.message, upTo: reply.upTo };
      if (reply.upTo !== undefined) this.#syncWaiting.add(conn.id);
    } else if (reply.kind === "ordered" && item.kind === "write") {
      assert(reply.zxid > this.#tree.lastZxid, "the leader names a txn before committing it");
      item.zxid = reply.zxid;
    } else if (reply.kind === "sync" && item.kind === "sync") {
      item.upTo = reply.zxid;
      this.#syncWaiting.add(conn.id);
    }
    this.#drain(conn);
  }

  // ---- host calls ---------------------------------------------------------------------------

  /**
   * Asks the host to do `item`'s I/O, or answers NoAuth (and drops the item) when the caller may
   * not: a backup exposes every znode regardless of ACLs, so it needs the super user, or, on a
   * server without one configured, a connection from the loopback interface.
   */
  #askHost(conn: Conn, item: Extract<Item, { kind: "host" }>): boolean {
    const permitted = isSuper(item.authIds) ||
      (this.#options.superDigest === null && isLoopback(conn.remoteAddress));
    if (!permitted) {
      conn.queue.shift();
      this.#send(conn.id, {
        t: "res",
        xid: item.xid,
        zxid: this.#tree.lastZxid,
        err: "NoAuth",
        message:
          "online backup needs the super user (or a loopback connection when no superDigest is set)",
      });
      return false;
    }
    item.asked = true;
    this.#out.push({ type: "hostCall", connId: conn.id, xid: item.xid, call: item.call });
    return true;
  }

  #onHostReply(event: Extract<ReplicaEvent, { type: "hostReply" }>): void {
    const conn = this.#conns.get(event.connId);
    const head = conn?.queue[0];
    if (!conn || !head || head.kind !== "host" || head.xid !== event.xid) return;
    conn.queue[0] = {
      kind: "done",
      xid: head.xid,
      message: {
        t: "res",
        xid: head.xid,
        zxid: this.#tree.lastZxid,
        ...event.body,
      } as ServerMessage,
    };
    this.#drain(conn);
  }

  // ---- reads --------------------------------------------------------------------------------

  #read(conn: Conn, item: Extract<Item, { kind: "read" }>): ServerMessage {
    // The frequent reads build their answer in one object, with no closures: the fewer objects
    // per read, the rarer the collections that pause the loop (see docs/PERFORMANCE.md).
    const request = item.request;
    const xid = request.xid;
    const zxid = this.#tree.lastZxid;
    switch (request.op) {
      case "exists": {
        if (request.watch) {
          const full = this.#watchFull(conn.sessionId, xid, zxid);
          if (full) return full;
          this.watches.add("data", request.path, conn.sessionId);
        }
        return { t: "res", xid, zxid, stat: this.#tree.stat(request.path) };
      }
      case "getData":
      case "getChildren": {
        const path = request.path;
        const acl = this.#tree.aclOf(path);
        if (!acl) return readError(xid, zxid, "NoNode", `${path} does not exist`);
        if (!allowed(acl, Perms.read, item.authIds)) {
          return readError(xid, zxid, "NoAuth", `no READ permission on ${path}`);
        }
        if (request.watch) {
          const full = this.#watchFull(conn.sessionId, xid, zxid);
          if (full) return full;
          this.watches.add(request.op === "getData" ? "data" : "child", path, conn.sessionId);
        }
        if (request.op === "getChildren") {
          const { children, stat } = this.#tree.getChildren(path)!;
          return { t: "res", xid, zxid, children, stat };
        }
        const { data, stat, dataNull } = this.#tree.getData(path)!;
        return dataNull
          ? { t: "res", xid, zxid, data, stat, dataNull }
          : { t: "res", xid, zxid, data, stat };
      }
      default:
        return this.#readOther(conn, request, item.authIds, zxid);
    }
  }

  /** The error answer of a session at its watch limit, or null below it. */
  #watchFull(sessionId: number, xid: number, zxid: number): ServerMessage | null {
    const max = this.#options.watchesPerSessionMax;
    return this.watches.countFor(sessionId) >= max
      ? readError(xid, zxid, "BadArguments", `session holds the maximum of ${max} watches`)
      : null;
  }

  /** The reads other than exists, getData and getChildren. */
  #readOther(
    conn: Conn,
    request: Exclude<ReadRequest, { op: "exists" | "getData" | "getChildren" }>,
    authIds: readonly AuthId[],
    zxid: number,
  ): ServerMessage {
    const base = { t: "res" as const, xid: request.xid, zxid };
    const error = (err: ErrorCode, message: string) => readError(request.xid, zxid, err, message);
    const sessionId = conn.sessionId;
    const watchFull = () => this.#watchFull(sessionId, request.xid, zxid);
    switch (request.op) {
      case "ping":
        return { ...base };
      case "sync":
        return { ...base, path: request.path };
      case "getACL": {
        const found = this.#tree.getAcl(request.path);
        if (!found) return error("NoNode", `${request.path} does not exist`);
        if (!allowed(found.acl, Perms.read | Perms.admin, authIds)) {
          return error("NoAuth", `no READ or ADMIN permission on ${request.path}`);
        }
        if (!allowed(found.acl, Perms.admin, authIds)) {
          // As ZooKeeper: a reader without ADMIN sees who, not the password digests.
          found.acl = found.acl.map((a) =>
            a.scheme === "digest" ? { ...a, id: `${a.id.slice(0, a.id.indexOf(":"))}:x` } : a
          );
        }
        return { ...base, ...found };
      }
      case "setWatches":
        this.#setWatches(conn, request);
        return { ...base };
      case "addWatch": {
        const full = watchFull();
        if (full) return full;
        const kind = request.mode === "persistent" ? "persistent" : "recursive";
        this.watches.add(kind, request.path, sessionId);
        return { ...base };
      }
      case "removeWatches":
      case "checkWatches": {
        const kinds = watchKindsOf(request.type);
        const held = kinds.filter((kind) => this.watches.has(kind, request.path, sessionId));
        if (held.length === 0) {
          return error("NoWatcher", `no ${request.type} watch on ${request.path}`);
        }
        if (request.op === "removeWatches") {
          for (const kind of held) this.watches.remove(kind, request.path, sessionId);
        }
        return { ...base };
      }
      case "getEphemerals":
        return {
          ...base,
          ephemerals: this.#tree.ephemeralsOf(sessionId).filter((p) =>
            p.startsWith(request.prefix)
          ),
        };
      case "getAllChildrenNumber": {
        const acl = this.#tree.aclOf(request.path);
        if (!acl) return error("NoNode", `${request.path} does not exist`);
        if (!allowed(acl, Perms.read, authIds)) {
          return error("NoAuth", `no READ permission on ${request.path}`);
        }
        return { ...base, count: this.#tree.descendantCount(request.path) };
      }
      case "whoAmI":
        return {
          ...base,
          clientInfo: authIds.map((id) => ({
            scheme: id.scheme,
            user: id.scheme === "digest" ? id.id.slice(0, id.id.indexOf(":")) : id.id,
          })),
        };
      case "multiRead":
        return {
          ...base,
          readResults: request.ops.map((op): ReadResult => {
            const acl = this.#tree.aclOf(op.path);
            if (!acl) return { op: "error", err: "NoNode", message: `${op.path} does not exist` };
            if (!allowed(acl, Perms.read, authIds)) {
              return { op: "error", err: "NoAuth", message: `no READ permission on ${op.path}` };
            }
            return op.op === "getData"
              ? { op: "getData", ...this.#tree.getData(op.path)! }
              : { op: "getChildren", children: this.#tree.getChildren(op.path)!.children };
          }),
        };
    }
  }

  /** Re-registers a reconnecting client's watches; fires at once those already triggered. */
  #setWatches(conn: Conn, request: Extract<ClientRequest, { op: "setWatches" }>): void {
    const sessionId = conn.sessionId;
    // A path in both the data and the child list that is gone is told once, as a live delete
    // tells a watcher in both tables once.
    const fired = new Set<string>();
    const fire = (
      type: ServerMessage & { t: "event" } extends { type: infer T } ? T : never,
      path: string,
    ) => {
      if (fired.has(`${type} ${path}`)) return;
      fired.add(`${type} ${path}`);
      this.#send(conn.id, { t: "event", type, path, zxid: this.#tree.lastZxid });
    };
    for (const path of request.dataWatches) {
      const stat = this.#tree.stat(path);
      if (!stat) fire("NodeDeleted", path);
      else if (stat.mzxid > request.relativeZxid) fire("NodeDataChanged", path);
      else this.watches.add("data", path, sessionId);
    }
    for (const path of request.existWatches) {
      if (this.#tree.has(path)) fire("NodeCreated", path);
      else this.watches.add("data", path, sessionId);
    }
    for (const path of request.childWatches) {
      const stat = this.#tree.stat(path);
      if (!stat) fire("NodeDeleted", path);
      else if (stat.pzxid > request.relativeZxid) fire("NodeChildrenChanged", path);
      else this.watches.add("child", path, sessionId);
    }
    // Persistent watches come back as they were, with nothing fired for what was missed (as in
    // ZooKeeper: a client that needs the missed changes reads again).
    for (const path of request.persistentWatches ?? []) {
      this.watches.add("persistent", path, sessionId);
    }
    for (const path of request.persistentRecursiveWatches ?? []) {
      this.watches.add("recursive", path, sessionId);
    }
  }

  // ---- output -------------------------------------------------------------------------------

  #send(connId: number, message: ServerMessage): void {
    this.#out.push({ type: "send", connId, message });
  }

  #log(
    level: "debug" | "info" | "warn" | "error",
    message: string,
    fields?: Record<string, unknown>,
  ): void {
    this.#out.push({ type: "log", level, message, fields });
  }
}

/** The response for `xid` carrying `body` (its zxid is filled in when it is sent). */
function answerMessage(xid: number, body: AnswerBody): ServerMessage {
  const message = {
    t: "res",
    xid,
    zxid: 0,
    ...("err" in body ? { err: body.err, message: body.message } : body),
  };
  if ("results" in body && body.results) Object.assign(message, { results: body.results });
  return message as ServerMessage;
}

/** A read's error answer. */
function readError(xid: number, zxid: number, err: ErrorCode, message: string): ServerMessage {
  return { t: "res", xid, zxid, err, message };
}

/** The tables a removeWatches or checkWatches of `type` means. */
function watchKindsOf(type: WatcherType): WatchTableKind[] {
  switch (type) {
    case "children":
      return ["child"];
    case "data":
      return ["data"];
    case "persistent":
      return ["persistent"];
    case "persistentRecursive":
      return ["recursive"];
    case "any":
      return ["data", "child", "persistent", "recursive"];
  }
}

function toMultiResult(result: TxnResult): MultiResult {
  switch (result.type) {
    case "create":
      return { op: "create", path: result.path, stat: result.stat };
    case "setData":
      return { op: "setData", stat: result.stat };
    case "delete":
      return { op: "delete" };
    default:
      return { op: "check" };
  }
}

function isLoopback(address: string): boolean {
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

function dedupeIds(ids: AuthId[]): AuthId[] {
  const seen = new Set<string>();
  return ids.filter((a) => !seen.has(`${a.scheme}:${a.id}`) && !!seen.add(`${a.scheme}:${a.id}`));
}
