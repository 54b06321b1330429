/**
 * One server of a ZAB ensemble as a pure state machine (REFERENCE §7): LOOKING runs fast leader
 * election; a leader then runs DISCOVERY (a new epoch above every follower's accepted epoch),
 * SYNCHRONIZATION (each learner brought to the leader's history by DIFF, TRUNC+DIFF or SNAP; a
 * quorum acknowledges NEWLEADER) and BROADCAST (proposals logged by a quorum are committed in zxid
 * order). Followers and observers mirror those phases. No sockets, no clock, no randomness.
 *
 * The host carries out the actions in order: `persistEpochs` and `log` must be durable before any
 * later `send` of the same step is sent (so an ACK never precedes what it acknowledges), and a
 * `logged` event reports a `log` action's records durable.
 * @module
 */
import { assert } from "../assert.ts";
import type { Txn, TxnRecord } from "../tree/txn.ts";
import { zxidEpoch } from "../tree/txn.ts";
import { Election, type ElectionOutput } from "./election.ts";
import type { PeerMessage } from "./messages.ts";
import type { Membership, Notification, Phase, ServerId, ServerState, Vote } from "./types.ts";
import { quorumSize } from "./types.ts";

/** Persistent epochs (REFERENCE §7, §8). */
export interface PeerEpochs {
  acceptedEpoch: number;
  currentEpoch: number;
}

/**
 * Txns kept in memory for DIFF by default, as many as ZooKeeper keeps (it reads older ones back
 * from its log; Corral does not yet): a twentieth of a second of writes at full speed, enough for
 * a follower that blinked; one further behind gets a SNAP. The window costs more than its own
 * bytes: its records are the few survivors in heap blocks otherwise full of the garbage of the
 * same writes, so they keep those blocks resident. After the compare grid, members held 105-138
 * MiB with 10,000 and 86-109 with 2,000; in two paired runs the leader settled at 88-94 MiB with
 * 2,000 and at 85-87 with 500 (docs/PERFORMANCE.md).
 */
export const historyRecordsMaxDefault = 500;

/** Bytes of txn data kept in memory for DIFF by default (see {@linkcode txnRecordBytes}). */
export const historyBytesMaxDefault = 16 * 1024 * 1024;

/** How a peer starts, from what its host recovered. */
export interface PeerOptions {
  myId: ServerId;
  membership: Membership;
  epochs: PeerEpochs;
  /** Zxid of the host's snapshot: the history below starts right after it. */
  baseZxid: number;
  /** Logged records after `baseZxid`, in order (the host has applied them all). */
  history: readonly TxnRecord[];
  /** Ticks a learner may take to connect and sync (ZooKeeper's initLimit). Default 10. */
  initLimitTicks?: number;
  /** Ticks of silence before a link counts as dead (ZooKeeper's syncLimit). Default 5. */
  syncLimitTicks?: number;
  /** Most records kept for DIFF; a learner further behind gets a SNAP. Default 500. */
  historyRecordsMax?: number;
  /**
   * Most bytes of txn data (values, paths, ACLs: see {@linkcode txnRecordBytes}) kept for DIFF,
   * so that large values cannot make the history hold gigabytes. Default 16 MiB.
   */
  historyBytesMax?: number;
  /** A consistent image of the host's applied state, for SNAP (the host captures it). */
  captureImage: () => unknown;
}

/** What the host must do. */
export type PeerAction =
  | { type: "send"; to: ServerId; msg: PeerMessage }
  /** Make the epochs durable before anything after this action. */
  | { type: "persistEpochs"; epochs: PeerEpochs }
  /** Append records to the txn log; report a `logged` event with the last zxid once durable. */
  | { type: "log"; records: TxnRecord[] }
  /** Drop every logged record after `zxid`, and rebuild the applied state to end at `zxid`. */
  | { type: "truncate"; zxid: number }
  /** Replace the whole state and log with this snapshot (a SNAP sync). */
  | { type: "installSnapshot"; zxid: number; image: unknown }
  /** These records are committed: apply them in order. */
  | { type: "commit"; records: TxnRecord[] }
  /** The server's role changed; `serving` says whether it may answer clients. */
  | {
    type: "role";
    state: ServerState;
    phase: Phase;
    leader: ServerId | null;
    epoch: number;
    serving: boolean;
  };

/** Events into a peer. */
export type PeerEvent =
  | { type: "start" }
  | { type: "tick" }
  | { type: "message"; from: ServerId; msg: PeerMessage }
  /** The link to `peer` closed (or failed to connect). */
  | { type: "linkDown"; peer: ServerId }
  /** Records up to `zxid` that this peer asked to log are durable. */
  | { type: "logged"; zxid: number }
  /** Leader only: new txns to replicate, already given zxids of the current epoch. */
  | { type: "propose"; records: TxnRecord[] };

interface LearnerView {
  id: ServerId;
  observer: boolean;
  acceptedEpoch: number;
  /** Set once the learner acknowledged the new epoch. */
  lastZxid: number | null;
  /** Where its history starts (its snapshot, or what it trimmed): it cannot truncate below. */
  baseZxid: number;
  /** Sent its sync and NEWLEADER; gets every later proposal. */
  forwarding: boolean;
  /** Acknowledged NEWLEADER. */
  synced: boolean;
  lastHeardTick: number;
}

interface Pending {
  record: TxnRecord;
  acks: Set<ServerId>;
}

/**
 * A ZAB peer.
 *
 * @example
 * ```ts ignore
 * import { Peer } from "./peer.ts";
 * const peer = new Peer({ myId: 1, membership: { voters: [1, 2, 3], observers: [] },
 *   epochs: { acceptedEpoch: 0, currentEpoch: 0 }, baseZxid: 0, history: [],
 *   captureImage: () => null });
 * const actions = peer.step({ type: "start" });
 * ```
 */
export class Peer {
  readonly myId: ServerId;
  readonly membership: Membership;
  #epochs: PeerEpochs;
  #history: TxnRecord[];
  /** Sum of {@linkcode txnRecordBytes} over `#history`. */
  #historyBytes = 0;
  #baseZxid: number;
  /** Last zxid logged durably by this peer. */
  #loggedZxid: number;
  /** Last zxid this peer has appended (durable or not). */
  #lastZxid: number;
  /** Last zxid committed and handed to the host to apply. */
  #committedZxid: number;
  #state: ServerState = "LOOKING";
  #phase: Phase = "ELECTION";
  #leader: ServerId | null = null;
  #election: Election | null = null;
  /** The vote this server decided on in its last election (what it tells late joiners). */
  #decidedVote: Vote | null = null;
  #round = 0;
  #tick = 0;
  /** LOOKING notifications heard while not looking, replayed when we start to look. */
  readonly #lookingHeard = new Map<ServerId, { notification: Notification; tick: number }>();
  #out: PeerAction[] = [];
  readonly #options: Required<Omit<PeerOptions, "history" | "epochs" | "baseZxid">>;
  // Leader state.
  #learners = new Map<ServerId, LearnerView>();
  #newEpoch = 0;
  #phaseStartTick = 0;
  #pending: Pending[] = [];
  #newLeaderAcks = new Set<ServerId>();
  /** Learners that acknowledged our new epoch in this term. */
  #ackedOurEpoch = new Set<ServerId>();
  // Learner state.
  #leaderHeardTick = 0;
  /** Set once NEWLEADER arrived: from then on, logged proposals are acknowledged. */
  #newLeaderSeen = false;
  #newLeaderPending = false;
  /** Last zxid of each `log` action not yet reported durable, oldest first. */
  #logWrites: number[] = [];
  /** Our last zxid when NEWLEADER arrived: UPTODATE commits up to it. */
  #newLeaderZxid = 0;
  /** The epoch NEWLEADER announced; it becomes currentEpoch once the history is logged. */
  #newLeaderEpoch = 0;

  constructor(options: PeerOptions) {
    this.myId = options.myId;
    this.membership = options.membership;
    this.#epochs = { ...options.epochs };
    this.#baseZxid = options.baseZxid;
    this.#history = [...options.history];
    this.#historyBytes = this.#history.reduce((sum, r) => sum + txnRecordBytes(r), 0);
    this.#lastZxid = this.#history.at(-1)?.zxid ?? options.baseZxid;
    this.#loggedZxid = this.#lastZxid;
    this.#committedZxid = this.#lastZxid;
    this.#options = {
      myId: options.myId,
      membership: options.membership,
      initLimitTicks: options.initLimitTicks ?? 10,
      syncLimitTicks: options.syncLimitTicks ?? 5,
      historyRecordsMax: options.historyRecordsMax ?? historyRecordsMaxDefault,
      historyBytesMax: options.historyBytesMax ?? historyBytesMaxDefault,
      captureImage: options.captureImage,
    };
  }

  /** Current state, phase, leader and epochs (for logs, admin views and tests). */
  get status(): {
    state: ServerState;
    phase: Phase;
    leader: ServerId | null;
    epochs: PeerEpochs;
    lastZxid: number;
    committedZxid: number;
  } {
    return {
      state: this.#state,
      phase: this.#phase,
      leader: this.#leader,
      epochs: { ...this.#epochs },
      lastZxid: this.#lastZxid,
      committedZxid: this.#committedZxid,
    };
  }

  /** Feeds one event; returns the actions to carry out, in order. */
  step(event: PeerEvent): PeerAction[] {
    this.#out = [];
    switch (event.type) {
      case "start":
        this.#lookForLeader();
        break;
      case "tick":
        this.#onTick();
        break;
      case "message":
        this.#onMessage(event.from, event.msg);
        break;
      case "linkDown":
        this.#onLinkDown(event.peer);
        break;
      case "logged":
        this.#onLogged(event.zxid);
        break;
      case "propose":
        this.#onPropose(event.records);
        break;
    }
    return this.#out;
  }

  // ---- ELECTION ------------------------------------------------------------------------------

  #lookForLeader(): void {
    this.#reset("LOOKING", "ELECTION", null);
    this.#election = new Election({
      myId: this.myId,
      membership: this.membership,
      lastZxid: this.#lastZxid,
      currentEpoch: this.#epochs.currentEpoch,
      round: this.#round,
    });
    this.#electionOutput(this.#election.start());
    // Members that started looking while we still followed told us their votes then; we
    // answered but our new election never heard them. Hearing them now spares a resend's wait
    // (found by scripts/failover: half the elections after a SIGSTOP waited 5 ticks for one).
    const heard = [...this.#lookingHeard];
    this.#lookingHeard.clear();
    for (const [from, { notification, tick }] of heard) {
      if (this.#election === null) break;
      if (this.#tick - tick > this.#options.initLimitTicks) continue; // long stale
      this.#electionOutput(this.#election.receive(from, notification));
    }
  }

  #electionOutput(output: ElectionOutput): void {
    for (const { to, notification } of output.send) {
      this.#send(to, { type: "NOTIFICATION", notification });
    }
    if (output.decided === null) return;
    this.#round = Math.max(this.#round, output.decided.round, this.#election?.round ?? 0);
    this.#decidedVote = output.decided.vote;
    this.#election = null;
    if (output.decided.state === "LEADING") this.#lead();
    else this.#follow(output.decided.leader, output.decided.state);
  }

  /** A peer that is not LOOKING tells a LOOKING peer who leads, so it can join at once. */
  #answerLooking(from: ServerId, incoming: Notification): void {
    if (this.#state === "LOOKING" || this.#decidedVote === null) return;
    if (incoming.state === "LOOKING") {
      this.#lookingHeard.set(from, { notification: incoming, tick: this.#tick });
    } else this.#lookingHeard.delete(from);
    const reply = Election.replyWhenDecided(
      this.myId,
      this.#state,
      this.#round,
      this.#decidedVote,
      incoming,
    );
    if (reply !== null) this.#send(from, { type: "NOTIFICATION", notification: reply });
  }

  // ---- LEADING -------------------------------------------------------------------------------

  #lead(): void {
    this.#reset("LEADING", "DISCOVERY", this.myId);
    this.#phaseStartTick = this.#tick;
    this.#announceLeading();
    this.#checkDiscoveryQuorum();
  }

  /**
   * Tells every other member that we lead. A follower that decided before us sent its FOLLOWERINFO
   * while we were still LOOKING (we dropped it) and would resend it only on its next tick; on this
   * notice it resends at once. A member still LOOKING treats it like any LEADING report. Without
   * it every ensemble start waited up to a tick in DISCOVERY (found timing scripts/compare).
   */
  #announceLeading(): void {
    const vote = this.#decidedVote!;
    for (const id of [...this.membership.voters, ...this.membership.observers]) {
      const notification: Notification = {
        round: this.#round,
        state: "LEADING",
        vote: { ...vote },
      };
      this.#send(id, { type: "NOTIFICATION", notification });
    }
  }

  #voterIds(): Set<ServerId> {
    return new Set(this.membership.voters);
  }

  /** DISCOVERY: once a quorum of voters (us included) sent FOLLOWERINFO, propose the new epoch. */
  #checkDiscoveryQuorum(): void {
    if (this.#phase !== "DISCOVERY" || this.#newEpoch !== 0) return;
    const voters = this.#voterIds();
    const joined = [...this.#learners.values()].filter((l) => voters.has(l.id));
    if (joined.length + 1 < quorumSize(this.membership.voters)) return;
    const highest = Math.max(this.#epochs.acceptedEpoch, ...joined.map((l) => l.acceptedEpoch));
    this.#newEpoch = highest + 1;
    this.#epochs = { ...this.#epochs, acceptedEpoch: this.#newEpoch };
    this.#out.push({ type: "persistEpochs", epochs: { ...this.#epochs } });
    for (const learner of this.#learners.values()) {
      this.#send(learner.id, { type: "LEADERINFO", epoch: this.#newEpoch });
    }
  }

  #onFollowerInfo(from: ServerId, msg: Extract<PeerMessage, { type: "FOLLOWERINFO" }>): void {
    // Links are FIFO and a learner stops sending FOLLOWERINFO once it has our LEADERINFO, so one
    // arriving after its ACKEPOCH starts a new attempt (it looked again, and found us again): it
    // is synced afresh. Ignoring it as a resend left the learner in DISCOVERY while we went on
    // forwarding it proposals (found by the ensemble simulation, seed 15971).
    this.#learners.delete(from);
    const acceptedOurs = this.#ackedOurEpoch.has(from) && msg.acceptedEpoch === this.#newEpoch;
    if (this.#newEpoch !== 0 && msg.acceptedEpoch >= this.#newEpoch && !acceptedOurs) {
      // It accepted an epoch at or above ours (from a discovery that never completed) and cannot
      // follow us: it would refuse our LEADERINFO, look, find us again, forever (found by the
      // simulator). Step down; the next discovery proposes an epoch above every accepted one.
      // (Our own epoch, which it acknowledged before, is no reason: it comes back to us.)
      return this.#lookForLeader();
    }
    const learner: LearnerView = {
      id: from,
      observer: msg.observer,
      acceptedEpoch: msg.acceptedEpoch,
      lastZxid: null,
      baseZxid: 0,
      forwarding: false,
      synced: false,
      lastHeardTick: this.#tick,
    };
    this.#learners.set(from, learner);
    if (this.#newEpoch === 0) this.#checkDiscoveryQuorum();
    else this.#send(from, { type: "LEADERINFO", epoch: this.#newEpoch });
  }

  #onAckEpoch(from: ServerId, msg: Extract<PeerMessage, { type: "ACKEPOCH" }>): void {
    const learner = this.#learners.get(from);
    // Unknown, too early, or a repeat (answering a resent FOLLOWERINFO): nothing to do. One that
    // answers another epoch is left over from a term we abandoned (found by the ensemble
    // simulation, seed 17138: it started a second sync of a learner that had finished one).
    if (!learner || this.#newEpoch === 0 || learner.lastZxid !== null) return;
    if (msg.epoch !== this.#newEpoch) return;
    if (
      msg.currentEpoch > this.#epochs.currentEpoch ||
      (msg.currentEpoch === this.#epochs.currentEpoch && msg.lastZxid > this.#lastZxid)
    ) {
      // A quorum member knows more than we do: the election picked wrongly; look again.
      return this.#lookForLeader();
    }
    learner.lastZxid = msg.lastZxid;
    learner.baseZxid = msg.baseZxid;
    this.#ackedOurEpoch.add(from);
    if (this.#phase === "DISCOVERY") this.#tryStartSync();
    else this.#syncLearner(learner);
  }

  /**
   * DISCOVERY -> SYNCHRONIZATION once a quorum acknowledged the new epoch and our own history is
   * durable: only then may currentEpoch say we hold it (see #ackNewLeaderWhenLogged).
   */
  #tryStartSync(): void {
    if (this.#state !== "LEADING" || this.#phase !== "DISCOVERY" || this.#newEpoch === 0) return;
    if (this.#loggedZxid < this.#lastZxid) return;
    const voters = this.#voterIds();
    const acked = [...this.#learners.values()].filter((l) =>
      voters.has(l.id) && l.lastZxid !== null
    );
    if (acked.length + 1 < quorumSize(this.membership.voters)) return;
    this.#phase = "SYNCHRONIZATION";
    this.#phaseStartTick = this.#tick;
    this.#epochs = { ...this.#epochs, currentEpoch: this.#newEpoch };
    this.#out.push({ type: "persistEpochs", epochs: { ...this.#epochs } });
    this.#role();
    for (const l of this.#learners.values()) if (l.lastZxid !== null) this.#syncLearner(l);
    this.#checkNewLeaderQuorum();
  }

  /**
   * SYNCHRONIZATION: bring one learner to our history, then NEWLEADER. DIFF and TRUNC are used
   * only where they are provably right:
   * - DIFF: their last zxid is in our history (zxids are unique, and a learner logs a leader's
   *   txns in order, so they hold our prefix up to it);
   * - TRUNC + DIFF: their last zxid is from an epoch whose txns we also hold, past the last of
   *   them we have (within one epoch both logs are prefixes of that epoch leader's sequence, so
   *   they hold ours up to it, and what they have beyond it was never committed);
   * - SNAP otherwise: too far behind our history, or their last txn is of an epoch we never saw.
   */
  #syncLearner(learner: LearnerView): void {
    assert(learner.lastZxid !== null, "a learner syncs after ACKEPOCH");
    const theirs = learner.lastZxid;
    const sameEpochBelow = this.#lastOfEpochBelow(zxidEpoch(theirs), theirs);
    if (this.#hasZxid(theirs)) {
      this.#send(learner.id, { type: "DIFF", lastZxid: this.#lastZxid });
      for (const record of this.#recordsAfter(theirs)) this.#sendRecord(learner, record);
    } else if (sameEpochBelow !== null && sameEpochBelow >= learner.baseZxid) {
      this.#send(learner.id, { type: "TRUNC", zxid: sameEpochBelow });
      for (const record of this.#recordsAfter(sameEpochBelow)) this.#sendRecord(learner, record);
    } else {
      this.#send(learner.id, {
        type: "SNAP",
        zxid: this.#committedZxid,
        image: this.#options.captureImage(),
      });
      for (const record of this.#recordsAfter(this.#committedZxid)) {
        this.#sendRecord(learner, record);
      }
    }
    this.#send(learner.id, { type: "NEWLEADER", epoch: this.#newEpoch });
    learner.forwarding = true;
  }

  /** Our last zxid of `epoch` below `zxid`, or null when our history holds none of that epoch. */
  #lastOfEpochBelow(epoch: number, zxid: number): number | null {
    let found: number | null = null;
    for (const record of this.#history) {
      if (zxidEpoch(record.zxid) === epoch && record.zxid < zxid) found = record.zxid;
    }
    return found;
  }

  /** Sends a history record during sync: committed ones with their COMMIT (INFORM to observers). */
  #sendRecord(learner: LearnerView, record: TxnRecord): void {
    if (learner.observer && record.zxid <= this.#committedZxid) {
      this.#send(learner.id, { type: "INFORM", record });
      return;
    }
    this.#send(learner.id, { type: "PROPOSAL", record });
    if (record.zxid <= this.#committedZxid) {
      this.#send(learner.id, { type: "COMMIT", zxid: record.zxid });
    }
  }

  #hasZxid(zxid: number): boolean {
    return zxid === this.#baseZxid || this.#history.some((r) => r.zxid === zxid);
  }

  #recordsAfter(zxid: number): TxnRecord[] {
    return this.#history.filter((r) => r.zxid > zxid);
  }

  #checkNewLeaderQuorum(): void {
    if (this.#phase !== "SYNCHRONIZATION") return;
    if (this.#loggedZxid < this.#lastZxid) return; // our own history must be durable too
    const voters = this.#voterIds();
    const acked = [...this.#newLeaderAcks].filter((id) => voters.has(id));
    if (acked.length + 1 < quorumSize(this.membership.voters)) return;
    this.#phase = "BROADCAST";
    // Our whole history is now on a quorum: it is committed, in the new epoch's order.
    this.#commitUpTo(this.#lastZxid);
    for (const learner of this.#learners.values()) {
      if (learner.synced) {
        this.#send(learner.id, { type: "UPTODATE", zxid: this.#committedZxid });
      }
    }
    this.#role();
  }

  #onLeaderAck(from: ServerId, msg: Extract<PeerMessage, { type: "ACK" }>): void {
    const learner = this.#learners.get(from);
    if (!learner) return;
    if (msg.newLeader) {
      learner.synced = true;
      if (!learner.observer) this.#newLeaderAcks.add(from);
      if (this.#phase === "BROADCAST") {
        this.#send(from, { type: "UPTODATE", zxid: this.#committedZxid });
      } else this.#checkNewLeaderQuorum();
      return;
    }
    if (learner.observer) return; // observers never count towards a commit
    for (const pending of this.#pending) {
      if (pending.record.zxid <= msg.zxid) pending.acks.add(from);
    }
    this.#commitReady();
  }

  // ---- BROADCAST (leader) --------------------------------------------------------------------

  #onPropose(records: TxnRecord[]): void {
    assert(
      this.#state === "LEADING" && this.#phase === "BROADCAST",
      "only a serving leader proposes",
    );
    for (const record of records) {
      assert(record.zxid > this.#lastZxid, "proposals follow the history");
      assert(
        zxidEpoch(record.zxid) === this.#epochs.currentEpoch,
        "proposals carry the current epoch",
      );
      this.#append(record);
      this.#pending.push({ record, acks: new Set() });
      // One message for every follower: the host encodes it once (see PeerLinks.send).
      const proposal: PeerMessage = { type: "PROPOSAL", record };
      for (const learner of this.#learners.values()) {
        if (learner.forwarding && !learner.observer) this.#send(learner.id, proposal);
      }
    }
    this.#logWrite(records);
  }

  /** Commits, in zxid order, every pending proposal a quorum of voters has logged. */
  #commitReady(): void {
    const needed = quorumSize(this.membership.voters);
    const voters = this.#voterIds();
    let upTo = 0;
    for (const pending of this.#pending) {
      const self = this.#loggedZxid >= pending.record.zxid && voters.has(this.myId) ? 1 : 0;
      const acks = [...pending.acks].filter((id) => voters.has(id)).length + self;
      if (acks < needed) break;
      upTo = pending.record.zxid;
    }
    if (upTo === 0) return;
    const committed = this.#pending.filter((p) => p.record.zxid <= upTo);
    this.#pending = this.#pending.filter((p) => p.record.zxid > upTo);
    this.#commitUpTo(upTo);
    for (const learner of this.#learners.values()) {
      if (!learner.forwarding) continue;
      if (learner.observer) {
        for (const p of committed) this.#send(learner.id, { type: "INFORM", record: p.record });
      } else this.#send(learner.id, { type: "COMMIT", zxid: upTo });
    }
  }

  // ---- FOLLOWING / OBSERVING -----------------------------------------------------------------

  #follow(leader: ServerId, state: "FOLLOWING" | "OBSERVING"): void {
    this.#reset(state, "DISCOVERY", leader);
    this.#leaderHeardTick = this.#tick;
    this.#sendFollowerInfo();
  }

  /**
   * Sent on joining and again every tick until LEADERINFO arrives: the leader may still have been
   * LOOKING when the first one came (it drops it), and without a retry both sides would wait for
   * each other until initLimit, again and again (found by the simulator).
   */
  #sendFollowerInfo(): void {
    this.#send(this.#leader!, {
      type: "FOLLOWERINFO",
      acceptedEpoch: this.#epochs.acceptedEpoch,
      observer: this.#state === "OBSERVING",
    });
  }

  #onLearnerMessage(msg: PeerMessage): void {
    // Only what a leader sends proves it alive: two servers that each think the other leads
    // would otherwise keep each other waiting forever with their FOLLOWERINFO resends.
    if (msg.type === "FOLLOWERINFO" || msg.type === "ACKEPOCH" || msg.type === "ACK") return;
    this.#leaderHeardTick = this.#tick;
    // Until LEADERINFO starts this attempt's sync, what the leader sends belongs to an earlier
    // attempt (in flight when we looked again): applying it could stack a new epoch's txns on a
    // stale history (found by the ensemble simulation, seed 15971).
    if (this.#phase === "DISCOVERY" && msg.type !== "LEADERINFO" && msg.type !== "PING") return;
    switch (msg.type) {
      case "LEADERINFO": {
        if (this.#phase !== "DISCOVERY") return; // a repeat, answering a resent FOLLOWERINFO
        if (msg.epoch < this.#epochs.acceptedEpoch) return this.#lookForLeader();
        this.#epochs = { ...this.#epochs, acceptedEpoch: msg.epoch };
        this.#out.push({ type: "persistEpochs", epochs: { ...this.#epochs } });
        this.#send(this.#leader!, {
          type: "ACKEPOCH",
          epoch: msg.epoch,
          currentEpoch: this.#epochs.currentEpoch,
          lastZxid: this.#lastZxid,
          baseZxid: this.#baseZxid,
        });
        this.#phase = "SYNCHRONIZATION";
        this.#role();
        return;
      }
      case "DIFF":
        return;
      case "TRUNC":
        this.#truncate(msg.zxid);
        return;
      case "SNAP":
        this.#out.push({ type: "installSnapshot", zxid: msg.zxid, image: msg.image });
        this.#logWrites = [];
        this.#history = [];
        this.#historyBytes = 0;
        this.#baseZxid = msg.zxid;
        this.#lastZxid = this.#loggedZxid = this.#committedZxid = msg.zxid;
        return;
      case "PROPOSAL":
        this.#append(msg.record);
        this.#logWrite([msg.record]);
        return;
      case "COMMIT":
        return this.#commitUpTo(msg.zxid);
      case "INFORM":
        if (msg.record.zxid > this.#lastZxid) {
          this.#append(msg.record);
          this.#logWrite([msg.record]);
        }
        return this.#commitUpTo(msg.record.zxid);
      case "NEWLEADER": {
        this.#newLeaderEpoch = msg.epoch;
        this.#newLeaderSeen = true;
        this.#newLeaderPending = true;
        this.#newLeaderZxid = this.#lastZxid;
        return this.#ackNewLeaderWhenLogged();
      }
      case "UPTODATE":
        // Everything the leader had committed when it sent this is committed: when a quorum
        // first acknowledged NEWLEADER that is its whole history (including txns of an old epoch
        // that never got a COMMIT of their own). A learner that joined a serving leader was also
        // sent its pending proposals: those wait for their COMMIT. (Committing up to NEWLEADER
        // here applied txns no quorum had logged; found by the ensemble simulation, seed 11870.)
        this.#commitUpTo(Math.min(msg.zxid, this.#newLeaderZxid));
        this.#phase = "BROADCAST";
        this.#role();
        // Proposals forwarded while we synced may be logged already: acknowledge them now.
        if (this.#state === "FOLLOWING") {
          this.#send(this.#leader!, { type: "ACK", zxid: this.#loggedZxid });
        }
        return;
      case "PING":
        this.#send(this.#leader!, { type: "PING" });
        return;
      default:
        return;
    }
  }

  /**
   * NEWLEADER is acknowledged only once everything the leader sent before it is logged; only
   * then does the new epoch become our currentEpoch. The order matters: elections rank servers by
   * currentEpoch first, so a currentEpoch must never claim a history the log does not hold (a
   * crash in between would let an empty log outrank the servers holding committed txns).
   */
  #ackNewLeaderWhenLogged(): void {
    if (!this.#newLeaderPending || this.#loggedZxid < this.#newLeaderZxid) return;
    this.#newLeaderPending = false;
    this.#epochs = { ...this.#epochs, currentEpoch: this.#newLeaderEpoch };
    this.#out.push({ type: "persistEpochs", epochs: { ...this.#epochs } });
    this.#send(this.#leader!, { type: "ACK", zxid: this.#newLeaderZxid, newLeader: true });
  }

  #truncate(zxid: number): void {
    assert(zxid >= this.#baseZxid, "a TRUNC never reaches below our snapshot");
    this.#history = this.#history.filter((r) => r.zxid <= zxid);
    this.#historyBytes = this.#history.reduce((sum, r) => sum + txnRecordBytes(r), 0);
    this.#lastZxid = this.#loggedZxid = zxid;
    // Truncated txns may have been applied by the host at recovery: it rebuilds to `zxid`.
    this.#committedZxid = Math.min(this.#committedZxid, zxid);
    this.#out.push({ type: "truncate", zxid });
    this.#logWrites = [];
  }

  // ---- shared --------------------------------------------------------------------------------

  #append(record: TxnRecord): void {
    assert(record.zxid > this.#lastZxid, `zxid ${record.zxid} follows ${this.#lastZxid}`);
    this.#history.push(record);
    this.#historyBytes += txnRecordBytes(record);
    this.#lastZxid = record.zxid;
    this.#trimHistory();
  }

  /**
   * Keeps at most `historyRecordsMax` records and `historyBytesMax` bytes for DIFF, each with a
   * slack of an eighth so the front of the array is cut in chunks rather than one record per
   * append. Only committed records are dropped: an uncommitted one must stay until it commits, or
   * its commit could not hand it to the host (found by the simulator: a follower skipped
   * committed txns).
   */
  #trimHistory(): void {
    const max = this.#options.historyRecordsMax;
    const bytesMax = this.#options.historyBytesMax;
    const overRecords = this.#history.length > max + Math.floor(max / 8);
    const overBytes = this.#historyBytes > bytesMax;
    if (!overRecords && !overBytes) return;
    const committed = this.#indexAfter(this.#committedZxid);
    let drop = 0;
    let bytes = this.#historyBytes;
    const keepBytes = bytesMax - Math.floor(bytesMax / 8);
    while (
      drop < committed && (this.#history.length - drop > max || (overBytes && bytes > keepBytes))
    ) {
      bytes -= txnRecordBytes(this.#history[drop]);
      drop++;
    }
    if (drop === 0) return;
    this.#baseZxid = this.#history[drop - 1].zxid;
    this.#history.splice(0, drop);
    this.#historyBytes = bytes;
  }

  /** Index of the first history record whose zxid is above `zxid` (the length if none). */
  #indexAfter(zxid: number): number {
    let low = 0;
    let high = this.#history.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.#history[mid].zxid <= zxid) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  #logWrite(records: TxnRecord[]): void {
    this.#logWrites.push(records.at(-1)!.zxid);
    this.#out.push({ type: "log", records });
  }

  #commitUpTo(zxid: number): void {
    const upTo = Math.min(zxid, this.#lastZxid);
    if (upTo <= this.#committedZxid) return;
    // The history is in zxid order: the records to commit are one slice of it.
    const records = this.#history.slice(
      this.#indexAfter(this.#committedZxid),
      this.#indexAfter(upTo),
    );
    assert(records.at(-1)?.zxid === upTo, "every record to commit is still in the history");
    this.#committedZxid = upTo;
    this.#out.push({ type: "commit", records });
    this.#trimHistory();
  }

  #onLogged(zxid: number): void {
    // Only writes issued since the last TRUNC or SNAP count: a late report of a write that was
    // cut away must not vouch for new records that take its place in the log.
    const index = this.#logWrites.indexOf(zxid);
    if (index < 0) return;
    this.#logWrites.splice(0, index + 1);
    this.#loggedZxid = Math.max(this.#loggedZxid, zxid);
    if (this.#state === "LEADING") {
      if (this.#phase === "DISCOVERY") this.#tryStartSync();
      else if (this.#phase === "SYNCHRONIZATION") this.#checkNewLeaderQuorum();
      else if (this.#phase === "BROADCAST") this.#commitReady();
    } else if (this.#state === "FOLLOWING" || this.#state === "OBSERVING") {
      this.#ackNewLeaderWhenLogged();
      if (this.#state === "FOLLOWING" && this.#phase === "BROADCAST" && this.#newLeaderSeen) {
        this.#send(this.#leader!, { type: "ACK", zxid: this.#loggedZxid });
      }
    }
  }

  #onMessage(from: ServerId, msg: PeerMessage): void {
    if (!this.membership.voters.includes(from) && !this.membership.observers.includes(from)) return;
    if (msg.type === "NOTIFICATION") {
      const following = this.#state === "FOLLOWING" || this.#state === "OBSERVING";
      if (following && from === this.#leader && msg.notification.state === "LOOKING") {
        // Our leader abandoned its term (ZooKeeper would see its connection close). Staying in
        // that term would leave us waiting forever while its pings of a new term keep us alive.
        this.#lookForLeader();
      } else if (
        following && from === this.#leader && this.#phase === "DISCOVERY" &&
        msg.notification.state === "LEADING"
      ) {
        this.#sendFollowerInfo(); // it just began to lead: our first FOLLOWERINFO was dropped
      }
      if (this.#election) {
        return this.#electionOutput(this.#election.receive(from, msg.notification));
      }
      return this.#answerLooking(from, msg.notification);
    }
    if (this.#state === "LEADING") {
      const learner = this.#learners.get(from);
      if (learner) learner.lastHeardTick = this.#tick;
      switch (msg.type) {
        case "FOLLOWERINFO":
          return this.#onFollowerInfo(from, msg);
        case "ACKEPOCH":
          return this.#onAckEpoch(from, msg);
        case "ACK":
          return this.#onLeaderAck(from, msg);
        default:
          return;
      }
    }
    if ((this.#state === "FOLLOWING" || this.#state === "OBSERVING") && from === this.#leader) {
      this.#onLearnerMessage(msg);
    }
  }

  #onLinkDown(peer: ServerId): void {
    if ((this.#state === "FOLLOWING" || this.#state === "OBSERVING") && peer === this.#leader) {
      return this.#lookForLeader();
    }
    if (this.#state === "LEADING" && this.#learners.delete(peer)) this.#checkLeaderQuorum();
  }

  #onTick(): void {
    this.#tick++;
    if (this.#election) return this.#electionOutput(this.#election.tick());
    const { initLimitTicks, syncLimitTicks } = this.#options;
    if (this.#state === "LEADING") {
      if (this.#phase !== "BROADCAST" && this.#tick - this.#phaseStartTick > initLimitTicks) {
        return this.#lookForLeader(); // no quorum joined in time
      }
      for (const learner of this.#learners.values()) this.#send(learner.id, { type: "PING" });
      for (const learner of [...this.#learners.values()]) {
        // A learner still syncing may be silent for a while (cutting its log, installing a
        // snapshot): it gets initLimit, as in ZooKeeper; a synced one syncLimit. Dropping a slow
        // syncer after syncLimit left it waiting for an UPTODATE that never came (found by
        // scripts/failover: a deposed leader rebuilding after TRUNC took over a second).
        const limit = learner.synced ? syncLimitTicks : initLimitTicks;
        if (this.#tick - learner.lastHeardTick > limit) this.#learners.delete(learner.id);
      }
      this.#checkLeaderQuorum();
      return;
    }
    const limit = this.#phase === "BROADCAST" ? syncLimitTicks : initLimitTicks;
    if (this.#tick - this.#leaderHeardTick > limit) return this.#lookForLeader();
    if (this.#phase === "DISCOVERY") this.#sendFollowerInfo();
  }

  /** A leader that no longer hears a quorum of voters steps down (it may be partitioned away). */
  #checkLeaderQuorum(): void {
    if (this.#state !== "LEADING" || this.#phase !== "BROADCAST") return;
    const voters = this.#voterIds();
    const live = [...this.#learners.values()].filter((l) => voters.has(l.id) && l.synced).length +
      1;
    if (live < quorumSize(this.membership.voters)) this.#lookForLeader();
  }

  #reset(state: ServerState, phase: Phase, leader: ServerId | null): void {
    this.#state = state;
    this.#phase = phase;
    this.#leader = leader;
    this.#learners.clear();
    this.#pending = [];
    this.#newLeaderAcks.clear();
    this.#ackedOurEpoch.clear();
    this.#newEpoch = 0;
    this.#newLeaderPending = false;
    this.#newLeaderSeen = false;
    this.#role();
  }

  #role(): void {
    const serving = this.#phase === "BROADCAST";
    this.#out.push({
      type: "role",
      state: this.#state,
      phase: this.#phase,
      leader: this.#leader,
      epoch: this.#epochs.currentEpoch,
      serving,
    });
  }

  #send(to: ServerId, msg: PeerMessage): void {
    if (to === this.myId) return;
    this.#out.push({ type: "send", to, msg });
  }
}

/**
 * What a record weighs in the DIFF history, roughly: its values, paths and ACL ids plus a fixed
 * overhead per txn. Only needs to be proportional to the memory the record holds.
 */
export function txnRecordBytes(record: TxnRecord): number {
  return txnBytes(record.txn);
}

function txnBytes(txn: Txn): number {
  const overhead = 64;
  switch (txn.type) {
    case "create":
      return overhead + txn.path.length + txn.data.byteLength + aclBytes(txn.acl);
    case "setData":
      return overhead + txn.path.length + txn.data.byteLength;
    case "setACL":
      return overhead + txn.path.length + aclBytes(txn.acl);
    case "delete":
    case "check":
      return overhead + txn.path.length;
    case "multi":
      return overhead + txn.txns.reduce((sum, t) => sum + txnBytes(t), 0);
    case "createSession":
      return overhead + txn.password.byteLength;
    case "closeSession":
      return overhead;
  }
}

function aclBytes(acl: readonly { scheme: string; id: string }[]): number {
  return acl.reduce((sum, a) => sum + a.id.length + a.scheme.length + 8, 0);
}
