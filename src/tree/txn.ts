/**
 * Transactions: the deterministic, fully resolved form of a write. The prepare step turns a
 * validated request into a txn (sequence numbers, versions and ACLs decided); every replica then
 * applies the same txns in zxid order and reaches the same tree (REFERENCE §1, §7).
 * @module
 */
import type { Acl } from "./types.ts";

/** One txn; `multi` nests the others (but never another multi or a session txn). */
export type Txn =
  | {
    type: "create";
    /** Final path (sequence suffix already appended). */
    path: string;
    data: Uint8Array;
    acl: Acl[];
    /** Owning session for an ephemeral, 0 otherwise. */
    ephemeralOwner: number;
    /** The parent's cversion after this create. */
    parentCversion: number;
    /** ZooKeeper's null data (`data` is then empty): getData answers null, not empty bytes. */
    dataNull?: true;
  }
  | { type: "delete"; path: string }
  | {
    type: "setData";
    path: string;
    data: Uint8Array;
    /** The node's version after this change. */
    version: number;
    /** ZooKeeper's null data (`data` is then empty). */
    dataNull?: true;
  }
  | {
    type: "setACL";
    path: string;
    acl: Acl[];
    /** The node's aversion after this change. */
    aversion: number;
  }
  | { type: "check"; path: string; version: number }
  | { type: "multi"; txns: Txn[] }
  | { type: "createSession"; sessionId: number; timeoutMs: number; password: Uint8Array }
  | { type: "closeSession"; sessionId: number };

/** A txn with its position in the global order and its origin. */
export interface TxnRecord {
  /** Position in the global order: epoch << 32 | counter. */
  zxid: number;
  /** Wall-clock ms chosen by the server that ordered it, the same on every replica. */
  timeMs: number;
  /** Session that issued it (0 for server-originated txns). */
  sessionId: number;
  txn: Txn;
}

/** zxid layout (REFERENCE §7): high part epoch, low 32 bits counter, kept within 2^53. */
export const zxidCounterBits = 32;
/** Largest epoch that keeps a zxid a safe JavaScript integer. */
export const zxidEpochMax = 2 ** (53 - zxidCounterBits) - 1;

/** Builds a zxid from an epoch and a counter. */
export function makeZxid(epoch: number, counter: number): number {
  if (!(epoch >= 0 && epoch <= zxidEpochMax && Number.isInteger(epoch))) {
    throw new RangeError(`epoch ${epoch} is outside [0, ${zxidEpochMax}]`);
  }
  if (!(counter >= 0 && counter < 2 ** zxidCounterBits && Number.isInteger(counter))) {
    throw new RangeError(`zxid counter ${counter} is outside [0, 2^32)`);
  }
  return epoch * 2 ** zxidCounterBits + counter;
}

/** Epoch part of a zxid. */
export function zxidEpoch(zxid: number): number {
  return Math.floor(zxid / 2 ** zxidCounterBits);
}

/** Counter part of a zxid. */
export function zxidCounter(zxid: number): number {
  return zxid % 2 ** zxidCounterBits;
}
