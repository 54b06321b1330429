/**
 * A {@linkcode DurableStore} over a simulated disk, for the deterministic simulator (DESIGN.md):
 * no timers, no real I/O, no randomness of its own. The owner decides when a sync completes
 * ({@linkcode SimStore.sync}), when it fails ({@linkcode SimStore.failNextSync}) and when the
 * power is cut ({@linkcode SimStore.crash}, driven by the owner's seeded random source), then
 * brings the server back with {@linkcode SimStore.reopen}.
 *
 * What a crash may do is what a real disk may do to the file store: records that were appended
 * but not synced are lost, or a prefix of them reached the platter and the last of those may be
 * torn (recovery drops it, as the file store truncates a torn tail). A durable record is never
 * lost and records are never reordered.
 *
 * Ensemble sync ({@linkcode SimStore.truncateAfter}, {@linkcode SimStore.installSnapshot}) changes
 * the disk in the steps the file store takes, each atomic; {@linkcode SimStore.beforeDiskStep}
 * lets the owner cut the power between any two of them.
 * @module
 */
import { assert } from "../assert.ts";
import type { TxnRecord } from "../tree/txn.ts";
import { zxidCounter, zxidEpoch } from "../tree/txn.ts";
import { nodeToBody, sessionToBody } from "./codec.ts";
import { encodeRecord } from "./record.ts";
import type { DurableStore, Epochs, Recovered, SnapshotImage, SnapshotInfo } from "./types.ts";
import { CorruptionError } from "./types.ts";

/** Settings of a {@linkcode SimStore}. */
export interface SimStoreOptions {
  /** Snapshots kept by retention (and the log records they need). Default 3, at least 1. */
  snapRetainCount?: number;
}

/** Counters, like the file store's, for the simulator's reports. */
export interface SimStoreStats {
  /** Syncs that made at least one record durable. */
  syncs: number;
  recordsSynced: number;
  /** Syncs that failed (each failing every unsynced record). */
  failures: number;
}

/** What a {@linkcode SimStore.crash} did to the records that were not yet durable. */
export interface CrashReport {
  /** Unsynced records that never reached the disk. */
  lost: number;
  /** Unsynced records that reached the disk anyway (recovery returns them, unless torn). */
  kept: number;
  /** Whether the last kept record is torn (recovery drops it and says so). */
  torn: boolean;
}

/** One record on the simulated disk; only the last one can be torn. */
interface LogEntry {
  record: TxnRecord;
  torn: boolean;
}

/** What survives a crash. Shared by a store and every store reopened over it. */
interface Disk {
  log: LogEntry[];
  /** Oldest first. */
  snapshots: Array<{ info: SnapshotInfo; image: SnapshotImage }>;
  epochs: Epochs;
  /** The store that may use the disk: only the newest one opened over it. */
  owner: SimStore | null;
}

type State = "open" | "recovered" | "crashed" | "closed";

/** True when `next` may follow `previous` in the log: the file store's rule. */
function follows(previous: number, next: number): boolean {
  if (zxidEpoch(next) === zxidEpoch(previous)) return next === previous + 1;
  return zxidEpoch(next) > zxidEpoch(previous) && zxidCounter(next) >= 1;
}

/** `snapshot.<16 hex digits>`, the name the file store would give the same snapshot. */
function snapshotName(zxid: number): string {
  return `snapshot.${zxid.toString(16).padStart(16, "0")}`;
}

/** The encoded size of a snapshot's nodes and sessions (the file store adds a little framing). */
function imageBytes(image: SnapshotImage): number {
  let bytes = 0;
  for (const node of image.nodes) bytes += encodeRecord(nodeToBody(node)).byteLength;
  for (const session of image.sessions) bytes += encodeRecord(sessionToBody(session)).byteLength;
  return bytes;
}

/**
 * A durable store whose disk lives in memory and whose syncs, failures and crashes happen when
 * the owner says so.
 *
 * @example
 * ```ts
 * import { SimStore } from "./sim_store.ts";
 * const store = new SimStore();
 * await store.recover();
 * store.onDurable((zxid) => console.log("durable up to", zxid));
 * store.append([{ zxid: 1, timeMs: 0, sessionId: 0, txn: { type: "check", path: "/", version: -1 } }]);
 * store.sync(); // logs "durable up to 1"
 * store.append([{ zxid: 2, timeMs: 0, sessionId: 0, txn: { type: "check", path: "/", version: -1 } }]);
 * store.crash(() => 0.99); // record 2 was not synced: it may survive or be lost
 * const restarted = store.reopen();
 * const { records } = await restarted.recover(); // record 1, then perhaps record 2
 * ```
 */
export class SimStore implements DurableStore {
  readonly stats: SimStoreStats = { syncs: 0, recordsSynced: 0, failures: 0 };
  readonly #options: SimStoreOptions;
  readonly #snapRetainCount: number;
  #disk: Disk;
  #state: State = "open";
  #unsynced: TxnRecord[] = [];
  #durableZxid = 0;
  #failure: Error | null = null;
  /** Appended while a truncation, install or reload is queued: unsynced once it is done. */
  #held: TxnRecord[] = [];
  #holding = 0;
  #beforeDiskStep: ((step: string) => void) | null = null;
  #onDurable: (zxid: number) => void = () => {};
  #onFailure: (zxid: number, error: Error) => void = () => {};

  /** A store over a new, empty disk. */
  constructor(options: SimStoreOptions = {}) {
    this.#options = { ...options };
    this.#snapRetainCount = Math.max(1, options.snapRetainCount ?? 3);
    this.#disk = {
      log: [],
      snapshots: [],
      epochs: { acceptedEpoch: 0, currentEpoch: 0 },
      owner: this,
    };
  }

  get durableZxid(): number {
    return this.#durableZxid;
  }

  /** Records appended and not yet synced (what a crash now could lose). */
  get unsyncedCount(): number {
    return this.#unsynced.length;
  }

  /** The snapshots on the disk, oldest first. */
  get snapshots(): SnapshotInfo[] {
    return this.#disk.snapshots.map((s) => ({ ...s.info }));
  }

  /** Zxids of the records on the disk, oldest first, torn ones included (for inspection). */
  get loggedZxids(): number[] {
    return this.#disk.log.map((e) => e.record.zxid);
  }

  onDurable(callback: (zxid: number) => void): void {
    this.#onDurable = callback;
  }

  onFailure(callback: (zxid: number, error: Error) => void): void {
    this.#onFailure = callback;
  }

  // ---- appending and syncing -----------------------------------------------------------------

  /**
   * Queues records for the next sync. They are copied, as bytes written to a file would be, so
   * the owner changing its objects later does not change the disk.
   */
  append(records: readonly TxnRecord[]): void {
    this.#assertUsable();
    assert(this.#state === "recovered", "recover() runs before the first append");
    for (const record of records) {
      if (this.#holding > 0) {
        // After a truncation or install: they follow whatever it leaves, checked by recovery.
        const last = this.#held.at(-1)?.zxid ?? 0;
        assert(record.zxid > last, `zxid ${record.zxid} follows ${last}`);
        this.#held.push(structuredClone(record));
        continue;
      }
      const last = this.#unsynced.at(-1)?.zxid ?? this.#durableZxid;
      assert(record.zxid > last, `zxid ${record.zxid} follows ${last}`);
      this.#unsynced.push(structuredClone(record));
    }
  }

  /**
   * Completes a sync of every unsynced record: they become durable and `onDurable` reports the
   * last one. Returns how many records it made durable (0 when there were none, or when the sync
   * failed because of {@linkcode SimStore.failNextSync}).
   *
   * @example
   * ```ts
   * import { SimStore } from "./sim_store.ts";
   * const store = new SimStore();
   * await store.recover();
   * store.sync(); // 0: nothing to write
   * ```
   */
  sync(): number {
    return this.syncSome(this.#unsynced.length);
  }

  /**
   * Completes a sync of the oldest `count` unsynced records only (a group commit that covered
   * part of the queue); the rest wait for a later sync. A failing sync still fails all of them.
   */
  syncSome(count: number): number {
    this.#assertUsable();
    assert(Number.isInteger(count) && count >= 0, "a sync covers a whole number of records");
    if (this.#unsynced.length === 0 || count === 0) return 0;
    if (this.#failure !== null) {
      const error = this.#failure;
      this.#failure = null;
      return this.#fail(error);
    }
    const batch = this.#unsynced.splice(0, Math.min(count, this.#unsynced.length));
    for (const record of batch) this.#disk.log.push({ record, torn: false });
    this.stats.syncs++;
    this.stats.recordsSynced += batch.length;
    this.#durableZxid = batch.at(-1)!.zxid;
    this.#onDurable(this.#durableZxid);
    return batch.length;
  }

  /**
   * Makes the next sync that has records to write fail with `error` (a full disk, say): it
   * reports `onFailure` from the first unsynced zxid and forgets every unsynced record; later
   * appends are tried afresh.
   *
   * @example
   * ```ts
   * import { SimStore } from "./sim_store.ts";
   * const store = new SimStore();
   * await store.recover();
   * store.onFailure((zxid, error) => console.log(zxid, error.message)); // 1 "ENOSPC"
   * store.failNextSync(new Error("ENOSPC"));
   * store.append([{ zxid: 1, timeMs: 0, sessionId: 0, txn: { type: "check", path: "/", version: -1 } }]);
   * store.sync(); // 0
   * ```
   */
  failNextSync(error: Error): void {
    this.#assertUsable();
    this.#failure = error;
  }

  #fail(error: Error): number {
    const failed = this.#unsynced;
    this.#unsynced = [];
    this.stats.failures++;
    this.#onFailure(failed[0].zxid, error);
    return 0;
  }

  // ---- crash and restart ---------------------------------------------------------------------

  /**
   * Cuts the power. Every durable record stays. Of the unsynced ones, `rng` (uniform in [0, 1),
   * the owner's seeded source) picks how long a prefix reached the disk anyway, and whether the
   * last record of that prefix is torn. Snapshot and epoch writes not yet resolved are lost
   * (their promises reject). The store is dead afterwards: no callback fires again.
   *
   * @example
   * ```ts
   * import { SimStore } from "./sim_store.ts";
   * const store = new SimStore();
   * await store.recover();
   * store.crash(() => 0); // { lost: 0, kept: 0, torn: false }: nothing was unsynced
   * ```
   */
  crash(rng: () => number): CrashReport {
    this.#assertUsable();
    const unsynced = this.#unsynced;
    // Held back by a truncation or install, they were never written: all lost.
    const held = this.#held.length;
    this.#unsynced = [];
    this.#held = [];
    this.#state = "crashed";
    this.#disk.owner = null;
    if (unsynced.length === 0) return { lost: held, kept: 0, torn: false };
    const kept = Math.min(unsynced.length, Math.floor(rng() * (unsynced.length + 1)));
    const torn = kept > 0 && rng() < 0.5;
    for (let i = 0; i < kept; i++) {
      this.#disk.log.push({ record: unsynced[i], torn: torn && i === kept - 1 });
    }
    return { lost: unsynced.length - kept + held, kept, torn };
  }

  /**
   * A fresh store over the same disk, as the restarted server would open it; call
   * {@linkcode SimStore.recover} on it next. Only after {@linkcode SimStore.crash} or
   * {@linkcode SimStore.close}: two live stores never share a disk.
   */
  reopen(): SimStore {
    assert(
      this.#state === "crashed" || this.#state === "closed",
      "reopen() follows crash() or close()",
    );
    assert(this.#disk.owner === null, "only one store at a time uses a disk");
    const store = new SimStore(this.#options);
    store.#disk = this.#disk;
    this.#disk.owner = store;
    return store;
  }

  /**
   * Loads the newest snapshot and the records after it. A torn record at the end of the log is
   * dropped from the disk and noted, as the file store truncates a torn tail.
   */
  recover(): Promise<Recovered> {
    this.#assertUsable();
    assert(this.#state === "open", "recover() runs once");
    const recovered = this.#load();
    this.#state = "recovered";
    return Promise.resolve(recovered);
  }

  /**
   * Reads the state back from the disk as {@linkcode SimStore.recover} does, one microtask from
   * now (after snapshot writes already under way). Unsynced records are synced first (the file
   * store waits for them); records appended meanwhile wait until it is done.
   */
  reload(): Promise<Recovered> {
    return this.#exclusive("reload()", () => this.#load());
  }

  /** The newest snapshot and the records after it; drops a torn last record from the disk. */
  #load(): Recovered {
    const notes: string[] = [];
    const disk = this.#disk;
    const last = disk.log.at(-1);
    if (last?.torn) {
      disk.log.pop();
      notes.push(
        `truncated a torn tail of the log after zxid 0x${
          (disk.log.at(-1)?.record.zxid ?? 0).toString(16)
        } (1 record)`,
      );
    }
    const newest = disk.snapshots.at(-1) ?? null;
    const start = newest?.image.zxid ?? 0;
    const records: TxnRecord[] = [];
    let previous = start;
    for (const [index, entry] of disk.log.entries()) {
      if (entry.record.zxid <= start) continue;
      if (!follows(previous, entry.record.zxid)) {
        throw new CorruptionError(
          `sim disk log entry ${index}: zxid 0x${entry.record.zxid.toString(16)} cannot follow 0x${
            previous.toString(16)
          } (a gap or a reorder)`,
        );
      }
      records.push(structuredClone(entry.record));
      previous = entry.record.zxid;
    }
    this.#durableZxid = previous;
    return {
      snapshot: newest === null ? null : structuredClone(newest.image),
      records,
      epochs: { ...disk.epochs },
      notes,
    };
  }

  // ---- snapshots and epochs ------------------------------------------------------------------

  /**
   * Writes a snapshot; it is durable when the promise resolves (one microtask later), and a
   * crash before that loses it. Then retention keeps the newest snapshots and drops the log
   * records the oldest of them covers.
   */
  saveSnapshot(image: SnapshotImage): Promise<SnapshotInfo> {
    this.#assertUsable();
    assert(this.#state === "recovered", "recover() runs before a snapshot");
    const copy = structuredClone(image);
    const info = snapshotInfo(image);
    return this.#afterWrite(() => {
      const snapshots = this.#disk.snapshots.filter((s) => s.info.zxid !== info.zxid);
      snapshots.push({ info, image: copy });
      snapshots.sort((a, b) => a.info.zxid - b.info.zxid);
      this.#disk.snapshots = snapshots.slice(-this.#snapRetainCount);
      const oldestKept = this.#disk.snapshots[0].info.zxid;
      // Torn entries are only ever the last one, after a crash; recovery removes them first.
      this.#disk.log = this.#disk.log.filter((e) => e.record.zxid > oldestKept);
      return { ...info };
    });
  }

  /** Replaces the epochs on the disk; durable when the promise resolves (one microtask later). */
  writeEpochs(epochs: Epochs): Promise<void> {
    this.#assertUsable();
    const copy = { acceptedEpoch: epochs.acceptedEpoch, currentEpoch: epochs.currentEpoch };
    return this.#afterWrite(() => {
      this.#disk.epochs = copy;
    });
  }

  /**
   * Runs `commit` one microtask from now unless the power was cut in between. A clean close in
   * between does not stop it: a process that shuts down lets its writes finish.
   */
  #afterWrite<T>(commit: () => T): Promise<T> {
    return Promise.resolve().then(() => {
      const owned = this.#disk.owner === this ||
        (this.#state === "closed" && this.#disk.owner === null);
      if (this.#state === "crashed" || !owned) {
        throw new Error("the store crashed before the write was durable");
      }
      return commit();
    });
  }

  // ---- ensemble sync: truncation and snapshot install ----------------------------------------

  /**
   * Registers a callback called before each atomic step by which {@linkcode SimStore.truncateAfter}
   * and {@linkcode SimStore.installSnapshot} change the disk, with the step's name. It may call
   * {@linkcode SimStore.crash}: the power is then cut before the step lands, and the operation
   * rejects. `null` removes it.
   *
   * @example
   * ```ts
   * import { SimStore } from "./sim_store.ts";
   * const store = new SimStore();
   * await store.recover();
   * store.beforeDiskStep((step) => console.log(step)); // "cut the log after 0x0"
   * await store.truncateAfter(0);
   * ```
   */
  beforeDiskStep(callback: ((step: string) => void) | null): void {
    this.#beforeDiskStep = callback;
  }

  /**
   * Removes every logged record after `zxid`, one microtask from now. Unsynced records are
   * synced first (as the file store waits for its writes), then cut like the others; records
   * appended meanwhile wait until it is done. Rejects, changing nothing, when `zxid` is below the
   * newest snapshot. One step: `cut the log after <zxid>`.
   */
  truncateAfter(zxid: number): Promise<void> {
    return this.#exclusive("truncateAfter()", () => {
      const disk = this.#disk;
      const snapshotZxid = disk.snapshots.at(-1)?.info.zxid ?? 0;
      if (zxid < snapshotZxid) {
        throw new Error(
          `cannot truncate the log after zxid 0x${zxid.toString(16)}: the newest snapshot ` +
            `already holds the state at 0x${snapshotZxid.toString(16)}`,
        );
      }
      this.#step(`cut the log after 0x${zxid.toString(16)}`, () => {
        disk.log = disk.log.filter((e) => e.record.zxid <= zxid);
      });
      this.#durableZxid = Math.max(disk.log.at(-1)?.record.zxid ?? 0, snapshotZxid);
    });
  }

  /**
   * Replaces the state with `image`, one microtask from now; appends are handled as by
   * {@linkcode SimStore.truncateAfter}. The steps, as the file store takes them: remove the
   * snapshots after the image, cut the log after it (until here recovery finds the old state,
   * less records after the image), write the image (from here on it finds the new state), remove
   * the old log and snapshots.
   */
  installSnapshot(image: SnapshotImage): Promise<void> {
    const copy = structuredClone(image);
    const info = snapshotInfo(image);
    const zxid = image.zxid;
    const at = `0x${zxid.toString(16)}`;
    return this.#exclusive("installSnapshot()", () => {
      const disk = this.#disk;
      this.#step(`remove the snapshots after ${at}`, () => {
        disk.snapshots = disk.snapshots.filter((s) => s.info.zxid <= zxid);
      });
      this.#step(`cut the log after ${at}`, () => {
        disk.log = disk.log.filter((e) => e.record.zxid <= zxid);
      });
      this.#step(`write ${info.name}`, () => {
        disk.snapshots = [...disk.snapshots.filter((s) => s.info.zxid !== zxid), {
          info,
          image: copy,
        }];
      });
      this.#step("remove the old log and snapshots", () => {
        disk.log = [];
        disk.snapshots = [{ info, image: copy }];
      });
      this.#durableZxid = zxid;
    });
  }

  /** Applies one atomic disk step, unless the step callback cut the power first. */
  #step(name: string, apply: () => void): void {
    this.#beforeDiskStep?.(name);
    if (this.#state === "crashed") {
      throw new Error("the store crashed before the write was durable");
    }
    apply();
  }

  /**
   * Syncs what was appended, then runs `work` one microtask from now (after snapshot and epoch
   * writes already under way), holding appends made meanwhile until it is done.
   */
  #exclusive<T>(what: string, work: () => T): Promise<T> {
    this.#assertUsable();
    assert(this.#state === "recovered", `recover() runs before ${what}`);
    this.sync();
    this.#holding++;
    return this.#afterWrite(work).finally(() => {
      if (--this.#holding > 0) return;
      const held = this.#held;
      this.#held = [];
      if (this.#state === "recovered") {
        this.#unsynced.push(...held);
      } else if (this.#state === "closed" && this.#disk.owner === null && held.length > 0) {
        // Closed meanwhile: a clean shutdown writes them.
        for (const record of held) this.#disk.log.push({ record, torn: false });
        this.#durableZxid = held.at(-1)!.zxid;
        this.#onDurable(this.#durableZxid);
      }
    });
  }

  /** Syncs what is left (a clean shutdown flushes), then stops. */
  close(): Promise<void> {
    if (this.#state === "closed" || this.#state === "crashed") return Promise.resolve();
    if (this.#state === "recovered") this.sync();
    this.#state = "closed";
    this.#disk.owner = null;
    return Promise.resolve();
  }

  #assertUsable(): void {
    assert(
      this.#state !== "crashed" && this.#state !== "closed",
      "the store is not crashed or closed",
    );
    assert(this.#disk.owner === this, "this store owns its disk");
  }
}

/** What a saved snapshot of `image` is, as {@linkcode SimStore} reports it. */
function snapshotInfo(image: SnapshotImage): SnapshotInfo {
  return {
    zxid: image.zxid,
    name: snapshotName(image.zxid),
    bytes: imageBytes(image),
    nodeCount: image.nodes.length,
    sessionCount: image.sessions.length,
  };
}
