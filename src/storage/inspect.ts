/**
 * Read-only inspection of a data directory: what every snapshot and txn log file holds, where
 * each is damaged, whether the zxids run on without gaps, and what {@linkcode FileStore} recovery
 * would do with it all (which snapshot it loads, which txns it replays, and whether it would stop
 * on corruption). Nothing here writes, truncates or removes a file: an operator runs it before
 * deciding what to do with a server that will not start, or to check a backup.
 *
 * The recovery verdict follows `FileStore.recover()` rule for rule; tests cross-check the two.
 * @module
 */
import * as fs from "node:fs/promises";
import { join } from "node:path";
import { decodeSnapshot, listFiles, readEpochs, zxidFollows } from "./file_store.ts";
import { scanLog } from "./log_scan.ts";
import type { Epochs } from "./types.ts";

/** What inspection found in one snapshot file. */
export interface SnapshotFileReport {
  /** File name: `snapshot.<16 hex digits>`. */
  name: string;
  /** The zxid in the file name. */
  zxid: number;
  /** Size of the file. */
  bytes: number;
  /** True when the file decodes and verifies completely. */
  valid: boolean;
  /** Znodes in a valid snapshot; null for an invalid one. */
  nodeCount: number | null;
  /** Sessions in a valid snapshot; null for an invalid one. */
  sessionCount: number | null;
  /** Why the snapshot is invalid; null when valid. */
  problem: string | null;
  /** Where in the file the problem is, when it is at a place; null otherwise. */
  problemOffset: number | null;
}

/**
 * The state of one txn log file: readable to its end, damaged within the torn-tail window of the
 * last file (recovery truncates it), or damaged anywhere else (recovery stops).
 */
export type LogFileStatus =
  | { kind: "ok" }
  | { kind: "tornTail"; offset: number; bytes: number; reason: string }
  | { kind: "corrupt"; offset: number; reason: string };

/** What inspection found in one txn log file. */
export interface LogFileReport {
  /** File name: `log.<16 hex digits>`. */
  name: string;
  /** The zxid in the file name (the first zxid the file was started for). */
  nameZxid: number;
  /** First and last zxid of the readable records; null when there are none. */
  firstZxid: number | null;
  lastZxid: number | null;
  /** Readable records (those before any damage). */
  records: number;
  /** Size of the file. */
  bytes: number;
  status: LogFileStatus;
}

/** Two consecutive log records whose zxids do not follow each other. */
export interface ZxidGap {
  /** The log file holding the second record. */
  file: string;
  /** Offset of the second record in that file. */
  offset: number;
  /** The zxid before the gap. */
  after: number;
  /** The zxid after the gap. */
  next: number;
}

/** Where recovery would stop, and why. */
export interface RecoveryProblem {
  /** The file (name within its directory, or the directory itself). */
  file: string;
  /** The byte offset, when the problem is at one place of the file. */
  offset: number | null;
  reason: string;
}

/** What `FileStore.recover()` would do with the directory. */
export interface RecoveryPlan {
  /** True when recovery would succeed (possibly after the repairs listed in `actions`). */
  ok: boolean;
  /** The snapshot it would load (the newest valid one), or null to start from an empty tree. */
  snapshot: { name: string; zxid: number } | null;
  /** Txns it would replay from the logs after the snapshot. */
  replayCount: number;
  /** First and last replayed zxid; null when nothing would be replayed. */
  replayFirstZxid: number | null;
  replayLastZxid: number | null;
  /** The zxid the state would reach (meaningful when `ok`). */
  lastZxid: number;
  /** What recovery would do besides loading: skip snapshots, truncate a torn tail, ... */
  actions: string[];
  /** Why recovery would stop; null when `ok`. */
  problem: RecoveryProblem | null;
}

/** Everything {@linkcode inspectDataDir} found. */
export interface DataDirReport {
  dataDir: string;
  dataLogDir: string;
  /** The persisted epochs (zeros when there is no epochs file); null when it is unreadable. */
  epochs: Epochs | null;
  /** True when an epochs file exists. */
  epochsFile: boolean;
  /** Why the epochs file is unreadable; null when it is fine or absent. */
  epochsProblem: string | null;
  /** Snapshot files, oldest first. */
  snapshots: SnapshotFileReport[];
  /** Txn log files, oldest first. */
  logs: LogFileReport[];
  /** zxid discontinuities between consecutive readable log records (within and across files). */
  gaps: ZxidGap[];
  /** Other observations: leftovers of interrupted writes, names that disagree with contents, ... */
  notes: string[];
  recovery: RecoveryPlan;
}

/** True when `next` may follow `previous` in the log (the rule of FileStore's replay). */
export { zxidFollows };

/** `0x` and lower-case hex, as zxids are written everywhere. */
function hex(zxid: number): string {
  return `0x${zxid.toString(16)}`;
}

/** The offset a problem text names (`offset 123: ...`), or null. */
function offsetIn(problem: string): number | null {
  const match = /offset (\d+)/.exec(problem);
  return match ? Number(match[1]) : null;
}

async function readBytes(path: string): Promise<Uint8Array | Error> {
  return await fs.readFile(path).then((b) => new Uint8Array(b), (e) => e as Error);
}

async function inspectSnapshot(dir: string, name: string, zxid: number) {
  const bytes = await readBytes(join(dir, name));
  const report: SnapshotFileReport = {
    name,
    zxid,
    bytes: bytes instanceof Error ? 0 : bytes.byteLength,
    valid: false,
    nodeCount: null,
    sessionCount: null,
    problem: null,
    problemOffset: null,
  };
  const notes: string[] = [];
  if (bytes instanceof Error) {
    report.problem = bytes.message;
    return { report, notes };
  }
  const decoded = decodeSnapshot(bytes);
  if ("problem" in decoded) {
    report.problem = decoded.problem;
    // A problem that names no offset is one of the header's, at the start of the file.
    report.problemOffset = offsetIn(decoded.problem) ?? 0;
    return { report, notes };
  }
  report.valid = true;
  report.nodeCount = decoded.image.nodes.length;
  report.sessionCount = decoded.image.sessions.length;
  if (decoded.image.zxid !== zxid) {
    notes.push(`${name} holds the state at zxid ${hex(decoded.image.zxid)}, not ${hex(zxid)}`);
  }
  if (decoded.bytes < bytes.byteLength) {
    notes.push(`${name} has ${bytes.byteLength - decoded.bytes} bytes after its end record`);
  }
  return { report, notes };
}

/** One log file read through: its report and the zxid and offset of every readable record. */
interface ParsedLog {
  report: LogFileReport;
  records: { zxid: number; offset: number }[];
}

async function parseLog(
  dir: string,
  file: { name: string; zxid: number },
  isLast: boolean,
): Promise<ParsedLog> {
  const report: LogFileReport = {
    name: file.name,
    nameZxid: file.zxid,
    firstZxid: null,
    lastZxid: null,
    records: 0,
    bytes: 0,
    status: { kind: "ok" },
  };
  const bytes = await readBytes(join(dir, file.name));
  if (bytes instanceof Error) {
    report.status = { kind: "corrupt", offset: 0, reason: bytes.message };
    return { report, records: [] };
  }
  report.bytes = bytes.byteLength;
  // The very rules recovery applies (src/storage/log_scan.ts), without changing the file.
  const scan = scanLog(bytes, isLast);
  const records = scan.records.map(({ record, offset }) => ({ zxid: record.zxid, offset }));
  report.status = scan.status;
  report.records = records.length;
  report.firstZxid = records[0]?.zxid ?? null;
  report.lastZxid = records.at(-1)?.zxid ?? null;
  return { report, records };
}

/** Gaps between consecutive readable records; continuity restarts after a damaged file. */
function findGaps(logs: readonly ParsedLog[], notes: string[]): ZxidGap[] {
  const gaps: ZxidGap[] = [];
  let previous: number | null = null;
  for (const { report, records } of logs) {
    if (records.length > 0 && records[0].zxid !== report.nameZxid) {
      notes.push(
        `${report.name} starts with zxid ${hex(records[0].zxid)}, not the ${
          hex(report.nameZxid)
        } its name says`,
      );
    }
    for (const record of records) {
      if (previous !== null && !zxidFollows(previous, record.zxid)) {
        gaps.push({ file: report.name, offset: record.offset, after: previous, next: record.zxid });
      }
      previous = record.zxid;
    }
    if (report.status.kind === "corrupt") previous = null;
  }
  return gaps;
}

/** The replay part of recovery, rule for rule as `FileStore.#replayLogs` does it. */
function planReplay(logs: readonly ParsedLog[], plan: RecoveryPlan, dataLogDir: string): void {
  const start = plan.snapshot?.zxid ?? 0;
  let last = start;
  for (let i = 0; i < logs.length; i++) {
    // A file followed by one that starts at or before start + 1 is wholly in the snapshot.
    if (i + 1 < logs.length && logs[i + 1].report.nameZxid <= start + 1) continue;
    const { report, records } = logs[i];
    for (const record of records) {
      if (record.zxid <= start) continue;
      if (!zxidFollows(last, record.zxid)) {
        plan.problem = {
          file: report.name,
          offset: record.offset,
          reason: `zxid ${hex(record.zxid)} cannot follow ${hex(last)} (a gap or a reorder)`,
        };
        return;
      }
      plan.replayCount++;
      plan.replayFirstZxid ??= record.zxid;
      plan.replayLastZxid = record.zxid;
      last = record.zxid;
    }
    const status = report.status;
    if (status.kind === "corrupt") {
      plan.problem = {
        file: report.name,
        offset: status.offset,
        reason: `${status.reason}; the log is corrupt before its tail`,
      };
      return;
    }
    if (status.kind === "tornTail") {
      plan.actions.push(
        status.offset === 0
          ? `remove ${report.name}: ${status.reason}`
          : `truncate the torn tail of ${report.name} at offset ${status.offset} ` +
            `(${status.bytes} bytes: ${status.reason})`,
      );
    }
  }
  if (logs.length > 0 && plan.replayCount === 0 && logs[0].report.nameZxid > start + 1) {
    plan.problem = {
      file: dataLogDir,
      offset: null,
      reason: `the logs start at zxid ${hex(logs[0].report.nameZxid)} but the state ends at ${
        hex(start)
      }; txns are missing`,
    };
  }
}

function planRecovery(
  report: Omit<DataDirReport, "recovery">,
  logs: readonly ParsedLog[],
): RecoveryPlan {
  const plan: RecoveryPlan = {
    ok: false,
    snapshot: null,
    replayCount: 0,
    replayFirstZxid: null,
    replayLastZxid: null,
    lastZxid: 0,
    actions: [],
    problem: null,
  };
  if (report.epochsProblem !== null) {
    plan.problem = {
      file: "epochs",
      offset: offsetIn(report.epochsProblem),
      reason: report.epochsProblem,
    };
    return plan;
  }
  for (const snapshot of [...report.snapshots].reverse()) {
    if (snapshot.valid) {
      plan.snapshot = { name: snapshot.name, zxid: snapshot.zxid };
      break;
    }
    plan.actions.push(`skip the invalid snapshot ${snapshot.name} (${snapshot.problem})`);
  }
  planReplay(logs, plan, report.dataLogDir);
  plan.ok = plan.problem === null;
  plan.lastZxid = plan.replayLastZxid ?? plan.snapshot?.zxid ?? 0;
  return plan;
}

async function leftovers(dirs: readonly string[]): Promise<string[]> {
  const notes: string[] = [];
  for (const dir of new Set(dirs)) {
    for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
      if (name.endsWith(".tmp")) {
        notes.push(`${join(dir, name)} is left over from an interrupted write; start removes it`);
      }
    }
  }
  return notes;
}

async function inspectEpochs(dataDir: string) {
  const epochsFile = await fs.stat(join(dataDir, "epochs")).then(() => true, () => false);
  try {
    return { epochs: await readEpochs(dataDir), epochsFile, epochsProblem: null };
  } catch (error) {
    return { epochs: null, epochsFile, epochsProblem: (error as Error).message };
  }
}

async function requireDir(dir: string): Promise<void> {
  const stat = await fs.stat(dir).catch(() => null);
  if (stat === null) throw new Error(`${dir} does not exist`);
  if (!stat.isDirectory()) throw new Error(`${dir} is not a directory`);
}

/**
 * Inspects the snapshots and epochs in `dataDir` and the txn logs in `dataLogDir` (default
 * `dataDir`) without changing anything, and says what recovery would do. Rejects when a
 * directory does not exist.
 *
 * @example
 * ```ts ignore
 * import { inspectDataDir } from "./inspect.ts";
 * const report = await inspectDataDir("./corral-data");
 * for (const log of report.logs) console.log(log.name, log.records, log.status.kind);
 * if (!report.recovery.ok) console.log("recovery would stop:", report.recovery.problem);
 * ```
 */
export async function inspectDataDir(
  dataDir: string,
  dataLogDir: string = dataDir,
): Promise<DataDirReport> {
  await requireDir(dataDir);
  await requireDir(dataLogDir);
  const notes = await leftovers([dataDir, dataLogDir]);
  const snapshots: SnapshotFileReport[] = [];
  for (const file of await listFiles(dataDir, "snapshot")) {
    const inspected = await inspectSnapshot(dataDir, file.name, file.zxid);
    snapshots.push(inspected.report);
    notes.push(...inspected.notes);
  }
  const files = await listFiles(dataLogDir, "log");
  const logs: ParsedLog[] = [];
  for (let i = 0; i < files.length; i++) {
    logs.push(await parseLog(dataLogDir, files[i], i === files.length - 1));
  }
  if (dataLogDir !== dataDir && (await listFiles(dataDir, "log")).length > 0) {
    notes.push(
      `${dataDir} holds txn logs, which are ignored: the logs are read from ${dataLogDir}`,
    );
  }
  const gaps = findGaps(logs, notes);
  const report = {
    dataDir,
    dataLogDir,
    ...await inspectEpochs(dataDir),
    snapshots,
    logs: logs.map((l) => l.report),
    gaps,
    notes,
  };
  return { ...report, recovery: planRecovery(report, logs) };
}

/**
 * A log file's status in words: `ok`, `torn tail at offset X (N bytes)` or
 * `corrupt at offset X: reason`.
 *
 * @example
 * ```ts
 * import { formatLogStatus } from "./inspect.ts";
 * formatLogStatus({ kind: "tornTail", offset: 80, bytes: 12, reason: "record body cut short" });
 * // "torn tail at offset 80 (12 bytes)"
 * ```
 */
export function formatLogStatus(status: LogFileStatus): string {
  switch (status.kind) {
    case "ok":
      return "ok";
    case "tornTail":
      return `torn tail at offset ${status.offset} (${status.bytes} bytes)`;
    case "corrupt":
      return `corrupt at offset ${status.offset}: ${status.reason}`;
  }
}
