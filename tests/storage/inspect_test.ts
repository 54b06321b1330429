/**
 * `inspectDataDir()` on directories built with the real {@linkcode FileStore} and then damaged
 * byte by byte: a healthy directory, a torn tail, a corrupt record before the tail, a zxid gap
 * and a bad snapshot. Every verdict is cross-checked against what `FileStore.recover()` does on
 * a copy of the same directory, and every inspection is checked to leave the files untouched.
 * @module
 */
import assert from "../assert.ts";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore, type FileStoreOptions } from "../../src/storage/file_store.ts";
import {
  type DataDirReport,
  formatLogStatus,
  inspectDataDir,
  type LogFileReport,
} from "../../src/storage/inspect.ts";
import { fileHeaderBytes, readRecord } from "../../src/storage/record.ts";
import { CorruptionError, type Recovered } from "../../src/storage/types.ts";
import { DataTree } from "../../src/tree/data_tree.ts";
import type { TxnRecord } from "../../src/tree/txn.ts";

const openAcl = [{ perms: 31, scheme: "world", id: "anyone" }];

/** A create of `/n<zxid>`, or a setData of it when `set` (after its create). */
function record(zxid: number, set = false): TxnRecord {
  const data = new TextEncoder().encode(`value-${zxid}`);
  return {
    zxid,
    timeMs: 1_000 + zxid,
    sessionId: 0,
    txn: set ? { type: "setData", path: "/n1", data, version: zxid } : {
      type: "create",
      path: `/n${zxid}`,
      data,
      acl: openAcl,
      ephemeralOwner: 0,
      parentCversion: zxid,
    },
  };
}

interface Plan {
  /** zxids appended, one group commit each (so small log files roll between them). */
  zxids: number[];
  /** Take a snapshot of the tree right after these zxids. */
  snapshotsAfter?: number[];
  logFileBytesMax?: number;
}

/** Builds a data directory with the real FileStore; returns its path. */
async function build(plan: Plan): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "corral-inspect-"));
  const options: FileStoreOptions = { dataDir: dir, logFileBytesMax: plan.logFileBytesMax };
  const store = await FileStore.open(options);
  await store.recover();
  await store.writeEpochs({ acceptedEpoch: 0, currentEpoch: 0 });
  const tree = new DataTree();
  try {
    for (const zxid of plan.zxids) {
      const durable = new Promise<void>((resolve, reject) => {
        store.onDurable((z) => z >= zxid && resolve());
        store.onFailure((_, error) => reject(error));
      });
      const one = record(zxid, zxid > 1 && zxid % 3 === 0);
      store.append([one]);
      await durable;
      tree.apply(one);
      if (plan.snapshotsAfter?.includes(zxid)) {
        await store.saveSnapshot({ zxid, nodes: tree.exportNodes(), sessions: [] });
      }
    }
  } finally {
    await store.close();
  }
  return dir;
}

/** Every file of `dir` and its bytes, to prove inspection changed nothing. */
function contents(dir: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const name of readdirSync(dir).sort()) {
    map.set(name, Buffer.from(readFileSync(join(dir, name))).toString("base64"));
  }
  return map;
}

/** Inspects `dir` and checks that the inspection left every byte as it was. */
async function inspectUnchanged(dir: string): Promise<DataDirReport> {
  const before = contents(dir);
  const report = await inspectDataDir(dir);
  assert.deepEqual(contents(dir), before, "inspection must not change any file");
  return report;
}

/** What FileStore.recover() does on a copy of `dir`: what it recovered, or the error it threw. */
async function recoverCopy(dir: string): Promise<Recovered | CorruptionError> {
  const copy = mkdtempSync(join(tmpdir(), "corral-inspect-copy-"));
  cpSync(dir, copy, { recursive: true });
  const store = await FileStore.open({ dataDir: copy });
  try {
    return await store.recover();
  } catch (error) {
    if (error instanceof CorruptionError) return error;
    throw error;
  } finally {
    await store.close();
    rmSync(copy, { recursive: true, force: true });
  }
}

/** Asserts that the inspection's verdict is the one FileStore.recover() reaches. */
async function assertAgreesWithRecovery(dir: string, report: DataDirReport): Promise<void> {
  const recovered = await recoverCopy(dir);
  if (recovered instanceof CorruptionError) {
    assert.equal(report.recovery.ok, false, `recovery threw: ${recovered.message}`);
    const problem = report.recovery.problem!;
    assert.ok(
      recovered.message.includes(problem.file),
      `${recovered.message} names ${problem.file}`,
    );
    if (problem.offset !== null) {
      assert.ok(recovered.message.includes(`offset ${problem.offset}`), recovered.message);
    }
    return;
  }
  assert.equal(report.recovery.ok, true, JSON.stringify(report.recovery.problem));
  assert.equal(report.recovery.snapshot?.zxid ?? null, recovered.snapshot?.zxid ?? null);
  assert.equal(report.recovery.replayCount, recovered.records.length);
  assert.equal(report.recovery.replayFirstZxid, recovered.records[0]?.zxid ?? null);
  assert.equal(report.recovery.replayLastZxid, recovered.records.at(-1)?.zxid ?? null);
}

/** Offsets of every record of a log file. */
function recordOffsets(path: string): number[] {
  const bytes = new Uint8Array(readFileSync(path));
  const offsets: number[] = [];
  let offset = fileHeaderBytes;
  for (let i = 0; i < 10_000; i++) {
    const read = readRecord(bytes, offset);
    if (read.kind !== "record") break;
    offsets.push(offset);
    offset = read.next;
  }
  return offsets;
}

function flipByte(path: string, offset: number): void {
  const bytes = new Uint8Array(readFileSync(path));
  bytes[offset] ^= 0xff;
  writeFileSync(path, bytes);
}

function logNamed(report: DataDirReport, name: string): LogFileReport {
  const log = report.logs.find((l) => l.name === name);
  assert.ok(log, `${name} is listed`);
  return log;
}

async function withDir(plan: Plan, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await build(plan);
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

Deno.test("inspectDataDir() describes a healthy directory: snapshots, logs, epochs and the recovery plan", async () => {
  await withDir(
    { zxids: range(1, 10), snapshotsAfter: [4, 7], logFileBytesMax: 200 },
    async (dir) => {
      const report = await inspectUnchanged(dir);
      assert.deepEqual(report.epochs, { acceptedEpoch: 0, currentEpoch: 0 });
      assert.equal(report.epochsFile, true);
      assert.deepEqual(report.snapshots.map((s) => [s.name, s.zxid, s.valid, s.problem]), [
        ["snapshot.0000000000000004", 4, true, null],
        ["snapshot.0000000000000007", 7, true, null],
      ]);
      // The root, /zookeeper, its config and quota, and the nodes created up to zxid 7 (3 and 6 are sets).
      assert.equal(report.snapshots[1].nodeCount, 4 + 5);
      assert.equal(report.snapshots[1].sessionCount, 0);
      assert.ok(report.logs.length > 1, "small log files rolled");
      assert.ok(report.logs.every((l) => l.status.kind === "ok"));
      // Retention purged the logs wholly before the oldest kept snapshot; the rest run on to 10.
      const first = report.logs[0].firstZxid!;
      assert.ok(first >= 1 && first <= 5, `the kept logs start by zxid 5, not ${first}`);
      assert.equal(report.logs.at(-1)!.lastZxid, 10);
      assert.equal(report.logs.reduce((n, l) => n + l.records, 0), 10 - first + 1);
      for (const log of report.logs) {
        assert.equal(log.firstZxid, log.nameZxid, "a log starts with the zxid of its name");
        assert.equal(log.bytes, readFileSync(join(dir, log.name)).byteLength);
      }
      assert.deepEqual(report.gaps, []);
      assert.deepEqual(report.notes, []);
      assert.deepEqual(report.recovery, {
        ok: true,
        snapshot: { name: "snapshot.0000000000000007", zxid: 7 },
        replayCount: 3,
        replayFirstZxid: 8,
        replayLastZxid: 10,
        lastZxid: 10,
        actions: [],
        problem: null,
      });
      await assertAgreesWithRecovery(dir, report);
    },
  );
});

Deno.test("inspectDataDir() reports a cut-off last record of the last log as a torn tail recovery truncates", async () => {
  await withDir({ zxids: range(1, 6), logFileBytesMax: 200 }, async (dir) => {
    const last = readdirSync(dir).filter((n) => n.startsWith("log.")).sort().at(-1)!;
    const path = join(dir, last);
    const offsets = recordOffsets(path);
    const size = readFileSync(path).byteLength;
    // offsets alternate txn record, commit marker; the final batch is the last pair.
    const batchStart = offsets.at(-2)!;
    const marker = offsets.at(-1)!;
    writeFileSync(path, new Uint8Array(readFileSync(path)).subarray(0, size - 3));
    const report = await inspectUnchanged(dir);
    const log = logNamed(report, last);
    assert.deepEqual(log.status, {
      kind: "tornTail",
      offset: batchStart,
      bytes: size - 3 - batchStart,
      reason: `record at offset ${marker}: record body cut short`,
    });
    assert.equal(
      formatLogStatus(log.status),
      `torn tail at offset ${batchStart} (${size - 3 - batchStart} bytes)`,
    );
    assert.equal(log.records, offsets.length / 2 - 1);
    assert.equal(report.recovery.ok, true);
    assert.equal(report.recovery.replayLastZxid, 5);
    assert.equal(report.recovery.actions.length, 1);
    assert.match(
      report.recovery.actions[0],
      new RegExp(`truncate the torn tail of ${last} at offset ${batchStart}`),
    );
    await assertAgreesWithRecovery(dir, report);
  });
});

Deno.test("inspectDataDir() reports damage in a log before the last as corruption that stops recovery", async () => {
  await withDir({ zxids: range(1, 8), logFileBytesMax: 200 }, async (dir) => {
    const logs = readdirSync(dir).filter((n) => n.startsWith("log.")).sort();
    assert.ok(logs.length >= 3, "the logs rolled");
    const victim = logs[1];
    const offsets = recordOffsets(join(dir, victim));
    const target = offsets.length > 1 ? offsets[1] : offsets[0];
    flipByte(join(dir, victim), target + 12); // inside the body: the checksum no longer matches
    const report = await inspectUnchanged(dir);
    const log = logNamed(report, victim);
    const reason =
      `record at offset ${target}: checksum mismatch, in a log file that is not the last`;
    assert.deepEqual(log.status, { kind: "corrupt", offset: target, reason });
    assert.equal(formatLogStatus(log.status), `corrupt at offset ${target}: ${reason}`);
    assert.equal(report.recovery.ok, false);
    assert.equal(report.recovery.problem?.file, victim);
    assert.equal(report.recovery.problem?.offset, target);
    assert.match(report.recovery.problem!.reason, /checksum mismatch/);
    // Continuity is not claimed across the unreadable rest of the damaged file.
    assert.deepEqual(report.gaps, []);
    await assertAgreesWithRecovery(dir, report);
  });
});

Deno.test("inspectDataDir() treats damage followed by later committed batches as corruption", async () => {
  await withDir({ zxids: range(1, 4) }, async (dir) => {
    const [log] = readdirSync(dir).filter((n) => n.startsWith("log."));
    // One batch per zxid: record, commit marker, record, marker, ...
    const offsets = recordOffsets(join(dir, log));
    flipByte(join(dir, log), offsets[2] + 12); // the record of zxid 2, acknowledged before 3 and 4
    const report = await inspectUnchanged(dir);
    assert.deepEqual(report.logs[0].status, {
      kind: "corrupt",
      offset: offsets[2],
      reason: "checksum mismatch, before acknowledged data",
    });
    assert.equal(report.recovery.ok, false);
    await assertAgreesWithRecovery(dir, report);
  });
});

Deno.test("inspectDataDir() treats damage in the final batch of the last log as a torn tail", async () => {
  await withDir({ zxids: range(1, 4) }, async (dir) => {
    const [log] = readdirSync(dir).filter((n) => n.startsWith("log."));
    const offsets = recordOffsets(join(dir, log));
    flipByte(join(dir, log), offsets[6] + 12); // the record of zxid 4, the final batch
    const report = await inspectUnchanged(dir);
    assert.equal(report.logs[0].status.kind, "tornTail");
    assert.equal((report.logs[0].status as { offset: number }).offset, offsets[6]);
    assert.equal(report.recovery.ok, true);
    assert.equal(report.recovery.lastZxid, 3);
    await assertAgreesWithRecovery(dir, report);
  });
});

Deno.test("inspectDataDir() reports a zxid gap, and recovery stops at it", async () => {
  await withDir({ zxids: [1, 2, 3, 5, 6], logFileBytesMax: 200 }, async (dir) => {
    const report = await inspectUnchanged(dir);
    assert.equal(report.gaps.length, 1);
    const gap = report.gaps[0];
    assert.equal(gap.after, 3);
    assert.equal(gap.next, 5);
    assert.equal(report.recovery.ok, false);
    assert.equal(report.recovery.problem?.file, gap.file);
    assert.equal(report.recovery.problem?.offset, gap.offset);
    assert.match(report.recovery.problem!.reason, /zxid 0x5 cannot follow 0x3/);
    await assertAgreesWithRecovery(dir, report);
  });
});

Deno.test("inspectDataDir() reports a bad snapshot with its offset; recovery falls back to an older one", async () => {
  await withDir({ zxids: range(1, 9), snapshotsAfter: [3, 6] }, async (dir) => {
    const newest = join(dir, "snapshot.0000000000000006");
    const size = readFileSync(newest).byteLength;
    flipByte(newest, size - 2); // inside the end record
    const report = await inspectUnchanged(dir);
    const bad = report.snapshots.find((s) => s.zxid === 6)!;
    assert.equal(bad.valid, false);
    assert.equal(bad.nodeCount, null);
    assert.match(bad.problem!, /checksum mismatch/);
    assert.ok(bad.problemOffset! > fileHeaderBytes && bad.problemOffset! < size);
    assert.equal(report.recovery.ok, true);
    assert.deepEqual(report.recovery.snapshot, { name: "snapshot.0000000000000003", zxid: 3 });
    assert.equal(report.recovery.replayFirstZxid, 4);
    assert.equal(report.recovery.replayLastZxid, 9);
    assert.match(
      report.recovery.actions[0],
      /skip the invalid snapshot snapshot\.0000000000000006/,
    );
    await assertAgreesWithRecovery(dir, report);
  });
});

Deno.test("inspectDataDir() reports txns missing between the only valid state and the logs", async () => {
  await withDir({ zxids: range(1, 9), snapshotsAfter: [3], logFileBytesMax: 200 }, async (dir) => {
    rmSync(join(dir, "snapshot.0000000000000003"));
    const report = await inspectUnchanged(dir);
    const first = report.logs[0];
    assert.ok(first.nameZxid > 1, "retention purged the logs before the snapshot");
    assert.deepEqual(report.gaps, [], "the remaining logs run on without a gap");
    assert.equal(report.recovery.ok, false);
    assert.equal(report.recovery.snapshot, null);
    assert.deepEqual(report.recovery.problem, {
      file: first.name,
      offset: fileHeaderBytes,
      reason: `zxid 0x${first.nameZxid.toString(16)} cannot follow 0x0 (a gap or a reorder)`,
    });
    await assertAgreesWithRecovery(dir, report);
  });
});

Deno.test("inspectDataDir() reports an unreadable epochs file and leftovers, and rejects a missing directory", async () => {
  await withDir({ zxids: [1, 2] }, async (dir) => {
    writeFileSync(join(dir, "epochs"), new TextEncoder().encode("not an epochs file"));
    writeFileSync(join(dir, "snapshot.0000000000000002.tmp"), new Uint8Array(3));
    const report = await inspectUnchanged(dir);
    assert.equal(report.epochs, null);
    assert.match(report.epochsProblem!, /bad magic/);
    assert.equal(report.recovery.ok, false);
    assert.equal(report.recovery.problem?.file, "epochs");
    assert.ok(report.notes.some((n) => n.includes("snapshot.0000000000000002.tmp")));
  });
  await assert.rejects(inspectDataDir(join(tmpdir(), "corral-no-such-dir-x")), /does not exist/);
});

Deno.test("inspectDataDir() of an empty directory plans an empty recovery", async () => {
  const dir = mkdtempSync(join(tmpdir(), "corral-inspect-"));
  try {
    const empty = await inspectDataDir(dir, dir);
    assert.equal(empty.recovery.ok, true);
    assert.equal(empty.recovery.snapshot, null);
    assert.equal(empty.recovery.lastZxid, 0);
    assert.equal(empty.epochsFile, false);
    assert.deepEqual(empty.epochs, { acceptedEpoch: 0, currentEpoch: 0 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
