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
import { CorruptionError } from "../../src/storage/types.ts";
import type { TxnRecord } from "../../src/tree/txn.ts";
import { imageAfter, txnRecords } from "./contract.ts";

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
