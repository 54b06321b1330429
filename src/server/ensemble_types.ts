/**
 * How a server learns it is part of an ensemble: the members (zoo.cfg
 * `server.N=host:peerPort:electionPort[:observer]`) and the timing limits. Shared by the config
 * parser, the CLI and the server shell.
 * @module
 */

/** One member of an ensemble. */
export interface EnsembleMember {
  /** The member's id (`myid`), an integer in [0, 255]. */
  id: number;
  /** Host name or address the other members reach it at. */
  host: string;
  /** Port for ZAB traffic (discovery, sync, broadcast). */
  peerPort: number;
  /** Port for leader-election notifications. */
  electionPort: number;
  /** True for an observer: it replicates and serves clients but never votes. */
  observer: boolean;
}

/** Ensemble settings; every limit has a default tuned for fast failover on a LAN. */
export interface EnsembleOptions {
  /** Every member, this server included (its entry says where it listens). */
  members: EnsembleMember[];
  /** Length of a peer tick (heartbeats, election steps) in ms. Default 100. */
  peerTickMs?: number;
  /** How long a learner may take to connect and sync (ZooKeeper initLimit), ms. Default 10,000. */
  initLimitMs?: number;
  /** Silence after which a peer link counts as dead (ZooKeeper syncLimit), ms. Default 1,000. */
  syncLimitMs?: number;
}

/** Default peer tick. */
export const peerTickMsDefault = 100;
/** Default initLimit in ms. */
export const initLimitMsDefault = 10_000;
/** Default syncLimit in ms. */
export const syncLimitMsDefault = 1_000;
