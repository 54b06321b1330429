/**
 * Messages between servers of an ensemble (ZAB 1.0, REFERENCE §7), after election. Election
 * notifications are in types.ts. Every message travels over one FIFO link per pair of servers.
 * @module
 */
import type { TxnRecord } from "../tree/txn.ts";
import type { Notification, ServerId } from "./types.ts";

/** What a learner (follower or observer) tells its would-be leader first (DISCOVERY). */
export interface FollowerInfo {
  type: "FOLLOWERINFO";
  /** The highest epoch this learner has accepted (ZAB's acceptedEpoch). */
  acceptedEpoch: number;
  /** True for an observer: it learns but never votes or acks. */
  observer: boolean;
}

/** The leader's proposed new epoch, above every acceptedEpoch it heard (DISCOVERY). */
export interface LeaderInfo {
  type: "LEADERINFO";
  epoch: number;
}

/** A learner accepted the new epoch; it reports where its history ends (DISCOVERY). */
export interface AckEpoch {
  type: "ACKEPOCH";
  /**
   * The epoch accepted (the LEADERINFO this answers). A leader counts only ACKEPOCHs of its own
   * new epoch: one left over from a term it abandoned must not start a sync.
   */
  epoch: number;
  /** The learner's currentEpoch before this one. */
  currentEpoch: number;
  /** The learner's last logged zxid. */
  lastZxid: number;
  /**
   * Where the learner's history starts (its snapshot's zxid, or the last record it trimmed): a
   * TRUNC below it is impossible, so the leader sends a SNAP instead.
   */
  baseZxid: number;
}

/** How the leader brings a learner's history to its own (SYNCHRONIZATION). */
export type SyncStart =
  /** The learner's history is a prefix of the leader's: the missing records follow as PROPOSALs. */
  | { type: "DIFF"; lastZxid: number }
  /** The learner has records the leader does not: drop every record after `zxid`, then DIFF. */
  | { type: "TRUNC"; zxid: number }
  /** Too far behind (or diverged before the leader's history window): take this state whole. */
  | { type: "SNAP"; zxid: number; image: unknown };

/** The leader's history is sent; acknowledge when all of it is logged (SYNCHRONIZATION). */
export interface NewLeader {
  type: "NEWLEADER";
  epoch: number;
}

/** A quorum acknowledged NEWLEADER: the learner may serve (SYNCHRONIZATION -> BROADCAST). */
export interface UpToDate {
  type: "UPTODATE";
  /**
   * Every txn up to this zxid is committed (the leader's commit point when it sent this). A
   * learner that joins a serving leader is sent its pending proposals too, which it must not
   * count as committed until their COMMIT comes.
   */
  zxid: number;
}

/** A txn to log (sync backlog or BROADCAST). */
export interface Proposal {
  type: "PROPOSAL";
  record: TxnRecord;
}

/** A learner logged everything up to `zxid` (or, with `newLeader`, acknowledges NEWLEADER). */
export interface Ack {
  type: "ACK";
  zxid: number;
  newLeader?: boolean;
}

/** Every txn up to `zxid` is committed: apply them (to followers). */
export interface Commit {
  type: "COMMIT";
  zxid: number;
}

/** A committed txn for an observer, which was never sent the proposal. */
export interface Inform {
  type: "INFORM";
  record: TxnRecord;
}

/** Heartbeat; a learner answers each with its own PING (liveness both ways). */
export interface Ping {
  type: "PING";
}

/** Every message between peers after election. */
export type PeerMessage =
  | FollowerInfo
  | LeaderInfo
  | AckEpoch
  | SyncStart
  | NewLeader
  | UpToDate
  | Proposal
  | Ack
  | Commit
  | Inform
  | Ping
  /** An election notification (sent over the same links as everything else). */
  | { type: "NOTIFICATION"; notification: Notification };

/** A message addressed to a peer. */
export interface Outgoing {
  to: ServerId;
  msg: PeerMessage;
}
