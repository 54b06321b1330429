/**
 * Fast leader election (src/zab/election.ts) hosted in the deterministic simulator, VOPR style:
 * a *safety phase* with a per-seed swarm of faults (crashes, restarts, cut links, partitions,
 * slow disks) and checks after every step, then a *liveness phase*: faults stop, a majority of
 * the voters is up and connected, and a leader must be established within a bounded virtual time.
 *
 * Used by `tests/sim/election_sim_test.ts` (a few hundred seeds in CI) and by
 * `scripts/sim_sweep` (thousands). A failure prints `Replay: SIM_SEED=<seed> <command>`.
 *
 * The {@linkcode ElectionNode} wrapper adapts {@linkcode Election} to a {@linkcode SimNode}. An
 * election alone ends at a decision; to make "a leader is established" observable (and to get
 * out of decisions on a stale leader) it adds a stand-in for ZAB discovery: a follower asks its
 * leader to take it on and goes back to LOOKING when not welcomed within `initLimitTicks` or
 * when the connection to its leader closes; a leader steps down when it has no quorum of
 * followers within `initLimitTicks` or loses one. A restarted node begins in a round above the
 * one its disk remembers, as ZooKeeper's logical clock would if it were persisted.
 * @module
 */
import assert from "../assert.ts";
import { KvDisk } from "../../src/sim/disk.ts";
import { describeFaults } from "../../src/sim/faults.ts";
import { Rng } from "../../src/sim/rng.ts";
import type { SimAction, SimEvent, SimNode, SimStep } from "../../src/sim/simulator.ts";
import { Simulator } from "../../src/sim/simulator.ts";
import { makeZxid } from "../../src/tree/txn.ts";
import type { Decision, ElectionOutput } from "../../src/zab/election.ts";
import { Election } from "../../src/zab/election.ts";
import type { Membership, Notification } from "../../src/zab/types.ts";
import { quorumSize } from "../../src/zab/types.ts";

/** What election nodes send each other in the simulation. */
export type ElectionSimMsg =
  | { type: "notification"; notification: Notification }
  /** Follower -> leader: take me on (a stand-in for ZAB's FOLLOWERINFO). */
  | { type: "follow"; round: number }
  /** Leader -> follower: you are in (a stand-in for NEWLEADER). */
  | { type: "welcome"; round: number }
  /** Leader -> follower, every tick; the follower answers `pong` (ZooKeeper's PING). */
  | { type: "ping" }
  | { type: "pong" };

/** Virtual ms per tick: ZooKeeper's finalizeWait is 200 ms, so 1 tick of 100 ms is close. */
export const electionTickMs = 100;
/** Ticks a decided node waits to be established before it looks again (ZooKeeper's initLimit). */
export const initLimitTicks = 10;
/** Ticks without hearing the other side after which a leader or follower gives up (syncLimit). */
export const syncLimitTicks = 5;

type Role = "LOOKING" | "FOLLOWING" | "LEADING";

/** Facts shared by all nodes of one run, for the checkers (never read by the nodes' logic). */
export class ElectionWorld {
  /** Decisions made in the step being checked: [node, decision]. */
  readonly fresh: Array<[number, Decision]> = [];
  /** The first leader decided in each round, and by whom. */
  readonly leaderOfRound = new Map<number, { leader: number; node: number }>();
  /** round -> announced leader -> voters that announced it in that round (in any state). */
  readonly announced = new Map<number, Map<number, Set<number>>>();
  decisions = 0;

  constructor(readonly membership: Membership) {}

  get quorum(): number {
    return quorumSize(this.membership.voters);
  }
}

/**
 * One server: an {@linkcode Election} plus the discovery stand-in. Its disk holds its last
 * zxid and epoch (fixed for the run) and the highest election round it used.
 */
export class ElectionNode implements SimNode<ElectionSimMsg> {
  role: Role = "LOOKING";
  decision: Decision | null = null;
  /** A follower was welcomed / a leader has a quorum of followers. */
  established = false;
  /** Welcomed followers, with the tick we last heard from each. */
  readonly followers = new Map<number, number>();
  readonly #links = new Set<number>();
  /** Ticks handled by this incarnation: the node's own clock. */
  #ticks = 0;
  /** A follower's last tick with a ping from its leader. */
  #heardLeaderTick = 0;
  #election: Election | null = null;
  #startToken = -1;
  #token = 0;
  #ticksDecided = 0;

  constructor(
    readonly id: number,
    readonly disk: KvDisk<number>,
    readonly world: ElectionWorld,
    readonly bug?: ElectionBug,
  ) {}

  /** The election round (0 before the start). */
  get round(): number {
    return this.#election?.round ?? 0;
  }

  get started(): boolean {
    return this.#election !== null && this.#startToken === -1;
  }

  step(event: SimEvent<ElectionSimMsg>): SimAction<ElectionSimMsg>[] {
    switch (event.type) {
      case "start":
        return this.#boot();
      case "durable":
        if (event.token !== this.#startToken) return [];
        // The round we start in is durable: a later restart cannot start in it again.
        this.#startToken = -1;
        if (this.bug === "selfElect") {
          const vote = this.#election!.vote;
          const round = this.#election!.round + 1;
          return this.#decide({ leader: this.id, state: "LEADING", vote, round });
        }
        return this.#output(this.#election!.start());
      case "linkUp":
        this.#links.add(event.peer);
        return this.#greet(event.peer);
      case "linkDown":
        this.#links.delete(event.peer);
        return this.#lost(event.peer);
      case "message":
        if (!this.started) return [];
        return this.#receive(event.from, event.msg);
      case "tick":
        if (!this.started) return [];
        return this.#tick();
    }
  }

  #boot(): SimAction<ElectionSimMsg>[] {
    const round = this.disk.get("round") ?? 0;
    this.#election = new Election({
      myId: this.id,
      membership: this.world.membership,
      lastZxid: this.disk.get("zxid") ?? 0,
      currentEpoch: this.disk.get("epoch") ?? 0,
      round,
    });
    this.disk.set("round", round + 1);
    this.#startToken = ++this.#token;
    return [{ type: "persist", token: this.#startToken }];
  }

  /** A new connection: a LOOKING node tells the peer its vote rather than wait for a resend. */
  #greet(peer: number): SimAction<ElectionSimMsg>[] {
    if (!this.started) return [];
    if (this.role === "FOLLOWING" && peer === this.decision!.leader && !this.established) {
      return this.#follow();
    }
    if (this.role !== "LOOKING" || this.bug === "mute") return [];
    const e = this.#election!;
    const notification: Notification = { round: e.round, state: "LOOKING", vote: e.vote };
    return [{ type: "send", to: peer, msg: { type: "notification", notification } }];
  }

  #lost(peer: number): SimAction<ElectionSimMsg>[] {
    if (this.role === "FOLLOWING" && peer === this.decision!.leader) {
      return this.#lookAgain("lost the leader");
    }
    if (this.role === "LEADING" && this.followers.delete(peer) && this.established) {
      if (this.followers.size + 1 < this.world.quorum) return this.#lookAgain("lost a quorum");
    }
    return [];
  }

  #receive(from: number, msg: ElectionSimMsg): SimAction<ElectionSimMsg>[] {
    switch (msg.type) {
      case "notification":
        return this.#output(this.#election!.receive(from, msg.notification));
      case "follow":
        if (this.role !== "LEADING") return [];
        this.followers.set(from, this.#ticks);
        if (this.followers.size + 1 >= this.world.quorum) this.established = true;
        return [{ type: "send", to: from, msg: { type: "welcome", round: msg.round } }];
      case "welcome":
      case "ping":
        if (this.role !== "FOLLOWING" || from !== this.decision!.leader) return [];
        this.established = true;
        this.#heardLeaderTick = this.#ticks;
        return msg.type === "ping" ? [{ type: "send", to: from, msg: { type: "pong" } }] : [];
      case "pong":
        if (this.role === "LEADING" && this.followers.has(from)) {
          this.followers.set(from, this.#ticks);
        }
        return [];
    }
  }

  #tick(): SimAction<ElectionSimMsg>[] {
    this.#ticks++;
    if (this.role === "LOOKING") return this.#output(this.#election!.tick());
    this.#ticksDecided++;
    if (!this.established) {
      if (this.#ticksDecided > initLimitTicks) {
        return this.#lookAgain("not established within initLimit");
      }
      // The leader may not have decided yet when the first request came: ask again.
      return this.role === "FOLLOWING" ? this.#follow() : [];
    }
    if (this.role === "FOLLOWING") {
      if (this.#ticks - this.#heardLeaderTick <= syncLimitTicks) return [];
      return this.#lookAgain("no ping from the leader within syncLimit");
    }
    for (const [follower, heard] of this.followers) {
      if (this.#ticks - heard > syncLimitTicks) this.followers.delete(follower);
    }
    if (this.followers.size + 1 < this.world.quorum) {
      return this.#lookAgain("no quorum of followers within syncLimit");
    }
    return [...this.followers.keys()].map((to) => ({ type: "send", to, msg: { type: "ping" } }));
  }

  #lookAgain(why: string): SimAction<ElectionSimMsg>[] {
    this.role = "LOOKING";
    this.decision = null;
    this.established = false;
    this.followers.clear();
    return [{ type: "log", text: `LOOKING: ${why}` }, ...this.#output(this.#election!.start())];
  }

  /** Turns an election output into actions, adopting its decision. */
  #output(out: ElectionOutput): SimAction<ElectionSimMsg>[] {
    const send = this.bug === "mute" ? [] : out.send;
    const actions: SimAction<ElectionSimMsg>[] = send.map(({ to, notification }) => ({
      type: "send",
      to,
      msg: { type: "notification", notification },
    }));
    const round = this.#election!.round;
    if (round > (this.disk.get("round") ?? 0)) {
      // Keep the disk's round up with adopted rounds; not waited for (a lost write only means
      // a restart starts lower, and rounds are not what makes ZAB safe).
      this.disk.set("round", round);
      actions.push({ type: "persist", token: ++this.#token });
    }
    if (out.decided !== null) actions.push(...this.#decide(out.decided));
    return actions;
  }

  #decide(decision: Decision): SimAction<ElectionSimMsg>[] {
    assert.ok(decision.state !== "OBSERVING", "the simulation has voters only");
    this.world.fresh.push([this.id, decision]);
    this.role = decision.state;
    this.decision = decision;
    this.established = false;
    this.followers.clear();
    this.#ticksDecided = 0;
    const log: SimAction<ElectionSimMsg> = {
      type: "log",
      text: `${decision.state} ${decision.leader} in round ${decision.round}`,
    };
    return decision.state === "LEADING" ? [log] : [log, ...this.#follow()];
  }

  /** A follower's request to its leader, over a live connection only. */
  #follow(): SimAction<ElectionSimMsg>[] {
    const { leader, round } = this.decision!;
    if (!this.#links.has(leader)) return [];
    return [{ type: "send", to: leader, msg: { type: "follow", round } }];
  }
}

// ---- checks --------------------------------------------------------------------------------------

/**
 * Optional checks, off by default because the election does not promise them today; turn them
 * on to measure (`scripts/sim_sweep --check round-agreement,join-all`).
 */
export interface ElectionChecks {
  /**
   * Safety: no two nodes decide different leaders in the same round. Fast leader election does
   * not guarantee it (src/zab/election.ts says so: a better vote that arrives after a finalize
   * wait, or from a node that restarts in an older round, splits a round); ZAB's discovery is
   * what keeps a wrongly elected leader from leading.
   */
  roundAgreement?: boolean;
  /**
   * Liveness: every live voter ends up following the leader, not just a quorum. A voter that
   * looks again while a leader is established joins only when a quorum of reports carries the
   * same election round (ZooKeeper dropped that comparison in ZOOKEEPER-1732).
   */
  joinAll?: boolean;
}

/** A bug to plant in every node, to show the checks can fail (DESIGN.md: checkers are tested). */
export type ElectionBug =
  /** Declares itself leader at start, without any vote. */
  | "selfElect"
  /** Never sends a notification. */
  | "mute";

/** The checks run after every step. */
export function checkStep(
  world: ElectionWorld,
  step: SimStep<ElectionSimMsg>,
  checks: ElectionChecks,
): void {
  if (step.kind !== "node") return;
  for (const action of step.actions) {
    if (action.type === "send" && action.msg.type === "notification") {
      announce(world, step.node, action.msg.notification);
    }
  }
  for (const [node, decision] of world.fresh) checkDecision(world, node, decision, checks);
  world.fresh.length = 0;
}

function announce(world: ElectionWorld, from: number, n: Notification): void {
  let byLeader = world.announced.get(n.round);
  if (byLeader === undefined) world.announced.set(n.round, byLeader = new Map());
  let voters = byLeader.get(n.vote.leader);
  if (voters === undefined) byLeader.set(n.vote.leader, voters = new Set());
  voters.add(from);
}

function checkDecision(
  world: ElectionWorld,
  node: number,
  decision: Decision,
  checks: ElectionChecks,
): void {
  world.decisions++;
  const { leader, round, state } = decision;
  assert.ok(world.membership.voters.includes(leader), `node ${node} decided on a voter`);
  assert.equal(state === "LEADING", leader === node, `node ${node} leads exactly when it won`);
  // Every decision stands on a quorum of notifications that were really sent for that leader
  // in that round (votes while LOOKING, or reports once decided).
  const backers = world.announced.get(round)?.get(leader)?.size ?? 0;
  assert.ok(
    backers >= world.quorum,
    `node ${node} decided ${leader} in round ${round} with ${backers} voters announcing it ` +
      `(quorum ${world.quorum})`,
  );
  const first = world.leaderOfRound.get(round);
  if (first === undefined) {
    world.leaderOfRound.set(round, { leader, node });
  } else if (checks.roundAgreement) {
    assert.equal(
      leader,
      first.leader,
      `round ${round}: node ${first.node} decided leader ${first.leader}, node ${node} ` +
        `decided leader ${leader}`,
    );
  }
}

/**
 * The established leader: a node LEADING with a quorum (itself included) of live voters that
 * follow it and were welcomed, or every live voter when `joinAll`; null when there is none.
 */
export function establishedLeader(
  sim: Simulator<ElectionSimMsg, KvDisk<number>>,
  joinAll = false,
): number | null {
  const alive: ElectionNode[] = [];
  for (let id = 0; id < sim.nodeCount; id++) {
    const node = sim.node(id);
    if (node !== null) alive.push(node as ElectionNode);
  }
  for (const leader of alive) {
    if (leader.role !== "LEADING") continue;
    const followers = alive.filter((n) =>
      n.role === "FOLLOWING" && n.established && n.decision!.leader === leader.id &&
      leader.followers.has(n.id)
    );
    const enough = joinAll
      ? followers.length + 1 === alive.length
      : followers.length + 1 >= leader.world.quorum;
    if (enough) return leader.id;
  }
  return null;
}

// ---- one run ---------------------------------------------------------------------------------------

/** Settings of {@linkcode runElectionSim}. */
export interface ElectionSimOptions {
  seed: number;
  /** Voters; default: 3 or 5, from the seed. */
  voters?: number;
  /** Virtual time with faults. Default 20 s. */
  safetyMs?: number;
  /** Bound on electing a leader once faults stop. Default 30 s. */
  livenessMs?: number;
  checks?: ElectionChecks;
  /** A bug planted in every node (tests of the checks). */
  bug?: ElectionBug;
  replayCommand: string;
  report?: (text: string) => void;
  /** Steps kept for the failure report. Default 40. */
  recentStepsMax?: number;
}

/** What a passing run did. */
export interface ElectionSimResult {
  seed: number;
  voters: number;
  steps: number;
  decisions: number;
  /** Virtual ms from the end of faults to an established leader. */
  electedAfterMs: number;
  leader: number;
  traceHash: string;
  faults: string;
}

/**
 * Runs one seed: safety phase, then liveness phase. Throws a SimulationError (after printing the
 * report with the replay line) when a check fails or no leader is established in time.
 */
export function runElectionSim(options: ElectionSimOptions): ElectionSimResult {
  const { seed, replayCommand, report } = options;
  const checks = options.checks ?? {};
  // The harness's own choices come from the seed too, from a stream of their own.
  const setup = new Rng(seed).fork();
  const voters = options.voters ?? (setup.chance(0.5) ? 3 : 5);
  const ids = [...Array(voters).keys()];
  const world = new ElectionWorld({ voters: ids, observers: [] });
  const histories = ids.map(() => {
    const epoch = setup.int(0, 2);
    return { epoch, zxid: makeZxid(epoch, setup.int(0, 3)) };
  });
  const delayMsMax = setup.pick([5, 20, 60, 150]);
  const sim = new Simulator<ElectionSimMsg, KvDisk<number>>({
    seed,
    nodeCount: voters,
    tickMs: electionTickMs,
    network: { delayMsMin: 1, delayMsMax },
    faults: "swarm",
    createDisk: (id) => {
      const disk = new KvDisk<number>();
      disk.set("epoch", histories[id].epoch);
      disk.set("zxid", histories[id].zxid);
      disk.syncEnd(disk.syncBegin());
      return disk;
    },
    createNode: (id, disk) => new ElectionNode(id, disk, world, options.bug),
    transmit: copyMessage,
    onStep: (step) => checkStep(world, step, checks),
    replayCommand,
    report,
    recentStepsMax: options.recentStepsMax,
  });
  sim.run({ untilMs: options.safetyMs ?? 20_000 });
  settle(sim, setup, world.quorum);
  const faultsEndedMs = sim.nowMs;
  const livenessMs = options.livenessMs ?? 30_000;
  const elected = (s: typeof sim) => establishedLeader(s, checks.joinAll) !== null;
  sim.run({ untilMs: faultsEndedMs + livenessMs, stopWhen: elected });
  const leader = establishedLeader(sim, checks.joinAll);
  if (leader === null) {
    return sim.fail(
      new Error(
        `no established leader within ${livenessMs} ms after the faults stopped; ` +
          describeNodes(sim),
      ),
    );
  }
  return {
    seed,
    voters,
    steps: sim.stepCount,
    decisions: world.decisions,
    electedAfterMs: sim.nowMs - faultsEndedMs,
    leader,
    traceHash: sim.traceHash,
    faults: describeFaults(sim.faultProfile),
  };
}

/**
 * The start of the liveness phase: no more faults, the network healed, a random majority (the
 * core) up; each other voter is left down or brought up by a coin flip. Slow-disk spells already
 * on run out on their own.
 */
function settle(sim: Simulator<ElectionSimMsg, KvDisk<number>>, rng: Rng, quorum: number): void {
  sim.stopFaults();
  sim.heal();
  const ids = [...Array(sim.nodeCount).keys()];
  const core = new Set(rng.shuffle(ids).slice(0, quorum));
  for (const id of ids) {
    const wantUp = core.has(id) || rng.chance(0.5);
    if (wantUp && !sim.isAlive(id)) sim.restart(id);
    if (!wantUp && sim.isAlive(id)) sim.crash(id);
  }
}

/** Each node's role, decision and round, for the liveness failure report. */
function describeNodes(sim: Simulator<ElectionSimMsg, KvDisk<number>>): string {
  const parts: string[] = [];
  for (let id = 0; id < sim.nodeCount; id++) {
    const node = sim.node(id) as ElectionNode | null;
    if (node === null) {
      parts.push(`${id}: down`);
      continue;
    }
    const d = node.decision;
    const decided = d === null ? "" : ` ${d.leader} (round ${d.round})`;
    const established = node.established ? ", established" : "";
    parts.push(`${id}: ${node.role}${decided}${established}, in round ${node.round}`);
  }
  return parts.join("; ");
}

/** What the wire does to a message: a copy (cheaper than structuredClone for these shapes). */
function copyMessage(msg: ElectionSimMsg): ElectionSimMsg {
  if (msg.type !== "notification") return { ...msg };
  const n = msg.notification;
  return { type: "notification", notification: { ...n, vote: { ...n.vote } } };
}
