/**
 * `corral data inspect DIR`: a read-only look at a data directory — every snapshot and txn log,
 * where each is damaged, zxid gaps, the epochs — and what recovery would do with it. Exit 0 when
 * recovery would succeed, 1 when it would stop on corruption.
 * @module
 */
import type { ParsedArgs } from "./args.ts";
import { CommandFailure, parseSubcommand, reportSubcommandError } from "./backup.ts";
import { hex } from "./format.ts";
import { dataSubcommands } from "./help.ts";
import type { CliIo } from "./io.ts";
import { exitCodes } from "./oneshot.ts";
import {
  type DataDirReport,
  formatLogStatus,
  inspectDataDir,
  type RecoveryPlan,
} from "../storage/inspect.ts";

/** Rows as left-aligned columns under a header, two spaces apart, each line indented. */
function columns(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) =>
    `  ${cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i])).join("  ")}\n`;
  return [header, ...rows].map(line).join("");
}

const zxidOrDash = (zxid: number | null) => zxid === null ? "-" : hex(zxid);
const countOrDash = (count: number | null) => count === null ? "-" : String(count);

function snapshotsSection(report: DataDirReport): string {
  if (report.snapshots.length === 0) return "Snapshots: none\n";
  const rows = report.snapshots.map((s) => [
    s.name,
    hex(s.zxid),
    String(s.bytes),
    countOrDash(s.nodeCount),
    countOrDash(s.sessionCount),
    s.valid
      ? "valid"
      : s.problemOffset === null
      ? `invalid: ${s.problem}`
      : `invalid at offset ${s.problemOffset}: ${s.problem}`,
  ]);
  return `Snapshots (${report.dataDir}):\n` +
    columns(["FILE", "ZXID", "BYTES", "ZNODES", "SESSIONS", "STATUS"], rows);
}

function logsSection(report: DataDirReport): string {
  if (report.logs.length === 0) return "Txn logs: none\n";
  const rows = report.logs.map((l) => [
    l.name,
    zxidOrDash(l.firstZxid),
    zxidOrDash(l.lastZxid),
    String(l.records),
    String(l.bytes),
    formatLogStatus(l.status),
  ]);
  return `Txn logs (${report.dataLogDir}):\n` +
    columns(["FILE", "FIRST", "LAST", "RECORDS", "BYTES", "STATUS"], rows);
}

function continuitySection(report: DataDirReport): string {
  if (report.gaps.length === 0) return "Continuity: no zxid gaps between log records\n";
  return `Continuity: ${report.gaps.length} zxid gap(s)\n` +
    report.gaps.map((g) =>
      `  ${hex(g.after)} -> ${hex(g.next)} in ${g.file} at offset ${g.offset}\n`
    ).join("");
}

function epochsLine(report: DataDirReport): string {
  if (report.epochs === null) return `Epochs: unreadable: ${report.epochsProblem}\n`;
  const { acceptedEpoch, currentEpoch } = report.epochs;
  const source = report.epochsFile ? "" : " (no epochs file)";
  return `Epochs: accepted ${acceptedEpoch}, current ${currentEpoch}${source}\n`;
}

function recoverySection(plan: RecoveryPlan): string {
  const actions = plan.actions.map((a) => `  it would ${a}\n`).join("");
  if (!plan.ok) {
    const problem = plan.problem!;
    const where = problem.offset === null
      ? problem.file
      : `${problem.file} at offset ${problem.offset}`;
    return `Recovery: would STOP on corruption in ${where}: ${problem.reason}\n${actions}`;
  }
  const from = plan.snapshot === null
    ? "an empty tree (no valid snapshot)"
    : `${plan.snapshot.name} (zxid ${hex(plan.snapshot.zxid)})`;
  const replay = plan.replayCount === 0
    ? "no txns to replay"
    : `replay ${plan.replayCount} txn(s) ${hex(plan.replayFirstZxid!)}..${
      hex(plan.replayLastZxid!)
    } from the logs`;
  return `Recovery: would succeed: load ${from}, ${replay}; state at zxid ${
    hex(plan.lastZxid)
  }\n${actions}`;
}

/** The inspection as readable text: epochs, tables of snapshots and logs, gaps, the plan. */
export function formatInspection(report: DataDirReport): string {
  const notes = report.notes.map((n) => `  ${n}\n`).join("");
  return `Data directory: ${report.dataDir}\n` +
    (report.dataLogDir === report.dataDir ? "" : `Txn log directory: ${report.dataLogDir}\n`) +
    epochsLine(report) + "\n" +
    snapshotsSection(report) + "\n" +
    logsSection(report) + "\n" +
    continuitySection(report) +
    (notes === "" ? "" : `Notes:\n${notes}`) + "\n" +
    recoverySection(report.recovery);
}

async function inspect(args: ParsedArgs, io: CliIo): Promise<number> {
  const dataDir = args.positionals[0];
  let report: DataDirReport;
  try {
    report = await inspectDataDir(dataDir, args.str("data-log-dir") ?? dataDir);
  } catch (error) {
    throw new CommandFailure((error as Error).message);
  }
  io.stdout(args.bool("json") ? `${JSON.stringify(report)}\n` : formatInspection(report));
  return report.recovery.ok ? exitCodes.ok : exitCodes.failed;
}

/**
 * Runs `corral data SUBCOMMAND ...` (`argv` starts with the subcommand) and returns the exit
 * code: 0 recovery would succeed, 1 it would not (or the directory cannot be read), 2 a usage
 * error.
 *
 * @example
 * ```ts ignore
 * import { runData } from "./data.ts";
 * import { processIo } from "./io.ts";
 * const code = await runData(["inspect", "./corral-data"], processIo());
 * ```
 */
export async function runData(argv: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseSubcommand("data", dataSubcommands, argv, io);
  if (typeof parsed === "number") return parsed;
  try {
    return await inspect(parsed.args, io);
  } catch (error) {
    return reportSubcommandError(error, io, parsed.command);
  }
}
