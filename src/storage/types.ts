/**
 * The storage boundary: the replica hands ordered txn records to a {@linkcode TxnStore}, which
 * reports back "durable up to zxid". The in-memory store of this release is durable only for the
 * life of the process; the file store (txn log, snapshots, recovery) plugs in behind the same
 * interface.
 * @module
 */
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
  /** Highest zxid known durable. */
  readonly durableZxid: number;
  /** Flushes and releases resources. */
  close(): Promise<void>;
}
