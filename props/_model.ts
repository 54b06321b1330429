/**
 * A deliberately simple reference model of one replica, as its clients see it: the znode tree as
 * a plain map from path to fields, ZooKeeper's rules written out naively (REFERENCE §1, §2, §4),
 * and the message stream each connection should receive.
 *
 * It shares no code with the implementation (only the wire types): children are found by scanning
 * every path, each txn works on a fresh copy of the whole map, and the tree after every zxid is
 * kept so a read can be answered from exactly the state it must see.
 *
 * What it promises, in the words of the reference:
 * - Writes are ordered (and validated) in arrival order; a failed write consumes no zxid and is
 *   answered with its error once every write ordered before it is applied (the error may rest
 *   on them). A write is answered once it is durable, in zxid order.
 * - Every connection is answered in the order it sent its requests. A read runs once everything
 *   sent before it on its connection is answered, against the last state applied at that moment
 *   (so it sees its own writes, and possibly not yet other connections' ordered writes).
 * - Watches are one-shot, at most one registration per (session, path, table); a change fires them
 *   when it is applied, and each event reaches its connection before any later response.
 * - A session idle for more than its timeout (in whole ticks) is expired at the next tick; close
 *   and expiry delete its ephemerals in one txn, drop its watches, and the expired connection is
 *   told `SessionExpired` and closed.
 * @module
 */
import type { CreateMode, ErrorCode, Stat, WatchEventType } from "../src/tree/types.ts";
import type { ClientRequest, MultiOp } from "../src/wire/messages.ts";

/**
 * One znode of the model. `numChildren`, `dataLength` and `cversion` are computed, never stored:
 * as ZooKeeper does, the model counts the children ever created and reports cversion as
 * `2 * created - numChildren`.
 */
export interface ModelNode {
  data: Uint8Array;
  czxid: number;
  mzxid: number;
  pzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  aversion: number;
  ephemeralOwner: number;
  /** Children ever created here: ZooKeeper's stored counter, which numbers sequential children. */
  created: number;
}

/** The whole namespace at one zxid. */
export type ModelTree = Map<string, ModelNode>;

/** A tree to read from. */
export type ModelTreeView = ReadonlyMap<string, Readonly<ModelNode>>;

/**
 * What a connection receives, with the free-text `message` of errors left out, plus a pseudo
 * message `{ t: "close" }` for the server closing the connection.
 */
export type Delivery = Record<string, unknown> & { t: string };

interface Trigger {
  type: WatchEventType;
  path: string;
}

type QueueItem =
  /** An answer; with `upTo`, sent once that zxid is applied. */
  | { kind: "done"; response: Delivery; upTo?: number }
  | {
    kind: "read";
    request: Extract<ClientRequest, { op: "exists" | "getData" | "getChildren" | "ping" }>;
  }
  | { kind: "write"; zxid: number };

interface ModelSession {
  id: number;
  timeoutTicks: number;
  lastHeardTick: number;
  state: "live" | "closing" | "gone";
  connected: boolean;
  queue: QueueItem[];
  dataWatches: Set<string>;
  childWatches: Set<string>;
}

interface PendingTxn {
  zxid: number;
  after: ModelTree;
  triggers: Trigger[];
  /** The connection that asked, with the response it gets once applied; null for an expiry. */
  origin: { slot: number; response: Delivery } | null;
  /** The session this txn closes, if it is a close or an expiry. */
  closes: number | null;
}

const emptyNode = (): ModelNode => ({
  data: new Uint8Array(0),
  czxid: 0,
  mzxid: 0,
  pzxid: 0,
  ctime: 0,
  mtime: 0,
  version: 0,
  aversion: 0,
  ephemeralOwner: 0,
  created: 0,
});

/** `/a/b` -> `/a`; `/a` -> `/`. */
export function parentPath(path: string): string {
  const i = path.lastIndexOf("/");
  return i === 0 ? "/" : path.slice(0, i);
}

/** Sorted names of the children of `path`, found by scanning every path. */
export function childrenOf(tree: ModelTreeView, path: string): string[] {
  const names: string[] = [];
  for (const candidate of tree.keys()) {
    if (candidate !== "/" && parentPath(candidate) === path) {
      names.push(candidate.slice(candidate.lastIndexOf("/") + 1));
    }
  }
  return names.sort();
}

/** The stat ZooKeeper reports for `path`, or null. */
export function statOf(tree: ModelTreeView, path: string): Stat | null {
  const node = tree.get(path);
  if (!node) return null;
  const { data, created, ...fields } = node;
  const numChildren = childrenOf(tree, path).length;
  return {
    ...fields,
    cversion: 2 * created - numChildren,
    dataLength: data.byteLength,
    numChildren,
  };
}

function copyTree(tree: ModelTree): ModelTree {
  const copy: ModelTree = new Map();
  for (const [path, node] of tree) copy.set(path, { ...node });
  return copy;
}

const isSequential = (mode: CreateMode) =>
  mode === "persistentSequential" || mode === "ephemeralSequential";
const isEphemeral = (mode: CreateMode) => mode === "ephemeral" || mode === "ephemeralSequential";

interface TxnContext {
  zxid: number;
  timeMs: number;
  sessionId: number;
}

/** One op's entry in a multi response (also the fields of a single op's response). */
type OpResult = Record<string, unknown> & { op: string };

type OpOutcome = { ok: true; result: OpResult; triggers: Trigger[] } | {
  ok: false;
  err: ErrorCode;
};

/** Applies one op to `tree` (a private copy), or says why it cannot apply (and changes nothing). */
function applyOp(tree: ModelTree, op: MultiOp, ctx: TxnContext): OpOutcome {
  const node = tree.get(op.path);
  const versionOk = (n: ModelNode, version: number) => version === -1 || version === n.version;
  switch (op.op) {
    case "create": {
      const parent = tree.get(parentPath(op.path));
      if (!parent) return { ok: false, err: "NoNode" };
      if (parent.ephemeralOwner !== 0) return { ok: false, err: "NoChildrenForEphemerals" };
      const path = isSequential(op.mode)
        ? op.path + String(parent.created).padStart(10, "0")
        : op.path;
      if (tree.has(path)) return { ok: false, err: "NodeExists" };
      tree.set(path, {
        ...emptyNode(),
        data: op.data,
        czxid: ctx.zxid,
        mzxid: ctx.zxid,
        pzxid: ctx.zxid,
        ctime: ctx.timeMs,
        mtime: ctx.timeMs,
        ephemeralOwner: isEphemeral(op.mode) ? ctx.sessionId : 0,
      });
      parent.created += 1;
      parent.pzxid = ctx.zxid;
      return {
        ok: true,
        result: { op: "create", path, stat: statOf(tree, path) },
        triggers: [{ type: "NodeCreated", path }, {
          type: "NodeChildrenChanged",
          path: parentPath(path),
        }],
      };
    }
    case "delete": {
      if (!node) return { ok: false, err: "NoNode" };
      if (!versionOk(node, op.version)) return { ok: false, err: "BadVersion" };
      if (childrenOf(tree, op.path).length > 0) return { ok: false, err: "NotEmpty" };
      return { ok: true, result: { op: "delete" }, triggers: deleteNode(tree, op.path, ctx.zxid) };
    }
    case "setData": {
      if (!node) return { ok: false, err: "NoNode" };
      if (!versionOk(node, op.version)) return { ok: false, err: "BadVersion" };
      node.data = op.data;
      node.version += 1;
      node.mzxid = ctx.zxid;
      node.mtime = ctx.timeMs;
      return {
        ok: true,
        result: { op: "setData", stat: statOf(tree, op.path) },
        triggers: [{ type: "NodeDataChanged", path: op.path }],
      };
    }
    case "check": {
      if (!node) return { ok: false, err: "NoNode" };
      if (!versionOk(node, op.version)) return { ok: false, err: "BadVersion" };
      return { ok: true, result: { op: "check" }, triggers: [] };
    }
  }
}

function deleteNode(tree: ModelTree, path: string, zxid: number): Trigger[] {
  tree.delete(path);
  const parent = tree.get(parentPath(path))!;
  parent.pzxid = zxid;
  return [{ type: "NodeDeleted", path }, { type: "NodeChildrenChanged", path: parentPath(path) }];
}

/**
 * The reference model of a replica serving sessions in numbered slots (one connection each).
 *
 * Feed it the same inputs as the replica; `takeDeliveries()` returns what each slot's connection
 * should have received since the last call.
 */
export class ReplicaModel {
  /** The state every ordered write has been validated against. */
  #ordered: ModelTree = new Map();
  /** The state the replica has applied (what reads see). */
  #applied: ModelTree = new Map();
  #orderedZxid = 0;
  #appliedZxid = 0;
  #pending: PendingTxn[] = [];
  #sessions: ModelSession[] = [];
  #out = new Map<number, Delivery[]>();
  #nowTick = 0;
  /** Every sequential path ever created, in creation order (for tests that pick one). */
  readonly sequentialPaths: string[] = [];

  constructor(readonly tickMs: number) {
    // The system nodes, as ZooKeeper starts: their children were never created, so cversion
    // (2 * created - numChildren) starts below zero.
    this.#ordered.set("/", emptyNode());
    this.#ordered.set("/zookeeper", emptyNode());
    this.#ordered.set("/zookeeper/config", { ...emptyNode(), aversion: -1 });
    this.#ordered.set("/zookeeper/quota", emptyNode());
    this.#applied = this.#ordered;
  }

  /** Current wall clock of the model: ticks times `tickMs`. */
  get nowMs(): number {
    return this.#nowTick * this.tickMs;
  }

  /** Number of session slots opened. */
  get slotCount(): number {
    return this.#sessions.length;
  }

  /** zxids of the txns ordered and not yet applied, in order. */
  get pendingZxids(): number[] {
    return this.#pending.map((p) => p.zxid);
  }

  /** zxid of the last applied txn. */
  get appliedZxid(): number {
    return this.#appliedZxid;
  }

  /** The applied tree (read it, never change it). */
  get appliedTree(): ModelTreeView {
    return this.#applied;
  }

  /** True while the slot's connection is open. */
  isConnected(slot: number): boolean {
    return this.#sessions[slot]?.connected ?? false;
  }

  /**
   * A new session (a createSession txn, applied at once) in the next slot. The id is the
   * server's to choose; the model only needs to know it.
   */
  openSession(sessionId: number, timeoutMs: number): number {
    this.#orderedZxid += 1;
    this.#appliedZxid = this.#orderedZxid;
    this.#sessions.push({
      id: sessionId,
      timeoutTicks: Math.ceil(this.negotiatedTimeoutMs(timeoutMs) / this.tickMs),
      lastHeardTick: this.#nowTick,
      state: "live",
      connected: true,
      queue: [],
      dataWatches: new Set(),
      childWatches: new Set(),
    });
    return this.#sessions.length - 1;
  }

  /** The timeout the server must grant for a requested one (REFERENCE §3). */
  negotiatedTimeoutMs(timeoutMs: number): number {
    return Math.min(Math.max(timeoutMs, 2 * this.tickMs), 20 * this.tickMs);
  }

  /** A request arrives on the slot's connection. */
  request(slot: number, request: ClientRequest): void {
    const session = this.#sessions[slot];
    if (!session.connected) return;
    if (session.state !== "live") {
      session.queue.push({
        kind: "done",
        response: { t: "res", xid: request.xid, err: "SessionExpired" },
        upTo: this.#orderedZxid,
      });
      return this.#drain(slot);
    }
    session.lastHeardTick = this.#nowTick;
    switch (request.op) {
      case "exists":
      case "getData":
      case "getChildren":
      case "ping":
        session.queue.push({ kind: "read", request });
        break;
      case "close":
        session.state = "closing";
        this.#orderClose(slot, { slot, response: { t: "res", xid: request.xid } });
        break;
      case "create":
      case "delete":
      case "setData":
      case "check":
        this.#orderWrite(slot, request.xid, [request], false);
        break;
      case "multi":
        this.#orderWrite(slot, request.xid, request.ops, true);
        break;
      default:
        throw new Error(`the model does not cover op ${request.op}`);
    }
    this.#drain(slot);
  }

  /** One tick passes: sessions idle for more than their timeout expire (lowest id first). */
  tick(): void {
    this.#nowTick += 1;
    const expiring = this.#sessions
      .map((session, slot) => ({ session, slot }))
      .filter(({ session }) =>
        session.state === "live" && this.#nowTick > session.lastHeardTick + session.timeoutTicks
      )
      .sort((a, b) => a.session.id - b.session.id);
    for (const { session, slot } of expiring) {
      session.state = "closing";
      this.#orderClose(slot, null);
    }
  }

  /** Storage reports every txn up to `zxid` durable: they apply in order. */
  durable(zxid: number): void {
    while (this.#pending.length > 0 && this.#pending[0].zxid <= zxid) {
      this.#apply(this.#pending.shift()!);
    }
  }

  /** The client drops its connection; the session lives on, its watches do not. */
  disconnect(slot: number): void {
    const session = this.#sessions[slot];
    session.connected = false;
    session.queue = [];
    session.dataWatches.clear();
    session.childWatches.clear();
  }

  /** What each slot's connection should have received since the last call. */
  takeDeliveries(): Map<number, Delivery[]> {
    const out = this.#out;
    this.#out = new Map();
    return out;
  }

  // ---- ordering -----------------------------------------------------------------------------

  #orderWrite(slot: number, xid: number, ops: MultiOp[], isMulti: boolean): void {
    const session = this.#sessions[slot];
    const zxid = this.#orderedZxid + 1;
    const tree = copyTree(this.#ordered);
    const ctx = { zxid, timeMs: this.nowMs, sessionId: session.id };
    const results: OpResult[] = [];
    const triggers: Trigger[] = [];
    const sequential: string[] = [];
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      const outcome = applyOp(tree, op, ctx);
      if (!outcome.ok) {
        const response: Delivery = { t: "res", xid, err: outcome.err };
        if (isMulti) {
          response.results = ops.map((_, j) => ({
            op: "error",
            err: j < i ? "RolledBack" : j === i ? outcome.err : "RuntimeInconsistency",
          }));
        }
        session.queue.push({ kind: "done", response, upTo: zxid - 1 });
        return;
      }
      results.push(outcome.result);
      triggers.push(...outcome.triggers);
      if (op.op === "create" && isSequential(op.mode)) {
        sequential.push(outcome.result.path as string);
      }
    }
    this.sequentialPaths.push(...sequential);
    let response: Delivery;
    if (isMulti) {
      response = { t: "res", xid, zxid, results };
    } else {
      const { op: _op, ...fields } = results[0];
      response = { ...fields, t: "res", xid, zxid };
    }
    this.#order(tree, triggers, { slot, response }, null);
  }

  #orderClose(slot: number, origin: PendingTxn["origin"]): void {
    const id = this.#sessions[slot].id;
    const zxid = this.#orderedZxid + 1;
    const tree = copyTree(this.#ordered);
    const owned = [...tree].filter(([, node]) => node.ephemeralOwner === id).map(([path]) => path)
      .sort();
    const triggers = owned.flatMap((path) => deleteNode(tree, path, zxid));
    if (origin) origin.response.zxid = zxid;
    this.#order(tree, triggers, origin, slot);
  }

  #order(
    after: ModelTree,
    triggers: Trigger[],
    origin: PendingTxn["origin"],
    closes: number | null,
  ): void {
    const zxid = ++this.#orderedZxid;
    this.#ordered = after;
    this.#pending.push({ zxid, after, triggers, origin, closes });
    if (origin) this.#sessions[origin.slot].queue.push({ kind: "write", zxid });
  }

  // ---- applying -----------------------------------------------------------------------------

  #apply(txn: PendingTxn): void {
    this.#applied = txn.after;
    this.#appliedZxid = txn.zxid;
    if (txn.closes !== null) this.#endSession(txn.closes, txn.origin === null);
    for (const trigger of txn.triggers) this.#fire(trigger, txn.zxid);
    // Errors that waited for this txn go out first (they were answered before it on their slots).
    for (let other = 0; other < this.#sessions.length; other++) {
      if (other !== txn.origin?.slot) this.#drain(other);
    }
    if (txn.origin === null) return;
    const slot = txn.origin.slot;
    const session = this.#sessions[slot];
    if (!session.connected) return;
    const head = session.queue[0];
    if (head?.kind !== "write" || head.zxid !== txn.zxid) {
      throw new Error(
        `model: slot ${slot} waits for ${JSON.stringify(head)}, not zxid ${txn.zxid}`,
      );
    }
    session.queue[0] = { kind: "done", response: txn.origin.response };
    this.#drain(slot);
    if (txn.closes === slot) this.#closeConnection(slot);
  }

  #endSession(slot: number, expired: boolean): void {
    const session = this.#sessions[slot];
    session.state = "gone";
    session.dataWatches.clear();
    session.childWatches.clear();
    if (expired && session.connected) {
      this.#deliver(slot, { t: "error", err: "SessionExpired" });
      this.#closeConnection(slot);
    }
  }

  #closeConnection(slot: number): void {
    this.#deliver(slot, { t: "close" });
    this.disconnect(slot);
  }

  /** Fires one change: each watching session is told once, and its watches on it are gone. */
  #fire(trigger: Trigger, zxid: number): void {
    this.#sessions.forEach((session, slot) => {
      let fired = false;
      if (trigger.type !== "NodeChildrenChanged") {
        fired = session.dataWatches.delete(trigger.path) || fired;
      }
      if (trigger.type === "NodeChildrenChanged" || trigger.type === "NodeDeleted") {
        fired = session.childWatches.delete(trigger.path) || fired;
      }
      if (fired && session.connected) {
        this.#deliver(slot, { t: "event", type: trigger.type, path: trigger.path, zxid });
      }
    });
  }

  /** Answers, in order, everything at the head of the slot's queue that is not a pending write. */
  #drain(slot: number): void {
    const session = this.#sessions[slot];
    while (session.connected && session.queue.length > 0 && session.queue[0].kind !== "write") {
      const head = session.queue[0];
      if (head.kind === "done" && (head.upTo ?? 0) > this.#appliedZxid) return;
      const item = session.queue.shift()!;
      if (item.kind === "done") {
        this.#deliver(slot, { zxid: this.#appliedZxid, ...item.response });
      } else if (item.kind === "read") {
        this.#deliver(slot, this.#read(session, item.request));
      }
    }
  }

  #read(session: ModelSession, request: Extract<QueueItem, { kind: "read" }>["request"]): Delivery {
    const base = { t: "res", xid: request.xid, zxid: this.#appliedZxid };
    if (request.op === "ping") return base;
    const stat = statOf(this.#applied, request.path);
    if (request.op === "exists") {
      if (request.watch) session.dataWatches.add(request.path);
      return { ...base, stat };
    }
    if (stat === null) return { ...base, err: "NoNode" };
    if (request.op === "getData") {
      if (request.watch) session.dataWatches.add(request.path);
      return { ...base, data: this.#applied.get(request.path)!.data, stat };
    }
    if (request.watch) session.childWatches.add(request.path);
    return { ...base, children: childrenOf(this.#applied, request.path), stat };
  }

  #deliver(slot: number, delivery: Delivery): void {
    let list = this.#out.get(slot);
    if (!list) this.#out.set(slot, list = []);
    list.push(delivery);
  }
}
