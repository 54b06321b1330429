/**
 * The whole ZAB peer (src/zab/peer.ts: election, DISCOVERY, SYNCHRONIZATION with DIFF, TRUNC
 * and SNAP, BROADCAST) hosted in the deterministic simulator, VOPR style: a *safety phase* with
 * a per-seed swarm of faults (crashes that lose unsynced writes, restarts, cut links,
 * partitions, slow disks) and a client load, checked after every step; then a *liveness phase*:
 * faults stop, the network heals, every node is up, and within a bounded virtual time a leader
 * must serve, every node must reach BROADCAST with every committed txn applied, and one more
 * write must commit everywhere.
 *
 * The checks (REFERENCE §7, "every write a leader committed must survive"):
 * - (a) the applied sequences of all serving nodes (phase BROADCAST) are prefixes of one;
 * - (b) at most one node ever serves as leader in an epoch;
 * - (c) every txn a leader committed is in the applied sequence of every serving node whose
 *   sequence reaches past it, with the same content (never skipped, never replaced);
 * - (d) live nodes whose applied sequences end at the same zxid have equal digests.
 *
 * Used by `tests/sim/zab_sim_test.ts` (a few hundred seeds in CI) and `scripts/zab_sweep`
 * (thousands). A failure prints `Replay: SIM_SEED=<seed> <command>`.
 * @module
 */
import assert from "../assert.ts";
import { KvDisk } from "../../src/sim/disk.ts";
import { describeFaults } from "../../src/sim/faults.ts";
import { Rng } from "../../src/sim/rng.ts";
import type { SimAction, SimEvent, SimNode, SimStep } from "../../src/sim/simulator.ts";
import { Simulator } from "../../src/sim/simulator.ts";
import { makeZxid, type TxnRecord, zxidEpoch } from "../../src/tree/txn.ts";
import type { PeerMessage } from "../../src/zab/messages.ts";
import { Peer, type PeerAction, type PeerEpochs } from "../../src/zab/peer.ts";
import type { Membership } from "../../src/zab/types.ts";

/** Virtual ms per tick. */
export const zabTickMs = 100;
/** ZooKeeper's initLimit, in ticks. */
export const initLimitTicks = 10;
/** ZooKeeper's syncLimit, in ticks. */
export const syncLimitTicks = 5;

/** Bugs planted in every host, to show the checks can fail (DESIGN.md: checkers are tested). */
export type ZabHostBug =
  /** The host ignores `truncate`: a diverged tail stays in its log and applied state. */
  | "ignoreTrunc"
  /** The host sends at once instead of waiting for the preceding persist to be durable. */
  | "sendBeforeDurable";

// ---- records and the disk ------------------------------------------------------------------

/** Fields of a record kept on the simulated disk: zxid, origin, stamp (the txn is fixed). */
const recordFields = 3;

function makeRecord(zxid: number, sessionId: number, timeMs: number): TxnRecord {
  return { zxid, timeMs, sessionId, txn: { type: "check", path: "/", version: -1 } };
}

/** Records as a flat Float64Array (zxids < 2^53 are exact), cheap for the disk to copy. */
function encodeRecords(records: readonly TxnRecord[], head: number[] = []): Float64Array {
  const out = new Float64Array(head.length + records.length * recordFields);
  out.set(head);
  let i = head.length;
  for (const r of records) {
    out[i++] = r.zxid;
    out[i++] = r.sessionId;
    out[i++] = r.timeMs;
  }
  return out;
}

function decodeRecords(data: Float64Array, from: number, count: number): TxnRecord[] {
  const records: TxnRecord[] = [];
  for (let i = 0; i < count; i++) {
    const at = from + i * recordFields;
    records.push(makeRecord(data[at], data[at + 1], data[at + 2]));
  }
  return records;
}

/** What identifies a txn's content: two leaders handing out one zxid would differ here. */
function signature(r: TxnRecord): string {
  return `${r.sessionId}/${r.timeMs}`;
}

/** Running digest of an applied sequence after one more record (two 26-bit FNV-style lanes). */
function extendDigest(previous: number, r: TxnRecord): number {
  let h1 = previous % 67108864;
  let h2 = Math.floor(previous / 67108864);
  for (const v of [zxidEpoch(r.zxid), r.zxid % 4294967296, r.sessionId, r.timeMs]) {
    h1 = Math.imul(h1 ^ v, 2654435761) >>> 6;
    h2 = Math.imul(h2 ^ (v + 0x9e37), 1597334677) >>> 6;
  }
  return h2 * 67108864 + h1;
}

/**
 * A node's durable storage on a {@linkcode KvDisk}: "epochs" = [accepted, current]; "state" =
 * [snapshot zxid, snapshot record count, snapshot records..., log records...]. The snapshot and
 * the log share one key so that installing a snapshot (which replaces the log) is atomic, as
 * the in-memory host of tests/zab/_cluster.ts assumes.
 */
export type ZabDisk = KvDisk<Float64Array>;

// ---- the world the checks see --------------------------------------------------------------

/** Facts shared by all nodes of one run, for the load and the checks. */
export class ZabWorld {
  /** Every zxid a leader committed, with its content signature. */
  readonly committed = new Map<number, string>();
  /** Sorted zxids of {@linkcode committed}. */
  committedSorted: number[] = [];
  /** Commits by leaders in the step being checked. */
  readonly fresh: Array<{ node: number; record: TxnRecord }> = [];
  /** The node that served as leader in each epoch. */
  readonly leaderOfEpoch = new Map<number, number>();
  /** The load: random batches, off, or exactly one more batch (the liveness write). */
  load: "random" | "off" | "once" = "random";
  /** The zxid of the liveness write, once proposed. */
  finalZxid = 0;
  proposals = 0;
  /** Stamps of proposed records: unique in the run. */
  stamp = 0;

  constructor(
    readonly membership: Membership,
    readonly rng: Rng,
    readonly historyRecordsMax: number,
    readonly bug?: ZabHostBug,
  ) {}

  record(zxid: number, sig: string): boolean {
    const known = this.committed.get(zxid);
    if (known !== undefined) {
      assert.equal(sig, known, `zxid ${zxid.toString(16)} committed twice with different txns`);
      return false;
    }
    this.committed.set(zxid, sig);
    const last = this.committedSorted.at(-1) ?? -1;
    this.committedSorted.push(zxid);
    if (zxid < last) this.committedSorted.sort((a, b) => a - b);
    return true;
  }

  get maxCommitted(): number {
    return this.committedSorted.at(-1) ?? 0;
  }
}

interface Queued {
  token: number;
  to: number;
  msg: PeerMessage;
}

/**
 * One server: a {@linkcode Peer} over a {@linkcode ZabDisk}. Sends that follow a disk write in
 * the same step (and every later send while some wait) are held until the write's fsync is
 * durable, which is what ZAB's ACKs promise. The applied sequence is in memory; a restart
 * rebuilds it from the snapshot and the log replayed, as ZooKeeper does.
 */
export class ZabNode implements SimNode<PeerMessage> {
  readonly peer: Peer;
  /** The applied sequence and the digest after each of its records. */
  applied: TxnRecord[];
  digests: number[] = [];
  /**
   * Check (c) holds for committed zxids up to this one; -1 asks for a full check (the node is
   * new, or its applied sequence was rebuilt, or it was not serving).
   */
  checkedUpTo = -1;
  #base: number;
  #snapshot: TxnRecord[];
  #log: TxnRecord[];
  #epochs: PeerEpochs;
  #token = 0;
  /** Per issued token: the last zxid of its log actions, or 0. */
  readonly #loggedAt = new Map<number, number>();
  #queue: Queued[] = [];

  constructor(readonly id: number, readonly disk: ZabDisk, readonly world: ZabWorld) {
    const epochs = disk.get("epochs");
    this.#epochs = { acceptedEpoch: epochs?.[0] ?? 0, currentEpoch: epochs?.[1] ?? 0 };
    const state = disk.get("state") ?? new Float64Array([0, 0]);
    this.#base = state[0];
    const snapCount = state[1];
    this.#snapshot = decodeRecords(state, 2, snapCount);
    const logFrom = 2 + snapCount * recordFields;
    this.#log = decodeRecords(state, logFrom, (state.length - logFrom) / recordFields);
    this.applied = [...this.#snapshot, ...this.#log];
    this.#redigest();
    this.peer = new Peer({
      myId: id,
      membership: world.membership,
      epochs: this.#epochs,
      baseZxid: this.#base,
      history: this.#log,
      initLimitTicks,
      syncLimitTicks,
      historyRecordsMax: world.historyRecordsMax,
      captureImage: () => encodeRecords(this.applied),
    });
  }

  get serving(): boolean {
    return this.peer.status.phase === "BROADCAST";
  }

  get servingLeader(): boolean {
    const s = this.peer.status;
    return s.state === "LEADING" && s.phase === "BROADCAST";
  }

  get lastApplied(): number {
    return this.applied.at(-1)?.zxid ?? this.#base;
  }

  get digest(): number {
    return this.digests.at(-1) ?? 0;
  }

  step(event: SimEvent<PeerMessage>): SimAction<PeerMessage>[] {
    switch (event.type) {
      case "start":
        return this.#carryOut(this.peer.step({ type: "start" }));
      case "tick":
        return [...this.#load(), ...this.#carryOut(this.peer.step({ type: "tick" }))];
      case "message":
        return this.#carryOut(
          this.peer.step({ type: "message", from: event.from, msg: event.msg }),
        );
      case "linkUp":
        return [];
      case "linkDown":
        // What waited for that connection dies with it, as in a socket's send buffer.
        this.#queue = this.#queue.filter((q) => q.to !== event.peer);
        return this.#carryOut(this.peer.step({ type: "linkDown", peer: event.peer }));
      case "durable":
        return this.#durable(event.token);
    }
  }

  #durable(token: number): SimAction<PeerMessage>[] {
    const actions: SimAction<PeerMessage>[] = [];
    // Fsyncs of one disk complete in order: everything queued up to this token may go.
    while (this.#queue.length > 0 && this.#queue[0].token <= token) {
      const { to, msg } = this.#queue.shift()!;
      actions.push({ type: "send", to, msg });
    }
    const zxid = this.#loggedAt.get(token) ?? 0;
    this.#loggedAt.delete(token);
    if (zxid > 0) actions.push(...this.#carryOut(this.peer.step({ type: "logged", zxid })));
    return actions;
  }

  /** The client load: a serving leader proposes a batch of 1-3 check txns on some ticks. */
  #load(): SimAction<PeerMessage>[] {
    const world = this.world;
    if (!this.servingLeader || world.load === "off") return [];
    if (world.load === "random" && !world.rng.chance(0.3)) return [];
    const count = world.load === "once" ? 1 : world.rng.int(1, 3);
    const { lastZxid, epochs } = this.peer.status;
    const epoch = epochs.currentEpoch;
    let counter = zxidEpoch(lastZxid) === epoch ? lastZxid % 2 ** 32 : 0;
    const records: TxnRecord[] = [];
    for (let i = 0; i < count; i++) {
      records.push(makeRecord(makeZxid(epoch, ++counter), this.id + 1, ++world.stamp));
    }
    world.proposals += count;
    if (world.load === "once") {
      world.load = "off";
      world.finalZxid = records[0].zxid;
    }
    return [
      { type: "log", text: `propose ${records.map((r) => r.zxid.toString(16)).join(",")}` },
      ...this.#carryOut(this.peer.step({ type: "propose", records })),
    ];
  }

  /** Carries out a peer's actions: disk writes, held or immediate sends, applies. */
  #carryOut(peerActions: PeerAction[]): SimAction<PeerMessage>[] {
    const out: SimAction<PeerMessage>[] = [];
    let wroteEpochs = false;
    let wroteState = false;
    let loggedZxid = 0;
    const held: Array<{ to: number; msg: PeerMessage }> = [];
    for (const action of peerActions) {
      switch (action.type) {
        case "send": {
          const mustWait = wroteEpochs || wroteState || this.#queue.length > 0;
          if (mustWait && this.world.bug !== "sendBeforeDurable") {
            held.push({ to: action.to, msg: action.msg });
          } else out.push({ type: "send", to: action.to, msg: action.msg });
          break;
        }
        case "persistEpochs":
          this.#epochs = { ...action.epochs };
          wroteEpochs = true;
          break;
        case "log":
          this.#log.push(...action.records);
          loggedZxid = action.records.at(-1)!.zxid;
          wroteState = true;
          break;
        case "truncate":
          if (this.world.bug === "ignoreTrunc") break;
          assert.ok(action.zxid >= this.#base, "a TRUNC never reaches below the snapshot");
          this.#log = this.#log.filter((r) => r.zxid <= action.zxid);
          this.applied = this.applied.filter((r) => r.zxid <= action.zxid);
          this.digests.length = this.applied.length;
          this.checkedUpTo = -1;
          wroteState = true;
          out.push({ type: "log", text: `TRUNC to ${action.zxid.toString(16)}` });
          break;
        case "installSnapshot":
          this.applied = decodeRecords(
            action.image as Float64Array,
            0,
            (action.image as Float64Array).length / recordFields,
          );
          this.#snapshot = [...this.applied];
          this.#log = [];
          this.#base = action.zxid;
          this.#redigest();
          this.checkedUpTo = -1;
          wroteState = true;
          out.push({ type: "log", text: `SNAP at ${action.zxid.toString(16)}` });
          break;
        case "commit":
          this.#apply(action.records);
          break;
        case "role":
          out.push({
            type: "log",
            text: `${action.state} ${action.phase} leader ${action.leader} epoch ${action.epoch}`,
          });
          break;
      }
    }
    if (wroteEpochs) {
      const { acceptedEpoch, currentEpoch } = this.#epochs;
      this.disk.set("epochs", new Float64Array([acceptedEpoch, currentEpoch]));
    }
    if (wroteState) {
      this.disk.set(
        "state",
        encodeRecords([...this.#snapshot, ...this.#log], [
          this.#base,
          this.#snapshot.length,
        ]),
      );
    }
    if (wroteEpochs || wroteState) {
      const token = ++this.#token;
      if (loggedZxid > 0) this.#loggedAt.set(token, loggedZxid);
      out.push({ type: "persist", token });
    }
    for (const h of held) this.#queue.push({ token: this.#token, ...h });
    return out;
  }

  #apply(records: TxnRecord[]): void {
    const leading = this.peer.status.state === "LEADING";
    for (const record of records) {
      assert.ok(
        record.zxid > this.lastApplied,
        `node ${this.id} applies ${record.zxid.toString(16)} after ` +
          `${this.lastApplied.toString(16)}`,
      );
      this.applied.push(record);
      this.digests.push(extendDigest(this.digest, record));
      if (leading) this.world.fresh.push({ node: this.id, record });
    }
  }

  #redigest(): void {
    this.digests = [];
    let d = 0;
    for (const r of this.applied) this.digests.push(d = extendDigest(d, r));
  }
}

// ---- checks ----------------------------------------------------------------------------------

type ZabSim = Simulator<PeerMessage, ZabDisk>;

function liveNodes(sim: ZabSim): ZabNode[] {
  const nodes: ZabNode[] = [];
  for (let id = 0; id < sim.nodeCount; id++) {
    const node = sim.node(id);
    if (node !== null) nodes.push(node as ZabNode);
  }
  return nodes;
}

const hex = (zxid: number) => zxid.toString(16);

/** Invariants (a)-(d), after every step. */
export function checkStep(world: ZabWorld, step: SimStep<PeerMessage>, sim: ZabSim): void {
  if (step.kind !== "node") return;
  const nodes = liveNodes(sim);
  const stepped = sim.node(step.node) as ZabNode | null;
  // (b) one serving leader per epoch, ever.
  if (stepped !== null && stepped.servingLeader) {
    const epoch = stepped.peer.status.epochs.currentEpoch;
    const first = world.leaderOfEpoch.get(epoch);
    if (first === undefined) world.leaderOfEpoch.set(epoch, stepped.id);
    else {
      assert.equal(stepped.id, first, `epoch ${epoch}: nodes ${first} and ${stepped.id} both lead`);
    }
  }
  // (c), new commits: recorded, and held by every serving node that is past them.
  const fresh = world.fresh.splice(0);
  for (const { record } of fresh) {
    if (!world.record(record.zxid, signature(record))) continue;
    for (const node of nodes) {
      if (node.serving && node.lastApplied >= record.zxid) hasCommitted(node, record.zxid, world);
    }
  }
  // (c), the stepped node: fully when it just began serving or was rebuilt, else what it
  // applied since the last check (a committed txn it skipped shows up here).
  if (stepped !== null) {
    if (!stepped.serving) stepped.checkedUpTo = -1;
    else if (stepped.lastApplied > stepped.checkedUpTo) {
      const sorted = world.committedSorted;
      for (let i = firstAbove(sorted, stepped.checkedUpTo); i < sorted.length; i++) {
        if (sorted[i] > stepped.lastApplied) break;
        hasCommitted(stepped, sorted[i], world);
      }
      stepped.checkedUpTo = stepped.lastApplied;
    }
  }
  checkPrefixes(nodes);
  checkDigests(nodes);
}

/** (c) for one node and one committed zxid. */
function hasCommitted(node: ZabNode, zxid: number, world: ZabWorld): void {
  const found = binarySearch(node.applied, zxid);
  assert.ok(
    found !== null,
    `committed txn ${hex(zxid)} is missing from serving node ${node.id}, whose applied ` +
      `sequence reaches ${hex(node.lastApplied)}`,
  );
  assert.equal(
    signature(found),
    world.committed.get(zxid),
    `serving node ${node.id} applied another txn as committed ${hex(zxid)}`,
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

function binarySearch(records: readonly TxnRecord[], zxid: number): TxnRecord | null {
  let lo = 0;
  let hi = records.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const z = records[mid].zxid;
    if (z === zxid) return records[mid];
    if (z < zxid) lo = mid + 1;
    else hi = mid - 1;
  }
  return null;
}

/** (a) serving nodes' applied sequences are prefixes of one (compared by prefix digests). */
function checkPrefixes(nodes: ZabNode[]): void {
  const serving = nodes.filter((n) => n.serving);
  if (serving.length < 2) return;
  let longest = serving[0];
  for (const n of serving) if (n.applied.length > longest.applied.length) longest = n;
  for (const n of serving) {
    const len = n.applied.length;
    if (len === 0 || n.digests[len - 1] === longest.digests[len - 1]) continue;
    let i = 0;
    while (i < len && n.digests[i] === longest.digests[i]) i++;
    assert.fail(
      `applied sequences of serving nodes ${n.id} and ${longest.id} diverge at position ${i}: ` +
        `${describe(n.applied[i])} vs ${describe(longest.applied[i])}`,
    );
  }
}

/** (d) equal last zxid implies equal digest, over every live node. */
function checkDigests(nodes: ZabNode[]): void {
  const byLast = new Map<number, ZabNode>();
  for (const n of nodes) {
    if (n.applied.length === 0) continue;
    const other = byLast.get(n.lastApplied);
    if (other === undefined) byLast.set(n.lastApplied, n);
    else if (other.digest !== n.digest) {
      assert.fail(
        `nodes ${other.id} and ${n.id} both applied up to ${hex(n.lastApplied)} with different ` +
          `digests (${other.applied.length} vs ${n.applied.length} txns)`,
      );
    }
  }
}

function describe(r: TxnRecord | undefined): string {
  return r === undefined ? "nothing" : `${hex(r.zxid)} (${signature(r)})`;
}

// ---- one run ---------------------------------------------------------------------------------

/** Settings of {@linkcode runZabSim}. */
export interface ZabSimOptions {
  seed: number;
  /** Voters; default: 3 or 5, from the seed. */
  voters?: number;
  /** Observers; default: 0 or 1, from the seed. */
  observers?: number;
  /** Virtual time with faults. Default 20 s. */
  safetyMs?: number;
  /** Bound on convergence once faults stop, and again on the final write. Default 30 s. */
  livenessMs?: number;
  /** The peers' `historyRecordsMax`; default: 8, 30 or 1000, from the seed. */
  historyRecordsMax?: number;
  bug?: ZabHostBug;
  replayCommand: string;
  report?: (text: string) => void;
  /** Steps kept for the failure report. Default 40. */
  recentStepsMax?: number;
}

/** What a passing run did. */
export interface ZabSimResult {
  seed: number;
  voters: number;
  observers: number;
  steps: number;
  proposals: number;
  committed: number;
  epochs: number;
  /** Virtual ms from the end of faults to convergence. */
  convergedAfterMs: number;
  traceHash: string;
  faults: string;
}

/** Runs one seed; throws a SimulationError (after printing the report) on a failed check. */
export function runZabSim(options: ZabSimOptions): ZabSimResult {
  const { seed, replayCommand, report } = options;
  const setup = new Rng(seed).fork();
  const voters = options.voters ?? (setup.chance(0.5) ? 3 : 5);
  const observers = options.observers ?? (setup.chance(0.2) ? 1 : 0);
  const n = voters + observers;
  const ids = [...Array(n).keys()];
  const membership = { voters: ids.slice(0, voters), observers: ids.slice(voters) };
  // Small histories force SNAP syncs in some runs.
  const picked = setup.pick([8, 30, 1000]);
  const historyRecordsMax = options.historyRecordsMax ?? picked;
  const delayMsMax = setup.pick([5, 20, 60, 150]);
  const world = new ZabWorld(membership, setup.fork(), historyRecordsMax, options.bug);
  const sim: ZabSim = new Simulator<PeerMessage, ZabDisk>({
    seed,
    nodeCount: n,
    tickMs: zabTickMs,
    network: { delayMsMin: 1, delayMsMax },
    faults: "swarm",
    createDisk: () => new KvDisk<Float64Array>(),
    createNode: (id, disk) => new ZabNode(id, disk, world),
    onStep: (step, s) => checkStep(world, step, s),
    replayCommand,
    report,
    recentStepsMax: options.recentStepsMax,
    describeMessage: describeMessage,
  });
  sim.run({ untilMs: options.safetyMs ?? 20_000 });
  // Liveness: no more faults, a healed network, everyone up, no more random load.
  world.load = "off";
  sim.stopFaults();
  sim.heal();
  for (const id of ids) if (!sim.isAlive(id)) sim.restart(id);
  const faultsEndedMs = sim.nowMs;
  const livenessMs = options.livenessMs ?? 30_000;
  sim.run({ untilMs: faultsEndedMs + livenessMs, stopWhen: converged(world) });
  if (!converged(world)(sim)) {
    return sim.fail(
      new Error(`no convergence within ${livenessMs} ms after the faults stopped; ${status(sim)}`),
    );
  }
  const convergedAfterMs = sim.nowMs - faultsEndedMs;
  // One more write must commit everywhere.
  world.load = "once";
  const written = (s: ZabSim) =>
    world.finalZxid !== 0 && liveNodes(s).every((node) => node.lastApplied >= world.finalZxid);
  sim.run({ untilMs: sim.nowMs + livenessMs, stopWhen: written });
  if (!written(sim)) {
    return sim.fail(
      new Error(
        `the write after recovery did not commit everywhere within ${livenessMs} ms; ` +
          `${status(sim)}`,
      ),
    );
  }
  return {
    seed,
    voters,
    observers,
    steps: sim.stepCount,
    proposals: world.proposals,
    committed: world.committed.size,
    epochs: world.leaderOfEpoch.size,
    convergedAfterMs,
    traceHash: sim.traceHash,
    faults: describeFaults(sim.faultProfile),
  };
}

/** Every node up and in BROADCAST under one serving leader, every committed txn applied. */
function converged(world: ZabWorld): (sim: ZabSim) => boolean {
  return (sim) => {
    const nodes = liveNodes(sim);
    if (nodes.length !== sim.nodeCount) return false;
    const leaders = nodes.filter((node) => node.servingLeader);
    if (leaders.length !== 1) return false;
    const leader = leaders[0].id;
    return nodes.every((node) =>
      node.serving && node.peer.status.leader === leader &&
      node.lastApplied >= world.maxCommitted
    );
  };
}

function status(sim: ZabSim): string {
  const parts: string[] = [];
  for (let id = 0; id < sim.nodeCount; id++) {
    const node = sim.node(id) as ZabNode | null;
    if (node === null) {
      parts.push(`${id}: down`);
      continue;
    }
    const s = node.peer.status;
    parts.push(
      `${id}: ${s.state} ${s.phase} leader ${s.leader} epochs ${s.epochs.acceptedEpoch}/` +
        `${s.epochs.currentEpoch} last ${hex(s.lastZxid)} applied ${hex(node.lastApplied)}`,
    );
  }
  return parts.join("; ");
}

/** Short trace lines: SNAP images are summarised. */
function describeMessage(msg: PeerMessage): string {
  switch (msg.type) {
    case "SNAP":
      return `SNAP ${hex(msg.zxid)}`;
    case "PROPOSAL":
    case "INFORM":
      return `${msg.type} ${hex(msg.record.zxid)}`;
    case "NOTIFICATION": {
      const { round, state, vote } = msg.notification;
      return `NOTIFICATION r${round} ${state} vote ${JSON.stringify(vote)}`;
    }
    default:
      return JSON.stringify(msg, (_k, v) => typeof v === "number" && v > 2 ** 32 ? hex(v) : v);
  }
}
