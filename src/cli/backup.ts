/**
 * `corral snapshot save|restore|status`: online backups, like `etcdctl snapshot`. `save` asks a
 * running server for a consistent snapshot and streams it to a file (written to `FILE.part`,
 * verified, synced, then renamed); `status` verifies a backup file; `restore` installs one as the
 * snapshot a new server starts from. A backup file is exactly a snapshot file of the data
 * directory (docs/STORAGE.md), so the same decoder verifies both.
 * @module
 */
import * as fs from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { parseArgs, type ParsedArgs, UsageError } from "./args.ts";
import { formatError, hex, isCodedError } from "./format.ts";
import { groupHelp, snapshotSubcommands, subcommandHelp, type SubcommandSpec } from "./help.ts";
import type { CliIo } from "./io.ts";
import { exitCodes, type SessionSettings, sessionSettings } from "./oneshot.ts";
import { ConnectTimeoutError } from "./session.ts";
import { type Client, connect } from "../client/mod.ts";
import {
  decodeSnapshot,
  storageFileName,
  syncDir,
  writeFileDurably,
  zxidOfFileName,
} from "../storage/file_store.ts";

/** A failure the command explains in one sentence: exit code 1, no usage hint. */
export class CommandFailure extends Error {
  override name = "CommandFailure";
}

/** Longest wait for the backup session to close before the command returns anyway. */
const closeMsMax = 5_000;

/** Extra time given to the client's own connect timeout before this command gives up. */
const connectGraceMs = 1_000;

/** What the snapshot commands report; `--json` prints it as is. */
interface SnapshotFacts {
  file: string;
  zxid: number;
  nodeCount: number;
  sessionCount: number;
  bytes: number;
}

/** The bytes of `file`, or a {@linkcode CommandFailure} saying why they cannot be read. */
async function readFileBytes(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await fs.readFile(file));
  } catch (error) {
    throw new CommandFailure(`cannot read ${file}: ${(error as Error).message}`);
  }
}

/** Verifies snapshot bytes read from `file`; returns its facts and the verified length. */
function verify(file: string, bytes: Uint8Array): SnapshotFacts & { verifiedBytes: number } {
  const decoded = decodeSnapshot(bytes);
  if ("problem" in decoded) {
    throw new CommandFailure(`${file} is not a valid snapshot: ${decoded.problem}`);
  }
  return {
    file,
    zxid: decoded.image.zxid,
    nodeCount: decoded.image.nodes.length,
    sessionCount: decoded.image.sessions.length,
    bytes: bytes.byteLength,
    verifiedBytes: decoded.bytes,
  };
}

function print(io: CliIo, json: boolean, facts: SnapshotFacts, text: string): void {
  io.stdout(json ? `${JSON.stringify(facts)}\n` : text);
}

// ---- save -------------------------------------------------------------------------------------

/** Opens the backup session, giving up a little after the client's own connect timeout. */
async function openClient(settings: SessionSettings): Promise<Client> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  const pending = connect(settings.server, {
    sessionTimeoutMs: settings.sessionTimeoutMs,
    connectTimeoutMs: settings.connectTimeoutMs,
  });
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(
        new ConnectTimeoutError(
          `could not connect to ${settings.server} within ${settings.connectTimeoutMs} ms`,
        ),
      );
    }, settings.connectTimeoutMs + connectGraceMs);
  });
  try {
    return await Promise.race([pending, timeout]);
  } finally {
    clearTimeout(timer);
    if (timedOut) pending.then((late) => late.close(), () => {});
  }
}

async function closeBounded(client: Client): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    client.close().catch(() => {}),
    new Promise<void>((resolve) => timer = setTimeout(resolve, closeMsMax)),
  ]);
  clearTimeout(timer);
}

/** Streams the server's snapshot into `part` and syncs it; returns what the server announced. */
async function download(client: Client, part: string): Promise<Omit<SnapshotFacts, "file">> {
  const handle = await fs.open(part, "w");
  try {
    const backup = await client.saveSnapshot();
    let written = 0;
    for await (const chunk of backup.chunks) {
      let done = 0;
      // Bounded: every write moves `done` forward by at least one byte.
      while (done < chunk.byteLength) {
        const { bytesWritten } = await handle.write(chunk, done, chunk.byteLength - done, written);
        if (bytesWritten <= 0) throw new CommandFailure(`writing ${part} made no progress`);
        done += bytesWritten;
        written += bytesWritten;
      }
    }
    if (written !== backup.bytes) {
      throw new CommandFailure(`received ${written} bytes of a ${backup.bytes}-byte snapshot`);
    }
    await handle.sync();
    return {
      zxid: backup.zxid,
      nodeCount: backup.nodeCount,
      sessionCount: backup.sessionCount,
      bytes: backup.bytes,
    };
  } finally {
    await handle.close();
  }
}

/** Checks the downloaded file decodes and holds what the server announced. */
async function verifyDownload(part: string, announced: Omit<SnapshotFacts, "file">) {
  const facts = verify(part, await readFileBytes(part));
  const agree = facts.zxid === announced.zxid && facts.nodeCount === announced.nodeCount &&
    facts.sessionCount === announced.sessionCount && facts.verifiedBytes === announced.bytes;
  if (!agree) {
    throw new CommandFailure(
      `the downloaded snapshot (zxid ${hex(facts.zxid)}, ${facts.nodeCount} znodes, ` +
        `${facts.sessionCount} sessions, ${facts.verifiedBytes} bytes) is not the one the server ` +
        `announced (zxid ${hex(announced.zxid)}, ${announced.nodeCount} znodes, ` +
        `${announced.sessionCount} sessions, ${announced.bytes} bytes)`,
    );
  }
}

async function save(args: ParsedArgs, io: CliIo): Promise<number> {
  const file = args.positionals[0];
  const settings = sessionSettings(args, io);
  const part = `${file}.part`;
  const client = await openClient(settings);
  let saved = false;
  try {
    for (const [scheme, auth] of settings.auth) await client.addAuth(scheme, auth);
    const announced = await download(client, part);
    await verifyDownload(part, announced);
    await fs.rename(part, file);
    syncDir(dirname(resolve(file)));
    saved = true;
    const facts = { file, ...announced };
    print(
      io,
      args.bool("json"),
      facts,
      `Snapshot saved at zxid ${hex(facts.zxid)}: ${facts.nodeCount} znodes, ` +
        `${facts.sessionCount} sessions, ${facts.bytes} bytes -> ${file}\n`,
    );
    return exitCodes.ok;
  } finally {
    if (!saved) await fs.rm(part, { force: true }).catch(() => {});
    await closeBounded(client);
  }
}

// ---- status and restore -----------------------------------------------------------------------

async function status(args: ParsedArgs, io: CliIo): Promise<number> {
  const file = args.positionals[0];
  const { verifiedBytes: _, ...facts } = verify(file, await readFileBytes(file));
  print(
    io,
    args.bool("json"),
    facts,
    `${file}: a valid snapshot\n` +
      `  zxid      ${hex(facts.zxid)}\n` +
      `  znodes    ${facts.nodeCount}\n` +
      `  sessions  ${facts.sessionCount}\n` +
      `  bytes     ${facts.bytes}\n`,
  );
  return exitCodes.ok;
}

/** The snapshot, log and epochs files already in `dir` (none when it does not exist). */
async function existingData(dir: string): Promise<string[]> {
  const names = await fs.readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [] as string[];
    throw new CommandFailure(`cannot read ${dir}: ${error.message}`);
  });
  return names.filter((name) =>
    name === "epochs" || zxidOfFileName("snapshot", name) !== null ||
    zxidOfFileName("log", name) !== null
  ).sort();
}

async function restore(args: ParsedArgs, io: CliIo): Promise<number> {
  const file = args.positionals[0];
  const dataDir = args.str("data-dir");
  if (dataDir === undefined) throw new UsageError("snapshot restore: --data-dir DIR is required");
  const dataLogDir = args.str("data-log-dir") ?? dataDir;
  const bytes = await readFileBytes(file);
  const { verifiedBytes, ...facts } = verify(file, bytes);
  for (const dir of new Set([dataDir, dataLogDir])) {
    const found = await existingData(dir);
    if (found.length > 0) {
      throw new CommandFailure(
        `${dir} already holds Corral data (${found.join(", ")}); nothing was restored. ` +
          `Restore into a new, empty directory.`,
      );
    }
  }
  for (const dir of new Set([dataDir, dataLogDir])) {
    await fs.mkdir(dir, { recursive: true });
    syncDir(dirname(resolve(dir)));
  }
  const target = join(dataDir, storageFileName("snapshot", facts.zxid));
  // Only the verified bytes: anything after the end record is not part of the snapshot.
  await writeFileDurably(target, bytes.subarray(0, verifiedBytes));
  const logFlag = dataLogDir === dataDir ? "" : ` --data-log-dir ${dataLogDir}`;
  print(
    io,
    args.bool("json"),
    { ...facts, file: target, bytes: verifiedBytes },
    `Restored snapshot at zxid ${hex(facts.zxid)}: ${facts.nodeCount} znodes, ` +
      `${facts.sessionCount} sessions, ${verifiedBytes} bytes -> ${target}\n` +
      `Start a server from it with: corral serve --data-dir ${dataDir}${logFlag}\n`,
  );
  return exitCodes.ok;
}

// ---- dispatch ---------------------------------------------------------------------------------

/**
 * Reports `error` for `corral GROUP SUB` and returns the exit code: 2 with a hint for a usage
 * error, 1 for a {@linkcode CommandFailure}, a server's or connection's coded error, or a file
 * system error. Anything else is a bug and is rethrown.
 */
export function reportSubcommandError(error: unknown, io: CliIo, command: SubcommandSpec): number {
  const name = `corral ${command.group} ${command.name}`;
  if (error instanceof UsageError) {
    io.stderr(`corral: ${error.message}\nRun "${name} --help" for usage.\n`);
    return exitCodes.usage;
  }
  if (error instanceof CommandFailure) {
    io.stderr(`${name}: ${error.message}\n`);
    return exitCodes.failed;
  }
  // Node's file system errors carry a code too ("ENOENT"); they read best as they are.
  if (error instanceof Error && /^E[A-Z]+$/.test((error as NodeJS.ErrnoException).code ?? "")) {
    io.stderr(`${name}: ${error.message}\n`);
    return exitCodes.failed;
  }
  if (isCodedError(error)) {
    io.stderr(formatError(error));
    return exitCodes.failed;
  }
  throw error;
}

/**
 * Parses `argv` (the subcommand's name first) against the subcommands of a group and returns the
 * subcommand and its arguments, or the exit code when there is nothing more to do (help, usage).
 */
export function parseSubcommand(
  group: "snapshot" | "data",
  subcommands: readonly SubcommandSpec[],
  argv: readonly string[],
  io: CliIo,
): { command: SubcommandSpec; args: ParsedArgs } | number {
  const [name, ...rest] = argv;
  if (name === "--help" || name === "-h" || name === "help") {
    io.stdout(groupHelp(group));
    return exitCodes.ok;
  }
  const command = subcommands.find((c) => c.name === name);
  if (command === undefined) {
    const list = subcommands.map((c) => c.name).join(", ");
    const problem = name === undefined ? "missing subcommand" : `unknown subcommand "${name}"`;
    io.stderr(
      `corral ${group}: ${problem} (one of: ${list})\n` +
        `Run "corral ${group} --help" for usage.\n`,
    );
    return exitCodes.usage;
  }
  try {
    const args = parseArgs(rest, command.flags);
    if (args.bool("help")) {
      io.stdout(subcommandHelp(command));
      return exitCodes.ok;
    }
    const count = args.positionals.length;
    if (count !== 1) {
      const problem = count === 0
        ? "missing argument"
        : `unexpected argument "${args.positionals[1]}"`;
      const usage = `${group} ${command.name} ${command.synopsis}`;
      throw new UsageError(`${group} ${command.name}: ${problem} (usage: ${usage})`);
    }
    return { command, args };
  } catch (error) {
    return reportSubcommandError(error, io, command);
  }
}

/**
 * Runs `corral snapshot SUBCOMMAND ...` (`argv` starts with the subcommand) and returns the exit
 * code: 0 done, 1 failed (stderr says why), 2 a usage error.
 *
 * @example
 * ```ts ignore
 * import { runSnapshot } from "./backup.ts";
 * import { processIo } from "./io.ts";
 * const args = ["save", "backup.snap", "--server", "127.0.0.1:2281"];
 * const code = await runSnapshot(args, processIo());
 * ```
 */
export async function runSnapshot(argv: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseSubcommand("snapshot", snapshotSubcommands, argv, io);
  if (typeof parsed === "number") return parsed;
  const { command, args } = parsed;
  try {
    switch (command.name) {
      case "save":
        return await save(args, io);
      case "restore":
        return await restore(args, io);
      case "status":
        return await status(args, io);
      default:
        throw new Error(`no handler for snapshot ${command.name}`);
    }
  } catch (error) {
    return reportSubcommandError(error, io, command);
  }
}
