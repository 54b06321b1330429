/**
 * Fast leader election, ZAB phase ELECTION (REFERENCE §7), as a pure, deterministic state machine.
 *
 * Each LOOKING server proposes a leader and exchanges {@linkcode Notification}s with the other
 * members, following ZooKeeper's FastLeaderElection rules:
 *
 * - A server starts a round by voting for itself (an observer votes for no one: it only learns)
 *   and telling every other member.
 * - From a LOOKING voter: a higher round makes us adopt that round, forget the votes of the old
 *   round, vote for the better of (the sender's vote, ourselves) and tell everyone; in the same
 *   round a better vote is adopted and re-broadcast; a lower round is answered with our current
 *   notification so the sender catches up. Every voter's latest vote of our round is recorded.
 * - When a quorum of voters (us included) holds exactly our vote, we wait `finalizeWaitTicks`
 *   ticks for a better vote (ZooKeeper's finalizeWait) and then decide.
 * - From a FOLLOWING or LEADING voter (the ensemble already has a leader): its report is recorded
 *   (ZooKeeper's out-of-election set); we follow that leader once a quorum of voters reports it in
 *   the same round and the leader itself reports LEADING. When the reported leader is us, a quorum
 *   in our own round is enough ("if everyone else thinks I am the leader, I must be").
 *
 * Election alone is not consensus: a vote that arrives after a finalize wait ended can leave two
 * servers deciding differently. The DISCOVERY phase (src/zab/peer.ts) catches that, because a
 * wrongly decided leader cannot gather a quorum of followers.
 *
 * No clock (time is {@linkcode Election.tick} calls), no randomness, no I/O: every method returns
 * the notifications to send and, once, the decision.
 *
 * @example
 * ```ts
 * import { assert } from "../assert.ts";
 * import { Election } from "./election.ts";
 *
 * const membership = { voters: [1, 2, 3], observers: [] };
 * const one = new Election({ myId: 1, membership, lastZxid: 5, currentEpoch: 1 });
 * const two = new Election({ myId: 2, membership, lastZxid: 5, currentEpoch: 1 });
 * one.start(); // round 1, votes for 1
 * const fromTwo = two.start().send.find((m) => m.to === 1)!; // round 1, votes for 2
 * const fromOne = one.receive(2, fromTwo.notification).send.find((m) => m.to === 2)!;
 * two.receive(1, fromOne.notification); // 1 switched to 2 (same zxid, higher id): a quorum
 * assert(two.tick().decided?.state === "LEADING", "2 leads once the finalize wait is over");
 * assert(one.tick().decided?.leader === 2, "1 follows 2");
 * ```
 * @module
 */
import { assert } from "../assert.ts";
import type { Membership, Notification, ServerId, ServerState, Vote } from "./types.ts";
import { betterVote, quorumSize, sameVote } from "./types.ts";

/** Ticks a decision waits for a better vote once a quorum holds ours (ZooKeeper's finalizeWait). */
export const electionFinalizeWaitTicksDefault = 1;

/** Ticks without hearing anything after which a LOOKING server re-sends its notification. */
export const electionResendTicksDefault = 5;

/** Largest server id (types.ts: a `myid` is an integer in [0, 255]). */
const serverIdMax = 255;

/**
 * An observer's proposal before it has learned anything. It names no server and is worse than any
 * real vote, so the first voter's vote replaces it (ZooKeeper proposes Long.MIN_VALUE here).
 */
export const NO_VOTE: Readonly<Vote> = Object.freeze({ leader: -1, zxid: -1, epoch: -1 });

/** How an {@linkcode Election} starts. */
export interface ElectionOptions {
  /** This server's id; it must be a voter or an observer of `membership`. */
  myId: ServerId;
  /** The ensemble's voters and observers; only voters' votes count toward a quorum. */
  membership: Membership;
  /** This server's last logged zxid: its claim to lead. */
  lastZxid: number;
  /** This server's current epoch (ZooKeeper's peerEpoch): compared before the zxid. */
  currentEpoch: number;
  /** The round we are in before {@linkcode Election.start} (ZooKeeper's logical clock). Default 0. */
  round?: number;
  /** Ticks to wait for a better vote once a quorum holds ours. Default 1; 0 decides at once. */
  finalizeWaitTicks?: number;
  /** Quiet ticks after which the current notification is sent again. Default 5. */
  resendTicks?: number;
}

/** A notification to deliver to one member. */
export interface ElectionMessage {
  /** The member to send it to. */
  to: ServerId;
  /** What to tell it. */
  notification: Notification;
}

/** What a server becomes when the election ends. */
export type DecidedState = "LEADING" | "FOLLOWING" | "OBSERVING";

/** The outcome of an election, as this server sees it. */
export interface Decision {
  /** The elected leader. */
  leader: ServerId;
  /** LEADING when `leader` is us; OBSERVING for an observer; else FOLLOWING. */
  state: DecidedState;
  /** The winning vote: the leader's id, last zxid and epoch as it proposed them. */
  vote: Vote;
  /**
   * The round in which `leader` was elected. A server that joined a running ensemble reports the
   * ensemble's round here, which may be below the rounds it counted while looking.
   */
  round: number;
}

/** What one call to an {@linkcode Election} asks its host to do. */
export interface ElectionOutput {
  /** Notifications to send, in order. */
  send: ElectionMessage[];
  /** The decision, on the one call that reaches it; null on every other call. */
  decided: Decision | null;
}

/** A pending decision: our vote has a quorum and waits `ticksLeft` more ticks for a better one. */
interface FinalizeWait {
  vote: Vote;
  round: number;
  ticksLeft: number;
}

/** The two phases of an election; `start()` moves a decided election back to LOOKING. */
type ElectionPhase =
  | { kind: "LOOKING"; finalize: FinalizeWait | null }
  | { kind: "DECIDED"; decision: Decision };

/**
 * One server's fast leader election (ZAB phase ELECTION). See the module documentation for the
 * rules; the host delivers notifications with {@linkcode Election.receive}, advances time with
 * {@linkcode Election.tick} and sends what each call returns.
 */
export class Election {
  /** This server's id. */
  readonly myId: ServerId;
  /** The ensemble's members. */
  readonly membership: Membership;
  readonly #self: Vote;
  readonly #voters: ReadonlySet<ServerId>;
  readonly #observers: ReadonlySet<ServerId>;
  readonly #isVoter: boolean;
  readonly #quorum: number;
  readonly #finalizeWaitTicks: number;
  readonly #resendTicks: number;
  #round: number;
  #proposal: Vote;
  #phase: ElectionPhase = { kind: "LOOKING", finalize: null };
  /** The latest vote of each voter in our round, ours included (ZooKeeper's recvset). */
  readonly #votes = new Map<ServerId, Vote>();
  /** The latest FOLLOWING/LEADING report of each voter, any round (ZooKeeper's outofelection). */
  readonly #outOfElection = new Map<ServerId, Notification>();
  #quietTicks = 0;
  #send: ElectionMessage[] = [];

  /** A LOOKING server in round `options.round` (default 0) that proposes itself (voters only). */
  constructor(options: ElectionOptions) {
    validateOptions(options);
    this.myId = options.myId;
    this.membership = options.membership;
    this.#voters = new Set(options.membership.voters);
    this.#observers = new Set(options.membership.observers);
    this.#isVoter = this.#voters.has(options.myId);
    this.#quorum = quorumSize(options.membership.voters);
    this.#finalizeWaitTicks = options.finalizeWaitTicks ?? electionFinalizeWaitTicksDefault;
    this.#resendTicks = options.resendTicks ?? electionResendTicksDefault;
    this.#round = options.round ?? 0;
    this.#self = { leader: options.myId, zxid: options.lastZxid, epoch: options.currentEpoch };
    this.#proposal = NO_VOTE;
    this.#proposeSelf();
  }

  /** LOOKING until decided, then the decided state. */
  get state(): ServerState {
    return this.#phase.kind === "DECIDED" ? this.#phase.decision.state : "LOOKING";
  }

  /** The current election round; it never decreases. */
  get round(): number {
    return this.#round;
  }

  /** The current proposal ({@linkcode NO_VOTE} for an observer that has learned nothing yet). */
  get vote(): Vote {
    return { ...this.#proposal };
  }

  /** The decision once made, else null. */
  get decision(): Decision | null {
    return this.#phase.kind === "DECIDED" ? copyDecision(this.#phase.decision) : null;
  }

  /**
   * Begins a new round: increments the round, votes for ourselves (an observer votes for no one)
   * and tells every other member. Legal while LOOKING and after a decision (the leader was lost).
   */
  start(): ElectionOutput {
    this.#send = [];
    this.#phase = { kind: "LOOKING", finalize: null };
    this.#setRound(this.#round + 1);
    this.#votes.clear();
    this.#outOfElection.clear();
    this.#proposeSelf();
    this.#quietTicks = 0;
    this.#broadcast();
    return this.#output(this.#checkQuorum());
  }

  /** Handles a notification from member `from`; non-members and malformed notifications are ignored. */
  receive(from: ServerId, incoming: Notification): ElectionOutput {
    this.#send = [];
    if (from === this.myId || !this.#isMember(from)) return this.#output(null);
    if (this.#phase.kind === "DECIDED") {
      const { decision } = this.#phase;
      const reply = Election.replyWhenDecided(
        this.myId,
        decision.state,
        decision.round,
        decision.vote,
        incoming,
      );
      if (reply) this.#send.push({ to: from, notification: reply });
      return this.#output(null);
    }
    if (this.#observers.has(from)) {
      // Observers' votes never count. A voter answers so a late observer learns the state.
      if (this.#isVoter && incoming.state === "LOOKING") this.#sendCurrentTo(from);
      return this.#output(null);
    }
    if (!wellFormed(from, incoming, this.#voters)) return this.#output(null);
    this.#quietTicks = 0;
    switch (incoming.state) {
      case "LOOKING":
        this.#onLooking(from, incoming);
        return this.#output(this.#checkQuorum());
      case "FOLLOWING":
      case "LEADING":
        return this.#output(this.#onOutOfElection(from, incoming) ?? this.#checkQuorum());
      case "OBSERVING":
        return this.#output(null); // excluded by wellFormed: a voter never observes
    }
  }

  /**
   * Advances logical time by one tick: ends a finalize wait (deciding if nothing better came), and
   * after `resendTicks` quiet ticks sends the current notification again (lost messages, members
   * that were not up yet).
   */
  tick(): ElectionOutput {
    this.#send = [];
    if (this.#phase.kind === "DECIDED") return this.#output(null);
    this.#quietTicks++;
    const finalize = this.#phase.finalize;
    if (finalize !== null && --finalize.ticksLeft <= 0) {
      this.#phase.finalize = null;
      const supporters = this.#supportersOf(this.#proposal);
      if (supporters >= this.#quorum) {
        return this.#output(this.#decide(this.#proposal, this.#round, supporters));
      }
    }
    if (this.#quietTicks >= this.#resendTicks) {
      this.#quietTicks = 0;
      this.#broadcast();
    }
    return this.#output(null);
  }

  /**
   * What a server that is NOT looking answers a notification: to a LOOKING peer, its state, the
   * round its leader was elected in and the winning vote, so a server joining a running ensemble
   * learns the leader without a new election; null when nothing should be sent (the sender is not
   * looking, or we observe: voters never count an observer's word).
   *
   * @example
   * ```ts
   * import { assert } from "../assert.ts";
   * import { Election } from "./election.ts";
   *
   * const vote = { leader: 2, zxid: 8, epoch: 1 };
   * const looking = { round: 1, state: "LOOKING" as const, vote: { leader: 3, zxid: 0, epoch: 0 } };
   * const reply = Election.replyWhenDecided(1, "FOLLOWING", 4, vote, looking);
   * assert(reply?.state === "FOLLOWING" && reply.round === 4 && reply.vote.leader === 2, "1 says 2 leads");
   * ```
   */
  static replyWhenDecided(
    myId: ServerId,
    state: ServerState,
    round: number,
    vote: Vote,
    incoming: Notification,
  ): Notification | null {
    assert(state !== "LOOKING", "a LOOKING server answers through its Election");
    if (incoming.state !== "LOOKING" || state === "OBSERVING") return null;
    assert(
      (state === "LEADING") === (vote.leader === myId),
      "a server leads exactly when its decided vote names itself",
    );
    return { round, state, vote: { ...vote } };
  }

  // ---- LOOKING -----------------------------------------------------------------------------

  /** ZooKeeper's rules for a notification from a LOOKING voter. */
  #onLooking(from: ServerId, incoming: Notification): void {
    this.#outOfElection.delete(from); // its old report is stale: it is looking again
    if (incoming.round > this.#round) {
      this.#setRound(incoming.round);
      this.#votes.clear();
      this.#proposeSelf();
      if (betterVote(incoming.vote, this.#proposal)) this.#propose(incoming.vote);
      this.#broadcastIfVoter();
    } else if (incoming.round < this.#round) {
      // Only voters answer: an observer's answer would be ignored, and two answers could ping-pong.
      if (this.#isVoter) this.#sendCurrentTo(from);
      return;
    } else if (betterVote(incoming.vote, this.#proposal)) {
      this.#propose(incoming.vote);
      this.#broadcastIfVoter();
    }
    this.#votes.set(from, { ...incoming.vote });
  }

  /**
   * A FOLLOWING/LEADING voter reported its leader. Returns the decision when a quorum of voters
   * stands behind that leader and the leader confirms it (see {@linkcode Election.#leaderConfirmed}).
   */
  #onOutOfElection(from: ServerId, incoming: Notification): Decision | null {
    const reported: Notification = { ...incoming, vote: { ...incoming.vote } };
    this.#outOfElection.set(from, reported);
    // In our own round, reports and LOOKING votes for the very same vote count together.
    if (reported.round === this.#round) this.#votes.set(from, reported.vote);
    if (!this.#leaderConfirmed(reported)) return null;
    if (reported.round === this.#round) {
      const supporters = this.#supportersOf(reported.vote);
      if (supporters >= this.#quorum) {
        return this.#decide(reported.vote, reported.round, supporters);
      }
    }
    // Servers that decided may sit in different rounds (a follower that joined late keeps the
    // round it decided in), so reports are matched by leader alone, as ZooKeeper does since
    // ZOOKEEPER-1732; comparing rounds could keep a joiner out forever.
    let reporters = 0;
    for (const report of this.#outOfElection.values()) {
      if (report.vote.leader === reported.vote.leader) reporters++;
    }
    if (reporters < this.#quorum) return null;
    // Followers may report their own zxid and epoch; the leader's own report is authoritative.
    const leaderReport = this.#outOfElection.get(reported.vote.leader);
    return this.#decide(
      leaderReport?.vote ?? reported.vote,
      leaderReport?.round ?? reported.round,
      reporters,
    );
  }

  /**
   * ZooKeeper's checkLeader: never follow a leader that has not itself said it leads (it may be
   * dead, or never have won), in whatever round it decided; a report naming us counts only in our
   * own round.
   */
  #leaderConfirmed(reported: Notification): boolean {
    const leader = reported.vote.leader;
    if (leader === this.myId) return reported.round === this.#round;
    const own = this.#outOfElection.get(leader);
    return own !== undefined && own.state === "LEADING";
  }

  /** Starts, keeps, cancels or completes the finalize wait after our votes changed. */
  #checkQuorum(): Decision | null {
    if (this.#phase.kind !== "LOOKING") return null;
    const finalize = this.#phase.finalize;
    if (
      finalize !== null &&
      (finalize.round !== this.#round || !sameVote(finalize.vote, this.#proposal))
    ) {
      this.#phase.finalize = null; // a better vote (or a new round) arrived: keep looking
    }
    const supporters = this.#supportersOf(this.#proposal);
    if (supporters < this.#quorum) return null;
    // Every voter holds our vote: no better vote can come, so there is nothing to wait for.
    if (this.#finalizeWaitTicks === 0 || supporters === this.#voters.size) {
      return this.#decide(this.#proposal, this.#round, supporters);
    }
    if (this.#phase.finalize !== null) return null;
    this.#phase.finalize = {
      vote: { ...this.#proposal },
      round: this.#round,
      ticksLeft: this.#finalizeWaitTicks,
    };
    return null;
  }

  /** How many voters' votes in our round are exactly `vote` (ours included when we vote). */
  #supportersOf(vote: Vote): number {
    let count = 0;
    for (const [id, held] of this.#votes) {
      if (this.#voters.has(id) && sameVote(held, vote)) count++;
    }
    return count;
  }

  #decide(vote: Vote, round: number, supporters: number): Decision {
    assert(supporters >= this.#quorum, "never decide without a quorum of voters' identical votes");
    assert(this.#voters.has(vote.leader), "never follow or lead a non-voter");
    assert(this.#phase.kind === "LOOKING", "only a LOOKING server decides");
    const state: DecidedState = vote.leader === this.myId
      ? "LEADING"
      : this.#isVoter
      ? "FOLLOWING"
      : "OBSERVING";
    const decision: Decision = { leader: vote.leader, state, vote: { ...vote }, round };
    this.#setRound(Math.max(this.#round, round));
    this.#phase = { kind: "DECIDED", decision };
    return copyDecision(decision);
  }

  // ---- helpers -----------------------------------------------------------------------------

  #isMember(id: ServerId): boolean {
    return this.#voters.has(id) || this.#observers.has(id);
  }

  #setRound(round: number): void {
    assert(round >= this.#round, "election rounds only grow");
    this.#round = round;
  }

  /** A voter proposes itself; an observer proposes no one. */
  #proposeSelf(): void {
    if (this.#isVoter) {
      this.#propose(this.#self);
    } else {
      this.#proposal = NO_VOTE;
    }
  }

  #propose(vote: Vote): void {
    assert(this.#voters.has(vote.leader), "never vote for a non-voter");
    this.#proposal = { ...vote };
    if (this.#isVoter) this.#votes.set(this.myId, this.#proposal);
  }

  #current(): Notification {
    return { round: this.#round, state: "LOOKING", vote: { ...this.#proposal } };
  }

  #sendCurrentTo(to: ServerId): void {
    this.#send.push({ to, notification: this.#current() });
  }

  /** Voters tell every other member; observers tell the voters only (nobody counts observers). */
  #broadcast(): void {
    const targets = this.#isVoter
      ? [...this.membership.voters, ...this.membership.observers]
      : [...this.membership.voters];
    for (const to of targets.sort((a, b) => a - b)) {
      if (to !== this.myId) this.#sendCurrentTo(to);
    }
  }

  #broadcastIfVoter(): void {
    // An observer adopting a vote has nobody to tell: voters ignore it, observers do not listen.
    if (this.#isVoter) this.#broadcast();
  }

  #output(decided: Decision | null): ElectionOutput {
    const send = this.#send;
    this.#send = [];
    return { send, decided };
  }
}

/** Bad configuration is the caller's error, reported as such (not an invariant). */
function validateOptions(options: ElectionOptions): void {
  const { myId, membership } = options;
  const ids = [...membership.voters, ...membership.observers];
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id > serverIdMax) {
      throw new RangeError(`Server id ${id} is not an integer in [0, ${serverIdMax}]`);
    }
  }
  if (new Set(ids).size !== ids.length) {
    throw new RangeError("A server id appears twice in the membership");
  }
  if (membership.voters.length === 0) throw new RangeError("The membership has no voters");
  if (!ids.includes(myId)) throw new RangeError(`Server ${myId} is not a member`);
  const round = options.round ?? 0;
  const finalizeWaitTicks = options.finalizeWaitTicks ?? electionFinalizeWaitTicksDefault;
  const resendTicks = options.resendTicks ?? electionResendTicksDefault;
  if (!Number.isSafeInteger(round) || round < 0) {
    throw new RangeError(`The round must be a non-negative integer, got ${round}`);
  }
  if (!Number.isSafeInteger(finalizeWaitTicks) || finalizeWaitTicks < 0) {
    throw new RangeError(`finalizeWaitTicks must be a non-negative integer`);
  }
  if (!Number.isSafeInteger(resendTicks) || resendTicks < 1) {
    throw new RangeError(`resendTicks must be a positive integer`);
  }
}

/**
 * A voter's notification is usable when its vote names a voter, a LEADING sender names itself and
 * a FOLLOWING sender names someone else. Anything else is bad input and is dropped (ZooKeeper logs
 * and ignores votes for non-members).
 */
function wellFormed(from: ServerId, n: Notification, voters: ReadonlySet<ServerId>): boolean {
  if (!voters.has(n.vote.leader) || !Number.isSafeInteger(n.round) || n.round < 0) return false;
  switch (n.state) {
    case "LOOKING":
      return true;
    case "LEADING":
      return n.vote.leader === from;
    case "FOLLOWING":
      return n.vote.leader !== from;
    case "OBSERVING":
      return false;
  }
}

function copyDecision(decision: Decision): Decision {
  return { ...decision, vote: { ...decision.vote } };
}
