/**
 * Corral's real ensemble member, {@linkcode EnsembleNode} (the {@linkcode Replica} and the ZAB
 * {@linkcode Peer} wired together, src/ensemble/node.ts), hosted N times in the deterministic
 * simulator beside M simulated clients, VOPR style: a *safety phase* with a per-seed swarm of
 * faults (crashes that lose unsynced writes, restarts from disk, cut links, partitions, message
 * delay, slow fsyncs; in some seeds also power outages that crash a majority of the servers at
 * once, often after a disk stall) under a seeded client workload, checked after every step; then
 * a *liveness phase*: faults stop, the network heals, everyone is up, and within a bounded
 * virtual time a leader must serve, every server must reach BROADCAST with equal state digests,
 * and every client's last write must complete.
 *
 * The server host ({@linkcode ServerHost}) mirrors the real one (src/server/server.ts and
 * src/server/ensemble.ts): client actions are carried out at once; the member's peer-side actions
 * go through one queue in order, where `persistEpochs`, `truncate` and `installSnapshot` hold
 * every later action until their fsync completes (a truncate then steps `truncated`, or, when it
 * asks for a rebuild, reloads the disk and steps `rebuilt`; an install steps `rebuilt` with the
 * image); `appendLog` writes at once and reports `logged` when its fsync completes; the host takes
 * snapshots every `snapCount` applied txns while serving. Messages between servers carry
 * `{channel, message}`; every message goes through a CBOR round trip, as on the wire.
 *
 * The checks, after every step:
 * - (a) every txn a replica applies through a commit while in BROADCAST follows, in one global
 *   sequence, the txn it applied before it (each zxid has one content, one predecessor and one
 *   successor);
 * - (b) at most one server serves as leader in an epoch;
 * - (c) every write acknowledged to a client is a committed txn of that client's session, and is
 *   applied by every serving replica whose last zxid reaches it (never lost across crashes);
 * - (d) replicas whose state ends at the same zxid have equal digests (tree and sessions);
 * - (e) each client gets its responses in the order it sent the requests.
 *
 * Every client records its history (requests, responses, watch events and session changes on one
 * observer clock) and the world keeps every txn any replica applied, so that after the run the
 * committed order can be read back from the converged leader: {@linkcode EnsembleSimResult.checked}
 * is what props/check/ judges (linearizability, reads, FIFO, watches). A failure prints `Replay: SIM_SEED=<seed> <command>`.
 *
 * Used by `tests/sim/ensemble_sim_test.ts` (CI seeds) and `scripts/ensemble_sweep` (thousands).
 * @module
 */
import assert from "../assert.ts";
import * as limits from "../../src/constants.ts";
import { type Channel, EnsembleNode, type NodeAction } from "../../src/ensemble/node.ts";
import { Replica } from "../../src/replica/replica.ts";
import type { ReplicaAction, ReplicaEvent } from "../../src/replica/types.ts";
import type { SimDisk } from "../../src/sim/disk.ts";
import { describeFaults } from "../../src/sim/faults.ts";
import { Rng } from "../../src/sim/rng.ts";
import type { SimAction, SimEvent, SimNode, SimStep } from "../../src/sim/simulator.ts";
import { Simulator } from "../../src/sim/simulator.ts";
import { bodyToRecord, encodedRecordBody } from "../../src/storage/codec.ts";
import { frameRecordBody, readRecord } from "../../src/storage/record.ts";
import type { SnapshotImage } from "../../src/storage/types.ts";
import { treeDigest } from "../../src/tree/digest.ts";
import { type TxnRecord, zxidCounter, zxidEpoch } from "../../src/tree/txn.ts";
import { decodeBody, encodeFrame } from "../../src/wire/frame.ts";
import {
  type ClientRequest,
  type ConnectRequest,
  type MultiOp,
  parseConnect,
  parseRequest,
  type ResponseMessage,
  type ServerMessage,
} from "../../src/wire/messages.ts";
import type { PeerEpochs } from "../../src/zab/peer.ts";
import type {
  History,
  HistoryEvent,
  HistoryOp,
  HistorySession,
} from "../../props/check/history.ts";
import type { Membership } from "../../src/zab/types.ts";

/** Virtual ms per simulator tick: the peer tick. */
export const peerTickMs = 100;
/** The replicas' session tick (sessions clamp to [2, 20] of them). */
export const replicaTickMs = 200;
/** ZooKeeper's initLimit, in peer ticks. */
export const initLimitTicks = 10;
/** ZooKeeper's syncLimit, in peer ticks. */
export const syncLimitTicks = 5;

/** Bugs planted in the server host, to show the checks can fail (checkers are tested). */
export type EnsembleHostBug =
  /**
   * The host does not cut the log on `truncate`, and rebuilds the replica from it: the diverged
   * tail stays on disk and in the replica.
   */
  | "ignoreTrunc"
  /** The host reports records `logged` as soon as it wrote them, before their fsync. */
  | "loggedBeforeDurable"
  /** One server's host drops some committed txns on their way into its replica. */
  | "skipCommit"
  // ---- bugs for the history checkers (props/check/): what clients would notice ----
  /** The leader's host forges every follower's ACK: the leader commits before a quorum logged. */
  | "commitBeforeQuorum"
  /**
   * A leader that loses its leadership goes on answering clients from its own copy of the tree
   * (reads and writes, acknowledged without replication) until it crashes.
   */
  | "deposedLeaderAnswers"
  /** Server 1 applies two adjacent committed txns on different paths in each other's place. */
  | "applyOutOfOrder"
  /** Every watch event goes out twice. */
  | "watchFiresTwice"
  /** Every third watch event a server sends is lost. */
  | "watchLost"
  /** Two responses to one connection in one step go out in the wrong order. */
  | "responsesReordered"
  /** Closing or expiring a session leaves its ephemeral nodes in place (on every server). */
  | "ephemeralSurvives";

// ---- messages on the simulated network ----------------------------------------------------------

/** What travels between simulated nodes. Client frames are raw: the server host parses them. */
export type EnsembleMsg =
  /** Server to server: a member's message on one of its two channels. */
  | { kind: "peer"; channel: Channel; message: unknown }
  /** Client to server: open connection number `conn` with this connect frame. */
  | { kind: "connect"; conn: number; request: unknown }
  /** Client to server: a request on connection `conn`. */
  | { kind: "request"; conn: number; request: unknown }
  /** Client to server: the client closed connection `conn`. */
  | { kind: "disconnect"; conn: number }
  /** Server to client: a message on connection `conn`. */
  | { kind: "reply"; conn: number; message: ServerMessage }
  /** Server to client: the server closed connection `conn` (after everything it sent on it). */
  | { kind: "closed"; conn: number; reason: string };

/** The wire: a CBOR round trip (what a real frame does to a message). */
function overTheWire(msg: EnsembleMsg): EnsembleMsg {
  return decodeBody(encodeFrame(msg).subarray(4)) as EnsembleMsg;
}

// ---- client histories -----------------------------------------------------------------------------

/**
 * One request a client sent, and what became of it: a {@linkcode HistoryOp} (for the checkers in
 * props/check/) plus where it came from in the simulation. The history's `client` is unique per
 * client *process*: a client node that crashes and restarts is a new client.
 */
export interface OpRecord extends HistoryOp {
  /** The client's node id. */
  node: number;
  /** The client node's process: bumped when the client crashes and restarts (sessions die with it). */
  process: number;
  /** Virtual time the client gave up on it (connection lost), for `unknown`. */
  lostMs: number | null;
}

// ---- the simulated disk of a server ------------------------------------------------------------

/** A logged record: its zxid and its bytes as the file store frames them. */
interface LogEntry {
  zxid: number;
  bytes: Uint8Array;
}

/** What one server's storage holds: snapshots (oldest first) and the txn log. */
interface StoreState {
  snapshots: SnapshotImage[];
  log: LogEntry[];
}

type StoreOp =
  | { kind: "append"; entries: LogEntry[] }
  | { kind: "truncate"; zxid: number }
  | { kind: "snapshot"; image: SnapshotImage }
  | { kind: "install"; image: SnapshotImage };

/** Snapshots kept (the file store's default snapRetainCount), with the log they need. */
const snapRetainCount = 3;

/** True when `next` may follow `previous` in a log: the file store's rule. */
function follows(previous: number, next: number): boolean {
  if (zxidEpoch(next) === zxidEpoch(previous)) return next === previous + 1;
  return zxidEpoch(next) > zxidEpoch(previous) && zxidCounter(next) >= 1;
}

function applyStoreOp(state: StoreState, op: StoreOp): void {
  switch (op.kind) {
    case "append":
      state.log.push(...op.entries);
      return;
    case "truncate":
      state.log = state.log.filter((e) => e.zxid <= op.zxid);
      return;
    case "snapshot": {
      state.snapshots.push(op.image);
      if (state.snapshots.length > snapRetainCount) {
        state.snapshots.splice(0, state.snapshots.length - snapRetainCount);
      }
      // Logs only the oldest kept snapshot could need are purged.
      const oldest = state.snapshots[0].zxid;
      const first = state.log.findIndex((e) => e.zxid > oldest);
      state.log = first < 0 ? [] : state.log.slice(first);
      return;
    }
    case "install":
      state.snapshots = [op.image];
      state.log = [];
      return;
  }
}

/**
 * A server's disk: the txn log with its snapshots (one "file" whose writes reach the platter in
 * order, each atomic but an append possibly in part), and the epochs (another file, replaced
 * whole). A write is durable once an fsync that began after it completes; a crash keeps, per
 * file, the durable state plus a random prefix of the writes that were not. Records are stored
 * framed as the file store frames them and decoded at recovery. Entries and images are never
 * mutated, so they are shared rather than copied.
 */
export class ServerDisk implements SimDisk {
  #seq = 0;
  #durable: StoreState = { snapshots: [], log: [] };
  #current: StoreState = { snapshots: [], log: [] };
  #durableEpochs: PeerEpochs = { acceptedEpoch: 0, currentEpoch: 0 };
  #currentEpochs: PeerEpochs = { acceptedEpoch: 0, currentEpoch: 0 };
  #pending: Array<{ seq: number; op: StoreOp }> = [];
  #pendingEpochs: Array<{ seq: number; epochs: PeerEpochs }> = [];
  /** Writes a crash lost, across the run. */
  lost = 0;

  /** The newest epochs written (durable or not). */
  get epochs(): PeerEpochs {
    return { ...this.#currentEpochs };
  }

  /** The last zxid the log or the newest snapshot holds (durable or not). */
  get lastZxid(): number {
    return this.#current.log.at(-1)?.zxid ?? this.#current.snapshots.at(-1)?.zxid ?? 0;
  }

  /** The newest snapshot's zxid, or 0. */
  get snapshotZxid(): number {
    return this.#current.snapshots.at(-1)?.zxid ?? 0;
  }

  writeEpochs(epochs: PeerEpochs): void {
    this.#currentEpochs = { ...epochs };
    this.#pendingEpochs.push({ seq: ++this.#seq, epochs: { ...epochs } });
  }

  append(records: readonly TxnRecord[]): void {
    let last = this.lastZxid;
    const entries: LogEntry[] = [];
    for (const record of records) {
      assert.ok(
        follows(last, record.zxid),
        `the log cannot take zxid ${hex(record.zxid)} after ${hex(last)} (the file store ` +
          `rejects it at recovery)`,
      );
      // As the file store does: the bytes the record was received as, or encoded once.
      entries.push({ zxid: record.zxid, bytes: frameRecordBody(encodedRecordBody(record)) });
      last = record.zxid;
    }
    this.#write({ kind: "append", entries });
  }

  /** ZAB's TRUNC; like the file store, refuses to cut below the newest snapshot. */
  truncateAfter(zxid: number): void {
    assert.ok(
      zxid >= this.snapshotZxid,
      `truncate to ${hex(zxid)} reaches below the newest snapshot ${hex(this.snapshotZxid)} ` +
        `(the file store refuses it and the server stops)`,
    );
    this.#write({ kind: "truncate", zxid });
  }

  saveSnapshot(image: SnapshotImage): void {
    this.#write({ kind: "snapshot", image });
  }

  installSnapshot(image: SnapshotImage): void {
    this.#write({ kind: "install", image });
  }

  #write(op: StoreOp): void {
    applyStoreOp(this.#current, op);
    this.#pending.push({ seq: ++this.#seq, op });
  }

  /** What recovery reads now: the newest snapshot, the records after it, the epochs. */
  recover(): { snapshot: SnapshotImage | null; records: TxnRecord[]; epochs: PeerEpochs } {
    const snapshot = this.#current.snapshots.at(-1) ?? null;
    const base = snapshot?.zxid ?? 0;
    const records: TxnRecord[] = [];
    let last = base;
    for (const entry of this.#current.log) {
      if (entry.zxid <= base) continue;
      const read = readRecord(entry.bytes, 0);
      assert.ok(read.kind === "record", `log record ${hex(entry.zxid)} reads back`);
      const record = bodyToRecord(read.value);
      assert.ok(record !== null && record.zxid === entry.zxid, `log record ${hex(entry.zxid)}`);
      assert.ok(follows(last, record.zxid), `recovered log is contiguous at ${hex(record.zxid)}`);
      records.push(record);
      last = record.zxid;
    }
    return { snapshot, records, epochs: { ...this.#currentEpochs } };
  }

  syncBegin(): number {
    return this.#seq;
  }

  syncEnd(mark: number): void {
    while (this.#pending.length > 0 && this.#pending[0].seq <= mark) {
      applyStoreOp(this.#durable, this.#pending.shift()!.op);
    }
    while (this.#pendingEpochs.length > 0 && this.#pendingEpochs[0].seq <= mark) {
      this.#durableEpochs = this.#pendingEpochs.shift()!.epochs;
    }
  }

  crash(rng: Rng): void {
    // The log file: a prefix of its unsynced writes reaches the platter, the last one maybe
    // only in part (a torn tail, which recovery drops).
    let kept = true;
    for (const { op } of this.#pending) {
      if (kept && rng.chance(0.5)) {
        applyStoreOp(this.#durable, op);
        continue;
      }
      if (kept && op.kind === "append" && op.entries.length > 1) {
        const part = rng.int(0, op.entries.length - 1);
        applyStoreOp(this.#durable, { kind: "append", entries: op.entries.slice(0, part) });
      }
      kept = false;
      this.lost++;
    }
    // The epochs file is replaced whole: a prefix of its unsynced versions lands.
    kept = true;
    for (const { epochs } of this.#pendingEpochs) {
      if (kept && rng.chance(0.5)) this.#durableEpochs = epochs;
      else {
        kept = false;
        this.lost++;
      }
    }
    this.#pending = [];
    this.#pendingEpochs = [];
    this.#current = { snapshots: [...this.#durable.snapshots], log: [...this.#durable.log] };
    this.#currentEpochs = { ...this.#durableEpochs };
  }
}

// ---- hashing for the checks ------------------------------------------------------------------

/** A small two-lane hash over any plain value (sorted keys, typed), for record signatures. */
function valueHash(value: unknown): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x9e3779b9;
  const word = (v: number) => {
    h1 = Math.imul(h1 ^ (v >>> 0), 0x01000193);
    h2 = Math.imul(h2 ^ (v >>> 0), 0x5bd1e995) ^ (h2 >>> 15);
  };
  const text = (s: string) => {
    word(s.length);
    for (let i = 0; i < s.length; i++) word(s.charCodeAt(i));
  };
  const visit = (v: unknown): void => {
    if (v === null || v === undefined) return word(v === null ? 1 : 2);
    if (typeof v === "number") {
      word(3);
      return text(String(v));
    }
    if (typeof v === "string") {
      word(4);
      return text(v);
    }
    if (typeof v === "boolean") return word(v ? 5 : 6);
    if (v instanceof Uint8Array) {
      word(7);
      word(v.byteLength);
      for (const b of v) word(b);
      return;
    }
    if (Array.isArray(v)) {
      word(8);
      word(v.length);
      for (const x of v) visit(x);
      return;
    }
    word(9);
    const obj = v as Record<string, unknown>;
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
    word(keys.length);
    for (const k of keys) {
      text(k);
      visit(obj[k]);
    }
  };
  visit(value);
  return (h2 >>> 0).toString(16).padStart(8, "0") + (h1 >>> 0).toString(16).padStart(8, "0");
}

/** A replica's state digest: the tree's, plus the session table (ids, timeouts, passwords). */
function stateDigest(replica: Replica): string {
  const sessions = replica.sessions.all()
    .map((s) => [s.id, s.timeoutMs, s.password] as const)
    .sort((a, b) => a[0] - b[0]);
  return `${treeDigest(replica.tree)}/${valueHash(sessions)}`;
}

const hex = (zxid: number) => zxid.toString(16);

/** Paths a run took, counted. */
export interface EnsembleSimStats {
  /** TRUNCs carried out. */
  truncates: number;
  /** TRUNCs to a zxid past what the replica had applied (its log held uncommitted txns). */
  truncatesPastApplied: number;
  /** TRUNCs that rebuilt the replica (it had replayed txns past the cut at start). */
  rebuilds: number;
  /** SNAPs installed. */
  snapInstalls: number;
  /** Snapshots the hosts took. */
  snapshots: number;
  /** Servers that served again after a restart. */
  restartsServing: number;
  /** Observers that served again after a restart. */
  observerRejoins: number;
  /** Power outages: a majority of the servers crashed at once. */
  outages: number;
}

// ---- the world the checks see --------------------------------------------------------------------

/** What the canonical sequence knows about one committed zxid. */
interface Canon {
  sig: string;
  sessionId: number;
  /** The zxid applied right before it. */
  prev: number;
  /** The server that first applied it, for messages. */
  by: number;
}

/** An acknowledged write. */
interface Ack {
  zxid: number;
  client: number;
  xid: number;
}

/** Facts shared by every node of one run, for the workload and the checks. */
export class EnsembleWorld {
  sim: EnsembleSim | null = null;
  /** Node ids of the servers are 0 .. servers - 1; clients follow. */
  readonly servers: number;
  readonly clients: number;
  readonly membership: Membership;
  readonly rng: Rng;
  /** Restarts of each node so far (the host derives session ids from it). */
  readonly launches: number[];
  /** The client workload: random ops, then only each client's final write. */
  workload: "random" | "final" = "random";
  // ---- checks ----
  readonly canon = new Map<number, Canon>();
  /** The successor of each zxid in the canonical sequence. */
  readonly nextOf = new Map<number, number>();
  /** The state digest at each zxid some replica's state ended a step at. */
  readonly digestAt = new Map<number, { digest: string; server: number }>();
  readonly leaderOfEpoch = new Map<number, number>();
  readonly acked = new Map<number, Ack>();
  ackedSorted: number[] = [];
  readonly freshAcks: number[] = [];
  // ---- histories ----
  readonly history: OpRecord[] = [];
  readonly events: HistoryEvent[] = [];
  readonly sessions: HistorySession[] = [];
  /** The observer clock of the histories: every send, arrival and session change takes a tick. */
  #clock = 0;
  /** Client ids of the histories: one per client process. */
  #clientSerial = 0;
  /** Every txn any replica applied, by zxid (a zxid names one txn: only its epoch's leader makes it). */
  readonly recordOf = new Map<number, { record: TxnRecord; by: number }>();
  /** The txn each applied zxid followed (unique too: every replica applies a txn after the same one). */
  readonly prevOf = new Map<number, number>();
  /** What the run exercised (for reports, and for tests that need a path taken). */
  readonly stats: EnsembleSimStats = {
    truncates: 0,
    truncatesPastApplied: 0,
    rebuilds: 0,
    snapInstalls: 0,
    snapshots: 0,
    restartsServing: 0,
    observerRejoins: 0,
    outages: 0,
  };

  constructor(
    readonly options:
      & Required<
        Pick<
          EnsembleSimOptions,
          "voters" | "observers" | "clients" | "historyRecordsMax" | "snapCount"
        >
      >
      & {
        bug?: EnsembleHostBug;
        sessionTimeoutMs: number;
        opChance: number;
        /** Clients set watches and read after sync (off: the workload of the older seeds). */
        watches: boolean;
        invariants: boolean;
      },
    rng: Rng,
  ) {
    const { voters, observers, clients } = options;
    this.servers = voters + observers;
    this.clients = clients;
    const ids = [...Array(this.servers).keys()];
    this.membership = { voters: ids.slice(0, voters), observers: ids.slice(voters) };
    this.rng = rng;
    this.launches = new Array(this.servers + clients).fill(0);
  }

  get nowMs(): number {
    return this.sim?.nowMs ?? 0;
  }

  /** Whether the protocol invariants (a)-(d) are checked (off: only the histories judge). */
  get invariants(): boolean {
    return this.options.invariants;
  }

  isServer(id: number): boolean {
    return id < this.servers;
  }

  /** (a) A replica applied `record` through a commit right after `prev`. */
  committed(server: number, prev: number, record: TxnRecord): void {
    const sig = valueHash(record);
    const known = this.canon.get(record.zxid);
    if (known !== undefined) {
      assert.equal(
        sig,
        known.sig,
        `server ${server} applied another txn as committed ${hex(record.zxid)} than server ` +
          `${known.by} did`,
      );
      assert.equal(
        prev,
        known.prev,
        `server ${server} applied ${hex(record.zxid)} after ${hex(prev)}, server ${known.by} ` +
          `after ${hex(known.prev)}: their applied sequences diverge`,
      );
      return;
    }
    const next = this.nextOf.get(prev);
    if (next !== undefined && next !== record.zxid) {
      assert.fail(
        `server ${server} applied ${hex(record.zxid)} after ${hex(prev)}, but server ` +
          `${this.canon.get(next)!.by} applied ${hex(next)} after it: their applied sequences ` +
          `diverge`,
      );
    }
    this.nextOf.set(prev, record.zxid);
    this.canon.set(record.zxid, { sig, sessionId: record.sessionId, prev, by: server });
  }

  /** (c) A client got a successful answer to a write: the txn `zxid`. */
  acknowledged(op: OpRecord, zxid: number): void {
    const canon = this.canon.get(zxid);
    assert.ok(
      canon !== undefined,
      `client ${op.client} got write xid ${op.xid} acknowledged as txn ${hex(zxid)}, which no ` +
        `replica applied as committed`,
    );
    assert.equal(
      canon.sessionId,
      op.sessionId,
      `client ${op.client} got write xid ${op.xid} acknowledged as txn ${hex(zxid)} of ` +
        `session 0x${hex(canon.sessionId)}, not its own 0x${hex(op.sessionId)}`,
    );
    const known = this.acked.get(zxid);
    assert.ok(
      known === undefined,
      `txn ${hex(zxid)} acknowledged twice (client ${known?.client} xid ${known?.xid}, and ` +
        `client ${op.client} xid ${op.xid})`,
    );
    this.acked.set(zxid, { zxid, client: op.client, xid: op.xid });
    const last = this.ackedSorted.at(-1) ?? -1;
    this.ackedSorted.push(zxid);
    if (zxid < last) this.ackedSorted.sort((a, b) => a - b);
    this.freshAcks.push(zxid);
  }

  get maxAcked(): number {
    return this.ackedSorted.at(-1) ?? 0;
  }

  /** The next position on the observer clock. */
  tick(): number {
    return ++this.#clock;
  }

  /** A fresh history id for a client process. */
  newClient(): number {
    return ++this.#clientSerial;
  }

  /**
   * Server `server` applied `record` right after `prev` (in any phase, from a commit or from its
   * disk). Like (a), but for every application: a txn always follows the same one.
   */
  applied(server: number, prev: number, record: TxnRecord): void {
    const known = this.prevOf.get(record.zxid);
    if (known === undefined) {
      this.prevOf.set(record.zxid, prev);
      this.recordOf.set(record.zxid, { record, by: server });
    } else if (known !== prev && this.invariants) {
      assert.fail(
        `server ${server} applied ${hex(record.zxid)} after ${hex(prev)}, server ` +
          `${this.recordOf.get(record.zxid)!.by} after ${hex(known)}: their applied sequences ` +
          `diverge`,
      );
    }
  }

  /** The txns a replica whose state ends at `last` applied, oldest first (following `prevOf`). */
  sequenceTo(last: number): TxnRecord[] {
    const out: TxnRecord[] = [];
    for (let zxid = last; zxid !== 0;) {
      const known = this.recordOf.get(zxid);
      assert.ok(known !== undefined, `no replica applied ${hex(zxid)}, yet a state includes it`);
      out.push(known.record);
      zxid = this.prevOf.get(zxid)!;
    }
    return out.reverse();
  }

  record(op: Omit<OpRecord, "index">): OpRecord {
    const full = { index: this.history.length, ...op };
    this.history.push(full);
    return full;
  }
}

// ---- the server host -----------------------------------------------------------------------------

/** The member's actions this host carries out through its ordered queue. */
type PeerSideAction = Extract<
  NodeAction,
  { type: "peerSend" | "persistEpochs" | "appendLog" | "truncate" | "installSnapshot" }
>;

/** A replica that tells its host what it applies through commits (and can drop some, as a bug). */
class WatchedReplica extends Replica {
  onCommit: (prev: number, record: TxnRecord) => void = () => {};
  dropCommit: ((record: TxnRecord) => boolean) | null = null;
  /**
   * Planted bug: swaps the txns of two adjacent commits on different single paths (holding one
   * back for the next commit when it comes alone); once off, what is held applies in order.
   */
  swapCommits: "off" | "on" = "off";
  #held: TxnRecord | null = null;

  override reload(snapshot: SnapshotImage | null, records: readonly TxnRecord[]): void {
    this.#held = null;
    super.reload(snapshot, records);
  }

  override step(event: ReplicaEvent): ReplicaAction[] {
    if (event.type === "commit") {
      let records = this.dropCommit === null
        ? event.records
        : event.records.filter((r) => !this.dropCommit!(r));
      if (this.#held !== null) records = [this.#held, ...records];
      this.#held = null;
      if (this.swapCommits === "on") {
        records = swapAdjacent(records);
        if (records.length === 1 && singlePath(records[0]) !== null) {
          this.#held = records[0];
          records = [];
        }
      }
      let prev = this.tree.lastZxid;
      for (const record of records) {
        this.onCommit(prev, record);
        prev = record.zxid;
      }
      event = { type: "commit", records };
    }
    return super.step(event);
  }
}

/** The one path a plain create, setData or delete txn touches; null for anything else. */
function singlePath(record: TxnRecord): string | null {
  const txn = record.txn;
  return txn.type === "create" || txn.type === "setData" || txn.type === "delete" ? txn.path : null;
}

/**
 * The bug `applyOutOfOrder`: the first adjacent pair of txns of one kind on two different single
 * paths, each applied in the other's place (zxid and session stay, so the replica's bookkeeping
 * of its own clients' writes holds: what they and readers see is the damage).
 */
function swapAdjacent(records: readonly TxnRecord[]): readonly TxnRecord[] {
  for (let i = 0; i + 1 < records.length; i++) {
    const a = singlePath(records[i]);
    const b = singlePath(records[i + 1]);
    if (a === null || b === null || a === b) continue;
    if (records[i].txn.type !== records[i + 1].txn.type) continue;
    const out = [...records];
    out[i] = { ...records[i], txn: records[i + 1].txn };
    out[i + 1] = { ...records[i + 1], txn: records[i].txn };
    return out;
  }
  return records;
}

/**
 * One server: a {@linkcode Replica} restored from its {@linkcode ServerDisk} and an
 * {@linkcode EnsembleNode} over it, carrying out the node's actions as src/server/server.ts and
 * src/server/ensemble.ts do.
 */
export class ServerHost implements SimNode<EnsembleMsg> {
  readonly replica: WatchedReplica;
  readonly node: EnsembleNode;
  /** The zxid of the snapshot the replica was last rebuilt from (0: from the empty tree). */
  baseZxid: number;
  /** Zxids the replica applied after `baseZxid`, ascending (restored ones included). */
  applied: number[];
  /** Check (c) holds up to this zxid; -1 asks for a full check. */
  checkedUpTo = -1;
  /** The zxid whose digest was last checked, or -1 (after a rebuild). */
  digestZxid = -1;
  #queue: PeerSideAction[] = [];
  /** The durable action the queue waits for. */
  #blocked: { token: number; then: "nothing" | "truncated" | "reload" | SnapshotImage } | null =
    null;
  #token = 0;
  readonly #loggedAt = new Map<number, number>();
  readonly #connOf = new Map<string, number>();
  readonly #conns = new Map<number, { client: number; conn: number }>();
  #nextConnId = 1;
  #ticks = 0;
  #sinceSnapshot = 0;
  readonly #launch: number;
  #servedOnce = false;
  /** Planted bug: `logged` reports due at the end of this step. */
  #early: number[] = [];
  /** Planted bug: ACKs forged for followers, stepped at the end of this step. */
  #forged: Array<{ from: number; zxid: number }> = [];
  /** Planted bug: the deposed leader's own copy, which goes on answering clients. */
  #ghost: Replica | null = null;
  #wasLeader = false;
  /** Planted bug: events sent so far (every third is lost). */
  #eventsSent = 0;
  #out: SimAction<EnsembleMsg>[] = [];

  constructor(readonly id: number, readonly disk: ServerDisk, readonly world: EnsembleWorld) {
    const launch = this.#launch = ++world.launches[id];
    this.replica = new WatchedReplica({
      serverId: id,
      tickMs: replicaTickMs,
      // As the real host: server id in the top bits, then something that differs per start.
      sessionIdBase: id * 2 ** 45 + launch * 2 ** 20,
    });
    const { snapshot, records, epochs } = disk.recover();
    this.replica.restore(snapshot, records);
    this.baseZxid = snapshot?.zxid ?? 0;
    this.applied = records.map((r) => r.zxid);
    this.#noteRestored(this.baseZxid, records);
    this.replica.onCommit = (prev, record) => {
      world.applied(id, prev, record);
      // Only commits in BROADCAST are known committed: in SYNCHRONIZATION a learner applies the
      // new leader's initial history (its whole log) before a NEWLEADER quorum has made it
      // committed, as ZooKeeper does; if that epoch fails, a later TRUNC rebuilds the replica.
      if (world.invariants && this.node.status.phase === "BROADCAST") {
        world.committed(id, prev, record);
      }
      this.applied.push(record.zxid);
    };
    if (world.options.bug === "skipCommit" && id === 1) {
      this.replica.dropCommit = (r) => zxidCounter(r.zxid) % 5 === 3;
    }
    this.#patchTree();
    this.node = new EnsembleNode({
      myId: id,
      membership: world.membership,
      replica: this.replica,
      epochs,
      snapshotZxid: snapshot?.zxid ?? 0,
      records,
      initLimitTicks,
      syncLimitTicks,
      historyRecordsMax: world.options.historyRecordsMax,
      nowMs: () => world.nowMs,
    });
  }

  get status(): EnsembleNode["status"] {
    return this.node.status;
  }

  /** In BROADCAST: serving clients. */
  get serving(): boolean {
    return this.node.status.phase === "BROADCAST";
  }

  get servingLeader(): boolean {
    const s = this.node.status;
    return s.state === "LEADING" && s.phase === "BROADCAST";
  }

  get lastApplied(): number {
    return this.replica.tree.lastZxid;
  }

  /** True when the replica applied `zxid` (or holds it in the snapshot it was rebuilt from). */
  hasApplied(zxid: number): boolean {
    if (zxid <= this.baseZxid) return true;
    let lo = 0;
    let hi = this.applied.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.applied[mid] === zxid) return true;
      if (this.applied[mid] < zxid) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  step(event: SimEvent<EnsembleMsg>): SimAction<EnsembleMsg>[] {
    this.#out = [];
    switch (event.type) {
      case "start":
        this.#run(() => this.node.start());
        break;
      case "tick":
        this.#run(() => this.node.step({ type: "peerTick" }));
        if (++this.#ticks % (replicaTickMs / peerTickMs) === 0) {
          this.#run(() => this.node.step({ type: "tick", nowMs: this.world.nowMs }));
        }
        if (this.#ghost !== null) {
          this.#ghostRun(this.#ghost.step({ type: "tick", nowMs: this.world.nowMs }));
        }
        break;
      case "message":
        if (this.world.isServer(event.from)) {
          const msg = event.msg;
          assert.ok(msg.kind === "peer", `server ${this.id} got a ${msg.kind} from a server`);
          this.#run(() =>
            this.node.step({
              type: "peerMessage",
              from: event.from,
              channel: msg.channel,
              message: msg.message,
            })
          );
        } else this.#fromClient(event.from, event.msg);
        break;
      case "linkUp":
        break;
      case "linkDown":
        if (this.world.isServer(event.peer)) {
          this.#run(() => this.node.step({ type: "linkDown", peer: event.peer }));
        } else {
          for (const [connId, c] of [...this.#conns]) {
            if (c.client === event.peer) this.#disconnect(connId);
          }
        }
        break;
      case "durable":
        this.#durable(event.token);
        break;
    }
    while (this.#early.length > 0) {
      const zxid = this.#early.shift()!;
      this.#run(() => this.node.step({ type: "logged", zxid }));
    }
    while (this.#forged.length > 0) {
      const { from, zxid } = this.#forged.shift()!;
      const message = { type: "ACK", zxid };
      this.#run(() => this.node.step({ type: "peerMessage", from, channel: "peer", message }));
    }
    this.#deposedLeader();
    this.#clientBugs();
    if (!this.#servedOnce && this.serving) {
      this.#servedOnce = true;
      if (this.#launch > 1) {
        this.world.stats.restartsServing++;
        if (this.world.membership.observers.includes(this.id)) this.world.stats.observerRejoins++;
      }
    }
    return this.#out;
  }

  // ---- clients -------------------------------------------------------------------------------

  #fromClient(client: number, msg: EnsembleMsg): void {
    const key = (conn: number) => `${client}/${conn}`;
    const nowMs = this.world.nowMs;
    switch (msg.kind) {
      case "connect": {
        assert.ok(
          !this.#connOf.has(key(msg.conn)),
          `client ${client} reuses connection ${msg.conn}`,
        );
        const parsed = parseConnect(msg.request);
        assert.ok(
          parsed.ok,
          `server ${this.id} cannot parse a connect frame: ${JSON.stringify(parsed)}`,
        );
        const connId = this.#nextConnId++;
        this.#connOf.set(key(msg.conn), connId);
        this.#conns.set(connId, { client, conn: msg.conn });
        const entropy = new Uint8Array(limits.sessionPasswordBytes);
        for (let i = 0; i < entropy.length; i++) entropy[i] = this.world.rng.int(0, 255);
        return this.#stepClient({
          type: "connect",
          connId,
          nowMs,
          remoteAddress: `10.0.0.${client}`,
          request: parsed.value,
          entropy,
        });
      }
      case "request": {
        const connId = this.#connOf.get(key(msg.conn));
        if (connId === undefined) return; // the server closed it; the client will hear so
        const parsed = parseRequest(msg.request);
        assert.ok(parsed.ok, `server ${this.id} cannot parse a request: ${JSON.stringify(parsed)}`);
        return this.#stepClient({ type: "request", connId, nowMs, request: parsed.value });
      }
      case "disconnect": {
        const connId = this.#connOf.get(key(msg.conn));
        if (connId !== undefined) this.#disconnect(connId);
        return;
      }
      default:
        assert.fail(`server ${this.id} got a ${msg.kind} from client ${client}`);
    }
  }

  #disconnect(connId: number): void {
    const c = this.#conns.get(connId);
    if (c === undefined) return;
    this.#conns.delete(connId);
    this.#connOf.delete(`${c.client}/${c.conn}`);
    this.#stepClient({ type: "disconnect", connId });
  }

  /** A client event goes to the member, or (planted bug) to the deposed leader's ghost. */
  #stepClient(event: Extract<ReplicaEvent, { type: "connect" | "request" | "disconnect" }>): void {
    if (this.#ghost !== null) this.#ghostRun(this.#ghost.step(event));
    else this.#run(() => this.node.step(event));
  }

  // ---- carrying out the node's actions ----------------------------------------------------------

  #run(step: () => NodeAction[]): void {
    this.#patchTree();
    this.replica.swapCommits = this.world.options.bug !== "applyOutOfOrder" || this.id !== 1 ||
        this.node.status.state === "LEADING"
      ? "off"
      : this.world.workload === "random"
      ? "on"
      : "off";
    const applied = this.replica.appliedCount;
    for (const action of step()) this.#carryOut(action);
    this.#countApplied(this.replica.appliedCount - applied);
  }

  #carryOut(action: NodeAction): void {
    switch (action.type) {
      case "send": {
        const c = this.#conns.get(action.connId);
        if (c === undefined) return;
        this.#out.push({
          type: "send",
          to: c.client,
          msg: { kind: "reply", conn: c.conn, message: action.message },
        });
        return;
      }
      case "close": {
        const c = this.#conns.get(action.connId);
        if (c === undefined) return;
        this.#conns.delete(action.connId);
        this.#connOf.delete(`${c.client}/${c.conn}`);
        this.#out.push({
          type: "send",
          to: c.client,
          msg: { kind: "closed", conn: c.conn, reason: action.reason },
        });
        return;
      }
      case "log":
        assert.ok(
          !action.message.includes("malformed"),
          `server ${this.id} dropped a malformed peer message: ${JSON.stringify(action.fields)}`,
        );
        if (action.message === "role") {
          const f = action.fields!;
          this.#log(`${f.state} ${f.phase} leader ${f.leader} epoch ${f.epoch}`);
        } else if (action.level === "warn" || action.level === "error") {
          this.#log(`${action.level}: ${action.message} ${JSON.stringify(action.fields ?? {})}`);
        }
        return;
      case "hostCall":
        assert.fail(`server ${this.id} was asked for a host call (the clients send none)`);
        return;
      default:
        this.#queue.push(action);
        this.#pump();
    }
  }

  /** Carries out queued peer-side actions in order until one must be durable first. */
  #pump(): void {
    while (this.#blocked === null && this.#queue.length > 0) {
      const action = this.#queue.shift()!;
      switch (action.type) {
        case "peerSend": {
          this.#out.push({
            type: "send",
            to: action.to,
            msg: { kind: "peer", channel: action.channel, message: action.message },
          });
          const m = action.message as { type?: string; zxid?: number };
          if (this.world.options.bug === "commitBeforeQuorum" && m.type === "PROPOSAL") {
            this.#forged.push({ from: action.to, zxid: m.zxid! });
          }
          break;
        }
        case "persistEpochs":
          this.disk.writeEpochs(action.epochs);
          this.#blocked = { token: this.#persist(), then: "nothing" };
          break;
        case "appendLog":
          this.disk.append(action.records);
          if (this.world.options.bug === "loggedBeforeDurable") {
            this.#persist();
            this.#early.push(action.records.at(-1)!.zxid);
          } else this.#loggedAt.set(this.#persist(), action.records.at(-1)!.zxid);
          break;
        case "truncate":
          this.#log(`TRUNC to ${hex(action.zxid)}${action.rebuild ? " and rebuild" : ""}`);
          this.world.stats.truncates++;
          if (action.rebuild) this.world.stats.rebuilds++;
          else if (this.replica.tree.lastZxid < action.zxid) {
            this.world.stats.truncatesPastApplied++;
          }
          if (this.world.options.bug !== "ignoreTrunc") this.disk.truncateAfter(action.zxid);
          this.#blocked = {
            token: this.#persist(),
            then: action.rebuild || this.world.options.bug === "ignoreTrunc"
              ? "reload"
              : "truncated",
          };
          break;
        case "installSnapshot":
          this.#log(`SNAP at ${hex(action.image.zxid)}`);
          this.world.stats.snapInstalls++;
          this.disk.installSnapshot(action.image);
          this.#blocked = { token: this.#persist(), then: action.image };
          break;
      }
    }
  }

  /** Tells the world what a replica replayed from storage over a snapshot at `base`. */
  #noteRestored(base: number, records: readonly TxnRecord[]): void {
    let prev = base;
    for (const record of records) {
      this.world.applied(this.id, prev, record);
      prev = record.zxid;
    }
  }

  #persist(): number {
    const token = ++this.#token;
    this.#out.push({ type: "persist", token });
    return token;
  }

  #durable(token: number): void {
    const zxid = this.#loggedAt.get(token);
    if (zxid !== undefined) {
      this.#loggedAt.delete(token);
      this.#run(() => this.node.step({ type: "logged", zxid }));
    }
    if (this.#blocked === null || this.#blocked.token !== token) return;
    const { then } = this.#blocked;
    this.#blocked = null;
    if (then === "truncated") {
      // As the real shell: a truncation that needs no rebuild (the replica applied nothing past
      // the cut) just says it is done.
      this.#run(() => this.node.step({ type: "truncated" }));
    } else if (then !== "nothing") {
      // A truncation that must rebuild reloads what storage holds; an install reports its image.
      const state = then === "reload"
        ? this.disk.recover()
        : { snapshot: then, records: [] as TxnRecord[] };
      this.baseZxid = state.snapshot?.zxid ?? 0;
      this.applied = state.records.map((r) => r.zxid);
      this.#noteRestored(this.baseZxid, state.records);
      this.checkedUpTo = -1;
      this.digestZxid = -1;
      this.#run(() =>
        this.node.step({ type: "rebuilt", snapshot: state.snapshot, records: state.records })
      );
    }
    this.#pump();
  }

  /**
   * Takes a snapshot every `snapCount` applied txns while serving. The real server draws each
   * snapshot point from `[snapCount / 2, snapCount]` (`snapshotThreshold` in src/server/server.ts),
   * which only spreads the members' snapshots apart in time; a fixed count here keeps every seed's
   * schedule as it was, and across seeds the snapshots still fall at many points between faults.
   */
  #countApplied(count: number): void {
    this.#sinceSnapshot += count;
    if (this.#sinceSnapshot < this.world.options.snapCount || this.replica.role === "down") return;
    this.#sinceSnapshot = 0;
    const image = this.replica.captureImage();
    this.disk.saveSnapshot(image);
    this.#persist();
    this.#log(`snapshot at ${hex(image.zxid)}`);
    this.world.stats.snapshots++;
  }

  #log(text: string): void {
    this.#out.push({ type: "log", text });
  }

  // ---- planted bugs -------------------------------------------------------------------------

  /** `ephemeralSurvives`: the tree (also a rebuilt one) finds no ephemerals to remove. */
  #patchTree(): void {
    if (this.world.options.bug === "ephemeralSurvives") this.replica.tree.ephemeralsOf = () => [];
  }

  /**
   * `deposedLeaderAnswers`: once this server stops leading, a standalone copy of its replica takes
   * over its clients (their connections are closed; they come back to it or go elsewhere).
   */
  #deposedLeader(): void {
    if (this.world.options.bug !== "deposedLeaderAnswers" || this.#ghost !== null) return;
    if (this.servingLeader) {
      this.#wasLeader = true;
      return;
    }
    if (!this.#wasLeader) return;
    const ghost = new Replica({
      serverId: this.id,
      tickMs: replicaTickMs,
      sessionIdBase: this.id * 2 ** 45 + this.#launch * 2 ** 20 + 2 ** 19,
    });
    ghost.restore(this.replica.captureImage(), []);
    this.#ghost = ghost;
    this.#log("deposed: a ghost replica answers this server's clients from now on");
    for (const [connId, c] of [...this.#conns]) {
      this.#conns.delete(connId);
      this.#connOf.delete(`${c.client}/${c.conn}`);
      this.#out.push({
        type: "send",
        to: c.client,
        msg: { kind: "closed", conn: c.conn, reason: "deposed" },
      });
    }
    this.#ghostRun(ghost.step({ type: "tick", nowMs: this.world.nowMs }));
  }

  /** Carries out the ghost's actions: client sends at once, its writes durable at once. */
  #ghostRun(actions: ReplicaAction[]): void {
    for (const action of actions) {
      if (action.type === "persist") {
        const zxid = action.records.at(-1)!.zxid;
        this.#ghostRun(this.#ghost!.step({ type: "durable", zxid }));
      } else if (action.type === "send" || action.type === "close") {
        this.#carryOut(action);
      }
    }
  }

  /** `watchFiresTwice`, `watchLost`, `responsesReordered`: what this step sends clients. */
  #clientBugs(): void {
    const bug = this.world.options.bug;
    const isReply = (a: SimAction<EnsembleMsg>, t: string) =>
      a.type === "send" && a.msg.kind === "reply" && a.msg.message.t === t;
    if (bug === "watchFiresTwice") {
      this.#out = this.#out.flatMap((a) => isReply(a, "event") ? [a, a] : [a]);
    } else if (bug === "watchLost") {
      this.#out = this.#out.filter((a) => !isReply(a, "event") || ++this.#eventsSent % 3 !== 0);
    } else if (bug === "responsesReordered") {
      const out = this.#out;
      for (let i = 0; i < out.length; i++) {
        const a = out[i];
        if (!isReply(a, "res") || a.type !== "send") continue;
        const j = out.findIndex((b, k) =>
          k > i && isReply(b, "res") && b.type === "send" && b.to === a.to &&
          (b.msg as { conn: number }).conn === (a.msg as { conn: number }).conn
        );
        if (j < 0) continue;
        [out[i], out[j]] = [out[j], out[i]];
        return;
      }
    }
  }
}

// ---- the client ----------------------------------------------------------------------------------

/** A request without its xid. */
type RequestBody = {
  [K in ClientRequest["op"]]: Omit<Extract<ClientRequest, { op: K }>, "xid">;
}[ClientRequest["op"]];

interface Pending {
  xid: number;
  op: OpRecord | null;
  sentMs: number;
  /** The final write, or (a key) one of the final reads. */
  final: boolean | string;
}

interface ClientConn {
  server: number;
  no: number;
  state: "connecting" | "live";
  openedMs: number;
  lastSentMs: number;
  pending: Pending[];
  /** A close was sent: nothing more goes on this connection. */
  closing: boolean;
}

const keys = ["/k0", "/k1", "/k2", "/k3"];
const openAcl = [{ perms: 31, scheme: "world", id: "anyone" }];

/** The watches a client holds (REFERENCE §4): re-sent with `setWatches` after a reconnect. */
interface ClientWatches {
  /** Data watches on existing nodes (getData, exists on an existing node). */
  data: Set<string>;
  /** Exist watches (exists on a missing node: fires NodeCreated). */
  exist: Set<string>;
  child: Set<string>;
}

/**
 * A small deterministic client: connects to a random reachable server, keeps its session and the
 * last zxid it saw, moves to another server when its connection dies (resuming its session and
 * re-sending its watches with `setWatches`, or opening a new session once it expired), pipelines a
 * seeded workload of creates, setData and delete (with and without versions), getData, exists and
 * getChildren (some with watches), sync followed by a read, and multi on a handful of keys, and
 * records every request, response, watch event and session change in the world's history.
 */
export class ClientHost implements SimNode<EnsembleMsg> {
  readonly process: number;
  /** This process's id in the histories. */
  readonly client: number;
  session: { id: number; password: Uint8Array } | null = null;
  lastZxid = 0;
  conn: ClientConn | null = null;
  /** Set once the final write (liveness phase) succeeded. */
  finalDone = false;
  /**
   * With `watches` on, set once the final reads (a sync, then every key) were answered after the
   * final write: the checkers then see the end state.
   */
  finalReadsDone = false;
  readonly watches: ClientWatches = { data: new Set(), exist: new Set(), child: new Set() };
  #up = new Set<number>();
  #connNo = 0;
  #lastServer = -1;
  #xid = 0;
  #written = 0;
  #finals = 0;
  readonly #versions = new Map<string, number>();
  readonly #pipeline: number;
  #out: SimAction<EnsembleMsg>[] = [];

  constructor(readonly id: number, readonly world: EnsembleWorld) {
    this.process = ++world.launches[id];
    this.client = world.newClient();
    this.#pipeline = world.rng.int(1, 4);
  }

  step(event: SimEvent<EnsembleMsg>): SimAction<EnsembleMsg>[] {
    this.#out = [];
    switch (event.type) {
      case "linkUp":
        if (this.world.isServer(event.peer)) this.#up.add(event.peer);
        break;
      case "linkDown":
        this.#up.delete(event.peer);
        if (this.conn?.server === event.peer) this.#lost("link down");
        break;
      case "message":
        this.#onMessage(event.from, event.msg);
        break;
      case "tick":
        this.#tick();
        break;
      default:
        break;
    }
    return this.#out;
  }

  get #now(): number {
    return this.world.nowMs;
  }

  get #timeoutMs(): number {
    return this.world.options.sessionTimeoutMs;
  }

  #send(msg: EnsembleMsg): void {
    this.#out.push({ type: "send", to: this.conn!.server, msg });
  }

  #tick(): void {
    const conn = this.conn;
    if (conn === null) return this.#connect();
    const now = this.#now;
    if (conn.state === "connecting") {
      if (now - conn.openedMs > this.#timeoutMs) this.#abandon("no handshake answer");
      return;
    }
    // As ZooKeeper's client: silence for 2/3 of the session timeout means a dead connection.
    if (conn.pending.length > 0 && now - conn.pending[0].sentMs > (this.#timeoutMs * 2) / 3) {
      return this.#abandon("request timed out");
    }
    if (conn.closing) return;
    if (this.world.workload === "random") {
      const chance = this.world.options.opChance;
      while (conn.pending.length < this.#pipeline && this.world.rng.chance(chance)) {
        const body = this.#randomOp();
        this.#request(body, false);
        if (this.conn === null || this.conn.closing) return;
        // A sync is followed by a read on the same connection: a linearizable read.
        if (body.op === "sync" && this.world.options.watches) {
          this.#request(
            { op: "getData", path: body.path, watch: this.world.rng.chance(0.3) },
            false,
          );
        }
      }
    } else if (!this.finalDone && !conn.pending.some((p) => p.final === true)) {
      const path = `/f${this.id}-${this.process}-${++this.#finals}`;
      this.#request(
        { op: "create", path, data: this.#data(), acl: openAcl, mode: "persistent" },
        true,
      );
    } else if (
      this.finalDone && this.world.options.watches && !this.finalReadsDone &&
      conn.pending.length === 0
    ) {
      this.#request({ op: "sync", path: "/" }, false);
      for (const path of keys) this.#request({ op: "getData", path, watch: false }, path);
    }
    if (conn.pending.length === 0 && now - conn.lastSentMs > this.#timeoutMs / 3) {
      this.#request({ op: "ping" }, false);
    }
  }

  #connect(): void {
    const up = [...this.#up].sort((a, b) => a - b);
    if (up.length === 0) return;
    // Like a ZooKeeper client, move on to another server than the one that just failed us.
    const others = up.filter((s) => s !== this.#lastServer);
    const server = this.world.rng.pick(others.length > 0 ? others : up);
    this.#lastServer = server;
    const no = ++this.#connNo;
    this.conn = {
      server,
      no,
      state: "connecting",
      openedMs: this.#now,
      lastSentMs: this.#now,
      pending: [],
      closing: false,
    };
    const request: ConnectRequest = {
      op: "connect",
      proto: limits.protocolVersion,
      timeoutMs: this.#timeoutMs,
      sessionId: this.session?.id ?? 0,
      password: this.session?.password ?? new Uint8Array(0),
      lastZxid: this.lastZxid,
    };
    this.#send({ kind: "connect", conn: no, request });
  }

  #request(body: RequestBody, final: boolean | string): void {
    const conn = this.conn!;
    const xid = ++this.#xid;
    const request = { ...body, xid } as ClientRequest;
    const op = body.op === "ping" ? null : this.world.record({
      client: this.client,
      node: this.id,
      process: this.process,
      sessionId: this.session!.id,
      connection: conn.no,
      server: conn.server,
      xid,
      request,
      invoked: this.world.tick(),
      completed: null,
      invokedMs: this.#now,
      completedMs: null,
      outcome: "pending",
      response: null,
      lostMs: null,
    });
    conn.pending.push({ xid, op, sentMs: this.#now, final });
    conn.lastSentMs = this.#now;
    if (body.op === "close") conn.closing = true;
    this.#send({ kind: "request", conn: conn.no, request });
  }

  #data(): Uint8Array {
    return new TextEncoder().encode(`c${this.id}.${this.process}.${++this.#written}`);
  }

  #randomOp(): RequestBody {
    const rng = this.world.rng;
    const path = rng.pick(keys);
    const version = () => (rng.chance(0.5) ? -1 : this.#versions.get(path) ?? 0);
    const watch = this.world.options.watches && rng.chance(0.3);
    const r = rng.float();
    if (r < 0.2) {
      const mode = rng.chance(0.2) ? "ephemeral" : "persistent";
      return { op: "create", path, data: this.#data(), acl: openAcl, mode };
    }
    if (r < 0.42) return { op: "setData", path, data: this.#data(), version: version() };
    if (r < 0.52) return { op: "delete", path, version: version() };
    if (r < 0.7) return { op: "getData", path, watch };
    if (r < 0.75) return { op: "exists", path, watch };
    if (r < 0.8) return { op: "sync", path };
    if (r < 0.83) return { op: "getChildren", path: "/", watch };
    if (r < 0.995) {
      const other = rng.pick(keys);
      const form = rng.int(0, 2);
      const ops: MultiOp[] = form === 0
        ? [
          { op: "check", path, version: this.#versions.get(path) ?? 0 },
          { op: "setData", path, data: this.#data(), version: -1 },
        ]
        : form === 1
        ? [
          { op: "create", path, data: this.#data(), acl: openAcl, mode: "persistent" },
          { op: "delete", path: other, version: -1 },
        ]
        : [
          { op: "setData", path, data: this.#data(), version: -1 },
          { op: "setData", path: other, data: this.#data(), version: -1 },
        ];
      return { op: "multi", ops };
    }
    return { op: "close" };
  }

  #onMessage(from: number, msg: EnsembleMsg): void {
    const conn = this.conn;
    if (msg.kind !== "reply" && msg.kind !== "closed") {
      assert.fail(`client ${this.id} got a ${msg.kind} from ${from}`);
    }
    if (conn === null || from !== conn.server || msg.conn !== conn.no) return; // an old connection
    if (msg.kind === "closed") return this.#lost(`closed by the server: ${msg.reason}`);
    const message = msg.message;
    switch (message.t) {
      case "connected": {
        assert.equal(conn.state, "connecting", `client ${this.id}: a second handshake answer`);
        const resumed = this.session !== null && this.session.id === message.sessionId;
        if (this.session !== null && !resumed) {
          assert.fail(`client ${this.id} asked to resume 0x${hex(this.session.id)}, got another`);
        }
        this.session = { id: message.sessionId, password: message.password };
        conn.state = "live";
        this.#sessionEvent(resumed ? "resumed" : "created");
        if (resumed) this.#resendWatches();
        return;
      }
      case "refused":
        if (message.err === "SessionExpired") this.#expired();
        return this.#lost(`refused: ${message.err}`);
      case "error":
        if (message.err === "SessionExpired") this.#expired();
        return this.#lost(`error: ${message.err}`);
      case "event":
        return this.#onEvent(conn, message);
      case "res":
        return this.#onResponse(conn, message);
    }
  }

  /** After resuming a session: the watches still pending, with the last zxid seen (REFERENCE §4). */
  #resendWatches(): void {
    const { data, exist, child } = this.watches;
    if (data.size + exist.size + child.size === 0) return;
    const sorted = (set: Set<string>) => [...set].sort();
    this.#request({
      op: "setWatches",
      relativeZxid: this.lastZxid,
      dataWatches: sorted(data),
      existWatches: sorted(exist),
      childWatches: sorted(child),
    }, false);
  }

  #onEvent(conn: ClientConn, message: Extract<ServerMessage, { t: "event" }>): void {
    this.world.events.push({
      client: this.client,
      sessionId: this.session!.id,
      connection: conn.no,
      server: conn.server,
      type: message.type,
      path: message.path,
      zxid: message.zxid,
      at: this.world.tick(),
      atMs: this.#now,
    });
    // As ZooKeeper's client (and src/client): only responses move the last zxid.
    const { data, exist, child } = this.watches;
    if (message.type !== "NodeChildrenChanged") {
      data.delete(message.path);
      exist.delete(message.path);
    }
    if (message.type === "NodeChildrenChanged" || message.type === "NodeDeleted") {
      child.delete(message.path);
    }
  }

  #onResponse(conn: ClientConn, message: ResponseMessage): void {
    // Matched by xid: whether answers come in send order is for the FIFO checker to judge.
    const at = conn.pending.findIndex((p) => p.xid === message.xid);
    assert.ok(
      at >= 0,
      `client ${this.id}: a response for xid ${message.xid}, which is not waiting for one`,
    );
    const [head] = conn.pending.splice(at, 1);
    if (message.zxid > this.lastZxid) this.lastZxid = message.zxid;
    if (head.final === keys.at(-1)) this.finalReadsDone = true;
    const op = head.op;
    if (op === null) return;
    op.completed = this.world.tick();
    op.completedMs = this.#now;
    op.response = message;
    op.outcome = message.err === undefined ? "ok" : "error";
    const request = op.request;
    if (op.outcome === "ok") {
      if (
        request.op === "create" || request.op === "setData" || request.op === "delete" ||
        request.op === "multi" || request.op === "close"
      ) {
        if (this.world.invariants) this.world.acknowledged(op, message.zxid);
      }
      if (message.stat) {
        this.#versions.set((request as { path: string }).path, message.stat.version);
      }
      if ("watch" in request && request.watch) {
        if (request.op === "getChildren") this.watches.child.add(request.path);
        else if (request.op === "exists" && !message.stat) this.watches.exist.add(request.path);
        else this.watches.data.add(request.path);
      }
      if (head.final === true) this.finalDone = true;
      if (request.op === "close") {
        this.#sessionEvent("closed");
        this.#forgetSession();
      }
    } else if (message.err === "SessionExpired") {
      this.#expired();
      this.#abandon("session expired");
    }
  }

  #expired(): void {
    if (this.session === null) return;
    this.#sessionEvent("expired");
    this.#forgetSession();
  }

  #forgetSession(): void {
    this.session = null;
    this.watches.data.clear();
    this.watches.exist.clear();
    this.watches.child.clear();
  }

  #sessionEvent(kind: HistorySession["kind"]): void {
    this.world.sessions.push({
      client: this.client,
      sessionId: this.session!.id,
      connection: this.conn?.no ?? 0,
      server: this.conn?.server ?? -1,
      kind,
      at: this.world.tick(),
      atMs: this.#now,
    });
  }

  /** Gives up on the connection: tells the server, and forgets what it was waiting for. */
  #abandon(why: string): void {
    if (this.conn === null) return;
    this.#send({ kind: "disconnect", conn: this.conn.no });
    this.#lost(why);
  }

  #lost(why: string): void {
    const conn = this.conn;
    if (conn === null) return;
    for (const p of conn.pending) {
      if (p.op === null) continue;
      p.op.outcome = "unknown";
      p.op.lostMs = this.#now;
    }
    this.conn = null;
    this.#out.push({ type: "log", text: `connection ${conn.no} to ${conn.server} lost: ${why}` });
  }
}

// ---- checks ----------------------------------------------------------------------------------------

type EnsembleSim = Simulator<EnsembleMsg, ServerDisk>;

function liveServers(world: EnsembleWorld, sim: EnsembleSim): ServerHost[] {
  const hosts: ServerHost[] = [];
  for (let id = 0; id < world.servers; id++) {
    const host = sim.node(id);
    if (host !== null) hosts.push(host as ServerHost);
  }
  return hosts;
}

function liveClients(world: EnsembleWorld, sim: EnsembleSim): Array<ClientHost | null> {
  const clients: Array<ClientHost | null> = [];
  for (let id = world.servers; id < world.servers + world.clients; id++) {
    clients.push(sim.node(id) as ClientHost | null);
  }
  return clients;
}

/** Invariants (a)-(e) that are not checked where they happen, after every step. */
export function checkStep(
  world: EnsembleWorld,
  step: SimStep<EnsembleMsg>,
  sim: EnsembleSim,
): void {
  if (step.kind !== "node") return;
  const servers = liveServers(world, sim);
  const stepped = world.isServer(step.node) ? sim.node(step.node) as ServerHost | null : null;
  if (stepped !== null) {
    // (b) one serving leader per epoch, ever.
    if (stepped.servingLeader) {
      const epoch = stepped.status.epochs.currentEpoch;
      const first = world.leaderOfEpoch.get(epoch);
      if (first === undefined) world.leaderOfEpoch.set(epoch, stepped.id);
      else {
        assert.equal(
          stepped.id,
          first,
          `epoch ${epoch}: servers ${first} and ${stepped.id} both lead`,
        );
      }
    }
    // (d) equal last zxid, equal state: computed when the stepped replica's zxid moved.
    const last = stepped.lastApplied;
    if (last !== stepped.digestZxid) {
      stepped.digestZxid = last;
      const digest = stateDigest(stepped.replica);
      const known = world.digestAt.get(last);
      if (known === undefined) world.digestAt.set(last, { digest, server: stepped.id });
      else {
        assert.equal(
          digest,
          known.digest,
          `servers ${known.server} and ${stepped.id} both applied up to ${hex(last)} with ` +
            `different states`,
        );
      }
    }
    // (c) for the stepped replica: every acknowledged write it has passed since the last check.
    if (!stepped.serving) stepped.checkedUpTo = -1;
    else if (last > stepped.checkedUpTo) {
      const sorted = world.ackedSorted;
      for (let i = firstAbove(sorted, stepped.checkedUpTo); i < sorted.length; i++) {
        if (sorted[i] > last) break;
        hasAcked(stepped, sorted[i]);
      }
      stepped.checkedUpTo = last;
    }
  }
  // (c) new acknowledgements: held by every serving replica that is past them.
  for (const zxid of world.freshAcks.splice(0)) {
    for (const host of servers) {
      if (host.serving && host.lastApplied >= zxid) hasAcked(host, zxid);
    }
  }
}

function hasAcked(host: ServerHost, zxid: number): void {
  if (host.hasApplied(zxid)) return;
  assert.fail(
    `acknowledged write ${hex(zxid)} is missing from serving server ${host.id}, whose state ` +
      `reaches ${hex(host.lastApplied)}`,
  );
}

/** Index of the first element of sorted `values` above `value`. */
function firstAbove(values: readonly number[], value: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// ---- one run -----------------------------------------------------------------------------------------

/** Settings of {@linkcode runEnsembleSim}; everything but the seed and command is drawn from the seed. */
export interface EnsembleSimOptions {
  seed: number;
  /** Voting servers: 3 or 5. */
  voters?: number;
  /** Observers: 0 or 1. */
  observers?: number;
  /** Clients: 2 to 4. */
  clients?: number;
  /** The peers' historyRecordsMax (small ones force SNAP syncs): 8, 30 or 1000. */
  historyRecordsMax?: number;
  /** A snapshot every this many applied txns (Infinity: never): 10, 40 or never. */
  snapCount?: number;
  /** Virtual time with faults. Default 20 s. */
  safetyMs?: number;
  /** Bound on convergence once the faults stop. Default 30 s. */
  livenessMs?: number;
  bug?: EnsembleHostBug;
  replayCommand: string;
  report?: (text: string) => void;
  /** Steps kept for the failure report. Default 40. */
  recentStepsMax?: number;
  /**
   * Clients also set watches (re-sent after reconnects) and follow each sync with a read. Off by
   * default, which keeps the random streams, hence the regression seeds, of older sweeps.
   */
  watches?: boolean;
  /**
   * Check the protocol invariants (a)-(d) after every step (default). Off, a planted bug can only
   * be caught by the history checkers: their twins run so.
   */
  invariants?: boolean;
  /**
   * An explicit fault schedule (fast-check's): replaces the seed's swarm of faults and outages.
   * The safety phase lasts until a second after its last fault.
   */
  schedule?: readonly FaultStep[];
}

/**
 * One fault of an explicit schedule. Servers and clients are named by number, taken modulo their
 * count, so that any number names someone (and shrinking toward 0 stays meaningful).
 */
export type ScheduledFault =
  /** Crash the serving leader (any live server when none serves), or server `n`. */
  | { kind: "crash"; server: "leader" | number }
  /**
   * A power outage: every server's fsyncs stall for `stallMs` (writes pile up unsynced), then
   * every server crashes at once.
   */
  | { kind: "outage"; stallMs: number }
  /** Restart crashed server `n`, or every crashed server. */
  | { kind: "restart"; server: "all" | number }
  /** Cut the leader, with `followers` of the others, off from everyone else (clients split too). */
  | { kind: "isolateLeader"; followers: number; clientMask: number }
  /** Split servers and clients in two by the bits of `mask` (node i on side bit i). */
  | { kind: "partition"; mask: number }
  /** Cut the link between two servers. */
  | { kind: "cut"; a: number; b: number }
  /** End partitions and heal every cut link. */
  | { kind: "heal" }
  /** Make a server's (or the leader's) fsyncs slow for `ms`. */
  | { kind: "slowDisk"; server: "leader" | number; ms: number }
  /** Break client `n`'s connection (it reconnects, to another server). */
  | { kind: "disconnectClient"; client: number }
  /** Cut client `n` off from every server for `ms`: long enough, its session expires. */
  | { kind: "isolateClient"; client: number; ms: number };

/** A fault `afterMs` after the previous one. */
export interface FaultStep {
  afterMs: number;
  fault: ScheduledFault;
}

/** What a passing run did. */
export interface EnsembleSimResult {
  seed: number;
  voters: number;
  observers: number;
  clients: number;
  steps: number;
  /** Txns applied through commits (the canonical sequence). */
  committed: number;
  /** Writes acknowledged to clients. */
  acked: number;
  /** Client ops by outcome. */
  ops: { ok: number; error: number; unknown: number; pending: number };
  /** Epochs that had a serving leader. */
  epochs: number;
  /** Virtual ms from the end of faults to convergence. */
  convergedAfterMs: number;
  traceHash: string;
  faults: string;
  /** Every client request, in invocation order. */
  history: OpRecord[];
  /** What the clients saw, with the committed order read back from the converged leader. */
  checked: History;
  stats: EnsembleSimStats;
}

/** Runs one seed; throws a SimulationError (after printing the report) on a failed check. */
export function runEnsembleSim(options: EnsembleSimOptions): EnsembleSimResult {
  const { seed, replayCommand, report } = options;
  // A stream of its own: the simulator forks its first four from the same seed.
  const root = new Rng(seed);
  for (let i = 0; i < 4; i++) root.fork();
  const setup = root.fork();
  const voters = options.voters ?? (setup.chance(0.5) ? 3 : 5);
  const observers = options.observers ?? (setup.chance(0.2) ? 1 : 0);
  const clients = options.clients ?? setup.int(2, 4);
  const historyRecordsMax = options.historyRecordsMax ?? setup.pick([8, 30, 1000]);
  const snapCount = options.snapCount ?? setup.pick([10, 40, Infinity]);
  const delayMsMax = setup.pick([5, 20, 60, 150]);
  const sessionTimeoutMs = setup.pick([1000, 2000, 4000]);
  const opChance = setup.pick([0.2, 0.5, 0.8]);
  const world = new EnsembleWorld({
    voters,
    observers,
    clients,
    historyRecordsMax,
    snapCount,
    bug: options.bug,
    sessionTimeoutMs,
    opChance,
    watches: options.watches ?? false,
    invariants: options.invariants ?? true,
  }, setup.fork());
  // Power outages (in some seeds): a majority of the servers crash at once, which the swarm's
  // one-at-a-time crashes rarely achieve, and come back together a little later.
  const safetyMs = options.safetyMs ?? 20_000;
  const outages: Outage[] = [];
  if (options.schedule === undefined && setup.chance(0.3)) {
    for (let i = setup.int(1, 3); i > 0; i--) {
      const atMs = setup.int(1000, Math.max(1000, safetyMs - 2000));
      const backMs = atMs + setup.int(20, 3000);
      // Often the disks stall first (writes pile up unsynced), as before a real power cut.
      const stallMs = setup.chance(0.5) ? setup.int(50, 1000) : 0;
      outages.push({ atMs, backMs, stallMs, crashed: [] });
    }
  }
  const outageRng = setup.fork();
  const n = world.servers + clients;
  const sim: EnsembleSim = new Simulator<EnsembleMsg, ServerDisk>({
    seed,
    nodeCount: n,
    tickMs: peerTickMs,
    network: { delayMsMin: 1, delayMsMax },
    faults: options.schedule === undefined ? "swarm" : "none",
    transmit: overTheWire,
    createDisk: () => new ServerDisk(),
    createNode: (id, disk) =>
      world.isServer(id) ? new ServerHost(id, disk, world) : new ClientHost(id, world),
    onStep: world.invariants ? (step, s) => checkStep(world, step, s) : undefined,
    replayCommand,
    report,
    recentStepsMax: options.recentStepsMax,
    describeMessage,
  });
  world.sim = sim;
  if (options.schedule === undefined) runSafety(sim, world, outages, outageRng, safetyMs);
  else runSchedule(sim, world, options.schedule);
  // Liveness: no more faults, a healed network, everyone up, each client's final write.
  world.workload = "final";
  sim.stopFaults();
  sim.heal();
  for (let id = 0; id < n; id++) if (!sim.isAlive(id)) sim.restart(id);
  const faultsEndedMs = sim.nowMs;
  const livenessMs = options.livenessMs ?? 30_000;
  const done = converged(world);
  sim.run({ untilMs: faultsEndedMs + livenessMs, stopWhen: done });
  if (!done(sim)) {
    return sim.fail(
      new Error(
        `no convergence within ${livenessMs} ms after the faults stopped; ${status(world, sim)}`,
      ),
    );
  }
  const convergedAfterMs = sim.nowMs - faultsEndedMs;
  // Every acknowledged write, on every server.
  for (const host of liveServers(world, sim)) {
    for (const zxid of world.ackedSorted) {
      if (!host.hasApplied(zxid)) {
        sim.fail(new Error(`acknowledged write ${hex(zxid)} is missing from server ${host.id}`));
      }
    }
  }
  const ops = { ok: 0, error: 0, unknown: 0, pending: 0 };
  for (const op of world.history) ops[op.outcome]++;
  return {
    seed,
    voters,
    observers,
    clients,
    steps: sim.stepCount,
    committed: world.canon.size,
    acked: world.acked.size,
    ops,
    epochs: world.leaderOfEpoch.size,
    convergedAfterMs,
    traceHash: sim.traceHash,
    faults: describeFaults(sim.faultProfile),
    history: world.history,
    checked: {
      ops: world.history,
      events: world.events,
      sessions: world.sessions,
      committed: world.sequenceTo(liveServers(world, sim)[0].lastApplied),
    },
    stats: world.stats,
  };
}

/**
 * A power outage: servers crashed together at `atMs`, restarted at `backMs`; for `stallMs` before
 * it every server's fsyncs are slow.
 */
interface Outage {
  atMs: number;
  backMs: number;
  stallMs: number;
  crashed: number[];
}

/** The safety phase: the swarm's faults, plus the outages at their times. */
function runSafety(
  sim: EnsembleSim,
  world: EnsembleWorld,
  outages: Outage[],
  rng: Rng,
  safetyMs: number,
): void {
  const events = [
    ...outages.filter((o) => o.stallMs > 0).map((o) => ({
      atMs: o.atMs - o.stallMs,
      outage: o,
      kind: "stall",
    })),
    ...outages.map((o) => ({ atMs: o.atMs, outage: o, kind: "start" })),
    ...outages.map((o) => ({ atMs: o.backMs, outage: o, kind: "end" })),
  ].filter((e) => e.atMs < safetyMs).sort((a, b) => a.atMs - b.atMs);
  const quorum = Math.floor(world.membership.voters.length / 2) + 1;
  for (const { atMs, outage, kind } of events) {
    sim.run({ untilMs: atMs });
    if (kind === "stall") {
      for (const s of liveServers(world, sim)) sim.slowDisk(s.id, outage.atMs);
    } else if (kind === "start") {
      const alive = liveServers(world, sim).map((s) => s.id);
      if (alive.length === 0) continue;
      const count = rng.int(Math.min(quorum, alive.length), alive.length);
      outage.crashed = rng.shuffle(alive).slice(0, count).sort((a, b) => a - b);
      for (const id of outage.crashed) sim.crash(id);
      world.stats.outages++;
    } else {
      for (const id of outage.crashed) if (!sim.isAlive(id)) sim.restart(id);
    }
  }
  sim.run({ untilMs: safetyMs });
}

/** The safety phase of an explicit schedule: each fault in turn, then a second more (4 s at least). */
function runSchedule(sim: EnsembleSim, world: EnsembleWorld, schedule: readonly FaultStep[]): void {
  // Client links cut for a while, healed at their time (unless a heal came first).
  const heals: Array<{ atMs: number; a: number; b: number }> = [];
  const runUntil = (untilMs: number) => {
    heals.sort((x, y) => x.atMs - y.atMs);
    while (heals.length > 0 && heals[0].atMs <= untilMs) {
      const { atMs, a, b } = heals.shift()!;
      sim.run({ untilMs: atMs });
      sim.healLink(a, b);
    }
    sim.run({ untilMs });
  };
  const servers = world.servers;
  const clientNode = (n: number) => servers + (n % world.clients);
  const leaderOrAny = (): number | null => {
    const live = liveServers(world, sim);
    return (live.find((s) => s.servingLeader) ?? live[0])?.id ?? null;
  };
  const startMs = sim.nowMs;
  let t = startMs;
  for (const { afterMs, fault } of schedule) {
    t += afterMs;
    runUntil(t);
    switch (fault.kind) {
      case "crash": {
        const id = fault.server === "leader" ? leaderOrAny() : fault.server % servers;
        if (id !== null && sim.isAlive(id)) sim.crash(id);
        break;
      }
      case "outage": {
        for (const host of liveServers(world, sim)) sim.slowDisk(host.id, t + fault.stallMs);
        t += fault.stallMs;
        runUntil(t);
        for (const host of liveServers(world, sim)) sim.crash(host.id);
        break;
      }
      case "restart":
        for (let id = 0; id < servers; id++) {
          if (!sim.isAlive(id) && (fault.server === "all" || fault.server % servers === id)) {
            sim.restart(id);
          }
        }
        break;
      case "isolateLeader": {
        const leader = leaderOrAny();
        if (leader === null) break;
        const others = [...Array(servers).keys()].filter((id) => id !== leader);
        const side = [leader, ...others.slice(0, fault.followers % servers)];
        for (let c = 0; c < world.clients; c++) {
          if ((fault.clientMask >> c) & 1) side.push(servers + c);
        }
        const rest = [...Array(servers + world.clients).keys()].filter((id) => !side.includes(id));
        sim.partition([side, rest]);
        break;
      }
      case "partition": {
        const all = [...Array(servers + world.clients).keys()];
        sim.partition([
          all.filter((id) => (fault.mask >> id) & 1),
          all.filter((id) => !((fault.mask >> id) & 1)),
        ]);
        break;
      }
      case "cut": {
        const a = fault.a % servers;
        const b = fault.b % servers;
        if (a !== b) sim.cut(a, b);
        break;
      }
      case "heal":
        heals.length = 0;
        sim.heal();
        break;
      case "slowDisk": {
        const id = fault.server === "leader" ? leaderOrAny() : fault.server % servers;
        if (id !== null) sim.slowDisk(id, t + fault.ms);
        break;
      }
      case "disconnectClient": {
        const id = clientNode(fault.client);
        const client = sim.node(id) as ClientHost | null;
        const server = client?.conn?.server;
        if (server === undefined) break;
        sim.cut(id, server);
        heals.push({ atMs: t + 1, a: id, b: server });
        break;
      }
      case "isolateClient": {
        const id = clientNode(fault.client);
        for (let server = 0; server < servers; server++) {
          sim.cut(id, server);
          heals.push({ atMs: t + fault.ms, a: id, b: server });
        }
        break;
      }
    }
  }
  // At least 4 s of workload, and a second past the last fault.
  const endMs = Math.max(t + 1000, startMs + 4000);
  runUntil(endMs);
  runUntil(Math.max(...heals.map((h) => h.atMs), endMs));
}

/**
 * Every server up and in BROADCAST under one serving leader with one state, holding every
 * acknowledged write; every client's final write done.
 */
function converged(world: EnsembleWorld): (sim: EnsembleSim) => boolean {
  return (sim) => {
    const servers = liveServers(world, sim);
    if (servers.length !== world.servers) return false;
    const leaders = servers.filter((s) => s.servingLeader);
    if (leaders.length !== 1) return false;
    const leader = leaders[0].id;
    const last = leaders[0].lastApplied;
    if (last < world.maxAcked) return false;
    if (!servers.every((s) => s.serving && s.status.leader === leader && s.lastApplied === last)) {
      return false;
    }
    // (With the invariants off, a planted bug may leave states apart: the histories judge that.)
    const digests = new Set(servers.map((s) => stateDigest(s.replica)));
    if (digests.size !== 1 && world.invariants) return false;
    return liveClients(world, sim).every((c) =>
      c !== null && c.finalDone && (c.finalReadsDone || !world.options.watches)
    );
  };
}

function status(world: EnsembleWorld, sim: EnsembleSim): string {
  const parts: string[] = [];
  for (let id = 0; id < world.servers + world.clients; id++) {
    const node = sim.node(id);
    if (node === null) {
      parts.push(`${id}: down`);
    } else if (node instanceof ServerHost) {
      const s = node.status;
      parts.push(
        `${id}: ${s.state} ${s.phase} leader ${s.leader} epochs ${s.epochs.acceptedEpoch}/` +
          `${s.epochs.currentEpoch} last ${hex(s.lastZxid)} committed ${hex(s.committedZxid)} ` +
          `applied ${hex(node.lastApplied)}`,
      );
    } else {
      const c = node as ClientHost;
      parts.push(
        `client ${id}: ${
          c.conn === null ? "unconnected" : `${c.conn.state} to ${c.conn.server}`
        } session ${c.session === null ? "none" : hex(c.session.id)} final ${c.finalDone}`,
      );
    }
  }
  return parts.join("; ");
}

// ---- the trace -------------------------------------------------------------------------------------

/** Short trace lines: SNAP images and payloads are summarised. */
export function describeMessage(msg: EnsembleMsg): string {
  switch (msg.kind) {
    case "peer":
      return describePeerMessage(msg.message);
    case "connect": {
      const r = msg.request as ConnectRequest;
      return `connect#${msg.conn} session ${hex(r.sessionId)} lastZxid ${hex(r.lastZxid)}`;
    }
    case "request": {
      const r = msg.request as ClientRequest;
      return `req#${msg.conn} xid ${r.xid} ${describeRequest(r)}`;
    }
    case "disconnect":
      return `disconnect#${msg.conn}`;
    case "closed":
      return `closed#${msg.conn} (${msg.reason})`;
    case "reply": {
      const m = msg.message;
      switch (m.t) {
        case "res":
          return `res#${msg.conn} xid ${m.xid} zxid ${hex(m.zxid)} ${m.err ?? "ok"}`;
        case "connected":
          return `connected#${msg.conn} session ${hex(m.sessionId)} zxid ${hex(m.zxid)}`;
        case "refused":
        case "error":
          return `${m.t}#${msg.conn} ${m.err}`;
        case "event":
          return `event#${msg.conn} ${m.type} ${m.path}`;
      }
    }
  }
}

function describeRequest(r: ClientRequest): string {
  switch (r.op) {
    case "multi":
      return `multi [${r.ops.map((o) => `${o.op} ${o.path}`).join(", ")}]`;
    case "setData":
    case "delete":
      return `${r.op} ${r.path} v${r.version}`;
    default:
      return "path" in r ? `${r.op} ${r.path}` : r.op;
  }
}

function describePeerMessage(message: unknown): string {
  const m = message as Record<string, unknown>;
  const z = (v: unknown) => (typeof v === "number" ? hex(v) : String(v));
  switch (m.type) {
    case "SNAP":
      return `SNAP ${z(m.zxid)}`;
    case "PROPOSAL":
    case "INFORM":
      return `${m.type} ${z(m.zxid)}`;
    case "NOTIFICATION": {
      const n = m.notification as { round: number; state: string; vote: unknown };
      return `NOTIFICATION r${n.round} ${n.state} vote ${JSON.stringify(n.vote)}`;
    }
    case "REQUEST": {
      const f = m.forward as { op: string; sessionId: number; request?: ClientRequest };
      return `REQUEST ${f.op} ${hex(f.sessionId)}${
        f.request ? ` xid ${f.request.xid} ${f.request.op}` : ""
      }`;
    }
    case "REPLY": {
      const r = m.reply as { kind: string; sessionId: number; xid: number; zxid?: number };
      return `REPLY ${r.kind} ${hex(r.sessionId)} xid ${r.xid}${
        r.zxid === undefined ? "" : ` zxid ${hex(r.zxid)}`
      }`;
    }
    case "TOUCH":
      return `TOUCH ${(m.sessionIds as number[]).map(hex).join(",")}`;
    default:
      return JSON.stringify(m, (_k, v) => (typeof v === "number" && v > 2 ** 32 ? hex(v) : v));
  }
}
