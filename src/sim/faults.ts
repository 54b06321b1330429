/**
 * Fault schedules for the simulator, in the style of TigerBeetle's VOPR: *swarm testing*. Rather
 * than one fixed mix of faults, each seed picks its own (some kinds off, the others at random
 * strengths), so across many seeds the simulator explores both gentle and hostile worlds, and
 * the rare interleavings a uniform mix would drown out.
 *
 * {@linkcode planFaults} is pure: given the random stream, the profile and a view of the
 * cluster, it says which faults to inject now; the simulator applies them.
 * @module
 */
import { assert } from "../assert.ts";
import type { Rng } from "./rng.ts";

/** One fault the simulator can inject (also what the manual controls record in the trace). */
export type Fault =
  | { type: "crash"; node: number }
  | { type: "restart"; node: number }
  | { type: "cut"; a: number; b: number }
  | { type: "healLink"; a: number; b: number }
  | { type: "partition"; groups: number[][] }
  | { type: "healPartition" }
  | { type: "heal" }
  | { type: "slowDisk"; node: number; untilMs: number };

/**
 * How often each fault happens. Every `intervalMs*` the schedule rolls each probability once.
 * A probability of 0 turns that kind off.
 */
export interface FaultProfile {
  /** Shortest virtual time between two fault decisions, in ms. */
  intervalMsMin: number;
  /** Longest virtual time between two fault decisions, in ms. */
  intervalMsMax: number;
  /** Chance per decision to crash a live node (losing its unsynced writes). */
  crash: number;
  /** Chance per decision to restart a crashed node from its disk. */
  restart: number;
  /** Chance per decision to cut one link. */
  cut: number;
  /** Chance per decision to heal one cut link. */
  healLink: number;
  /** Chance per decision to split the nodes into random groups. */
  partition: number;
  /** Chance per decision to end the partition (cut links stay cut). */
  healPartition: number;
  /** Chance per decision to make one node's fsyncs slow for a while. */
  slowDisk: number;
  /** Longest slow-disk spell, in ms. */
  slowDiskMsMax: number;
  /** Most nodes down at once; crashes beyond it are skipped. */
  crashedMax: number;
}

/** No faults at all: a calm network, a fast disk, nobody crashes. */
export const noFaults: Readonly<FaultProfile> = {
  intervalMsMin: 1000,
  intervalMsMax: 1000,
  crash: 0,
  restart: 0,
  cut: 0,
  healLink: 0,
  partition: 0,
  healPartition: 0,
  slowDisk: 0,
  slowDiskMsMax: 0,
  crashedMax: 0,
};

/** A probability that is off half the time and otherwise uniform in (0, max]. */
function maybe(rng: Rng, max: number): number {
  return rng.chance(0.5) ? 0 : max * (1 - rng.float());
}

/**
 * A fault profile drawn from `rng`, swarm style: each kind of fault is on or off by a coin
 * flip, and on at a random strength. Heals come with the faults they heal, so a run does not
 * merely grind to a halt.
 *
 * @example
 * ```ts
 * import { swarmFaults } from "./faults.ts";
 * import { Rng } from "./rng.ts";
 * const profile = swarmFaults(new Rng(99), 5); // the same profile for every run of seed 99
 * ```
 */
export function swarmFaults(rng: Rng, nodeCount: number): FaultProfile {
  assert(nodeCount >= 1, "a cluster has a node");
  const intervalMsMin = rng.int(20, 500);
  const crash = maybe(rng, 0.3);
  const cut = maybe(rng, 0.4);
  const partition = maybe(rng, 0.2);
  return {
    intervalMsMin,
    intervalMsMax: intervalMsMin + rng.int(0, 1000),
    crash,
    restart: crash === 0 ? 0 : 0.05 + 0.6 * rng.float(),
    cut,
    healLink: cut === 0 ? 0 : 0.05 + 0.6 * rng.float(),
    partition,
    healPartition: partition === 0 ? 0 : 0.05 + 0.6 * rng.float(),
    slowDisk: maybe(rng, 0.2),
    slowDiskMsMax: rng.int(100, 5000),
    crashedMax: rng.int(1, nodeCount),
  };
}

/**
 * The profile in one line, for failure reports.
 *
 * @example
 * ```ts
 * import { describeFaults, noFaults } from "./faults.ts";
 * describeFaults(noFaults); // "none"
 * ```
 */
export function describeFaults(profile: Readonly<FaultProfile>): string {
  const kinds = [
    "crash",
    "restart",
    "cut",
    "healLink",
    "partition",
    "healPartition",
    "slowDisk",
  ] as const;
  const on = kinds.filter((k) => profile[k] > 0).map((k) => `${k} ${profile[k].toFixed(2)}`);
  if (on.length === 0) return "none";
  return `every ${profile.intervalMsMin}..${profile.intervalMsMax} ms: ${on.join(", ")}; ` +
    `at most ${profile.crashedMax} down, slow disk up to ${profile.slowDiskMsMax} ms`;
}

/** What {@linkcode planFaults} needs to know about the cluster. */
export interface ClusterView {
  /** Nodes are 0 .. nodeCount - 1. */
  nodeCount: number;
  /** Virtual time now. */
  nowMs: number;
  /** Whether node `id` is up. */
  alive(id: number): boolean;
  /** Cut links as `[a, b]`, a < b. */
  cutLinks(): Array<[number, number]>;
  /** Whether a partition is in force. */
  partitioned: boolean;
}

/** A random split of all nodes into two or three non-empty groups. */
export function randomGroups(rng: Rng, nodeCount: number): number[][] {
  assert(nodeCount >= 2, "a partition needs two nodes");
  const order = rng.shuffle([...Array(nodeCount).keys()]);
  const groupCount = nodeCount >= 3 && rng.chance(0.3) ? 3 : 2;
  const groups: number[][] = Array.from({ length: groupCount }, () => []);
  // The first nodes seed each group so none is empty; the rest land anywhere.
  order.forEach((id, i) => groups[i < groupCount ? i : rng.int(0, groupCount - 1)].push(id));
  return groups.map((g) => g.sort((a, b) => a - b));
}

/**
 * The faults to inject at one decision point, in the order to apply them.
 *
 * @example
 * ```ts
 * import { planFaults, swarmFaults } from "./faults.ts";
 * import { Rng } from "./rng.ts";
 * const rng = new Rng(5);
 * const view = { nodeCount: 3, nowMs: 0, alive: () => true, cutLinks: () => [], partitioned: false };
 * planFaults(rng, swarmFaults(rng, 3), view); // e.g. [{ type: "crash", node: 2 }]
 * ```
 */
export function planFaults(rng: Rng, profile: Readonly<FaultProfile>, view: ClusterView): Fault[] {
  const faults: Fault[] = [];
  const ids = [...Array(view.nodeCount).keys()];
  const up = ids.filter((id) => view.alive(id));
  const down = ids.filter((id) => !view.alive(id));
  if (down.length > 0 && rng.chance(profile.restart)) {
    faults.push({ type: "restart", node: rng.pick(down) });
  }
  if (up.length > 0 && down.length < profile.crashedMax && rng.chance(profile.crash)) {
    faults.push({ type: "crash", node: rng.pick(up) });
  }
  if (view.nodeCount >= 2) faults.push(...planNetworkFaults(rng, profile, view));
  if (up.length > 0 && rng.chance(profile.slowDisk)) {
    const untilMs = view.nowMs + rng.int(1, Math.max(1, profile.slowDiskMsMax));
    faults.push({ type: "slowDisk", node: rng.pick(up), untilMs });
  }
  return faults;
}

function planNetworkFaults(rng: Rng, profile: Readonly<FaultProfile>, view: ClusterView): Fault[] {
  const faults: Fault[] = [];
  const cut = view.cutLinks();
  if (cut.length > 0 && rng.chance(profile.healLink)) {
    const [a, b] = rng.pick(cut);
    faults.push({ type: "healLink", a, b });
  }
  if (rng.chance(profile.cut)) {
    const a = rng.int(0, view.nodeCount - 1);
    const b = (a + rng.int(1, view.nodeCount - 1)) % view.nodeCount;
    faults.push({ type: "cut", a: Math.min(a, b), b: Math.max(a, b) });
  }
  if (view.partitioned && rng.chance(profile.healPartition)) {
    faults.push({ type: "healPartition" });
  } else if (!view.partitioned && rng.chance(profile.partition)) {
    faults.push({ type: "partition", groups: randomGroups(rng, view.nodeCount) });
  }
  return faults;
}
