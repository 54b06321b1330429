/**
 * The file store: txn logs with group commit, checksummed snapshots, persisted epochs, recovery
 * with torn-tail truncation, and retention (REFERENCE §8; the format is in docs/STORAGE.md).
 *
 * Durability rule: a record is reported durable only after the bytes holding it were written and
 * `fdatasync`ed. While one sync runs, newly appended records wait; the next write + sync covers
 * all of them (group commit), so throughput grows with load. With `forceSync` off (an operator's
 * choice, warned of at open) the txn log's batches are only written, and count once written.
 *
 * Ensemble sync ({@linkcode FileStore.truncateAfter}, {@linkcode FileStore.installSnapshot}) changes
 * the disk in steps ordered so that a crash between any two of them leaves a state recovery
 * accepts (docs/STORAGE.md, "Truncation and snapshot install").
 * @module
 */
import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";
import * as fs from "node:fs/promises";
import { dirname, join } from "node:path";
import { setImmediate } from "node:timers";
import { assert } from "../assert.ts";
import type { TxnRecord } from "../tree/txn.ts";
import { zxidCounter, zxidEpoch } from "../tree/txn.ts";
import {
  bodyToNode,
  bodyToSession,
  encodedRecordBody,
  nodesToBodies,
  sessionToBody,
} from "./codec.ts";
import {
  checkFileHeader,
  encodeRecord,
  fileHeader,
  fileHeaderBytes,
  frameRecordBody,
  readRecord,
} from "./record.ts";
import { commitMarkerBody, logMagic, scanLog } from "./log_scan.ts";
import { concatBytes } from "../wire/frame.ts";
import type { DurableStore, Epochs, Recovered, SnapshotImage, SnapshotInfo } from "./types.ts";
import { CorruptionError } from "./types.ts";
import type { NodeImage } from "../tree/data_tree.ts";

export { logMagic } from "./log_scan.ts";
const snapshotMagic = "CORRALSN";
const epochsMagic = "CORRALEP";
const nodesPerChunk = 1000;

/** Default most bytes of one group commit. */
export const batchBytesMaxDefault = 4 * 1024 * 1024;

/** Settings of a {@linkcode FileStore}. */
export interface FileStoreOptions {
  /** Snapshots and epochs go here. */
  dataDir: string;
  /** Txn logs go here (ZooKeeper's dataLogDir); default dataDir. */
  dataLogDir?: string;
  /** A log file is rolled once it would grow past this. Default 64 MiB. */
  logFileBytesMax?: number;
  /** Most bytes written by one group commit (one write + one fdatasync). Default 4 MiB. */
  batchBytesMax?: number;
  /** Snapshots kept by retention (and the logs they need). Default 3, at least 1. */
  snapRetainCount?: number;
  /** Called with what the store did that an operator should know. */
  log?: (level: "info" | "warn", message: string, fields?: Record<string, unknown>) => void;
  /**
   * For crash tests: called (and awaited) before each step that changes the disk during
   * {@linkcode FileStore.truncateAfter} and {@linkcode FileStore.installSnapshot}, with what the
   * step is about to do. Whatever is on the disk when it is called is a state a crash may leave.
   */
  beforeDiskStep?: (step: string) => void | Promise<void>;
  /**
   * Longest run of snapshot encoding between two turns of the event loop, ms. Default 4. A save
   * of a large tree takes seconds of CPU on the thread that serves clients; slicing it keeps
   * requests answered meanwhile (scripts/bench_scale measured a 1,000,000-node save cutting
   * reads by 80 % while it ran when it yielded only once per MiB written).
   */
  snapshotSliceMs?: number;
  /**
   * A sync of the txn log that takes longer than this, in ms, is logged as a warning and counted
   * in {@linkcode FileStoreStats.slowSyncs} (ZooKeeper's `fsync.warningthresholdms`). Default
   * 1000. Every write waits on a quorum of these syncs, so a slow disk is the first suspect when
   * writes stall.
   */
  syncWarningMs?: number;
  /**
   * False to write the txn log's batches without syncing them (ZooKeeper's `forceSync=no`): a
   * batch counts as durable once written to the page cache. Writes are then faster and a crash
   * of the process loses nothing, but a power loss or kernel crash can lose writes that clients
   * were told succeeded. Snapshots and epochs are synced either way. Default true.
   */
  forceSync?: boolean;
  /** The clock that times the log's syncs, in ms: `performance.now` unless a test sets one. */
  clock?: () => number;
}

/** Counters for benchmarks and the admin view. */
export interface FileStoreStats {
  /** Syncs of the txn log's batches (none when `forceSync` is off). */
  fsyncs: number;
  /** Records and bytes the txn log's batches made durable (written only, with `forceSync` off). */
  recordsSynced: number;
  bytesSynced: number;
  failures: number;
  /** Syncs of the txn log that took longer than `syncWarningMs`. */
  slowSyncs: number;
}

/** Default {@linkcode FileStoreOptions.syncWarningMs}, as ZooKeeper's. */
export const syncWarningMsDefault = 1000;

/** `log.<16 hex digits>` or `snapshot.<16 hex digits>`. */
export function storageFileName(kind: "log" | "snapshot", zxid: number): string {
  return `${kind}.${zxid.toString(16).padStart(16, "0")}`;
}

/** The zxid in a storage file name, or null when the name is not one of ours. */
export function zxidOfFileName(kind: "log" | "snapshot", name: string): number | null {
  const match = new RegExp(`^${kind}\\.([0-9a-f]{16})$`).exec(name);
  return match ? parseInt(match[1], 16) : null;
}

interface Pending {
  zxid: number;
  frame: Uint8Array;
}

/** fsync a directory so a create, rename or unlink in it is durable. */
export function syncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function writeAll(handle: fs.FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await handle.write(
      bytes,
      done,
      bytes.byteLength - done,
      position + done,
    );
    assert(bytesWritten > 0, "a positional write makes progress");
    done += bytesWritten;
  }
}

/**
 * Writes all of `bytes` at `position` with blocking calls. The log's batches go this way: a write
 * only copies into the page cache (a few µs), while each asynchronous file call costs a round trip
 * through the runtime's thread pool, 30-40 µs of CPU on this project's machines; the datasync,
 * which waits on the disk, stays asynchronous (docs/PERFORMANCE.md).
 */
function writeAllSync(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.byteLength) {
    const written = writeSync(fd, bytes, done, bytes.byteLength - done, position + done);
    assert(written > 0, "a positional write makes progress");
    done += written;
  }
}

/** True when `next` may follow `previous` in the log: same epoch and counter + 1, or a new epoch. */
export function zxidFollows(previous: number, next: number): boolean {
  if (zxidEpoch(next) === zxidEpoch(previous)) return next === previous + 1;
  return zxidEpoch(next) > zxidEpoch(previous) && zxidCounter(next) >= 1;
}

/**
 * A {@linkcode DurableStore} on the local file system.
 *
 * @example
 * ```ts ignore
 * import { FileStore } from "./file_store.ts";
 * const store = await FileStore.open({ dataDir: "./corral-data" });
 * const recovered = await store.recover();
 * store.onDurable((zxid) => console.log("durable up to", zxid));
 * ```
 */
export class FileStore implements DurableStore {
  readonly dataDir: string;
  readonly dataLogDir: string;
  readonly stats: FileStoreStats = {
    fsyncs: 0,
    recordsSynced: 0,
    bytesSynced: 0,
    failures: 0,
    slowSyncs: 0,
  };
  readonly #logFileBytesMax: number;
  readonly #batchBytesMax: number;
  readonly #snapshotSliceMs: number;
  readonly #snapRetainCount: number;
  readonly #log: NonNullable<FileStoreOptions["log"]>;
  readonly #beforeDiskStep: NonNullable<FileStoreOptions["beforeDiskStep"]>;
  readonly #syncWarningMs: number;
  readonly #forceSync: boolean;
  readonly #clock: () => number;
  #pending: Pending[] = [];
  /** Appended while a truncation, install or reload runs: written once it is done. */
  #held: Pending[] = [];
  /** How many truncations, installs or reloads are queued or running. */
  #holding = 0;
  /** Zxid of the newest valid snapshot (the one recovery would load); 0 when there is none. */
  #snapshotZxid = 0;
  #flushing: Promise<void> | null = null;
  #handle: fs.FileHandle | null = null;
  #fileName = "";
  #offset = 0;
  #durableZxid = 0;
  #recovered = false;
  #closed = false;
  #onDurable: (zxid: number) => void = () => {};
  #onFailure: (zxid: number, error: Error) => void = () => {};
  #metadataChain: Promise<void> = Promise.resolve();

  private constructor(options: FileStoreOptions) {
    this.dataDir = options.dataDir;
    this.dataLogDir = options.dataLogDir ?? options.dataDir;
    this.#logFileBytesMax = options.logFileBytesMax ?? 64 * 1024 * 1024;
    this.#batchBytesMax = options.batchBytesMax ?? batchBytesMaxDefault;
    this.#snapshotSliceMs = options.snapshotSliceMs ?? 4;
    this.#snapRetainCount = Math.max(1, options.snapRetainCount ?? 3);
    this.#log = options.log ?? (() => {});
    this.#beforeDiskStep = options.beforeDiskStep ?? (() => {});
    this.#syncWarningMs = options.syncWarningMs ?? syncWarningMsDefault;
    this.#forceSync = options.forceSync ?? true;
    this.#clock = options.clock ?? (() => performance.now());
    assert(
      this.#batchBytesMax > 0 && this.#logFileBytesMax > fileHeaderBytes,
      "store limits are positive",
    );
  }

  /** Creates the directories if needed and removes leftovers of interrupted snapshot writes. */
  static async open(options: FileStoreOptions): Promise<FileStore> {
    const store = new FileStore(options);
    if (!store.#forceSync) {
      store.#log(
        "warn",
        "forceSync is off: the txn log is not synced, so a power loss can lose acknowledged writes",
        { dataLogDir: store.dataLogDir },
      );
    }
    await fs.mkdir(store.dataDir, { recursive: true });
    await fs.mkdir(store.dataLogDir, { recursive: true });
    for (const dir of new Set([store.dataDir, store.dataLogDir])) {
      for (const name of await fs.readdir(dir)) {
        if (name.endsWith(".tmp")) await fs.rm(join(dir, name), { force: true });
      }
    }
    return store;
  }

  get durableZxid(): number {
    return this.#durableZxid;
  }

  onDurable(callback: (zxid: number) => void): void {
    this.#onDurable = callback;
  }

  onFailure(callback: (zxid: number, error: Error) => void): void {
    this.#onFailure = callback;
  }

  // ---- appending -----------------------------------------------------------------------------

  append(records: readonly TxnRecord[]): void {
    assert(this.#recovered, "recover() runs before the first append");
    assert(!this.#closed, "no append after close");
    // While the log is being truncated, replaced or reread, new records wait for it to finish.
    const queue = this.#holding > 0 ? this.#held : this.#pending;
    for (const record of records) {
      queue.push({ zxid: record.zxid, frame: frameRecordBody(encodedRecordBody(record)) });
    }
    this.#startFlush();
  }

  #startFlush(): void {
    if (this.#flushing === null && this.#pending.length > 0) this.#flushing = this.#flushLoop();
  }

  async #flushLoop(): Promise<void> {
    try {
      // The first batch starts once the current turn of the event loop is over, not at the first
      // append: a follower appends each proposal of a received chunk on its own, and a leader each
      // request of the turn, so starting at once would sync one record and then the rest, two
      // syncs where one does (docs/PERFORMANCE.md).
      await new Promise((resolve) => setImmediate(resolve));
      while (this.#pending.length > 0) await this.#flushOne();
    } finally {
      this.#flushing = null;
    }
  }

  /** Writes and syncs one batch; reports it durable, or fails it and everything after it. */
  async #flushOne(): Promise<void> {
    const batch = this.#takeBatch();
    // The commit marker makes the batch count at recovery (src/storage/log_scan.ts).
    const marker = encodeRecord(commitMarkerBody(batch.at(-1)!.zxid));
    const bytes = concatBytes([...batch.map((p) => p.frame), marker]);
    try {
      if (
        this.#handle === null ||
        (this.#offset + bytes.byteLength > this.#logFileBytesMax && this.#offset > fileHeaderBytes)
      ) {
        await this.#roll(batch[0].zxid);
      }
      writeAllSync(this.#handle!.fd, bytes, this.#offset);
      if (this.#forceSync) {
        const syncStart = this.#clock();
        await this.#handle!.datasync();
        this.#noteSync(this.#clock() - syncStart, bytes.byteLength, batch.length);
        this.stats.fsyncs++;
      }
    } catch (error) {
      await this.#fail(batch[0].zxid, error as Error);
      return;
    }
    this.#offset += bytes.byteLength;
    this.stats.recordsSynced += batch.length;
    this.stats.bytesSynced += bytes.byteLength;
    this.#durableZxid = batch.at(-1)!.zxid;
    this.#onDurable(this.#durableZxid);
  }

  /** Warns of a sync of the log slower than `syncWarningMs`: every write in it waited that long. */
  #noteSync(ms: number, bytes: number, records: number): void {
    if (ms <= this.#syncWarningMs) return;
    this.stats.slowSyncs++;
    this.#log("warn", "syncing the txn log was slow, and every write in it waited", {
      file: this.#fileName,
      ms: Math.round(ms),
      thresholdMs: this.#syncWarningMs,
      bytes,
      records,
    });
  }

  #takeBatch(): Pending[] {
    let bytes = 0;
    let count = 0;
    while (
      count < this.#pending.length &&
      (count === 0 || bytes + this.#pending[count].frame.byteLength <= this.#batchBytesMax)
    ) {
      bytes += this.#pending[count].frame.byteLength;
      count++;
    }
    return this.#pending.splice(0, count);
  }

  /** Undoes a failed batch on disk and reports every unsynced record from `zxid` on as failed. */
  async #fail(zxid: number, error: Error): Promise<void> {
    this.stats.failures++;
    if (this.#handle !== null) {
      try {
        await this.#handle.truncate(this.#offset);
        await this.#handle.datasync();
      } catch (undo) {
        this.#log(
          "warn",
          "could not cut a failed write back; recovery will see it as a torn tail",
          {
            file: this.#fileName,
            error: String(undo),
          },
        );
      }
    }
    // Only now: records appended while the cut-back above was awaited were prepared after the
    // failed ones, so they fail with them (the failure covers every zxid from `zxid` on).
    this.#pending = [];
    this.#log(
      "warn",
      "log write failed; the writes are refused and will be retried with the next ones",
      {
        file: this.#fileName,
        fromZxid: zxid,
        error: error.message,
      },
    );
    this.#onFailure(zxid, error);
  }

  /** Closes the current log file (it is fully synced) and starts `log.<firstZxid>`. */
  async #roll(firstZxid: number): Promise<void> {
    if (
      this.#handle !== null && this.#offset === fileHeaderBytes &&
      zxidOfFileName("log", this.#fileName) === firstZxid
    ) {
      return; // A file started by a failed batch: reuse it.
    }
    await this.#handle?.close();
    this.#handle = null;
    const name = storageFileName("log", firstZxid);
    const path = join(this.dataLogDir, name);
    // A leftover of a batch that failed before its first record landed may hold just a header.
    const leftover = await fs.stat(path).catch(() => null);
    if (leftover && leftover.size > fileHeaderBytes) {
      throw new CorruptionError(
        `${path} already exists with ${leftover.size} bytes; refusing to overwrite a log`,
      );
    }
    const handle = await fs.open(path, "w");
    try {
      await writeAll(handle, fileHeader(logMagic), 0);
      await handle.datasync();
      syncDir(this.dataLogDir);
    } catch (error) {
      await handle.close();
      await fs.rm(path, { force: true });
      throw error;
    }
    this.#handle = handle;
    this.#fileName = name;
    this.#offset = fileHeaderBytes;
    this.#log("info", "started a new txn log", { file: name });
  }

  // ---- snapshots and epochs ------------------------------------------------------------------

  /** Runs metadata writes (snapshots, epochs) one at a time: they share temp-file names. */
  #serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#metadataChain.then(work, work);
    this.#metadataChain = run.then(() => {}, () => {});
    return run;
  }

  saveSnapshot(image: SnapshotImage): Promise<SnapshotInfo> {
    return this.#serially(() => this.#saveSnapshot(image));
  }

  async #saveSnapshot(image: SnapshotImage): Promise<SnapshotInfo> {
    const { name, path, tmp, bytes } = await this.#writeSnapshotTmp(image);
    await fs.rename(tmp, path);
    syncDir(this.dataDir);
    this.#snapshotZxid = Math.max(this.#snapshotZxid, image.zxid);
    await this.#purge();
    const info = {
      zxid: image.zxid,
      name,
      bytes,
      nodeCount: image.nodes.length,
      sessionCount: image.sessions.length,
    };
    this.#log("info", "snapshot saved", { ...info });
    return info;
  }

  /** Writes `image` to `snapshot.<zxid>.tmp` and syncs it; the caller renames it into place. */
  async #writeSnapshotTmp(
    image: SnapshotImage,
  ): Promise<{ name: string; path: string; tmp: string; bytes: number }> {
    const name = storageFileName("snapshot", image.zxid);
    const path = join(this.dataDir, name);
    const tmp = `${path}.tmp`;
    const handle = await fs.open(tmp, "w");
    let offset = 0;
    let buffered: Uint8Array[] = [];
    let bufferedBytes = 0;
    const put = async (frame: Uint8Array) => {
      buffered.push(frame);
      bufferedBytes += frame.byteLength;
      if (bufferedBytes < 1024 * 1024) return;
      const bytes = concatBytes(buffered);
      buffered = [];
      bufferedBytes = 0;
      await writeAll(handle, bytes, offset);
      offset += bytes.byteLength;
    };
    try {
      let sliceStart = performance.now();
      for (const frame of snapshotFrames(image)) {
        await put(frame);
        // Encoding is CPU on the serving thread: give the event loop a turn every few ms, so a
        // large snapshot shares the thread with requests instead of starving them.
        if (performance.now() - sliceStart >= this.#snapshotSliceMs) {
          await new Promise((resolve) => setTimeout(resolve, 0));
          sliceStart = performance.now();
        }
      }
      const rest = concatBytes(buffered);
      await writeAll(handle, rest, offset);
      offset += rest.byteLength;
      await handle.datasync();
    } catch (error) {
      // Give the space back at once: on a full disk the txn log needs it more than we do.
      await handle.close().catch(() => {});
      await fs.rm(tmp, { force: true });
      throw error;
    }
    await handle.close();
    return { name, path, tmp, bytes: offset };
  }

  writeEpochs(epochs: Epochs): Promise<void> {
    return this.#serially(() => this.#writeEpochs(epochs));
  }

  async #writeEpochs(epochs: Epochs): Promise<void> {
    const bytes = concatBytes([
      fileHeader(epochsMagic),
      encodeRecord([epochs.acceptedEpoch, epochs.currentEpoch]),
    ]);
    await writeFileDurably(join(this.dataDir, "epochs"), bytes);
  }

  /** Keeps the newest snapshots and every log file holding records after the oldest of them. */
  async #purge(): Promise<void> {
    const snapshots = (await listFiles(this.dataDir, "snapshot")).reverse();
    for (const old of snapshots.slice(this.#snapRetainCount)) {
      await fs.rm(join(this.dataDir, old.name), { force: true });
      this.#log("info", "purged an old snapshot", { file: old.name });
    }
    const kept = snapshots.slice(0, this.#snapRetainCount);
    if (kept.length === 0) return;
    const oldestKept = kept.at(-1)!.zxid;
    const logs = await listFiles(this.dataLogDir, "log");
    for (let i = 0; i + 1 < logs.length; i++) {
      // logs[i] holds records below logs[i + 1]'s first zxid; all of them are in the snapshot.
      if (logs[i + 1].zxid <= oldestKept + 1 && logs[i].name !== this.#fileName) {
        await fs.rm(join(this.dataLogDir, logs[i].name), { force: true });
        this.#log("info", "purged an old txn log", { file: logs[i].name });
      }
    }
    syncDir(this.dataDir);
    if (this.dataLogDir !== this.dataDir) syncDir(this.dataLogDir);
  }

  // ---- ensemble sync: truncation and snapshot install ----------------------------------------
  //
  // Crash safety rests on three rules (docs/STORAGE.md, "Truncation and snapshot install"):
  // 1. Every step is atomic on its own: one unlink, one ftruncate, or one rename of a fully
  //    written and synced file; each is made durable (file and directory synced) before the next.
  // 2. Records at or below the cut are never at risk: a file holding some of them is cut by
  //    ftruncate at a batch boundary (its last kept batch keeps its own commit marker), or, when
  //    the cut falls inside a batch, replaced as a whole by a copy of its kept prefix plus a fresh
  //    marker closing it; so the log always ends with a complete batch, as log_scan.ts demands.
  // 3. Log files after the cut go newest first, so the files left always hold a prefix of the
  //    log: never a gap, which recovery would refuse. A snapshot install first removes what
  //    recovery could replay on top of the new image (newer snapshots, records after it), then
  //    renames the image into place (the one step that switches to the new state), and only then
  //    removes the now unreachable old logs and snapshots, in any order.

  /**
   * Removes every logged record after `zxid` (ZAB's TRUNC), and every snapshot file after it.
   * Waits for the appends made before the call (they are made durable, then cut like the others);
   * appends made during it are held and written after it. Rejects, changing nothing, when `zxid`
   * is below the newest valid snapshot. The next append starts a new log file if any was cut.
   */
  truncateAfter(zxid: number): Promise<void> {
    return this.#exclusive("truncateAfter()", async () => {
      if (zxid < this.#snapshotZxid) {
        throw new Error(
          `cannot truncate the log after zxid 0x${zxid.toString(16)}: the newest snapshot ` +
            `already holds the state at 0x${this.#snapshotZxid.toString(16)}`,
        );
      }
      await this.#removeSnapshotsAfter(zxid);
      const lastKept = await this.#cutLogAfter(zxid);
      this.#durableZxid = Math.max(lastKept, this.#snapshotZxid);
    });
  }

  /**
   * Replaces the state with `image` (ZAB's SNAP sync): afterwards recovery finds `image` and no
   * log. Appends are handled as by {@linkcode FileStore.truncateAfter}.
   */
  installSnapshot(image: SnapshotImage): Promise<void> {
    return this.#exclusive("installSnapshot()", async () => {
      // Written aside first: a failure here (a full disk) leaves everything as it was.
      const { name, path, tmp } = await this.#writeSnapshotTmp(image);
      try {
        // Newer snapshots would win over the image, and records after it would be replayed on
        // top of it: both go before the image becomes visible. Until then the old state holds.
        await this.#removeSnapshotsAfter(image.zxid);
        await this.#cutLogAfter(image.zxid);
        await this.#beforeDiskStep(`rename ${name}.tmp to ${name}`);
        await fs.rename(tmp, path);
        syncDir(this.dataDir);
      } catch (error) {
        await fs.rm(tmp, { force: true });
        throw error;
      }
      this.#snapshotZxid = image.zxid;
      this.#durableZxid = image.zxid;
      // From here on recovery loads the image and skips every logged record (all at or below
      // it), so the old files may go in any order.
      await this.#closeLog();
      for (const log of await listFiles(this.dataLogDir, "log")) {
        await this.#beforeDiskStep(`remove ${log.name}`);
        await fs.rm(join(this.dataLogDir, log.name), { force: true });
      }
      for (const snapshot of await listFiles(this.dataDir, "snapshot")) {
        if (snapshot.name === name) continue;
        await this.#beforeDiskStep(`remove ${snapshot.name}`);
        await fs.rm(join(this.dataDir, snapshot.name), { force: true });
      }
      syncDir(this.dataDir);
      if (this.dataLogDir !== this.dataDir) syncDir(this.dataLogDir);
      this.#log("info", "installed a snapshot received from the leader", {
        file: name,
        zxid: image.zxid,
        nodeCount: image.nodes.length,
        sessionCount: image.sessions.length,
      });
    });
  }

  /**
   * Runs `work` with the log to itself: appends made from now on are held; those made before
   * are written (or fail) first, and metadata writes queued before it finish first.
   */
  #exclusive<T>(what: string, work: () => Promise<T>): Promise<T> {
    assert(this.#recovered, `recover() runs before ${what}`);
    assert(!this.#closed, `no ${what} after close`);
    this.#holding++;
    return this.#serially(async () => {
      try {
        while (this.#flushing !== null) await this.#flushing;
        return await work();
      } finally {
        // Released inside the serial chain, so close() sees the flush it starts.
        if (--this.#holding === 0) {
          this.#pending.push(...this.#held);
          this.#held = [];
          this.#startFlush();
        }
      }
    });
  }

  /** Closes the log file being appended to; the next batch starts a new one. */
  async #closeLog(): Promise<void> {
    const handle = this.#handle;
    this.#handle = null;
    this.#fileName = "";
    this.#offset = 0;
    await handle?.close();
  }

  /** Removes the snapshot files after `zxid`, newest first. */
  async #removeSnapshotsAfter(zxid: number): Promise<void> {
    const later = (await listFiles(this.dataDir, "snapshot")).filter((f) => f.zxid > zxid);
    for (const file of later.reverse()) {
      await this.#beforeDiskStep(`remove ${file.name}`);
      await fs.rm(join(this.dataDir, file.name), { force: true });
      syncDir(this.dataDir);
      this.#log("info", "removed a snapshot after the truncation point", { file: file.name });
    }
  }

  /**
   * Durably removes every logged record after `zxid`; returns the zxid of the last record left
   * (0 when none is). Each step leaves a log that recovery accepts (see the rules above).
   */
  async #cutLogAfter(zxid: number): Promise<number> {
    const logs = await listFiles(this.dataLogDir, "log");
    // A file is named after its first record: those named after `zxid` hold nothing to keep.
    for (const file of logs.filter((f) => f.zxid > zxid).reverse()) {
      await this.#beforeDiskStep(`remove ${file.name}`);
      await this.#closeLog();
      await fs.rm(join(this.dataLogDir, file.name), { force: true });
      syncDir(this.dataLogDir);
      this.#log("info", "removed a txn log after the truncation point", { file: file.name });
    }
    // The newest file left is the only one that can hold records after `zxid` (each earlier file
    // ends before the next one's first record), unless it holds none at or below it.
    const earlier = logs.filter((f) => f.zxid <= zxid);
    for (let i = earlier.length - 1; i >= 0; i--) {
      const name = earlier[i].name;
      const path = join(this.dataLogDir, name);
      const bytes = new Uint8Array(await fs.readFile(path));
      // After the removals above this is the last file, and recovery reads it as one.
      const scan = scanLog(bytes, true);
      if (scan.status.kind === "corrupt") {
        throw new CorruptionError(
          `${path} offset ${scan.status.offset}: ${scan.status.reason}; the log is corrupt`,
        );
      }
      const first = scan.records.findIndex((r) => r.record.zxid > zxid);
      if (first === -1) {
        if (scan.status.kind === "tornTail") {
          // Left by a failed write that could not be cut back; the next append goes to a new
          // file, after which this one is no longer the last and must end with a whole batch.
          await this.#beforeDiskStep(`truncate ${name} at offset ${scan.status.offset}`);
          await this.#closeLog();
          await truncateFile(path, scan.status.offset);
        }
        const last = scan.records.at(-1)?.record.zxid;
        if (last !== undefined) return last;
        continue; // A file holding only a header: what is kept lies in an earlier file.
      }
      await this.#closeLog();
      if (first === 0) {
        await this.#beforeDiskStep(`remove ${name}`);
        await fs.rm(path, { force: true });
        syncDir(this.dataLogDir);
        this.#log("info", "removed a txn log after the truncation point", { file: name });
        continue;
      }
      const kept = scan.records[first - 1];
      const cutAt = scan.records[first].offset;
      const keptEnd = readRecord(bytes, kept.offset);
      assert(keptEnd.kind === "record", "a scanned record reads back");
      if (keptEnd.next < cutAt) {
        // The last kept record ends its batch: its commit marker lies before `cutAt`.
        await this.#beforeDiskStep(`truncate ${name} at offset ${cutAt}`);
        await truncateFile(path, cutAt);
      } else {
        // The cut falls inside a batch, whose marker names a record being removed. Cutting and
        // then appending a new marker would leave, after a crash in between, a kept batch
        // without its marker, a torn tail recovery would drop with acknowledged records in it.
        // A copy of the kept prefix with a marker closing it replaces the file in one rename.
        const rewritten = concatBytes([
          bytes.subarray(0, cutAt),
          encodeRecord(commitMarkerBody(kept.record.zxid)),
        ]);
        await this.#beforeDiskStep(`replace ${name} by its prefix up to offset ${cutAt}`);
        await writeFileDurably(path, rewritten);
      }
      this.#log("info", "truncated a txn log", {
        file: name,
        offset: cutAt,
        lastZxid: kept.record.zxid,
      });
      return kept.record.zxid;
    }
    return 0;
  }

  // ---- recovery ------------------------------------------------------------------------------

  async recover(): Promise<Recovered> {
    assert(!this.#recovered, "recover() runs once");
    const recovered = await this.#load();
    this.#recovered = true;
    return recovered;
  }

  /**
   * Reads the state back from the disk as {@linkcode FileStore.recover} does (repairing a torn
   * tail the same way), after waiting for the appends made before the call; appends made during
   * it are held until it is done. The next append starts a new log file.
   */
  reload(): Promise<Recovered> {
    return this.#exclusive("reload()", async () => {
      await this.#closeLog();
      return await this.#load();
    });
  }

  /** Loads the epochs, the newest valid snapshot and the log after it; sets `durableZxid`. */
  async #load(): Promise<Recovered> {
    const notes: string[] = [];
    const epochs = await readEpochs(this.dataDir);
    const snapshot = await this.#newestSnapshot(notes);
    const start = snapshot?.zxid ?? 0;
    const records = await this.#replayLogs(start, notes);
    if (snapshot && records.length === 0) {
      const logs = await listFiles(this.dataLogDir, "log");
      if (logs.length === 0) {
        notes.push(
          `no txn log after snapshot ${storageFileName("snapshot", start)}; starting from it`,
        );
      }
    }
    this.#durableZxid = records.at(-1)?.zxid ?? start;
    this.#snapshotZxid = start;
    for (const note of notes) this.#log("warn", note);
    return { snapshot, records, epochs, notes };
  }

  async #newestSnapshot(notes: string[]): Promise<SnapshotImage | null> {
    const snapshots = (await listFiles(this.dataDir, "snapshot")).reverse();
    for (const file of snapshots) {
      const result = await readSnapshotFile(join(this.dataDir, file.name));
      if ("image" in result) return result.image;
      notes.push(`snapshot ${file.name} is invalid (${result.problem}); trying an older one`);
    }
    return null;
  }

  async #replayLogs(start: number, notes: string[]): Promise<TxnRecord[]> {
    const logs = await listFiles(this.dataLogDir, "log");
    const records: TxnRecord[] = [];
    let last = start;
    for (let i = 0; i < logs.length; i++) {
      if (i + 1 < logs.length && logs[i + 1].zxid <= start + 1) continue; // wholly in the snapshot
      const isLast = i === logs.length - 1;
      const path = join(this.dataLogDir, logs[i].name);
      const bytes = new Uint8Array(await fs.readFile(path));
      const scan = scanLog(bytes, isLast);
      for (const { record, offset } of scan.records) {
        if (record.zxid <= start) continue;
        if (!zxidFollows(last, record.zxid)) {
          throw new CorruptionError(
            `${path} offset ${offset}: zxid 0x${record.zxid.toString(16)} cannot follow 0x${
              last.toString(16)
            } (a gap or a reorder)`,
          );
        }
        records.push(record);
        last = record.zxid;
      }
      if (scan.status.kind === "corrupt") {
        throw new CorruptionError(
          `${path} offset ${scan.status.offset}: ${scan.status.reason}; the log is corrupt`,
        );
      }
      if (scan.status.kind === "tornTail") {
        if (scan.status.offset === 0) {
          await fs.rm(path);
          notes.push(`removed ${logs[i].name}: ${scan.status.reason}`);
        } else {
          await truncateFile(path, scan.status.offset);
          notes.push(
            `truncated a torn tail of ${
              logs[i].name
            } at offset ${scan.status.offset} (${scan.status.bytes} bytes: ${scan.status.reason})`,
          );
        }
      }
    }
    if (logs.length > 0 && records.length === 0 && logs[0].zxid > start + 1) {
      throw new CorruptionError(
        `${this.dataLogDir}: the logs start at zxid 0x${
          logs[0].zxid.toString(16)
        } but the state ends at 0x${start.toString(16)}; txns are missing`,
      );
    }
    return records;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Queued appends are written and synced first (their durable reports still fire), and so are
    // those held by a truncation or install, which releases them at its end.
    let chain: Promise<void>;
    do {
      chain = this.#metadataChain;
      await chain;
      while (this.#flushing !== null) await this.#flushing;
    } while (chain !== this.#metadataChain);
    await this.#closeLog();
  }
}

/**
 * The frames of a snapshot, in file order: header, meta record, node chunks, sessions, end
 * record. Lazy, so a caller can yield to the event loop between chunks.
 */
export function* snapshotFrames(image: SnapshotImage): Generator<Uint8Array> {
  yield fileHeader(snapshotMagic);
  yield encodeRecord({
    zxid: image.zxid,
    nodeCount: image.nodes.length,
    sessionCount: image.sessions.length,
  });
  for (let i = 0; i < image.nodes.length; i += nodesPerChunk) {
    yield encodeRecord({ nodes: nodesToBodies(image.nodes.slice(i, i + nodesPerChunk)) });
  }
  yield encodeRecord({ sessions: image.sessions.map(sessionToBody) });
  yield encodeRecord({
    end: true,
    nodeCount: image.nodes.length,
    sessionCount: image.sessions.length,
  });
}

/** Encodes a snapshot into memory (online backup), yielding to the event loop between chunks. */
export async function encodeSnapshot(image: SnapshotImage): Promise<Uint8Array> {
  const frames: Uint8Array[] = [];
  let count = 0;
  for (const frame of snapshotFrames(image)) {
    frames.push(frame);
    if (++count % 16 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return concatBytes(frames);
}

/**
 * Replaces `path` atomically and durably: writes `path.tmp`, syncs it, renames it over `path`
 * and syncs the directory. A crash leaves the old file or the new one, and at most a `.tmp` that
 * `FileStore.open` removes.
 */
export async function writeFileDurably(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  const handle = await fs.open(tmp, "w");
  try {
    await writeAll(handle, bytes, 0);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, path);
  syncDir(dirname(path));
}

/** Storage files of one kind in `dir`, sorted by zxid. */
export async function listFiles(
  dir: string,
  kind: "log" | "snapshot",
): Promise<Array<{ name: string; zxid: number }>> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  return names
    .map((name) => ({ name, zxid: zxidOfFileName(kind, name) }))
    .filter((f): f is { name: string; zxid: number } => f.zxid !== null)
    .sort((a, b) => a.zxid - b.zxid);
}

async function truncateFile(path: string, length: number): Promise<void> {
  const handle = await fs.open(path, "r+");
  try {
    await handle.truncate(length);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** Reads the epochs file of `dataDir` (zeros when there is none). */
export async function readEpochs(dataDir: string): Promise<Epochs> {
  const path = join(dataDir, "epochs");
  const bytes = await fs.readFile(path).then((b) => new Uint8Array(b), () => null);
  if (bytes === null) return { acceptedEpoch: 0, currentEpoch: 0 };
  const problem = checkFileHeader(bytes, epochsMagic);
  if (problem !== null) throw new CorruptionError(`${path}: ${problem}`);
  const read = readRecord(bytes, fileHeaderBytes);
  if (read.kind !== "record" || !Array.isArray(read.value) || read.value.length !== 2) {
    throw new CorruptionError(
      `${path} offset ${fileHeaderBytes}: ${
        read.kind === "damaged" ? read.reason : "not an epochs record"
      }`,
    );
  }
  const [acceptedEpoch, currentEpoch] = read.value as number[];
  return { acceptedEpoch, currentEpoch };
}

/** Reads and verifies a snapshot file: its image, or why it is not valid (with the offset). */
export async function readSnapshotFile(
  path: string,
): Promise<{ image: SnapshotImage; bytes: number } | { problem: string }> {
  const bytes = await fs.readFile(path).then((b) => new Uint8Array(b), (e) => e as Error);
  if (bytes instanceof Error) return { problem: bytes.message };
  return decodeSnapshot(bytes);
}

/** Decodes and verifies snapshot bytes (the same format as a snapshot file). */
export function decodeSnapshot(
  bytes: Uint8Array,
): { image: SnapshotImage; bytes: number } | { problem: string } {
  const problem = checkFileHeader(bytes, snapshotMagic);
  if (problem !== null) return { problem };
  let offset = fileHeaderBytes;
  type Meta = { zxid: number; nodeCount: number; sessionCount: number };
  let meta: Meta | null = null as Meta | null;
  const nodes: NodeImage[] = [];
  const sessions: SnapshotImage["sessions"][number][] = [];
  for (;;) {
    const read = readRecord(bytes, offset);
    if (read.kind === "end") {
      return { problem: `no end record at offset ${offset} (the file was cut short)` };
    }
    if (read.kind === "damaged") return { problem: `offset ${read.offset}: ${read.reason}` };
    const value = read.value as Record<string, unknown>;
    if (meta === null) {
      if (typeof value?.zxid !== "number") {
        return { problem: `offset ${offset}: the first record is not the snapshot header` };
      }
      meta = value as unknown as Meta;
    } else if (Array.isArray(value?.nodes)) {
      for (const body of value.nodes) {
        const node = bodyToNode(body);
        if (!node) return { problem: `offset ${offset}: a malformed node` };
        nodes.push(node);
      }
    } else if (Array.isArray(value?.sessions)) {
      for (const body of value.sessions) {
        const session = bodyToSession(body);
        if (!session) return { problem: `offset ${offset}: a malformed session` };
        sessions.push(session);
      }
    } else if (value?.end === true) {
      if (
        value.nodeCount !== nodes.length || value.sessionCount !== sessions.length ||
        meta!.nodeCount !== nodes.length
      ) {
        return { problem: `offset ${offset}: the end record counts do not match the contents` };
      }
      return { image: { zxid: meta!.zxid, nodes, sessions }, bytes: read.next };
    } else {
      return { problem: `offset ${offset}: an unknown record` };
    }
    offset = read.next;
  }
}
