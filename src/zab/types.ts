/**
 * Vocabulary of the ZAB protocol core (REFERENCE §7, docs/ZAB.md when complete): server states,
 * phases, votes and election notifications. Pure data; no I/O.
 * @module
 */

/** A server's state, ZooKeeper's names (REFERENCE §7). */
export type ServerState = "LOOKING" | "FOLLOWING" | "LEADING" | "OBSERVING";

/** ZAB 1.0 phases. */
export type Phase = "ELECTION" | "DISCOVERY" | "SYNCHRONIZATION" | "BROADCAST";

/** A server id (`myid`), an integer in [0, 255]. */
export type ServerId = number;

/**
 * A vote: who should lead, judged by the candidate's last logged zxid and its current epoch.
 * A vote is better than another when its `epoch` is higher, then its `zxid`, then its `leader` id.
 */
export interface Vote {
  /** The proposed leader. */
  leader: ServerId;
  /** The proposed leader's last logged zxid. */
  zxid: number;
  /** The proposed leader's current epoch (ZooKeeper's peerEpoch). */
  epoch: number;
}

/**
 * What servers exchange during fast leader election: the sender's state, its election round
 * (ZooKeeper's logical clock / electionEpoch) and its current vote.
 */
export interface Notification {
  /** Election round of the sender; a LOOKING server adopts a higher round and restarts its vote. */
  round: number;
  /** The sender's state: LOOKING while electing; FOLLOWING/LEADING/OBSERVING once decided. */
  state: ServerState;
  vote: Vote;
}

/** The ensemble's members: voters elect and form quorums; observers learn only. */
export interface Membership {
  voters: readonly ServerId[];
  observers: readonly ServerId[];
}

/** True when `a` is a better vote than `b` (REFERENCE §7: epoch, then zxid, then server id). */
export function betterVote(a: Vote, b: Vote): boolean {
  if (a.epoch !== b.epoch) return a.epoch > b.epoch;
  if (a.zxid !== b.zxid) return a.zxid > b.zxid;
  return a.leader > b.leader;
}

/** True when the two votes name the same leader with the same zxid and epoch. */
export function sameVote(a: Vote, b: Vote): boolean {
  return a.leader === b.leader && a.zxid === b.zxid && a.epoch === b.epoch;
}

/** Smallest number of voters that is a majority of `voters`. */
export function quorumSize(voters: readonly ServerId[]): number {
  return Math.floor(voters.length / 2) + 1;
}
