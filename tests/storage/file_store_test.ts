/**
 * FileStore recovery, case by case (REFERENCE §8, docs/STORAGE.md): what it repairs by itself
 * (a torn tail, a leftover temporary file, a corrupt newest snapshot) and what it refuses to
 * guess about (damage before the tail, a gap in the zxids), plus rolling and group commit.
 * @module
 */
import assert from "../assert.ts";
import { join } from "node:path";
import {
  FileStore,
  type FileStoreOptions,
  listFiles,
  readEpochs,
  storageFileName,
} from "../../src/storage/file_store.ts";
import { encodeRecord, fileHeaderBytes, readRecord } from "../../src/storage/record.ts";
import { recordToBody } from "../../src/storage/codec.ts";
import { CorruptionError, type Recovered } from "../../src/storage/types.ts";
import { inspectDataDir } from "../../src/storage/inspect.ts";
import { scanLog } from "../../src/storage/log_scan.ts";
import { DataTree } from "../../src/tree/data_tree.ts";
import type { TxnRecord } from "../../src/tree/txn.ts";
import { imageAfter, normalise, txnRecords } from "./contract.ts";

/** Runs `body` with a fresh temporary directory, removed afterwards. */
async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "corral-file-store-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Opens and recovers a store over `dir`. */
async function openStore(dir: string, options: Partial<FileStoreOptions> = {}) {
  const store = await FileStore.open({ dataDir: dir, ...options });
  const recovered = await store.recover();
  return { store, recovered };
}

/** Resolves once `store` reports `zxid` durable; rejects if it reports a failure first. */
function durableAt(store: FileStore, zxid: number): Promise<void> {
  return new Promise((resolve, reject) => {
    store.onDurable((durable) => durable >= zxid && resolve());
    store.onFailure((failed, error) =>
      reject(new Error(`zxid ${failed} failed`, { cause: error }))
    );
  });
}

/** Appends `records` in one call and waits until all of them are durable. */
async function appendDurably(store: FileStore, records: readonly TxnRecord[]): Promise<void> {
  const done = durableAt(store, records.at(-1)!.zxid);
  store.append(records);
  await done;
}

/** Writes `records` into a new store over `dir` and closes it. */
async function writeLog(
  dir: string,
  records: readonly TxnRecord[],
  options: Partial<FileStoreOptions> = {},
): Promise<void> {
  const { store } = await openStore(dir, options);
  await appendDurably(store, records);
  await store.close();
}

/** Byte offsets at which each record of a log file starts, and where the last one ends. */
/** Writes each record as its own group commit (records + commit marker per batch). */
async function writeBatches(dir: string, records: readonly TxnRecord[]): Promise<void> {
  const { store } = await openStore(dir);
  for (const record of records) await appendDurably(store, [record]);
  await store.close();
}

async function recordOffsets(path: string): Promise<{ starts: number[]; end: number }> {
  const bytes = await Deno.readFile(path);
  const starts: number[] = [];
  let offset = fileHeaderBytes;
  for (;;) {
    const read = readRecord(bytes, offset);
    if (read.kind !== "record") break;
    starts.push(offset);
    offset = read.next;
  }
  return { starts, end: offset };
}

/** Inverts one byte of a file. */
async function flipByte(path: string, offset: number): Promise<void> {
  const bytes = await Deno.readFile(path);
  bytes[offset] ^= 0xff;
  await Deno.writeFile(path, bytes);
}

/** Plain values of records, so records read back compare equal to those written. */
function plain(records: readonly TxnRecord[]): unknown {
  return JSON.parse(JSON.stringify(records, (_, v) => v instanceof Uint8Array ? [...v] : v));
}

const firstLog = storageFileName("log", 1);

Deno.test("FileStore.recover() of an empty directory finds nothing and says nothing", async () => {
  await withDir(async (dir) => {
    const { store, recovered } = await openStore(dir);
    assert.deepEqual(recovered, {
      snapshot: null,
      records: [],
      epochs: { acceptedEpoch: 0, currentEpoch: 0 },
      notes: [],
    });
    assert.deepEqual(await listFiles(dir, "log"), [], "recovery creates no log by itself");
    await store.close();
  });
});

Deno.test("FileStore.recover() truncates a torn final batch cut at every byte", async () => {
  await withDir(async (dir) => {
    const records = txnRecords(1, 5, "r");
    await writeBatches(join(dir, "original"), records);
    const original = await Deno.readFile(join(dir, "original", firstLog));
    // Five batches of one record and its commit marker: ten framed records.
    const { starts, end } = await recordOffsets(join(dir, "original", firstLog));
    assert.equal(starts.length, 10);
    assert.equal(end, original.byteLength);
    const lastStart = starts[8]; // record 5; its marker starts at starts[9]
    for (let cut = lastStart; cut <= end; cut++) {
      const caseDir = join(dir, `cut-${cut}`);
      await Deno.mkdir(caseDir);
      const path = join(caseDir, firstLog);
      await Deno.writeFile(path, original.subarray(0, cut));
      const { store, recovered } = await openStore(caseDir);
      await store.close();
      const whole = cut === end ? 5 : 4;
      assert.deepEqual(plain(recovered.records), plain(records.slice(0, whole)), `cut at ${cut}`);
      const torn = cut !== lastStart && cut !== end;
      if (torn) {
        assert.equal(recovered.notes.length, 1, `cut at ${cut}: one note`);
        assert.match(recovered.notes[0], new RegExp(`truncated a torn tail of ${firstLog}`));
        assert.match(recovered.notes[0], new RegExp(`offset ${lastStart}`));
      } else {
        assert.deepEqual(recovered.notes, [], `cut at ${cut} is on a batch boundary`);
      }
      assert.equal(
        (await Deno.stat(path)).size,
        torn ? lastStart : cut,
        `cut at ${cut}: the torn bytes are gone from the disk`,
      );
      await Deno.remove(caseDir, { recursive: true });
    }
  });
});

Deno.test("FileStore.recover() truncates a tail of zeros (space allocated, never written)", async () => {
  await withDir(async (dir) => {
    const records = txnRecords(1, 3, "r");
    await writeLog(dir, records);
    const path = join(dir, firstLog);
    const size = (await Deno.stat(path)).size;
    await Deno.writeFile(path, new Uint8Array(4096), { append: true });
    const { store, recovered } = await openStore(dir);
    assert.deepEqual(plain(recovered.records), plain(records));
    assert.match(recovered.notes.join("\n"), /truncated a torn tail/);
    assert.equal((await Deno.stat(path)).size, size);
    // The store appends after the truncated tail, and the next recovery reads straight through.
    await appendDurably(store, txnRecords(4, 2, "after"));
    await store.close();
    const again = await openStore(dir);
    assert.deepEqual(again.recovered.records.map((r) => r.zxid), [1, 2, 3, 4, 5]);
    assert.deepEqual(again.recovered.notes, []);
    await again.store.close();
  });
});

Deno.test("FileStore.recover() removes a last log whose header was never completely written", async () => {
  await withDir(async (dir) => {
    await writeLog(dir, txnRecords(1, 3, "r"), { logFileBytesMax: 17 });
    const stub = join(dir, storageFileName("log", 4));
    await Deno.writeFile(stub, new TextEncoder().encode("CORRAL")); // 6 of 16 header bytes
    const { store, recovered } = await openStore(dir);
    assert.deepEqual(recovered.records.map((r) => r.zxid), [1, 2, 3]);
    assert.match(recovered.notes.join("\n"), /header was never completely written/);
    await assert.rejects(Deno.stat(stub), Deno.errors.NotFound);
    await store.close();
  });
});

Deno.test("FileStore.recover() throws CorruptionError naming file and offset for damage followed by later batches", async () => {
  await withDir(async (dir) => {
    // Batch 2 was written only after batch 1's sync returned: damage in batch 1 with batch 2's
    // marker after it is damage to acknowledged data, not a torn tail.
    const records = txnRecords(1, 5, "r");
    await writeBatches(dir, records);
    const path = join(dir, firstLog);
    const { starts, end } = await recordOffsets(path);
    await flipByte(path, starts[0] + 12); // inside the body of record 1
    const reopened = await FileStore.open({ dataDir: dir });
    await assert.rejects(reopened.recover(), (error: Error) => {
      assert.ok(error instanceof CorruptionError, String(error));
      assert.ok(error.message.includes(path), error.message);
      assert.match(error.message, new RegExp(`offset ${starts[0]}\\b`));
      assert.match(error.message, /checksum mismatch/);
      return true;
    });
    await reopened.close();
    assert.equal((await Deno.stat(path)).size, end, "nothing is truncated on corruption");
  });
});

Deno.test("FileStore.recover() throws CorruptionError naming file and offset for damage in a log that is not the last", async () => {
  await withDir(async (dir) => {
    const { store } = await openStore(dir, { logFileBytesMax: 200 });
    const records = txnRecords(1, 12, "r");
    for (const record of records) await appendDurably(store, [record]);
    await store.close();
    const logs = await listFiles(dir, "log");
    assert.ok(logs.length >= 3, `small files roll: ${logs.map((l) => l.name)}`);
    const path = join(dir, logs[0].name);
    const { starts } = await recordOffsets(path);
    await flipByte(path, starts.at(-1)! + 10); // the last record of the first file
    const reopened = await FileStore.open({ dataDir: dir, logFileBytesMax: 200 });
    await assert.rejects(reopened.recover(), (error: Error) => {
      assert.ok(error instanceof CorruptionError, String(error));
      assert.ok(error.message.includes(path), error.message);
      assert.match(error.message, new RegExp(`offset ${starts.at(-1)}\\b`));
      return true;
    });
    await reopened.close();
  });
});

Deno.test("FileStore.recover() cuts a damaged final batch as a torn tail even when its own marker survived", async () => {
  // A power cut may persist a batch's pages out of order: the final batch's marker can be intact
  // after its damaged record. That batch was never acknowledged (its sync did not return).
  await withDir(async (dir) => {
    const records = txnRecords(1, 5, "r");
    await writeBatches(dir, records);
    const path = join(dir, firstLog);
    const { starts } = await recordOffsets(path);
    await flipByte(path, starts[8] + 12); // record 5, the final batch
    const { store, recovered } = await openStore(dir);
    assert.deepEqual(recovered.records.map((r) => r.zxid), [1, 2, 3, 4]);
    assert.match(recovered.notes.join("\n"), new RegExp(`offset ${starts[8]}.*checksum mismatch`));
    assert.equal((await Deno.stat(path)).size, starts[8]);
    await store.close();
  });
});

Deno.test("FileStore.recover() cuts records that have no commit marker (an interrupted batch)", async () => {
  await withDir(async (dir) => {
    await writeBatches(dir, txnRecords(1, 3, "r"));
    const path = join(dir, firstLog);
    const size = (await Deno.stat(path)).size;
    // Whole txn records of a fourth batch, written without their marker.
    const orphan = encodeRecord([4, 0, 0, { type: "check", path: "/", version: -1 }]);
    await Deno.writeFile(path, orphan, { append: true });
    const { store, recovered } = await openStore(dir);
    assert.deepEqual(recovered.records.map((r) => r.zxid), [1, 2, 3]);
    assert.match(recovered.notes.join("\n"), /no commit marker/);
    assert.equal((await Deno.stat(path)).size, size);
    await store.close();
  });
});

Deno.test("FileStore.recover() throws CorruptionError on a gap in the zxids", async () => {
  await withDir(async (dir) => {
    const [one, two, three, , five] = txnRecords(1, 5, "r");
    await writeLog(dir, [one, two, three, five]);
    const path = join(dir, firstLog);
    const { starts } = await recordOffsets(path);
    const reopened = await FileStore.open({ dataDir: dir });
    await assert.rejects(reopened.recover(), (error: Error) => {
      assert.ok(error instanceof CorruptionError, String(error));
      assert.ok(error.message.includes(path), error.message);
      assert.match(error.message, new RegExp(`offset ${starts[3]}: zxid 0x5 cannot follow 0x3`));
      return true;
    });
    await reopened.close();
  });
});

Deno.test("FileStore.recover() starts from a snapshot newer than the end of the log", async () => {
  await withDir(async (dir) => {
    const records = txnRecords(1, 12, "r");
    const { store } = await openStore(dir);
    await appendDurably(store, records.slice(0, 5));
    // Say the log's later records were lost with a disk while the snapshot was kept elsewhere.
    await store.saveSnapshot(imageAfter(records.slice(0, 10)));
    await store.close();
    const reopened = await openStore(dir);
    assert.equal(reopened.recovered.snapshot?.zxid, 10);
    assert.deepEqual(reopened.recovered.records, []);
    assert.equal(reopened.store.durableZxid, 10);
    await appendDurably(reopened.store, records.slice(10));
    await reopened.store.close();
    const again = await openStore(dir);
    assert.equal(again.recovered.snapshot?.zxid, 10);
    assert.deepEqual(plain(again.recovered.records), plain(records.slice(10)));
    await again.store.close();
  });
});

Deno.test("FileStore.recover() starts from a snapshot whose log is missing, and appends again", async () => {
  await withDir(async (dir) => {
    const records = txnRecords(1, 12, "r");
    const { store } = await openStore(dir);
    await appendDurably(store, records.slice(0, 10));
    await store.saveSnapshot(imageAfter(records.slice(0, 10)));
    await store.close();
    for (const log of await listFiles(dir, "log")) await Deno.remove(join(dir, log.name));
    const reopened = await openStore(dir);
    assert.equal(reopened.recovered.snapshot?.zxid, 10);
    assert.deepEqual(reopened.recovered.records, []);
    assert.match(reopened.recovered.notes.join("\n"), /no txn log after snapshot/);
    await appendDurably(reopened.store, records.slice(10));
    await reopened.store.close();
    const again = await openStore(dir);
    assert.deepEqual(plain(again.recovered.records), plain(records.slice(10)));
    await again.store.close();
  });
});

Deno.test("FileStore.recover() falls back to the older snapshot when the newest is corrupt", async () => {
  await withDir(async (dir) => {
    const records = txnRecords(1, 10, "r");
    const { store } = await openStore(dir);
    await appendDurably(store, records);
    await store.saveSnapshot(imageAfter(records.slice(0, 5)));
    const newest = await store.saveSnapshot(imageAfter(records));
    await store.close();
    await flipByte(join(dir, newest.name), newest.bytes - 3);
    const reopened = await openStore(dir);
    assert.equal(reopened.recovered.snapshot?.zxid, 5);
    assert.deepEqual(plain(reopened.recovered.records), plain(records.slice(5)));
    assert.equal(reopened.recovered.notes.length, 1);
    assert.match(reopened.recovered.notes[0], new RegExp(`snapshot ${newest.name} is invalid`));
    await reopened.store.close();
  });
});

Deno.test("FileStore rolls small log files and recovers them in order", async () => {
  await withDir(async (dir) => {
    const records = txnRecords(1, 100, "r");
    // Room for two batches of four records (not three) in each file.
    const batchBytes = records.slice(0, 4).reduce(
      (sum, r) => sum + encodeRecord(recordToBody(r)).byteLength,
      0,
    );
    const logFileBytesMax = fileHeaderBytes + Math.floor(2.5 * batchBytes);
    const { store } = await openStore(dir, { logFileBytesMax });
    for (let i = 0; i < 100; i += 4) await appendDurably(store, records.slice(i, i + 4));
    await store.close();
    const logs = await listFiles(dir, "log");
    assert.ok(logs.length >= 10, `expected many files, got ${logs.length}`);
    for (const log of logs) {
      const bytes = await Deno.readFile(join(dir, log.name));
      assert.ok(bytes.byteLength <= logFileBytesMax, `${log.name} stays under logFileBytesMax`);
      const first = readRecord(bytes, fileHeaderBytes);
      assert.equal(first.kind, "record");
      assert.equal(
        first.kind === "record" && (first.value as number[])[0],
        log.zxid,
        `${log.name} is named after its first record`,
      );
    }
    const reopened = await openStore(dir, { logFileBytesMax });
    assert.deepEqual(plain(reopened.recovered.records), plain(records));
    await reopened.store.close();
  });
});

Deno.test("FileStore group-commits: 200 appends in one go take a handful of fsyncs", async () => {
  await withDir(async (dir) => {
    const { store } = await openStore(dir);
    const records = txnRecords(1, 200, "r");
    const reports: number[] = [];
    const finished = new Promise<void>((resolve) =>
      store.onDurable((zxid) => {
        reports.push(zxid);
        if (zxid >= 200) resolve();
      })
    );
    for (const record of records) store.append([record]);
    await finished;
    assert.ok(store.stats.fsyncs <= 5, `${store.stats.fsyncs} fsyncs for 200 records`);
    assert.equal(store.stats.recordsSynced, 200);
    assert.equal(reports.at(-1), 200);
    assert.equal(store.durableZxid, 200);
    await store.close();
    const reopened = await openStore(dir);
    assert.deepEqual(plain(reopened.recovered.records), plain(records));
    await reopened.store.close();
  });
});

Deno.test("FileStore syncs the appends of one turn of the event loop together, in one batch", async () => {
  await withDir(async (dir) => {
    const { store } = await openStore(dir);
    const records = txnRecords(1, 20, "t");
    const done = durableAt(store, 20);
    // As a follower appends the proposals of one received chunk: one call each, in one turn.
    for (const record of records) store.append([record]);
    await done;
    assert.equal(store.stats.fsyncs, 1, "one sync for the whole turn, not the first record alone");
    assert.equal(store.stats.recordsSynced, 20);
    await store.close();
  });
});

Deno.test("FileStore warns of a txn-log sync slower than syncWarningMs and counts it", async () => {
  await withDir(async (dir) => {
    // Each reading of the clock is `step` ms after the previous one: a sync measures `step` ms.
    let now = 0;
    let step = 1000;
    const warnings: [string, Record<string, unknown> | undefined][] = [];
    const { store } = await openStore(dir, {
      syncWarningMs: 1000,
      clock: () => now += step,
      log: (level, message, fields) => level === "warn" && warnings.push([message, fields]),
    });
    await appendDurably(store, txnRecords(1, 3, "a"));
    assert.equal(store.stats.slowSyncs, 0, "a sync of exactly the threshold is not slow");
    assert.equal(warnings.length, 0);
    step = 1500;
    await appendDurably(store, txnRecords(4, 2, "b"));
    assert.equal(store.stats.slowSyncs, 1);
    assert.equal(warnings.length, 1);
    const [message, fields] = warnings[0];
    assert.match(message, /syncing the txn log was slow/);
    assert.equal(fields?.ms, 1500);
    assert.equal(fields?.thresholdMs, 1000);
    assert.equal(fields?.records, 2);
    assert.match(String(fields?.file), /^log\.[0-9a-f]{16}$/);
    await store.close();
  });
});

Deno.test("FileStore with forceSync off writes the txn log without syncing it, and says so", async () => {
  await withDir(async (dir) => {
    let clockReads = 0;
    const warnings: string[] = [];
    const { store } = await openStore(dir, {
      forceSync: false,
      clock: () => ++clockReads,
      log: (level, message) => level === "warn" && warnings.push(message),
    });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /forceSync is off/);
    const records = txnRecords(1, 30, "n");
    await appendDurably(store, records.slice(0, 10));
    await appendDurably(store, records.slice(10));
    assert.equal(store.durableZxid, 30);
    assert.equal(store.stats.fsyncs, 0, "no batch was synced");
    assert.equal(clockReads, 0, "no sync was timed");
    assert.equal(store.stats.recordsSynced, 30);
    await store.close();
    // Written all the same: a restart (no power loss) finds every record.
    const reopened = await openStore(dir);
    assert.deepEqual(plain(reopened.recovered.records), plain(records));
    await reopened.store.close();
  });
  await withDir(async (dir) => {
    let clockReads = 0;
    const { store } = await openStore(dir, { clock: () => ++clockReads });
    await appendDurably(store, txnRecords(1, 10, "y"));
    assert.equal(store.stats.fsyncs, 1, "by default every batch is synced");
    assert.ok(clockReads >= 2, "and timed");
    await store.close();
  });
});

Deno.test("FileStore.writeEpochs() persists the epochs for a fresh store", async () => {
  await withDir(async (dir) => {
    const { store } = await openStore(dir);
    await store.writeEpochs({ acceptedEpoch: 3, currentEpoch: 2 });
    await store.writeEpochs({ acceptedEpoch: 4, currentEpoch: 3 });
    await store.close();
    assert.deepEqual(await readEpochs(dir), { acceptedEpoch: 4, currentEpoch: 3 });
    const reopened = await openStore(dir);
    assert.deepEqual(reopened.recovered.epochs, { acceptedEpoch: 4, currentEpoch: 3 });
    await reopened.store.close();
  });
});

Deno.test("FileStore.open() removes leftovers of interrupted snapshot and epoch writes", async () => {
  await withDir(async (dir) => {
    const records = txnRecords(1, 5, "r");
    await writeLog(dir, records);
    const leftovers = [`${storageFileName("snapshot", 5)}.tmp`, "epochs.tmp"];
    for (const name of leftovers) {
      await Deno.writeFile(join(dir, name), new Uint8Array(100).fill(0xee));
    }
    const store = await FileStore.open({ dataDir: dir });
    for (const name of leftovers) {
      await assert.rejects(Deno.stat(join(dir, name)), Deno.errors.NotFound, name);
    }
    const recovered = await store.recover();
    assert.equal(recovered.snapshot, null);
    assert.deepEqual(plain(recovered.records), plain(records));
    await store.close();
  });
});

/**
 * Whether this machine lets the tests mount a small tmpfs, where writes really run out of space
 * (Linux, root, and mount permission in a container).
 */
function tmpfsAvailable(): boolean {
  if (Deno.build.os !== "linux" || Deno.uid() !== 0) return false;
  const dir = Deno.makeTempDirSync({ prefix: "corral-tmpfs-probe-" });
  try {
    const mounted =
      new Deno.Command("mount", { args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir] })
        .outputSync().success;
    if (mounted) new Deno.Command("umount", { args: [dir] }).outputSync();
    return mounted;
  } catch {
    return false;
  } finally {
    Deno.removeSync(dir);
  }
}

/** Runs `body` with a fresh tmpfs of `bytes` mounted on a temporary directory. */
async function withTmpfs(bytes: number, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "corral-tmpfs-" });
  const mount = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", dir],
  }).output();
  assert.ok(mount.success, new TextDecoder().decode(mount.stderr));
  try {
    await body(dir);
  } finally {
    await new Deno.Command("umount", { args: [dir] }).output();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Fills the file system of `dir` with `filler`, then frees `freeBytes` of it. */
function fillUp(dir: string, freeBytes: number): void {
  const path = join(dir, "filler");
  const chunk = new Uint8Array(4096);
  try {
    for (;;) Deno.writeFileSync(path, chunk, { append: true });
  } catch {
    // Full.
  }
  Deno.truncateSync(path, Math.max(0, Deno.statSync(path).size - freeBytes));
}

Deno.test({
  name:
    "FileStore forgets every record appended before it reports a failed write, even while it undoes the write (needs root for a tmpfs)",
  fn: async () => {
    // CI runs as root on Linux; elsewhere this fails loudly rather than being skipped.
    assert.ok(tmpfsAvailable(), "this test needs root on Linux to mount a small tmpfs");
    await withTmpfs(512 * 1024, async (mount) => {
      // The window (the failed write being cut back) lasts a few event-loop turns, so appends
      // arrive every turn and the case is tried a few times.
      for (let attempt = 0; attempt < 20; attempt++) {
        const dir = join(mount, `attempt-${attempt}`);
        const { store } = await openStore(dir);
        await appendDurably(store, txnRecords(1, 1, "kept"));
        fillUp(mount, 8 * 1024);
        const [big] = txnRecords(2, 1, "too big for the disk");
        if (big.txn.type === "create") big.txn.data = new Uint8Array(64 * 1024);
        const durable: number[] = [];
        let failedAt = 0;
        let next = 3;
        store.onDurable((zxid) => durable.push(zxid));
        const failed = new Promise<void>((resolve) =>
          store.onFailure((zxid) => {
            failedAt = zxid;
            resolve();
          })
        );
        store.append([big]);
        const timer = setInterval(() => store.append(txnRecords(next++, 1, "late")), 0);
        await failed;
        clearInterval(timer);
        // Give the store time to write whatever it still holds (close() would drop it).
        await new Promise((resolve) => setTimeout(resolve, 50));
        await store.close();
        assert.equal(failedAt, 2);
        assert.deepEqual(
          durable,
          [],
          `attempt ${attempt}: records ${failedAt}..${next - 1} were appended before the failure ` +
            `report from ${failedAt}, so none of them may be reported durable`,
        );
        await Deno.remove(join(mount, "filler"));
        const reopened = await openStore(dir);
        assert.deepEqual(reopened.recovered.records.map((r) => r.zxid), [1]);
        await reopened.store.close();
        await Deno.remove(dir, { recursive: true });
      }
    });
  },
});

// ---- ensemble sync: truncation and snapshot install -------------------------------------------

/** Copies the regular files of `from` into a new directory `to`, synchronously. */
function copyDirSync(from: string, to: string): void {
  Deno.mkdirSync(to, { recursive: true });
  for (const entry of Deno.readDirSync(from)) {
    if (entry.isFile) {
      Deno.writeFileSync(join(to, entry.name), Deno.readFileSync(join(from, entry.name)));
    }
  }
}

/**
 * A store over `dataDir` holding records 1..40 in batches of four, two batches to a log file, and
 * a snapshot at 8. Returns the open store and the options it was opened with.
 */
async function multiFileLog(dataDir: string, options: Partial<FileStoreOptions> = {}) {
  const records = txnRecords(1, 40, "r");
  const batchBytes = records.slice(0, 4).reduce(
    (sum, r) => sum + encodeRecord(recordToBody(r)).byteLength,
    0,
  );
  const opened = { logFileBytesMax: fileHeaderBytes + Math.floor(2.5 * batchBytes), ...options };
  const { store } = await openStore(dataDir, opened);
  for (let i = 0; i < 40; i += 4) await appendDurably(store, records.slice(i, i + 4));
  await store.saveSnapshot(imageAfter(records.slice(0, 8)));
  const logs = await listFiles(options.dataLogDir ?? dataDir, "log");
  assert.ok(logs.length >= 4, `small files roll: ${logs.map((l) => l.name)}`);
  return { store, records, options: opened };
}

/** Asserts that `corral data inspect` finds nothing to repair and the state ends at `lastZxid`. */
async function assertInspectClean(dataDir: string, lastZxid: number, dataLogDir = dataDir) {
  const report = await inspectDataDir(dataDir, dataLogDir);
  assert.equal(report.recovery.problem, null);
  assert.ok(report.recovery.ok);
  assert.deepEqual(report.recovery.actions, []);
  assert.equal(report.recovery.lastZxid, lastZxid);
  assert.deepEqual(report.gaps, []);
  assert.deepEqual(report.logs.filter((l) => l.status.kind !== "ok"), []);
  return report;
}

Deno.test("FileStore.truncateAfter() across several log files leaves a log that recovery and `corral data inspect` accept", async () => {
  await withDir(async (dir) => {
    const { store, records, options } = await multiFileLog(dir);
    await store.truncateAfter(22); // inside the batch 21..24
    assert.equal(store.durableZxid, 22);
    const logs = await listFiles(dir, "log");
    assert.ok(logs.every((l) => l.zxid <= 22), `no later file: ${logs.map((l) => l.name)}`);
    const last = await Deno.readFile(join(dir, logs.at(-1)!.name));
    const scan = scanLog(last, true);
    assert.deepEqual(scan.status, { kind: "ok" });
    assert.equal(scan.records.at(-1)!.record.zxid, 22);
    const marker = await recordOffsets(join(dir, logs.at(-1)!.name));
    const end = readRecord(last, marker.starts.at(-1)!);
    assert.deepEqual(end.kind === "record" && end.value, { commit: 22 }, "a fresh commit marker");
    assert.equal(marker.end, last.byteLength);
    const report = await assertInspectClean(dir, 22);
    assert.deepEqual(report.notes, []);
    assert.equal(report.recovery.snapshot?.zxid, 8);

    // Appends go on after the cut, in a new file.
    const after = txnRecords(23, 4, "after the cut");
    await appendDurably(store, after);
    await store.close();
    await assertInspectClean(dir, 26);
    const reopened = await openStore(dir, options);
    assert.equal(reopened.recovered.snapshot?.zxid, 8);
    assert.deepEqual(
      plain(reopened.recovered.records),
      plain([...records.slice(8, 22), ...after]),
    );
    assert.deepEqual(reopened.recovered.notes, []);
    await reopened.store.close();
  });
});

Deno.test("FileStore.truncateAfter() the last zxid leaves the files as they are and appends to the same file", async () => {
  await withDir(async (dir) => {
    const { store } = await openStore(dir);
    const records = txnRecords(1, 12, "r");
    await appendDurably(store, records.slice(0, 10));
    const before = await Deno.readFile(join(dir, firstLog));
    await store.truncateAfter(10);
    await store.truncateAfter(11);
    assert.deepEqual(await Deno.readFile(join(dir, firstLog)), before);
    await appendDurably(store, records.slice(10));
    await store.close();
    assert.deepEqual((await listFiles(dir, "log")).map((l) => l.name), [firstLog]);
  });
});

Deno.test("FileStore.reload() rereads the disk, and the next append starts a new log file", async () => {
  await withDir(async (dir) => {
    const { store } = await openStore(dir);
    const records = txnRecords(1, 6, "r");
    await appendDurably(store, records.slice(0, 3));
    store.append(records.slice(3, 5)); // in flight: written before the reload reads
    const reloaded = await store.reload();
    assert.deepEqual(plain(reloaded.records), plain(records.slice(0, 5)));
    assert.equal(store.durableZxid, 5);
    await appendDurably(store, records.slice(5));
    await store.close();
    assert.deepEqual(
      (await listFiles(dir, "log")).map((l) => l.name),
      [firstLog, storageFileName("log", 6)],
    );
    const reopened = await openStore(dir);
    assert.deepEqual(plain(reopened.recovered.records), plain(records));
    await reopened.store.close();
  });
});

/** What a recovery found, in a form that tells the test's states apart. */
function stateOf(recovered: Recovered) {
  return {
    snapshot: recovered.snapshot === null ? null : normalise(recovered.snapshot),
    records: plain(recovered.records),
  };
}

Deno.test("FileStore: a kill before any step of truncateAfter() leaves a prefix of the old log that holds the new one", async () => {
  await withDir(async (root) => {
    const dataDir = join(root, "data");
    let onStep = (_step: string) => {};
    const { store, records, options } = await multiFileLog(dataDir, {
      beforeDiskStep: (step) => onStep(step),
    });
    const later = (await listFiles(dataDir, "log")).filter((l) => l.zxid > 22);
    const kills: Array<{ step: string; dir: string }> = [];
    onStep = (step) => {
      const dir = join(root, `kill-${kills.length}`);
      copyDirSync(dataDir, dir); // what a kill -9 now leaves
      kills.push({ step, dir });
    };
    await store.truncateAfter(22);
    await store.close();
    assert.deepEqual(
      kills.map((k) => k.step.replace(/ by its prefix.*/, "")),
      [
        ...later.reverse().map((l) => `remove ${l.name}`),
        `replace ${(await listFiles(dataDir, "log")).at(-1)!.name}`,
      ],
      "later files go newest first, then the file holding the cut is replaced",
    );
    let previous = 40;
    for (const { step, dir } of [...kills, { step: "done", dir: dataDir }]) {
      const { store: restarted, recovered } = await openStore(dir, options);
      await restarted.close();
      const n = 8 + recovered.records.length;
      assert.equal(recovered.snapshot?.zxid, 8, step);
      assert.deepEqual(plain(recovered.records), plain(records.slice(8, n)), `${step}: a prefix`);
      assert.ok(n >= 22 && n <= previous, `${step}: ${n} records, at least 22, fewer each step`);
      assert.deepEqual(recovered.notes, [], `${step}: nothing to repair`);
      await assertInspectClean(dir, n);
      previous = n;
    }
    assert.equal(previous, 22, "the last state is the new one");
  });
});

Deno.test("FileStore: a kill before any step of installSnapshot() leaves the old state, less records after the image, or the new one", async () => {
  await withDir(async (root) => {
    // Logs in their own directory, as with --data-log-dir.
    const [dataDir, logDir] = [join(root, "data"), join(root, "logs")];
    let onStep = (_step: string) => {};
    const { store, records, options } = await multiFileLog(dataDir, {
      dataLogDir: logDir,
      beforeDiskStep: (step) => onStep(step),
    });
    const image = imageAfter(txnRecords(1, 30, "leader"));
    const kills: Array<{ step: string; dir: string }> = [];
    onStep = (step) => {
      const dir = join(root, `kill-${kills.length}`);
      copyDirSync(dataDir, join(dir, "data"));
      copyDirSync(logDir, join(dir, "logs"));
      kills.push({ step, dir });
    };
    await store.installSnapshot(image);
    await store.close();
    assert.ok(
      kills.some((k) => k.step.startsWith("rename snapshot.")),
      kills.map((k) => k.step).join(", "),
    );
    const newState = { snapshot: normalise(image), records: [] };
    let installed = false;
    let previous = 40;
    for (const { step, dir } of [...kills, { step: "done", dir: root }]) {
      const [data, logs] = [join(dir, "data"), join(dir, "logs")];
      const { store: restarted, recovered } = await openStore(data, {
        ...options,
        dataLogDir: logs,
      });
      await restarted.close();
      const state = stateOf(recovered);
      if (recovered.snapshot?.zxid === 8) {
        assert.ok(!installed, `${step}: never the old state once the image was in place`);
        const n = 8 + recovered.records.length;
        assert.deepEqual(state.records, plain(records.slice(8, n)), `${step}: a prefix`);
        assert.ok(n >= 30 && n <= previous, `${step}: ${n} records, at least 30`);
        previous = n;
        await assertInspectClean(data, n, logs);
      } else {
        assert.deepEqual(state, newState, `${step}: the image alone`);
        installed = true;
        await assertInspectClean(data, 30, logs);
      }
      assert.deepEqual(
        recovered.notes.filter((n) => !/^no txn log after snapshot/.test(n)),
        [],
        `${step}: nothing to repair`,
      );
    }
    assert.ok(installed, "the last state is the new one");
    assert.equal(previous, 30, "a kill just before the rename leaves the old state less 31..40");
    assert.deepEqual(await listFiles(logDir, "log"), []);
    assert.deepEqual((await listFiles(dataDir, "snapshot")).map((f) => f.zxid), [30]);
  });
});

Deno.test({
  name:
    "FileStore.installSnapshot() that runs out of space changes nothing (needs root for a tmpfs)",
  fn: async () => {
    assert.ok(tmpfsAvailable(), "this test needs root on Linux to mount a small tmpfs");
    await withTmpfs(512 * 1024, async (mount) => {
      const dir = join(mount, "data");
      const { store } = await openStore(dir);
      const records = txnRecords(1, 5, "r");
      await appendDurably(store, records);
      fillUp(mount, 8 * 1024);
      const big = txnRecords(1, 3, "leader");
      for (const record of big) {
        if (record.txn.type === "create") record.txn.data = new Uint8Array(64 * 1024).fill(1);
      }
      await assert.rejects(store.installSnapshot(imageAfter(big)), /ENOSPC|no space/i);
      await Deno.remove(join(mount, "filler"));
      assert.deepEqual(
        [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".tmp")),
        [],
        "the partial image is gone",
      );
      const reloaded = await store.reload();
      assert.equal(reloaded.snapshot, null);
      assert.deepEqual(plain(reloaded.records), plain(records));
      assert.equal(store.durableZxid, 5);
      await appendDurably(store, txnRecords(6, 1, "more"));
      await store.close();
    });
  },
});

Deno.test("FileStore.saveSnapshot() of a large tree gives the event loop a turn between chunks", async () => {
  // 20,000 nodes are 20 chunks. With a slice of 0 ms the save yields after every chunk, so a
  // timer chain running meanwhile gets at least that many turns; yielding only for the file's
  // I/O (open, a write per MiB, sync, close) would give it a handful.
  const tree = new DataTree();
  const acl = [{ perms: 31, scheme: "world", id: "anyone" }];
  for (let i = 1; i <= 20_000; i++) {
    tree.apply({
      zxid: i,
      timeMs: 0,
      sessionId: 0,
      txn: {
        type: "create",
        path: `/n${i}`,
        data: new Uint8Array(100),
        acl,
        ephemeralOwner: 0,
        parentCversion: i,
      },
    });
  }
  const image = { zxid: tree.lastZxid, nodes: tree.exportNodes(), sessions: [] };
  await withDir(async (dir) => {
    const { store } = await openStore(dir, { snapshotSliceMs: 0 });
    let turns = 0;
    let running = true;
    const tick = () => {
      if (!running) return;
      turns++;
      setTimeout(tick, 0);
    };
    setTimeout(tick, 0);
    await store.saveSnapshot(image);
    running = false;
    await store.close();
    assert.ok(turns >= 20, `the timer chain ran ${turns} times during the save`);
  });
});
