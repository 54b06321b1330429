/**
 * The storage boundary: the replica hands ordered txn records to a {@linkcode TxnStore}, which
 * reports back "durable up to zxid" (or that a batch failed). A {@linkcode DurableStore} also
 * keeps snapshots and the ZAB epochs and recovers them at start (REFERENCE §8, docs/STORAGE.md).
 * @module
 */
import type { NodeImage } from "../tree/data_tree.ts";
import type { TxnRecord } from "../tree/txn.ts";

/** Where ordered txns go before they are applied and acknowledged. */
export interface TxnStore {
  /**
   * Appends records in zxid order. The store later calls the `durable` callback with the
   * highest zxid it has made durable; records are durable in order, so that covers every record
   * at or before it. Appends made while a sync runs are covered by the next one (group commit).
   */
  append(records: readonly TxnRecord[]): void;
  /** Registers the callback for durability reports (one per store). */
  onDurable(callback: (zxid: number) => void): void;
  /**
   * Registers the callback for failures: every appended record from `zxid` on was NOT made
   * durable and is forgotten by the store (nothing of it is left on disk); later appends are
   * tried afresh, so writes resume when the cause (a full disk) goes away.
   */
  onFailure(callback: (zxid: number, error: Error) => void): void;
  /** Highest zxid known durable. */
  readonly durableZxid: number;
  /** Writes and syncs what was appended (reporting it durable), then releases resources. */
  close(): Promise<void>;
}

/** A session as a snapshot keeps it. */
export interface SessionImage {
  id: number;
  timeoutMs: number;
  password: Uint8Array;
}

/** A consistent image of the replicated state after the txn `zxid`. */
export interface SnapshotImage {
  zxid: number;
  nodes: readonly NodeImage[];
  sessions: readonly SessionImage[];
}

/** ZAB's persistent epochs (REFERENCE §7): the last epoch proposed to us, and the one we follow. */
export interface Epochs {
  acceptedEpoch: number;
  currentEpoch: number;
}

/** What recovery found: the newest valid snapshot, the records after it, and what it did. */
export interface Recovered {
  snapshot: SnapshotImage | null;
  /** Records after the snapshot's zxid, contiguous and in order. */
  records: TxnRecord[];
  epochs: Epochs;
  /** Human-readable notes of what recovery did (torn tail truncated, snapshot skipped, ...). */
  notes: string[];
}

/** Facts about a saved snapshot. */
export interface SnapshotInfo {
  /** The zxid of the last txn the snapshot holds. */
  zxid: number;
  /** File name (or the simulated equivalent). */
  name: string;
  /** Size of the snapshot in bytes. */
  bytes: number;
  /** Znodes in the snapshot. */
  nodeCount: number;
  /** Sessions in the snapshot. */
  sessionCount: number;
}

/** A txn store that also survives restarts: snapshots, epochs and recovery. */
export interface DurableStore extends TxnStore {
  /** Loads the newest valid snapshot and the log after it. Call once, before the first append. */
  recover(): Promise<Recovered>;
  /** Writes a snapshot durably; older snapshots and logs beyond retention are purged after. */
  saveSnapshot(image: SnapshotImage): Promise<SnapshotInfo>;
  /** Persists the epochs durably (atomically replaces the previous ones). */
  writeEpochs(epochs: Epochs): Promise<void>;
  /**
   * Durably removes every logged record after `zxid` (ZAB's TRUNC: txns this follower logged
   * that the new leader never committed). Records appended before the call are first made
   * durable (or fail), then cut like the others; records appended after the call are held and
   * written once the truncation is done. Afterwards `durableZxid` is the last record kept (the
   * newest snapshot's zxid when no logged record above it is left), which is
   * `min(durableZxid, zxid)` whenever `zxid` is in the log; the next append may be any zxid that
   * may follow that one (the same epoch and counter + 1, or a later epoch). Rejects, changing
   * nothing, when `zxid` is below the newest snapshot's: that state cannot be rebuilt.
   *
   * A crash part-way leaves a state recovery accepts: the old log, the new one, or (when the cut
   * spans several log files) a prefix of the old log that still holds the new one.
   */
  truncateAfter(zxid: number): Promise<void>;
  /**
   * Replaces the whole state with `image` (ZAB's SNAP sync): writes it as the newest snapshot and
   * removes every log file and every other snapshot, so that recovery afterwards yields exactly
   * `{snapshot: image, records: []}`. Appends are handled as in
   * {@linkcode DurableStore.truncateAfter}; later appends follow `image.zxid`, which becomes
   * `durableZxid`.
   *
   * A crash part-way leaves a state recovery accepts: the old one, the new one, or the old one
   * without its logged records after `image.zxid` (records at or below it are kept until the
   * image is in place, so nothing this store acknowledged and the image lacks can be lost).
   */
  installSnapshot(image: SnapshotImage): Promise<void>;
  /**
   * Reads the state back from the disk, as {@linkcode DurableStore.recover} does, at any time
   * after it (the host rebuilds its state this way after a truncation). Appends made before the
   * call are made durable first; those made during it are held until it is done.
   */
  reload(): Promise<Recovered>;
}

/** Recovery found damage it must not repair by itself; the message names the file and offset. */
export class CorruptionError extends Error {
  override name = "CorruptionError";
}
