/**
 * Histories for the checkers' tests, two ways:
 * - {@linkcode HistoryBuilder}: hand-written runs, one client action at a time, with correct
 *   answers filled in from the committed txns so a test only spells out what it breaks;
 * - {@linkcode simulate}: a random run of the real replica (`src/replica`) as one standalone
 *   server, with clients that pipeline requests, drop their connection, resume their session with
 *   `setWatches`, close or lose their session, recorded as a {@linkcode History}; plus seeded
 *   bugs that damage a recorded history the way a broken server would.
 * Private to this folder.
 * @module
 */
import fc from "fast-check";
import { Replica } from "../../src/replica/replica.ts";
import type { ReplicaEvent } from "../../src/replica/types.ts";
import type { Txn, TxnRecord } from "../../src/tree/txn.ts";
import type { CreateMode, WatchEventType } from "../../src/tree/types.ts";
import type {
  ClientRequest,
  MultiOp,
  ResponseMessage,
  ServerMessage,
} from "../../src/wire/messages.ts";
import { parentOf, replayCommitted } from "./committed.ts";
import type { History, HistoryEvent, HistoryOp, HistorySession } from "./history.ts";

/** A request without its xid (the builder and the simulated clients number them). */
export type RequestBody = ClientRequest extends infer R
  ? R extends { xid: number } ? Omit<R, "xid"> : never
  : never;

/** Text as bytes. */
export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

const openAcl = [{ perms: 31, scheme: "world", id: "anyone" }];

// ---- hand-written histories ---------------------------------------------------------------------

/** Where a builder client is: its session and connection. */
export interface BuilderClient {
  client: number;
  sessionId: number;
  connection: number;
  server: number;
}

/**
 * Builds a history step by step. Every call advances the observer clock. Reads are answered with
 * the committed state at the zxid asked for (the last committed one by default); writes commit
 * their txn and are answered with its zxid and the resulting stat.
 *
 * @example
 * ```ts
 * import { HistoryBuilder } from "./_fixtures.ts";
 * const b = new HistoryBuilder();
 * const c = b.open(1);
 * b.create(c, "/a");
 * b.read(c, "getData", "/a");
 * ```
 */
export class HistoryBuilder {
  readonly history: History = { ops: [], events: [], sessions: [], committed: [] };
  #clock = 0;
  #zxid = 0x100000000;
  #xids = new Map<number, number>();
  #nextSession = 0x1000;

  /** The zxid of the last committed txn. */
  get lastZxid(): number {
    return this.history.committed.at(-1)?.zxid ?? 0;
  }

  tick(): number {
    return ++this.#clock;
  }

  /** Client `client` opens a new session (a committed createSession) on connection 1. */
  open(client: number, server = 1): BuilderClient {
    const sessionId = this.#nextSession++;
    this.commit(sessionId, {
      type: "createSession",
      sessionId,
      timeoutMs: 1000,
      password: bytes(""),
    });
    const c = { client, sessionId, connection: 1, server };
    this.#session(c, "created");
    return c;
  }

  /** The client's connection broke; it resumes its session on a new one. */
  reconnect(c: BuilderClient, server = c.server): void {
    c.connection++;
    c.server = server;
    this.#session(c, "resumed");
  }

  /** Appends a committed txn; returns its zxid. */
  commit(sessionId: number, txn: Txn): number {
    const zxid = ++this.#zxid;
    this.history.committed.push({ zxid, timeMs: 5000 + zxid % 1000, sessionId, txn });
    return zxid;
  }

  /** Sends a request; it stays in flight until {@linkcode HistoryBuilder.answer}. */
  send(c: BuilderClient, body: RequestBody): HistoryOp {
    const xid = (this.#xids.get(c.client) ?? 0) + 1;
    this.#xids.set(c.client, xid);
    const invoked = this.tick();
    const op: HistoryOp = {
      index: this.history.ops.length,
      client: c.client,
      sessionId: c.sessionId,
      connection: c.connection,
      server: c.server,
      xid,
      request: { ...body, xid } as ClientRequest,
      invoked,
      completed: null,
      invokedMs: invoked,
      completedMs: null,
      outcome: "pending",
      response: null,
    };
    this.history.ops.push(op);
    return op;
  }

  /** The response to `op` arrives, with `fields` (`zxid` defaults to the last committed one). */
  answer(op: HistoryOp, fields: Partial<ResponseMessage> = {}): HistoryOp {
    op.completed = this.tick();
    op.completedMs = op.completed;
    op.response = { t: "res", xid: op.xid, zxid: this.lastZxid, ...fields };
    op.outcome = op.response.err === undefined ? "ok" : "error";
    return op;
  }

  /** A correct answer to a read at `zxid` (default: the last committed). */
  readAnswer(request: RequestBody, zxid = this.lastZxid): Partial<ResponseMessage> {
    if (!("path" in request)) return { zxid };
    const node = replayCommitted(this.history.committed, [{ zxid, path: request.path }])
      .answers[0];
    if (request.op === "exists") return { zxid, stat: node?.stat ?? null };
    if (node === null) return { zxid, err: "NoNode", message: `${request.path} does not exist` };
    switch (request.op) {
      case "getData":
        return { zxid, data: node.data, stat: node.stat };
      case "getChildren":
        return { zxid, children: node.children, stat: node.stat };
      case "getACL":
        return { zxid, acl: [...node.acl], stat: node.stat };
    }
    return { zxid };
  }

  /** Sends a read and answers it correctly at `zxid` (default: the last committed). */
  read(
    c: BuilderClient,
    op: "getData" | "exists" | "getChildren",
    path: string,
    options: { watch?: boolean; zxid?: number } = {},
  ): HistoryOp {
    const body = { op, path, watch: options.watch ?? false } as RequestBody;
    return this.answer(this.send(c, body), this.readAnswer(body, options.zxid));
  }

  /** Sends a write, commits `txn` for it and answers it ok (stat of `statPath` when given). */
  write(c: BuilderClient, body: RequestBody, txn: Txn, statPath?: string): HistoryOp {
    const op = this.send(c, body);
    const zxid = this.commit(c.sessionId, txn);
    const fields: Partial<ResponseMessage> = { zxid };
    if (statPath !== undefined) {
      fields.stat = replayCommitted(this.history.committed, [{ zxid, path: statPath }])
        .answers[0]?.stat;
    }
    if (txn.type === "create") fields.path = txn.path;
    return this.answer(op, fields);
  }

  /** A persistent (or ephemeral) create of `path`, committed and answered. */
  create(c: BuilderClient, path: string, data = "", ephemeral = false): HistoryOp {
    const parent =
      replayCommitted(this.history.committed, [{ zxid: Infinity, path: parentOf(path) }])
        .answers[0];
    const mode: CreateMode = ephemeral ? "ephemeral" : "persistent";
    return this.write(
      c,
      { op: "create", path, data: bytes(data), acl: openAcl, mode },
      {
        type: "create",
        path,
        data: bytes(data),
        acl: openAcl,
        ephemeralOwner: ephemeral ? c.sessionId : 0,
        parentCversion: (parent?.stat.cversion ?? 0) + 1,
      },
      path,
    );
  }

  /** A setData of `path` (any version), committed and answered. */
  setData(c: BuilderClient, path: string, data: string): HistoryOp {
    const node = replayCommitted(this.history.committed, [{ zxid: Infinity, path }]).answers[0];
    return this.write(
      c,
      { op: "setData", path, data: bytes(data), version: -1 },
      { type: "setData", path, data: bytes(data), version: (node?.stat.version ?? 0) + 1 },
      path,
    );
  }

  /** A delete of `path` (any version), committed and answered. */
  delete(c: BuilderClient, path: string): HistoryOp {
    return this.write(c, { op: "delete", path, version: -1 }, { type: "delete", path });
  }

  /** The client closes its session: a committed closeSession, answered. */
  close(c: BuilderClient): HistoryOp {
    const op = this.write(c, { op: "close" }, { type: "closeSession", sessionId: c.sessionId });
    this.#session(c, "closed");
    return op;
  }

  /** A watch event reaches the client on its current connection. */
  event(c: BuilderClient, type: WatchEventType, path: string, zxid: number): HistoryEvent {
    const at = this.tick();
    const event: HistoryEvent = {
      client: c.client,
      sessionId: c.sessionId,
      connection: c.connection,
      server: c.server,
      type,
      path,
      zxid,
      at,
      atMs: at,
    };
    this.history.events.push(event);
    return event;
  }

  #session(c: BuilderClient, kind: HistorySession["kind"]): void {
    const at = this.tick();
    this.history.sessions.push({
      client: c.client,
      sessionId: c.sessionId,
      connection: c.connection,
      server: c.server,
      kind,
      at,
      atMs: at,
    });
  }
}

// ---- random runs of the real replica ------------------------------------------------------------

/** Paths a run uses: a few keys, two nested (sequential creates add siblings). */
const keys = ["/a", "/b", "/a/c", "/b/d"];
const dataValues = ["", "x", "yz"];

/** One client request of a run, as fast-check generates it. */
export type OpSpec =
  | { op: "create"; key: number; mode: CreateMode; data: number }
  | { op: "setData"; key: number; data: number; version: number }
  | { op: "delete"; key: number; version: number }
  | { op: "exists" | "getData" | "getChildren"; key: number; watch: boolean }
  | { op: "multi"; ops: { key: number; data: number }[] }
  | { op: "sync" };

/** One step of a run. */
export type StepSpec =
  | { kind: "send"; client: number; op: OpSpec }
  /** Storage makes everything persisted so far durable: the replica applies and answers. */
  | { kind: "durable" }
  /** The client's connection breaks; it reconnects (resuming its session, or opening one). */
  | { kind: "reconnect"; client: number }
  | { kind: "close"; client: number }
  | { kind: "tick" };

const keyArb = fc.constantFrom(0, 0, 1, 1, 2, 3); // mostly the nodes the run starts with
const versionArb = fc.constantFrom(-1, -1, -1, 0, 1);
const opArb: fc.Arbitrary<OpSpec> = fc.oneof(
  {
    arbitrary: fc.record({
      op: fc.constant("create" as const),
      key: fc.constantFrom(0, 2, 2, 3, 3),
      mode: fc.constantFrom<CreateMode>(
        "persistent",
        "ephemeral",
        "ephemeral",
        "persistentSequential",
        "ephemeralSequential",
      ),
      data: fc.nat(2),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("setData" as const),
      key: keyArb,
      data: fc.nat(2),
      version: versionArb,
    }),
    weight: 3,
  },
  fc.record({ op: fc.constant("delete" as const), key: keyArb, version: versionArb }),
  {
    arbitrary: fc.record({
      op: fc.constantFrom("exists" as const, "getData" as const, "getChildren" as const),
      key: fc.nat(keys.length), // keys.length is "/"
      watch: fc.constantFrom(true, true, false),
    }),
    weight: 5,
  },
  fc.record({
    op: fc.constant("multi" as const),
    ops: fc.array(fc.record({ key: keyArb, data: fc.nat(2) }), { minLength: 1, maxLength: 2 }),
  }),
  fc.constant({ op: "sync" as const }),
);

/** A run: 2-3 clients and a list of steps. */
export const runArb: fc.Arbitrary<{ clients: number; steps: StepSpec[] }> = fc.record({
  clients: fc.integer({ min: 2, max: 3 }),
  steps: fc.array(
    fc.oneof(
      {
        arbitrary: fc.record({ kind: fc.constant("send" as const), client: fc.nat(2), op: opArb }),
        weight: 24,
      },
      { arbitrary: fc.constant({ kind: "durable" as const }), weight: 10 },
      {
        arbitrary: fc.record({ kind: fc.constant("reconnect" as const), client: fc.nat(2) }),
        weight: 3,
      },
      {
        arbitrary: fc.record({ kind: fc.constant("close" as const), client: fc.nat(2) }),
        weight: 1,
      },
      { arbitrary: fc.constant({ kind: "tick" as const }), weight: 1 },
    ),
    { minLength: 10, maxLength: 100, size: "max" },
  ),
});

function requestOf(spec: OpSpec): RequestBody {
  const path = (key: number) => (key >= keys.length ? "/" : keys[key]);
  switch (spec.op) {
    case "create":
      return {
        op: "create",
        path: path(spec.key),
        data: bytes(dataValues[spec.data]),
        acl: openAcl,
        mode: spec.mode,
      };
    case "setData":
      return {
        op: "setData",
        path: path(spec.key),
        data: bytes(dataValues[spec.data]),
        version: spec.version,
      };
    case "delete":
      return { op: "delete", path: path(spec.key), version: spec.version };
    case "multi":
      return {
        op: "multi",
        ops: spec.ops.map((o): MultiOp => ({
          op: "setData",
          path: path(o.key),
          data: bytes(dataValues[o.data]),
          version: -1,
        })),
      };
    case "sync":
      return { op: "sync", path: "/" };
    default:
      return { op: spec.op, path: path(spec.key), watch: spec.watch };
  }
}

const tickMs = 100;

/** One simulated client: a session, at most one connection, and its pending watches. */
interface SimClient {
  id: number;
  sessionId: number;
  password: Uint8Array;
  connId: number | null;
  connection: number;
  live: boolean;
  xid: number;
  lastZxid: number;
  /** xid -> the recorded op, or null for an internal request (setWatches). */
  inflight: Map<number, HistoryOp | null>;
  watches: { data: Set<string>; exist: Set<string>; child: Set<string> };
}

/**
 * Runs `plan` against one standalone replica and records what the clients saw. At the end
 * everything persisted is made durable, so `committed` holds every txn the replica ordered.
 */
export function simulate(plan: { clients: number; steps: StepSpec[] }): History {
  return new Simulation(plan.clients).run(plan.steps);
}

class Simulation {
  readonly history: History = { ops: [], events: [], sessions: [], committed: [] };
  readonly replica = new Replica({ serverId: 1, tickMs, sessionIdBase: 0x100 });
  readonly clients: SimClient[] = [];
  #clock = 0;
  #nowMs = 1_000_000;
  #nextConnId = 1;
  #persisted = 0;

  constructor(count: number) {
    for (let id = 0; id < count; id++) {
      this.clients.push({
        id,
        sessionId: 0,
        password: new Uint8Array(0),
        connId: null,
        connection: 0,
        live: false,
        xid: 0,
        lastZxid: 0,
        inflight: new Map(),
        watches: { data: new Set(), exist: new Set(), child: new Set() },
      });
    }
  }

  run(steps: readonly StepSpec[]): History {
    for (const client of this.clients) this.#connect(client);
    this.#durable();
    // Two persistent nodes to start with, so more of the random writes succeed.
    for (const path of ["/a", "/b"]) {
      this.#send(this.clients[0], {
        op: "create",
        path,
        data: bytes(""),
        acl: openAcl,
        mode: "persistent",
      }, true);
    }
    this.#durable();
    for (const step of steps) {
      const client = "client" in step ? this.clients[step.client % this.clients.length] : null;
      switch (step.kind) {
        case "send":
          if (client!.live) this.#send(client!, requestOf(step.op), true);
          break;
        case "close":
          if (client!.live) this.#send(client!, { op: "close" }, true);
          break;
        case "reconnect":
          this.#drop(client!);
          this.#connect(client!);
          break;
        case "durable":
          this.#durable();
          break;
        case "tick":
          this.#nowMs += tickMs;
          this.#step({ type: "tick", nowMs: this.#nowMs });
          break;
      }
    }
    this.#durable();
    return this.history;
  }

  #step(event: ReplicaEvent): void {
    const closed: number[] = [];
    for (const action of this.replica.step(event)) {
      if (action.type === "persist") {
        this.history.committed.push(...action.records.map((r: TxnRecord) => r));
        this.#persisted = action.records.at(-1)!.zxid;
      } else if (action.type === "send") {
        this.#receive(action.connId, action.message);
      } else if (action.type === "close") {
        closed.push(action.connId);
      }
    }
    for (const connId of closed) {
      const client = this.clients.find((c) => c.connId === connId);
      if (client) this.#lost(client);
      this.#step({ type: "disconnect", connId });
    }
  }

  #durable(): void {
    if (this.#persisted > 0) this.#step({ type: "durable", zxid: this.#persisted });
  }

  #connect(client: SimClient): void {
    client.connId = this.#nextConnId++;
    client.connection++;
    this.#step({
      type: "connect",
      connId: client.connId,
      nowMs: this.#nowMs,
      remoteAddress: "127.0.0.1",
      request: {
        op: "connect",
        proto: 1,
        timeoutMs: 10 * tickMs,
        sessionId: client.sessionId,
        password: client.password,
        lastZxid: client.lastZxid,
      },
      entropy: new Uint8Array(16).fill(client.id + 1),
    });
  }

  /** The client drops its connection. */
  #drop(client: SimClient): void {
    if (client.connId === null) return;
    const connId = client.connId;
    this.#lost(client);
    this.#step({ type: "disconnect", connId });
  }

  /** The connection is gone: what was in flight has an unknown outcome. */
  #lost(client: SimClient): void {
    for (const op of client.inflight.values()) if (op) op.outcome = "unknown";
    client.inflight.clear();
    client.connId = null;
    client.live = false;
  }

  #send(client: SimClient, body: RequestBody, record: boolean): void {
    const xid = ++client.xid;
    const request = { ...body, xid } as ClientRequest;
    let op: HistoryOp | null = null;
    if (record) {
      const invoked = ++this.#clock;
      op = {
        index: this.history.ops.length,
        client: client.id,
        sessionId: client.sessionId,
        connection: client.connection,
        server: 1,
        xid,
        request,
        invoked,
        completed: null,
        invokedMs: this.#nowMs,
        completedMs: null,
        outcome: "pending",
        response: null,
      };
      this.history.ops.push(op);
    }
    client.inflight.set(xid, op);
    this.#step({ type: "request", connId: client.connId!, nowMs: this.#nowMs, request });
  }

  #receive(connId: number, message: ServerMessage): void {
    const client = this.clients.find((c) => c.connId === connId);
    if (!client) return;
    switch (message.t) {
      case "connected": {
        const resumed = message.sessionId === client.sessionId;
        client.sessionId = message.sessionId;
        client.password = message.password;
        client.live = true;
        this.#sessionEvent(client, resumed ? "resumed" : "created");
        const { data, exist, child } = client.watches;
        if (resumed && data.size + exist.size + child.size > 0) {
          this.#send(client, {
            op: "setWatches",
            relativeZxid: client.lastZxid,
            dataWatches: [...data].sort(),
            existWatches: [...exist].sort(),
            childWatches: [...child].sort(),
          }, false);
        }
        return;
      }
      case "refused":
      case "error":
        if (message.err === "SessionExpired") this.#expired(client);
        return;
      case "event":
        return this.#onEvent(client, message);
      case "res":
        return this.#onResponse(client, message);
    }
  }

  #expired(client: SimClient): void {
    if (client.sessionId !== 0) this.#sessionEvent(client, "expired");
    this.#forget(client);
  }

  #forget(client: SimClient): void {
    client.sessionId = 0;
    client.password = new Uint8Array(0);
    for (const set of Object.values(client.watches)) set.clear();
  }

  #onEvent(client: SimClient, message: Extract<ServerMessage, { t: "event" }>): void {
    const at = ++this.#clock;
    this.history.events.push({
      client: client.id,
      sessionId: client.sessionId,
      connection: client.connection,
      server: 1,
      type: message.type,
      path: message.path,
      zxid: message.zxid,
      at,
      atMs: this.#nowMs,
    });
    client.lastZxid = Math.max(client.lastZxid, message.zxid);
    const { data, exist, child } = client.watches;
    if (message.type !== "NodeChildrenChanged") {
      data.delete(message.path);
      exist.delete(message.path);
    }
    if (message.type === "NodeChildrenChanged" || message.type === "NodeDeleted") {
      child.delete(message.path);
    }
  }

  #onResponse(client: SimClient, message: ResponseMessage): void {
    client.lastZxid = Math.max(client.lastZxid, message.zxid);
    const op = client.inflight.get(message.xid);
    client.inflight.delete(message.xid);
    if (!op) return;
    op.completed = ++this.#clock;
    op.completedMs = this.#nowMs;
    op.response = message;
    op.outcome = message.err === undefined ? "ok" : "error";
    const request = op.request;
    if (op.outcome === "ok" && "watch" in request && request.watch) {
      const table = request.op === "getChildren"
        ? "child"
        : request.op === "exists" && message.stat == null
        ? "exist"
        : "data";
      client.watches[table].add(request.path);
    }
    if (request.op === "close" && op.outcome === "ok") {
      this.#sessionEvent(client, "closed");
      this.#forget(client);
    }
  }

  #sessionEvent(client: SimClient, kind: HistorySession["kind"]): void {
    const at = ++this.#clock;
    this.history.sessions.push({
      client: client.id,
      sessionId: client.sessionId,
      connection: client.connection,
      server: 1,
      kind,
      at,
      atMs: this.#nowMs,
    });
  }
}

// ---- seeded bugs --------------------------------------------------------------------------------

/** A damage done to a recorded history, or null when the run offers nothing to damage. */
export type HistoryBug = (history: History, pick: number) => History | null;

function copy(history: History): History {
  return {
    ops: history.ops.map((op) => ({ ...op })),
    events: history.events.map((e) => ({ ...e })),
    sessions: history.sessions,
    committed: history.committed,
  };
}

/** The server forgets to deliver one watch event. */
export const dropEvent: HistoryBug = (history, pick) => {
  if (history.events.length === 0) return null;
  const out = copy(history);
  out.events.splice(pick % out.events.length, 1);
  return out;
};

/** The server delivers one watch event twice. */
export const duplicateEvent: HistoryBug = (history, pick) => {
  if (history.events.length === 0) return null;
  const out = copy(history);
  const event = out.events[pick % out.events.length];
  out.events.push({ ...event, at: event.at + 0.5 });
  return out;
};

/** The server answers two pipelined requests of one connection in the wrong order. */
export const swapResponses: HistoryBug = (history, pick) => {
  const out = copy(history);
  const answered = out.ops.filter((op) => op.completed !== null)
    .sort((a, b) => a.completed! - b.completed!);
  const pairs: [HistoryOp, HistoryOp][] = [];
  for (let i = 1; i < answered.length; i++) {
    const [a, b] = [answered[i - 1], answered[i]];
    // Both were in flight together, on one connection.
    if (a.client === b.client && a.connection === b.connection && b.invoked < a.completed!) {
      pairs.push([a, b]);
    }
  }
  if (pairs.length === 0) return null;
  const [a, b] = pairs[pick % pairs.length];
  [a.completed, b.completed] = [b.completed, a.completed];
  [a.completedMs, b.completedMs] = [b.completedMs, a.completedMs];
  return out;
};

const reads = new Set(["getData", "exists", "getChildren"]);

/**
 * A server behind the client answers one read from an older state: a correct answer for a zxid
 * below one the client had already seen.
 */
export const staleRead: HistoryBug = (history, pick) => {
  const out = copy(history);
  const candidates: { op: HistoryOp; zxid: number }[] = [];
  const seen = new Map<number, number>();
  for (const op of [...out.ops].sort((a, b) => a.client - b.client || a.xid - b.xid)) {
    const zxid = op.response?.zxid ?? 0;
    const before = seen.get(op.client) ?? 0;
    if (reads.has(op.request.op) && op.outcome === "ok" && before > 1) {
      candidates.push({ op, zxid: before - 1 });
    }
    if (zxid > before) seen.set(op.client, zxid);
  }
  if (candidates.length === 0) return null;
  const { op, zxid } = candidates[pick % candidates.length];
  const path = (op.request as { path: string }).path;
  const node = replayCommitted(out.committed, [{ zxid, path }]).answers[0];
  op.response = staleAnswer(op, zxid, node);
  op.outcome = op.response.err === undefined ? "ok" : "error";
  return out;
};

function staleAnswer(
  op: HistoryOp,
  zxid: number,
  node: ReturnType<typeof replayCommitted>["answers"][number],
): ResponseMessage {
  const base = { t: "res" as const, xid: op.xid, zxid };
  if (op.request.op === "exists") return { ...base, stat: node?.stat ?? null };
  if (node === null) return { ...base, err: "NoNode", message: "no node" };
  return op.request.op === "getData"
    ? { ...base, data: node.data, stat: node.stat }
    : { ...base, children: node.children, stat: node.stat };
}

/**
 * The server keeps an ephemeral after its session closed: one read after the close still sees
 * it, as it was just before the close (exists, getData), or still lists it (getChildren of its
 * parent).
 */
export const keepEphemeral: HistoryBug = (history, pick) => {
  const out = copy(history);
  /** Ephemerals a closeSession deleted, by path, and by parent. */
  const gone: { path: string; zxid: number }[] = [];
  for (const { record, triggers } of replayCommitted(out.committed).applied) {
    if (record.txn.type !== "closeSession") continue;
    for (const t of triggers) {
      if (t.type === "NodeDeleted") gone.push({ path: t.path, zxid: record.zxid });
    }
  }
  const candidates: { op: HistoryOp; path: string; closed: number }[] = [];
  for (const op of out.ops) {
    const path = (op.request as { path?: string }).path;
    if (!reads.has(op.request.op) || path === undefined || op.outcome !== "ok") continue;
    for (const g of gone) {
      if (g.zxid > op.response!.zxid) continue;
      const watched = op.request.op === "getChildren" ? parentOf(g.path) : g.path;
      if (watched === path) candidates.push({ op, path: g.path, closed: g.zxid });
    }
  }
  // Usable when the ephemeral is still missing at the read (not created again since).
  const answers = replayCommitted(
    out.committed,
    candidates.flatMap((c) => [
      { zxid: c.op.response!.zxid, path: c.path },
      { zxid: c.closed - 1, path: c.path },
    ]),
  ).answers;
  const usable = candidates.map((c, i) => ({ ...c, kept: answers[2 * i + 1]! }))
    .filter((_, i) => answers[2 * i] === null);
  if (usable.length === 0) return null;
  const { op, path, kept } = usable[pick % usable.length];
  const response = { ...op.response! };
  if (op.request.op === "getChildren") {
    response.children = [...(response.children ?? []), path.slice(path.lastIndexOf("/") + 1)];
    response.stat = { ...response.stat!, numChildren: response.stat!.numChildren + 1 };
  } else {
    response.stat = kept.stat;
    if (op.request.op === "getData") response.data = kept.data;
  }
  op.response = response;
  return out;
};
