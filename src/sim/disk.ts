/**
 * Simulated disks for nodes hosted by the simulator. The contract that matters is the one a real
 * disk gives: a write is durable only once an fsync that started after it has completed; a power
 * cut may lose any write that was not durable, or let it through anyway.
 *
 * A node writes to its disk directly (synchronously: it is the page cache) and asks for an fsync
 * with a `persist` action; the simulator starts the sync ({@linkcode SimDisk.syncBegin}), and
 * after a seeded fsync delay completes it ({@linkcode SimDisk.syncEnd}) and tells the node with a
 * `durable` event. A crash calls {@linkcode SimDisk.crash} and the restarted node is built from
 * what is left.
 * @module
 */
import { assert } from "../assert.ts";
import type { Rng } from "./rng.ts";

/** What the simulator needs from a node's disk. */
export interface SimDisk {
  /** Starts an fsync of everything written so far; returns a mark for {@linkcode syncEnd}. */
  syncBegin(): number;
  /** Completes the fsync started with `mark`: what was written before it is now durable. */
  syncEnd(mark: number): void;
  /** Cuts the power: writes that were not durable are lost or kept, as `rng` decides. */
  crash(rng: Rng): void;
}

/** Counters for reports and tests. */
export interface KvDiskStats {
  /** Calls to `set`. */
  writes: number;
  /** Completed syncs that made at least one write durable. */
  syncs: number;
  /** Unsynced writes a crash lost. */
  lost: number;
  /** Unsynced writes that survived a crash anyway. */
  kept: number;
}

interface PendingWrite<V> {
  seq: number;
  key: string;
  value: V;
}

/**
 * A key-value disk for node metadata (a persisted election round, an accepted epoch). Values are
 * copied in and out, as bytes on a disk would be, so the node mutating an object later does not
 * change what is stored.
 *
 * On a crash, each key keeps its durable value plus a random prefix of its unsynced writes (a
 * later write to a key never survives without the earlier ones to the same key), like separate
 * small files written in place.
 *
 * @example
 * ```ts
 * import { KvDisk } from "./disk.ts";
 * import { Rng } from "./rng.ts";
 * const disk = new KvDisk<number>();
 * disk.set("round", 1);
 * disk.syncEnd(disk.syncBegin()); // "round" = 1 is durable
 * disk.set("round", 2);
 * disk.crash(new Rng(3)); // "round" is now 1 or 2
 * ```
 */
export class KvDisk<V> implements SimDisk {
  /** What the disk went through, across crashes. */
  readonly stats: KvDiskStats = { writes: 0, syncs: 0, lost: 0, kept: 0 };
  readonly #durable = new Map<string, V>();
  #pending: PendingWrite<V>[] = [];
  #seq = 0;

  /** The newest value written under `key` (durable or not), or undefined. */
  get(key: string): V | undefined {
    for (let i = this.#pending.length - 1; i >= 0; i--) {
      if (this.#pending[i].key === key) return structuredClone(this.#pending[i].value);
    }
    const value = this.#durable.get(key);
    return value === undefined ? undefined : structuredClone(value);
  }

  /** The durable value under `key` (what a crash now would surely keep), or undefined. */
  durable(key: string): V | undefined {
    const value = this.#durable.get(key);
    return value === undefined ? undefined : structuredClone(value);
  }

  /** Writes `value` under `key`; durable after the next completed sync. */
  set(key: string, value: V): void {
    assert(value !== undefined, "a stored value is not undefined");
    this.#pending.push({ seq: ++this.#seq, key, value: structuredClone(value) });
    this.stats.writes++;
  }

  /** Writes not yet durable. */
  get unsyncedCount(): number {
    return this.#pending.length;
  }

  syncBegin(): number {
    return this.#seq;
  }

  syncEnd(mark: number): void {
    assert(mark >= 0 && mark <= this.#seq, "a sync mark came from syncBegin()");
    let synced = 0;
    while (this.#pending.length > 0 && this.#pending[0].seq <= mark) {
      const write = this.#pending.shift()!;
      this.#durable.set(write.key, write.value);
      synced++;
    }
    if (synced > 0) this.stats.syncs++;
  }

  crash(rng: Rng): void {
    const lostKeys = new Set<string>();
    for (const write of this.#pending) {
      if (!lostKeys.has(write.key) && rng.chance(0.5)) {
        this.#durable.set(write.key, write.value);
        this.stats.kept++;
      } else {
        lostKeys.add(write.key);
        this.stats.lost++;
      }
    }
    this.#pending = [];
  }
}
