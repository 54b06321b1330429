/**
 * The simulator's virtual network: one connection per pair of nodes, like the TCP connections
 * between ZooKeeper servers, each carrying two FIFO lanes (one per direction).
 *
 * ZAB assumes FIFO channels (REFERENCE §7), so the network never reorders messages on a lane: a
 * message's delivery time is a seeded random delay after it was sent, but never earlier than the
 * previous message's on the same lane. It never drops a single message either. Loss comes only
 * from a connection going down, as a TCP connection closes: a cut link, a partition, a crashed
 * end or a full lane. A connection going down drops everything in flight on it and everything
 * sent while it stays down, and both ends hear `linkDown`; when it comes back they hear `linkUp`
 * and talk over a fresh connection (a new *generation*), so nothing from the old one leaks in.
 *
 * The network only keeps state and computes times; the {@linkcode Simulator} owns the clock and
 * the event queue.
 * @module
 */
import { assert } from "../assert.ts";
import type { Rng } from "./rng.ts";

/** Settings of a {@linkcode Network}. */
export interface NetworkOptions {
  /** Fastest one-way delivery, in virtual ms. */
  delayMsMin: number;
  /** Slowest one-way delivery (before FIFO queueing), in virtual ms. */
  delayMsMax: number;
  /**
   * Most messages in flight on one lane. One more closes the connection, as a server drops a
   * peer whose outbox overflows, instead of queueing without bound.
   */
  inFlightMax: number;
  /** How long a connection closed for overflow stays down before it reconnects, in virtual ms. */
  reconnectMs: number;
}

/** Defaults: a LAN with some jitter. */
export const networkDefaults: Readonly<NetworkOptions> = {
  delayMsMin: 1,
  delayMsMax: 20,
  inFlightMax: 1000,
  reconnectMs: 50,
};

/** A connection that went up or down; both ends (if alive) must be told. */
export interface LinkChange {
  /** The lower node id of the pair. */
  a: number;
  /** The higher node id of the pair. */
  b: number;
  /** Whether the connection came up (else it went down). */
  up: boolean;
  /** The connection's generation after the change. */
  generation: number;
}

/** What happened to a sent message. */
export type SendResult =
  | { type: "queued"; atMs: number; generation: number }
  | { type: "down" }
  | { type: "overflow" };

/** One direction of a connection. */
interface Lane {
  /** Delivery time of the newest message or notification on the lane, for FIFO. */
  lastMs: number;
  inFlight: number;
}

/** One connection between two nodes. */
interface Connection {
  up: boolean;
  /** Bumped whenever the connection goes up or down; in-flight messages of older ones drop. */
  generation: number;
  /** Set by a fault; stays cut until healed. */
  cut: boolean;
  /** Closed for overflow until this time. */
  resetUntilMs: number;
}

/**
 * Links between `nodeCount` nodes, with cuts, partitions and FIFO lanes.
 *
 * @example
 * ```ts
 * import { Network } from "./network.ts";
 * import { Rng } from "./rng.ts";
 * const net = new Network(3, {}, new Rng(1));
 * net.reconcile(() => true, 0); // all three connections come up
 * const sent = net.send(0, 1, 0); // { type: "queued", atMs: 1..20, generation: 1 }
 * net.partition([[0], [1, 2]]);
 * net.reconcile(() => true, 5); // 0-1 and 0-2 go down; the message to 1 is now lost
 * ```
 */
export class Network {
  /** Nodes are 0 .. nodeCount - 1. */
  readonly nodeCount: number;
  /** The settings in force (defaults filled in). */
  readonly options: Readonly<NetworkOptions>;
  readonly #rng: Rng;
  readonly #connections: Connection[] = [];
  readonly #lanes: Lane[] = [];
  /** Partition group of each node; nodes talk only within a group. */
  #group: number[];

  /** A network of `nodeCount` nodes, all connections down until the first reconcile(). */
  constructor(nodeCount: number, options: Partial<NetworkOptions>, rng: Rng) {
    assert(Number.isInteger(nodeCount) && nodeCount >= 1, "a network has at least one node");
    this.nodeCount = nodeCount;
    this.options = { ...networkDefaults, ...options };
    const { delayMsMin, delayMsMax, inFlightMax, reconnectMs } = this.options;
    assert(delayMsMin >= 0 && delayMsMin <= delayMsMax, "0 <= delayMsMin <= delayMsMax");
    assert(inFlightMax >= 1 && reconnectMs >= 0, "inFlightMax >= 1 and reconnectMs >= 0");
    this.#rng = rng;
    for (let i = 0; i < nodeCount * nodeCount; i++) {
      this.#connections.push({ up: false, generation: 0, cut: false, resetUntilMs: 0 });
      this.#lanes.push({ lastMs: 0, inFlight: 0 });
    }
    this.#group = new Array(nodeCount).fill(0);
  }

  #connection(a: number, b: number): Connection {
    this.#assertPair(a, b);
    return a < b
      ? this.#connections[a * this.nodeCount + b]
      : this.#connections[b * this.nodeCount + a];
  }

  #lane(from: number, to: number): Lane {
    this.#assertPair(from, to);
    return this.#lanes[from * this.nodeCount + to];
  }

  #assertPair(a: number, b: number): void {
    assert(Number.isInteger(a) && a >= 0 && a < this.nodeCount, `node ${a} exists`);
    assert(Number.isInteger(b) && b >= 0 && b < this.nodeCount, `node ${b} exists`);
    assert(a !== b, `a link joins two different nodes, not ${a} to itself`);
  }

  /** The generation of the connection between `a` and `b`: bumped at every up and down. */
  generation(a: number, b: number): number {
    return this.#connection(a, b).generation;
  }

  /** True when the connection between `a` and `b` is up now. */
  isUp(a: number, b: number): boolean {
    return this.#connection(a, b).up;
  }

  /** True when a fault cut the link between `a` and `b` (it stays down until healed). */
  isCut(a: number, b: number): boolean {
    return this.#connection(a, b).cut;
  }

  /** True when a partition separates `a` and `b`. */
  isPartitioned(a: number, b: number): boolean {
    this.#assertPair(a, b);
    return this.#group[a] !== this.#group[b];
  }

  /** True when some partition is in force. */
  get partitioned(): boolean {
    return this.#group.some((g) => g !== this.#group[0]);
  }

  /** The pairs `[a, b]` (a < b) whose link is cut, in order. */
  cutLinks(): Array<[number, number]> {
    const links: Array<[number, number]> = [];
    for (let a = 0; a < this.nodeCount; a++) {
      for (let b = a + 1; b < this.nodeCount; b++) {
        if (this.#connection(a, b).cut) links.push([a, b]);
      }
    }
    return links;
  }

  /** Messages in flight from `from` to `to` on the current connection. */
  inFlight(from: number, to: number): number {
    return this.#lane(from, to).inFlight;
  }

  /** A seeded one-way delay in [delayMsMin, delayMsMax]. */
  #delayMs(): number {
    return this.#rng.int(this.options.delayMsMin, this.options.delayMsMax);
  }

  /** Delivery time on a lane: a random delay, but never before what the lane already carries. */
  #scheduleOn(lane: Lane, nowMs: number): number {
    const atMs = Math.max(nowMs + this.#delayMs(), lane.lastMs);
    lane.lastMs = atMs;
    return atMs;
  }

  /**
   * Puts a message on the lane `from` -> `to` of the connection `generation`: the one the sender
   * was told is up. Dropped (`down`) when that connection is down or was replaced since, as a
   * write to a closed socket is lost even when a new connection to the same peer exists;
   * `overflow` when the lane is full, and the caller then closes the connection with
   * {@linkcode Network.reset}. Without `generation` the current connection is meant.
   */
  send(from: number, to: number, nowMs: number, generation?: number): SendResult {
    const connection = this.#connection(from, to);
    if (!connection.up) return { type: "down" };
    if (generation !== undefined && generation !== connection.generation) return { type: "down" };
    const lane = this.#lane(from, to);
    if (lane.inFlight >= this.options.inFlightMax) return { type: "overflow" };
    lane.inFlight++;
    return {
      type: "queued",
      atMs: this.#scheduleOn(lane, nowMs),
      generation: connection.generation,
    };
  }

  /**
   * Called when a message sent on `generation` reaches its delivery time: true when it arrives,
   * false when its connection went down since (it is lost with the connection).
   */
  arrive(from: number, to: number, generation: number): boolean {
    const connection = this.#connection(from, to);
    if (connection.generation !== generation) return false;
    assert(connection.up, "a connection whose generation is current is up");
    const lane = this.#lane(from, to);
    assert(lane.inFlight > 0, "an arriving message was counted in flight");
    lane.inFlight--;
    return true;
  }

  /**
   * Delivery time for telling `to` that its connection with `from` changed. It travels on the
   * lane `from` -> `to` so `to` hears linkUp before any message of the new connection, and
   * linkDown after every message of the old one that did arrive.
   */
  notifyAtMs(from: number, to: number, nowMs: number): number {
    return this.#scheduleOn(this.#lane(from, to), nowMs);
  }

  /** Cuts the link between `a` and `b` until {@linkcode Network.healLink} or `heal`. */
  cut(a: number, b: number): void {
    this.#connection(a, b).cut = true;
  }

  /** Heals a cut link. */
  healLink(a: number, b: number): void {
    this.#connection(a, b).cut = false;
  }

  /**
   * Splits the nodes into groups that talk only among themselves. Groups are disjoint; a node
   * in no group is alone.
   *
   * @example
   * ```ts
   * import { Network } from "./network.ts";
   * import { Rng } from "./rng.ts";
   * const net = new Network(5, {}, new Rng(1));
   * net.partition([[0, 1], [2, 3]]); // node 4 is on its own
   * ```
   */
  partition(groups: readonly (readonly number[])[]): void {
    const group = new Array(this.nodeCount).fill(-1);
    groups.forEach((members, index) => {
      for (const id of members) {
        assert(Number.isInteger(id) && id >= 0 && id < this.nodeCount, `node ${id} exists`);
        assert(group[id] === -1, `node ${id} is in one partition group only`);
        group[id] = index;
      }
    });
    let alone = groups.length;
    this.#group = group.map((g) => (g === -1 ? alone++ : g));
  }

  /** Ends the partition; cut links stay cut. */
  healPartition(): void {
    this.#group.fill(0);
  }

  /** Ends the partition and heals every cut link. */
  heal(): void {
    this.healPartition();
    for (const connection of this.#connections) connection.cut = false;
  }

  /** Closes the connection between `a` and `b` (for overflow) until `untilMs`. */
  reset(a: number, b: number, untilMs: number): void {
    this.#connection(a, b).resetUntilMs = untilMs;
  }

  /**
   * Brings every connection to the state the faults and `alive` call for: up exactly when both
   * ends are alive, the link is not cut, no partition separates them and no overflow reset is
   * pending. Returns the connections that changed, in a fixed order, for the caller to tell
   * their ends.
   */
  reconcile(alive: (id: number) => boolean, nowMs: number): LinkChange[] {
    const changes: LinkChange[] = [];
    for (let a = 0; a < this.nodeCount; a++) {
      for (let b = a + 1; b < this.nodeCount; b++) {
        const connection = this.#connection(a, b);
        const up = alive(a) && alive(b) && !connection.cut && this.#group[a] === this.#group[b] &&
          nowMs >= connection.resetUntilMs;
        if (up === connection.up) continue;
        connection.up = up;
        connection.generation++;
        // The old connection's messages are dropped on arrival; the new one starts empty.
        this.#lane(a, b).inFlight = 0;
        this.#lane(b, a).inFlight = 0;
        changes.push({ a, b, up, generation: connection.generation });
      }
    }
    return changes;
  }
}
