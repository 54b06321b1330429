/**
 * The deterministic simulator (DESIGN.md "a pure replica, hosted twice"): hosts N deterministic
 * nodes on a virtual clock, network ({@linkcode Network}) and disks ({@linkcode SimDisk}), with
 * faults injected by a seeded schedule. Everything random comes from one seed, and events run in
 * (time, sequence) order, so a seed replays exactly: same seed, same trace, same failure.
 *
 * A hosted node is a pure state machine, {@linkcode SimNode}: it handles one
 * {@linkcode SimEvent} at a time and answers with {@linkcode SimAction}s, which the simulator
 * carries out (sends go on the network, persists become fsyncs on the node's disk). Crashing a
 * node drops the object with all its memory and the disk's unsynced writes; restarting it builds
 * a new node over the same disk.
 * @module
 */
import { assert } from "../assert.ts";
import type { SimDisk } from "./disk.ts";
import type { Fault, FaultProfile } from "./faults.ts";
import { describeFaults, noFaults, planFaults, swarmFaults } from "./faults.ts";
import type { NetworkOptions } from "./network.ts";
import { Network } from "./network.ts";
import { Rng } from "./rng.ts";

// ---- the contract with hosted nodes ----------------------------------------------------------

/** What happens to a hosted node. */
export type SimEvent<Msg> =
  /** The node (re)started; its disk holds what survived. Always its first event. */
  | { type: "start" }
  /** A timer tick, every `tickMs` of virtual time while the node is up. */
  | { type: "tick" }
  /** A message from a peer, in FIFO order per sender. */
  | { type: "message"; from: number; msg: Msg }
  /** A connection to `peer` is now up: messages sent to it from now on can arrive. */
  | { type: "linkUp"; peer: number }
  /** The connection to `peer` closed: what was in flight both ways is lost. */
  | { type: "linkDown"; peer: number }
  /** The fsync asked for by `persist` with `token` completed: writes made before it are durable. */
  | { type: "durable"; token: number };

/** What a hosted node asks the simulator to do. */
export type SimAction<Msg> =
  /**
   * Sends `msg` to `to` over the connection the node was last told is up (`linkUp`); silently
   * lost when there is none, when it went down since, or when it overflows.
   */
  | { type: "send"; to: number; msg: Msg }
  /** Fsyncs the node's disk; a `durable` event with the same token follows unless it crashes. */
  | { type: "persist"; token: number }
  /** A line for the trace (and failure reports). */
  | { type: "log"; text: string };

/**
 * A node the simulator can host: a deterministic state machine with no clock, no I/O and no
 * randomness of its own. The same input sequence must give the same outputs.
 *
 * @example
 * ```ts
 * import type { SimAction, SimEvent, SimNode } from "./simulator.ts";
 * class Pinger implements SimNode<string> {
 *   constructor(readonly id: number) {}
 *   step(event: SimEvent<string>): SimAction<string>[] {
 *     if (event.type === "linkUp") return [{ type: "send", to: event.peer, msg: "ping" }];
 *     return [];
 *   }
 * }
 * ```
 */
export interface SimNode<Msg> {
  /** Handles one event and returns what to do about it. */
  step(event: SimEvent<Msg>): SimAction<Msg>[];
}

/** One step of a run: a node handling an event, or a fault being injected. */
export type SimStep<Msg> =
  | {
    kind: "node";
    /** Steps before this one in the run. */
    index: number;
    timeMs: number;
    node: number;
    event: SimEvent<Msg>;
    actions: readonly SimAction<Msg>[];
  }
  | { kind: "fault"; index: number; timeMs: number; fault: Fault };

// ---- options ---------------------------------------------------------------------------------

/** How long fsyncs take, in virtual ms. */
export interface DiskTiming {
  /** Fastest fsync. */
  syncMsMin: number;
  /** Slowest fsync. */
  syncMsMax: number;
  /** Fastest fsync while a slow-disk fault is on. */
  slowSyncMsMin: number;
  /** Slowest fsync while a slow-disk fault is on. */
  slowSyncMsMax: number;
}

/** Defaults: an SSD, and a disk in trouble. */
export const diskTimingDefaults: Readonly<DiskTiming> = {
  syncMsMin: 1,
  syncMsMax: 10,
  slowSyncMsMin: 200,
  slowSyncMsMax: 2000,
};

/** Settings of a {@linkcode Simulator}. Only the seed, the size and the factories are required. */
export interface SimulatorOptions<Msg, D extends SimDisk> {
  /** The one seed every random choice of the run derives from. */
  seed: number;
  /** Nodes are 0 .. nodeCount - 1. */
  nodeCount: number;
  /** Builds node `id` over its disk: at the start and at every restart. */
  createNode(id: number, disk: D): SimNode<Msg>;
  /** Builds node `id`'s empty disk, once per run. */
  createDisk(id: number): D;
  /** Virtual time between two ticks of a node. Default 100. */
  tickMs?: number;
  /** Delays and limits of the network (see {@linkcode networkDefaults}). */
  network?: Partial<NetworkOptions>;
  /** Fsync times (see {@linkcode diskTimingDefaults}). */
  disk?: Partial<DiskTiming>;
  /** "swarm" draws a profile from the seed (VOPR style). Default "none". */
  faults?: "none" | "swarm" | FaultProfile;
  /** What the wire does to a message (default `structuredClone`; a codec round trip fits too). */
  transmit?: (msg: Msg) => Msg;
  /** Runs after every step; throwing stops the run with a failure report. */
  onStep?: (step: SimStep<Msg>, sim: Simulator<Msg, D>) => void;
  /** The command the failure report tells to prefix with `SIM_SEED=<seed>`. */
  replayCommand?: string;
  /** Where the failure report goes. Default `console.error`. */
  report?: (text: string) => void;
  /** Steps kept for the failure report. Default 40. */
  recentStepsMax?: number;
  /** How messages read in the trace. Default `JSON.stringify`. */
  describeMessage?: (msg: Msg) => string;
}

/** When to stop a {@linkcode Simulator.run}; at least one of the bounds is required. */
export interface RunOptions<Msg, D extends SimDisk> {
  /** Stops before the first event later than this virtual time, and sets the clock to it. */
  untilMs?: number;
  /** Stops after this many more steps. */
  stepsMax?: number;
  /** Stops as soon as this holds (checked before the run and after every step). */
  stopWhen?: (sim: Simulator<Msg, D>) => boolean;
}

/** Why a run returned. */
export interface RunResult {
  /** The bound that ended the run; "idle" when no event was left. */
  stop: "untilMs" | "stepsMax" | "stopWhen" | "idle";
  /** Steps this run took. */
  steps: number;
}

/** Counters for reports and tests. */
export interface SimStats {
  /** Send actions carried out (delivered, lost or still in flight). */
  messagesSent: number;
  /** Messages handed to their receiver. */
  messagesDelivered: number;
  /** Sent on a connection that was down, or lost in flight when it went down. */
  messagesLost: number;
  /** Connections closed because a lane overflowed. */
  overflows: number;
  /** Crash faults. */
  crashes: number;
  /** Restart faults. */
  restarts: number;
  /** Fsyncs completed (each answered with a `durable` event). */
  syncs: number;
}

/** A run stopped on a failure; `report` says what happened and how to replay it. */
export class SimulationError extends Error {
  /** Always "SimulationError". */
  override name = "SimulationError";
  /** A failure of the run of `seed`, described by `report`; `cause` is what was thrown. */
  constructor(readonly report: string, readonly seed: number, options?: { cause?: unknown }) {
    super(report, options);
  }
}

// ---- the event queue -------------------------------------------------------------------------

/** An event waiting in the queue, before it gets its place in line. */
type Scheduled<Msg> =
  & { atMs: number }
  & (
    | { kind: "start"; node: number; incarnation: number }
    | { kind: "tick"; node: number; incarnation: number }
    | { kind: "message"; node: number; from: number; generation: number; msg: Msg }
    | {
      kind: "link";
      node: number;
      incarnation: number;
      peer: number;
      up: boolean;
      generation: number;
    }
    | { kind: "durable"; node: number; incarnation: number; token: number; mark: number }
    | { kind: "faults" }
    | { kind: "reconcile" }
  );

/** An event in the queue: `seq` orders events due at the same time by scheduling order. */
type Entry<Msg> = Scheduled<Msg> & { seq: number };

/** A binary min-heap on (atMs, seq): the earliest event first, ties in scheduling order. */
class EventQueue<Msg> {
  readonly #heap: Entry<Msg>[] = [];

  get size(): number {
    return this.#heap.length;
  }

  peek(): Entry<Msg> | undefined {
    return this.#heap[0];
  }

  push(entry: Entry<Msg>): void {
    const heap = this.#heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  pop(): Entry<Msg> | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length === 0 || last === undefined) return top;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < heap.length && before(heap[left], heap[least])) least = left;
      if (right < heap.length && before(heap[right], heap[least])) least = right;
      if (least === i) return top;
      [heap[i], heap[least]] = [heap[least], heap[i]];
      i = least;
    }
  }
}

function before<Msg>(a: Entry<Msg>, b: Entry<Msg>): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}

// ---- the simulator ---------------------------------------------------------------------------

/** A per-run running hash of the trace (two 32-bit FNV-style lanes, finalised like cyrb53). */
class TraceHash {
  #h1 = 0xdeadbeef;
  #h2 = 0x41c6ce57;

  add(line: string): void {
    let h1 = this.#h1;
    let h2 = this.#h2;
    for (let i = 0; i < line.length; i++) {
      const c = line.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 2654435761);
      h2 = Math.imul(h2 ^ c, 1597334677);
    }
    this.#h1 = Math.imul(h1 ^ 10, 2654435761);
    this.#h2 = Math.imul(h2 ^ 10, 1597334677);
  }

  get hex(): string {
    let h1 = Math.imul(this.#h1 ^ (this.#h1 >>> 16), 2246822507);
    h1 ^= Math.imul(this.#h2 ^ (this.#h2 >>> 13), 3266489909);
    let h2 = Math.imul(this.#h2 ^ (this.#h2 >>> 16), 2246822507);
    h2 ^= Math.imul(this.#h1 ^ (this.#h1 >>> 13), 3266489909);
    return (h2 >>> 0).toString(16).padStart(8, "0") + (h1 >>> 0).toString(16).padStart(8, "0");
  }
}

/**
 * Hosts `nodeCount` nodes on a virtual clock, network and disks, all driven by one seed.
 *
 * @example
 * ```ts
 * import { KvDisk, Simulator } from "./mod.ts";
 * import type { SimAction, SimEvent } from "./mod.ts";
 * // Each node counts the pings it got; every tick it pings everyone.
 * class Pinger {
 *   pings = 0;
 *   constructor(readonly id: number, readonly n: number) {}
 *   step(event: SimEvent<"ping">): SimAction<"ping">[] {
 *     if (event.type === "message") this.pings++;
 *     if (event.type !== "tick") return [];
 *     return [...Array(this.n).keys()].filter((to) => to !== this.id)
 *       .map((to) => ({ type: "send", to, msg: "ping" }));
 *   }
 * }
 * const sim = new Simulator({
 *   seed: 7,
 *   nodeCount: 3,
 *   faults: "swarm",
 *   createDisk: () => new KvDisk<number>(),
 *   createNode: (id) => new Pinger(id, 3),
 *   onStep: (_step, sim) => {
 *     if (sim.stepCount > 1e6) throw new Error("too many steps");
 *   },
 *   replayCommand: "deno run example.ts",
 * });
 * sim.run({ untilMs: 10_000 });
 * console.log(sim.traceHash); // the same for every run of seed 7
 * ```
 */
export class Simulator<Msg, D extends SimDisk> {
  /** The seed of this run. */
  readonly seed: number;
  /** Nodes are 0 .. nodeCount - 1. */
  readonly nodeCount: number;
  /** Virtual time between two ticks of a node. */
  readonly tickMs: number;
  /** The fault mix of this run (drawn from the seed when "swarm"). */
  readonly faultProfile: Readonly<FaultProfile>;
  /** The virtual network (for checks and tests; change it through the fault methods). */
  readonly network: Network;
  /** Counters of the run so far. */
  readonly stats: SimStats = {
    messagesSent: 0,
    messagesDelivered: 0,
    messagesLost: 0,
    overflows: 0,
    crashes: 0,
    restarts: 0,
    syncs: 0,
  };

  readonly #options: SimulatorOptions<Msg, D>;
  readonly #diskTiming: DiskTiming;
  readonly #queue = new EventQueue<Msg>();
  readonly #tickRng: Rng;
  readonly #diskRng: Rng;
  readonly #faultRng: Rng;
  readonly #nodes: Array<SimNode<Msg> | null>;
  readonly #disks: D[];
  /** Bumped at each crash and restart; events for an older incarnation are dropped. */
  readonly #incarnations: number[];
  /** Completion time of each node's newest fsync, so fsyncs complete in order. */
  readonly #lastSyncMs: number[];
  readonly #slowUntilMs: number[];
  /**
   * For each (node, peer), the generation of the connection the node was last told is up (by a
   * linkUp it handled), or -1. A node sends over that connection only: TCP semantics, where a
   * write to a closed socket never reaches the peer's next connection, which keeps every
   * connection's stream a gap-free prefix of what was sent on it (ZAB's FIFO channel).
   */
  readonly #known: Int32Array;
  readonly #hash = new TraceHash();
  readonly #recent: string[] = [];
  #nowMs = 0;
  #seq = 0;
  #stepCount = 0;
  #faultsOn: boolean;
  #failed = false;
  /** What the simulator was doing, for a report when a node throws mid-step. */
  #doing = "starting";

  /** Builds the disks and nodes and schedules their start at time 0; `run()` runs them. */
  constructor(options: SimulatorOptions<Msg, D>) {
    assert(Number.isInteger(options.nodeCount) && options.nodeCount >= 1, "nodeCount >= 1");
    this.#options = options;
    this.seed = options.seed;
    this.nodeCount = options.nodeCount;
    this.tickMs = options.tickMs ?? 100;
    assert(Number.isInteger(this.tickMs) && this.tickMs >= 1, "tickMs is a whole number >= 1");
    this.#diskTiming = { ...diskTimingDefaults, ...options.disk };
    const { syncMsMin, syncMsMax, slowSyncMsMin, slowSyncMsMax } = this.#diskTiming;
    assert(syncMsMin >= 0 && syncMsMin <= syncMsMax, "0 <= syncMsMin <= syncMsMax");
    assert(slowSyncMsMin >= 0 && slowSyncMsMin <= slowSyncMsMax, "slowSyncMsMin <= slowSyncMsMax");
    // Fork the streams in a fixed order: each part of the run draws from its own, so more
    // traffic does not shift the fault schedule and the other way round.
    const root = new Rng(options.seed);
    this.network = new Network(options.nodeCount, options.network ?? {}, root.fork());
    this.#tickRng = root.fork();
    this.#diskRng = root.fork();
    this.#faultRng = root.fork();
    const faults = options.faults ?? "none";
    this.faultProfile = faults === "none"
      ? noFaults
      : faults === "swarm"
      ? swarmFaults(this.#faultRng, options.nodeCount)
      : { ...faults };
    this.#faultsOn = faults !== "none";
    const n = options.nodeCount;
    this.#incarnations = new Array(n).fill(0);
    this.#lastSyncMs = new Array(n).fill(0);
    this.#slowUntilMs = new Array(n).fill(0);
    this.#known = new Int32Array(n * n).fill(-1);
    this.#disks = Array.from({ length: n }, (_, id) => options.createDisk(id));
    this.#nodes = new Array(n).fill(null);
    this.#guard(() => this.#boot());
  }

  #boot(): void {
    for (let id = 0; id < this.nodeCount; id++) this.#launch(id);
    this.#reconcile();
    if (this.#faultsOn) this.#scheduleFaults();
  }

  // ---- what checkers and tests can see -------------------------------------------------------

  /** Virtual time, in ms since the start of the run. */
  get nowMs(): number {
    return this.#nowMs;
  }

  /** Steps taken so far (node steps and injected faults). */
  get stepCount(): number {
    return this.#stepCount;
  }

  /** A hash of every step so far: equal for two runs exactly when their traces are equal. */
  get traceHash(): string {
    return this.#hash.hex;
  }

  /** The last steps, oldest first, as the trace and failure reports print them. */
  recentSteps(): string[] {
    return [...this.#recent];
  }

  /** Node `id`'s current incarnation, or null while it is crashed. */
  node(id: number): SimNode<Msg> | null {
    this.#assertNode(id);
    return this.#nodes[id];
  }

  /** Node `id`'s disk (it outlives crashes). */
  disk(id: number): D {
    this.#assertNode(id);
    return this.#disks[id];
  }

  /** True while node `id` is up (not crashed). */
  isAlive(id: number): boolean {
    return this.node(id) !== null;
  }

  /** True when `a` and `b` are both up and their connection is up. */
  isConnected(a: number, b: number): boolean {
    return this.network.isUp(a, b);
  }

  #assertNode(id: number): void {
    assert(Number.isInteger(id) && id >= 0 && id < this.nodeCount, `node ${id} exists`);
  }

  // ---- running ---------------------------------------------------------------------------------

  /**
   * Processes events in (time, sequence) order until a bound in `options` is reached. A step
   * that throws (a node's invariant, or `onStep`) ends the run with a {@linkcode SimulationError}
   * after printing the failure report.
   */
  run(options: RunOptions<Msg, D>): RunResult {
    const { untilMs = Infinity, stepsMax = Infinity, stopWhen } = options;
    assert(untilMs !== Infinity || stepsMax !== Infinity, "run() needs untilMs or stepsMax");
    assert(untilMs >= this.#nowMs, "run() does not go back in time");
    const first = this.#stepCount;
    const result = (stop: RunResult["stop"]) => ({ stop, steps: this.#stepCount - first });
    for (;;) {
      if (stopWhen !== undefined && this.#guard(() => stopWhen(this))) return result("stopWhen");
      if (this.#stepCount - first >= stepsMax) return result("stepsMax");
      const next = this.#queue.peek();
      if (next === undefined) return result("idle");
      if (next.atMs > untilMs) {
        this.#nowMs = untilMs;
        return result("untilMs");
      }
      this.#queue.pop();
      this.#nowMs = next.atMs;
      this.#guard(() => this.#process(next));
    }
  }

  /** Runs `work`; anything it throws becomes a failure report and a SimulationError. */
  #guard<T>(work: () => T): T {
    assert(!this.#failed, "a failed simulation is not run again (replay its seed instead)");
    try {
      return work();
    } catch (error) {
      this.fail(error);
    }
  }

  #process(entry: Entry<Msg>): void {
    switch (entry.kind) {
      case "start":
        if (this.#current(entry.node, entry.incarnation)) {
          this.#deliver(entry.node, { type: "start" });
        }
        return;
      case "tick":
        if (!this.#current(entry.node, entry.incarnation)) return;
        this.#push({ ...entry, atMs: entry.atMs + this.tickMs });
        this.#deliver(entry.node, { type: "tick" });
        return;
      case "message":
        return this.#arrive(entry);
      case "link":
        if (!this.#current(entry.node, entry.incarnation)) return;
        // From now on the node sends over this connection (or, when down, over none).
        this.#known[entry.node * this.nodeCount + entry.peer] = entry.up ? entry.generation : -1;
        this.#deliver(entry.node, { type: entry.up ? "linkUp" : "linkDown", peer: entry.peer });
        return;
      case "durable":
        if (!this.#current(entry.node, entry.incarnation)) return;
        this.#disks[entry.node].syncEnd(entry.mark);
        this.stats.syncs++;
        this.#deliver(entry.node, { type: "durable", token: entry.token });
        return;
      case "faults":
        return this.#injectFaults();
      case "reconcile":
        return this.#reconcile();
    }
  }

  /** True when `node` is up in the incarnation an event was scheduled for. */
  #current(node: number, incarnation: number): boolean {
    return this.#nodes[node] !== null && this.#incarnations[node] === incarnation;
  }

  #arrive(entry: Entry<Msg> & { kind: "message" }): void {
    if (!this.network.arrive(entry.from, entry.node, entry.generation)) {
      this.stats.messagesLost++;
      return;
    }
    assert(this.#nodes[entry.node] !== null, "a live connection leads to a live node");
    this.stats.messagesDelivered++;
    this.#deliver(entry.node, { type: "message", from: entry.from, msg: entry.msg });
  }

  /** Hands `event` to node `id`, carries out its actions and records the step. */
  #deliver(id: number, event: SimEvent<Msg>): void {
    const node = this.#nodes[id];
    assert(node !== null, `node ${id} is up to handle an event`);
    this.#doing = `node ${id} handling ${this.#describeEvent(event)}`;
    const actions = node.step(event);
    assert(Array.isArray(actions), `node ${id} returns a list of actions`);
    for (const action of actions) this.#execute(id, action);
    this.#record({
      kind: "node",
      index: this.#stepCount,
      timeMs: this.#nowMs,
      node: id,
      event,
      actions,
    });
  }

  #execute(id: number, action: SimAction<Msg>): void {
    switch (action.type) {
      case "send":
        return this.#send(id, action.to, action.msg);
      case "persist":
        return this.#persist(id, action.token);
      case "log":
        return;
      default:
        assert(false, `node ${id} returned an unknown action ${JSON.stringify(action)}`);
    }
  }

  #send(from: number, to: number, msg: Msg): void {
    this.#assertNode(to);
    assert(to !== from, `node ${from} does not send to itself`);
    this.stats.messagesSent++;
    const known = this.#known[from * this.nodeCount + to];
    const sent = known === -1
      ? { type: "down" as const }
      : this.network.send(from, to, this.#nowMs, known);
    if (sent.type === "down") {
      this.stats.messagesLost++;
    } else if (sent.type === "overflow") {
      // A peer that does not drain its connection gets it closed, as a real server would.
      this.stats.messagesLost++;
      this.stats.overflows++;
      const untilMs = this.#nowMs + this.network.options.reconnectMs;
      this.network.reset(from, to, untilMs);
      this.#reconcile();
      this.#push({ kind: "reconcile", atMs: untilMs });
    } else {
      const copy = (this.#options.transmit ?? structuredClone)(msg);
      this.#push({
        kind: "message",
        atMs: sent.atMs,
        node: to,
        from,
        generation: sent.generation,
        msg: copy,
      });
    }
  }

  #persist(id: number, token: number): void {
    const slow = this.#nowMs < this.#slowUntilMs[id];
    const t = this.#diskTiming;
    const delayMs = slow
      ? this.#diskRng.int(t.slowSyncMsMin, t.slowSyncMsMax)
      : this.#diskRng.int(t.syncMsMin, t.syncMsMax);
    // One disk completes its fsyncs in the order they were issued.
    const atMs = Math.max(this.#nowMs + delayMs, this.#lastSyncMs[id]);
    this.#lastSyncMs[id] = atMs;
    const mark = this.#disks[id].syncBegin();
    this.#push({
      kind: "durable",
      atMs,
      node: id,
      incarnation: this.#incarnations[id],
      token,
      mark,
    });
  }

  #push(entry: Scheduled<Msg>): void {
    assert(entry.atMs >= this.#nowMs, "events are never scheduled in the past");
    this.#queue.push({ ...entry, seq: this.#seq++ });
  }

  /** Brings the connections in line with the faults and tells the live ends what changed. */
  #reconcile(): void {
    const changes = this.network.reconcile((id) => this.#nodes[id] !== null, this.#nowMs);
    for (const { a, b, up, generation } of changes) {
      for (const [node, peer] of [[a, b], [b, a]]) {
        if (this.#nodes[node] === null) continue;
        const atMs = this.network.notifyAtMs(peer, node, this.#nowMs);
        const incarnation = this.#incarnations[node];
        this.#push({ kind: "link", atMs, node, incarnation, peer, up, generation });
      }
    }
  }

  /** Builds node `id` over its disk and schedules its start and its ticks. */
  #launch(id: number): void {
    this.#incarnations[id]++;
    this.#lastSyncMs[id] = this.#nowMs;
    this.#doing = `building node ${id}`;
    this.#nodes[id] = this.#options.createNode(id, this.#disks[id]);
    const incarnation = this.#incarnations[id];
    this.#push({ kind: "start", atMs: this.#nowMs, node: id, incarnation });
    // Each node's clock ticks at its own phase, as independent servers' timers do.
    const firstTickMs = this.#nowMs + this.#tickRng.int(1, this.tickMs);
    this.#push({ kind: "tick", atMs: firstTickMs, node: id, incarnation });
  }

  // ---- faults ----------------------------------------------------------------------------------

  #scheduleFaults(): void {
    const { intervalMsMin, intervalMsMax } = this.faultProfile;
    assert(intervalMsMin >= 1 && intervalMsMin <= intervalMsMax, "1 <= intervalMsMin <= max");
    this.#push({
      kind: "faults",
      atMs: this.#nowMs + this.#faultRng.int(intervalMsMin, intervalMsMax),
    });
  }

  #injectFaults(): void {
    if (!this.#faultsOn) return;
    const faults = planFaults(this.#faultRng, this.faultProfile, {
      nodeCount: this.nodeCount,
      nowMs: this.#nowMs,
      alive: (id) => this.#nodes[id] !== null,
      cutLinks: () => this.network.cutLinks(),
      partitioned: this.network.partitioned,
    });
    for (const fault of faults) this.#applyFault(fault);
    this.#scheduleFaults();
  }

  /** Stops the fault schedule (the liveness phase); faults already in force stay. */
  stopFaults(): void {
    this.#faultsOn = false;
  }

  /**
   * Injects `fault` now, as the schedule would, and records it as a step.
   *
   * @example
   * ```ts
   * import { KvDisk, Simulator } from "./mod.ts";
   * const sim = new Simulator<string, KvDisk<number>>({
   *   seed: 1,
   *   nodeCount: 3,
   *   createDisk: () => new KvDisk(),
   *   createNode: () => ({ step: () => [] }),
   * });
   * sim.apply({ type: "partition", groups: [[0], [1, 2]] });
   * ```
   */
  apply(fault: Fault): void {
    this.#guard(() => this.#applyFault(fault));
  }

  /** Crashes node `id`: its memory and its disk's unsynced writes (or some of them) are lost. */
  crash(id: number): void {
    this.apply({ type: "crash", node: id });
  }

  /** Restarts crashed node `id` as a new node over what its disk kept. */
  restart(id: number): void {
    this.apply({ type: "restart", node: id });
  }

  /** Cuts the link between `a` and `b` until healed. */
  cut(a: number, b: number): void {
    this.apply({ type: "cut", a, b });
  }

  /** Heals the link between `a` and `b`. */
  healLink(a: number, b: number): void {
    this.apply({ type: "healLink", a, b });
  }

  /** Splits the nodes into groups that talk only among themselves (see Network.partition). */
  partition(groups: number[][]): void {
    this.apply({ type: "partition", groups });
  }

  /** Ends the partition and heals every cut link. */
  heal(): void {
    this.apply({ type: "heal" });
  }

  /** Makes node `id`'s fsyncs slow until `untilMs`. */
  slowDisk(id: number, untilMs: number): void {
    this.apply({ type: "slowDisk", node: id, untilMs });
  }

  #applyFault(fault: Fault): void {
    this.#doing = `injecting ${JSON.stringify(fault)}`;
    switch (fault.type) {
      case "crash":
        this.#crash(fault.node);
        break;
      case "restart":
        assert(this.node(fault.node) === null, `node ${fault.node} is down before a restart`);
        this.stats.restarts++;
        this.#launch(fault.node);
        break;
      case "cut":
        this.network.cut(fault.a, fault.b);
        break;
      case "healLink":
        this.network.healLink(fault.a, fault.b);
        break;
      case "partition":
        this.network.partition(fault.groups);
        break;
      case "healPartition":
        this.network.healPartition();
        break;
      case "heal":
        this.network.heal();
        break;
      case "slowDisk":
        this.#assertNode(fault.node);
        this.#slowUntilMs[fault.node] = Math.max(this.#slowUntilMs[fault.node], fault.untilMs);
        break;
    }
    this.#reconcile();
    this.#record({ kind: "fault", index: this.#stepCount, timeMs: this.#nowMs, fault });
  }

  #crash(id: number): void {
    assert(this.node(id) !== null, `node ${id} is up before a crash`);
    this.stats.crashes++;
    this.#nodes[id] = null;
    // Pending ticks, fsync completions and link notifications belong to the dead incarnation.
    this.#incarnations[id]++;
    this.#known.fill(-1, id * this.nodeCount, (id + 1) * this.nodeCount);
    this.#disks[id].crash(this.#diskRng);
  }

  // ---- the trace and failures ------------------------------------------------------------------

  #record(step: SimStep<Msg>): void {
    const line = this.#describeStep(step);
    this.#hash.add(line);
    this.#recent.push(line);
    if (this.#recent.length > (this.#options.recentStepsMax ?? 40)) this.#recent.shift();
    this.#stepCount++;
    this.#doing = `checking after step ${step.index}`;
    this.#options.onStep?.(step, this);
  }

  #describeMessage(msg: Msg): string {
    return (this.#options.describeMessage ?? JSON.stringify)(msg);
  }

  #describeEvent(event: SimEvent<Msg>): string {
    switch (event.type) {
      case "message":
        return `message from ${event.from} ${this.#describeMessage(event.msg)}`;
      case "linkUp":
      case "linkDown":
        return `${event.type} ${event.peer}`;
      case "durable":
        return `durable ${event.token}`;
      default:
        return event.type;
    }
  }

  #describeAction(action: SimAction<Msg>): string {
    switch (action.type) {
      case "send":
        return `send ${action.to} ${this.#describeMessage(action.msg)}`;
      case "persist":
        return `persist ${action.token}`;
      case "log":
        return `log ${JSON.stringify(action.text)}`;
    }
  }

  #describeStep(step: SimStep<Msg>): string {
    const head = `#${step.index} ${step.timeMs}ms`;
    if (step.kind === "fault") return `${head} fault ${JSON.stringify(step.fault)}`;
    const actions = step.actions.map((a) => this.#describeAction(a));
    const tail = actions.length === 0 ? "" : ` -> ${actions.join("; ")}`;
    return `${head} node ${step.node}: ${this.#describeEvent(step.event)}${tail}`;
  }

  /**
   * Stops the run for good: prints the failure report, with the line that replays the seed,
   * and throws a {@linkcode SimulationError}. For checks made outside a step (a liveness bound
   * missed, say).
   */
  fail(error: unknown): never {
    if (error instanceof SimulationError) throw error;
    this.#failed = true;
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    const replay = this.#options.replayCommand ?? "deno test -A tests/sim/";
    const report = [
      `sim: seed ${this.seed} failed at step ${this.#stepCount}, t=${this.#nowMs} ms, ` +
      `while ${this.#doing}`,
      `  error: ${message.split("\n").join("\n    ")}`,
      `  faults: ${describeFaults(this.faultProfile)}`,
      `  recent steps:`,
      ...this.#recent.map((line) => `    ${line}`),
      `Replay: SIM_SEED=${this.seed} ${replay}`,
    ].join("\n");
    (this.#options.report ?? console.error)(report);
    throw new SimulationError(report, this.seed, { cause: error });
  }
}
