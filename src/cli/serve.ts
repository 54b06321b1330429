/**
 * `corral serve`: settings from defaults, then a zoo.cfg-style file, then flags (and, for an
 * ensemble member given no id, the file `<dataDir>/myid`); a standalone server or an ensemble
 * member with JSON-line logs on stderr; a graceful stop on SIGTERM or SIGINT.
 * @module
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs, type ParsedArgs, UsageError } from "./args.ts";
import { serveFlags } from "./flag_specs.ts";
import { serveHelp } from "./help.ts";
import type { CliIo } from "./io.ts";
import { exitCodes } from "./oneshot.ts";
import {
  applyConfigText,
  checkConfig,
  ConfigError,
  defaultConfig,
  ensembleOptions,
  type ServerConfig,
} from "../server/config.ts";
import { initLimitMsDefault, syncLimitMsDefault } from "../server/ensemble_types.ts";
import { isLogLevel, jsonLogger, type Logger } from "../server/log.ts";
import { type CorralServer, startServer } from "../server/server.ts";
import { parseFourLetterAllowList } from "../server/four_letter.ts";
import { version } from "./version.ts";

/** Longest wait for the server to close after a stop signal. */
const closeMsMax = 10_000;

function ranged(args: ParsedArgs, name: string, min: number, max: number): number | undefined {
  const value = args.int(name);
  if (value !== undefined && (value < min || value > max)) {
    throw new ConfigError(`--${name} must be in [${min}, ${max}], not ${value}`);
  }
  return value;
}

/** What {@linkcode resolveServeConfig} reads from outside the arguments (tests inject it). */
export interface ServeConfigDeps {
  /** The text of the file at `path`, or null when there is no such file; throws otherwise. */
  readTextFile(path: string): string | null;
}

const realDeps: ServeConfigDeps = {
  readTextFile(path) {
    try {
      return readFileSync(path, "utf8");
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") return null;
      throw error;
    }
  },
};

function read(deps: ServeConfigDeps, path: string, what: string): string | null {
  try {
    return deps.readTextFile(path);
  } catch (error) {
    throw new ConfigError(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
}

/** `--id` and its older spelling `--server-id`; both may be given only with the same value. */
function idFlag(args: ParsedArgs): { id: number; from: string } | undefined {
  const id = ranged(args, "id", 0, 255);
  const serverId = ranged(args, "server-id", 0, 255);
  if (id !== undefined && serverId !== undefined && id !== serverId) {
    throw new ConfigError(`--id ${id} and --server-id ${serverId} disagree; give one of them`);
  }
  if (id !== undefined) return { id, from: "--id" };
  if (serverId !== undefined) return { id: serverId, from: "--server-id" };
  return undefined;
}

/**
 * An ensemble member's id from `<dataDir>/myid` (a file holding the id, as in ZooKeeper), when
 * neither `--id` nor a `myid` key gave one; when one did, a myid file that disagrees is warned
 * about.
 */
function applyMyidFile(config: ServerConfig, deps: ServeConfigDeps, warnings: string[]): void {
  const path = join(config.dataDir, "myid");
  const given = config.serverIdFrom !== null;
  let text: string | null;
  try {
    text = deps.readTextFile(path);
  } catch (error) {
    if (given) return;
    throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`);
  }
  const ids = config.ensemble.map((m) => m.id).join(", ");
  const fix = `write this server's id (one of ${ids}) there, e.g. "echo ${
    config.ensemble[0].id
  } > ${path}", or pass --id N`;
  if (text === null) {
    if (given) return;
    throw new ConfigError(
      `this server is an ensemble member (server.N lines in ${config.ensembleFrom}) but has no id: ` +
        `no --id flag, no myid key, and no file ${path}; ${fix}`,
    );
  }
  const trimmed = text.trim();
  const id = /^\d{1,3}$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!(id >= 0 && id <= 255)) {
    if (given) {
      warnings.push(
        `${path} does not hold a server id ("${trimmed}"); ${config.serverIdFrom} is used`,
      );
      return;
    }
    throw new ConfigError(
      `${path} must hold this server's id, an integer in [0, 255], not "${trimmed}"; ${fix}`,
    );
  }
  if (!given) {
    config.serverId = id;
    config.serverIdFrom = path;
  } else if (id !== config.serverId) {
    warnings.push(
      `${path} says this server is ${id}, but ${config.serverIdFrom} makes it ${config.serverId}; ` +
        `${config.serverId} is used`,
    );
  }
}

/**
 * The settings `corral serve ARGS` runs with, and the warnings the config file produced. Throws
 * {@linkcode ConfigError} for a bad file or value and {@linkcode UsageError} for a bad flag.
 * Files are read through `deps` (by default from disk).
 *
 * @example
 * ```ts
 * import { parseArgs } from "./args.ts";
 * import { serveFlags } from "./flag_specs.ts";
 * import { resolveServeConfig } from "./serve.ts";
 * const { config } = resolveServeConfig(parseArgs(["--port", "0"], serveFlags));
 * config.cborClientPort; // 0
 * ```
 */
export function resolveServeConfig(
  args: ParsedArgs,
  deps: ServeConfigDeps = realDeps,
): { config: ServerConfig; warnings: string[] } {
  if (args.positionals.length > 0) {
    throw new UsageError(`serve: unexpected argument "${args.positionals[0]}"`);
  }
  const config = defaultConfig();
  const warnings: string[] = [];
  const file = args.str("config");
  if (file !== undefined) {
    const text = read(deps, file, "config file");
    if (text === null) throw new ConfigError(`cannot read config file ${file}: no such file`);
    warnings.push(...applyConfigText(config, text, file));
  }
  const port = ranged(args, "port", 0, 65535);
  if (port !== undefined) config.cborClientPort = port;
  const zkPort = ranged(args, "zk-port", 0, 65535);
  if (zkPort !== undefined) config.clientPort = zkPort;
  if (args.bool("extended-types")) config.extendedTypesEnabled = true;
  const words = args.str("four-letter-words");
  if (words !== undefined) {
    try {
      config.fourLetterWords = parseFourLetterAllowList(words);
    } catch (error) {
      throw new ConfigError(`--four-letter-words: ${(error as Error).message}`);
    }
  }
  const host = args.str("host");
  if (host !== undefined) config.hostname = host;
  const dataDir = args.str("data-dir");
  if (dataDir !== undefined) {
    if (config.dataLogDir === config.dataDir) config.dataLogDir = dataDir;
    config.dataDir = dataDir;
  }
  config.dataLogDir = args.str("data-log-dir") ?? config.dataLogDir;
  config.snapCount = ranged(args, "snap-count", 1, 100_000_000) ?? config.snapCount;
  config.snapRetainCount = ranged(args, "snap-retain-count", 1, 1000) ?? config.snapRetainCount;
  if (args.bool("in-memory")) config.inMemory = true;
  config.tickMs = ranged(args, "tick-ms", 1, 600_000) ?? config.tickMs;
  const id = idFlag(args);
  if (id !== undefined) {
    config.serverId = id.id;
    config.serverIdFrom = id.from;
  }
  config.maxClientCnxns = ranged(args, "max-client-cnxns", 0, 1_000_000) ?? config.maxClientCnxns;
  const level = args.str("log-level");
  if (level !== undefined) {
    if (!isLogLevel(level)) {
      throw new ConfigError(`--log-level must be debug, info, warn or error, not "${level}"`);
    }
    config.logLevel = level;
  }
  if (config.ensemble.length > 0) {
    if (config.inMemory) {
      throw new ConfigError(
        `--in-memory cannot run an ensemble member (server.N lines in ${config.ensembleFrom}): ` +
          "a member must keep its txn log, or it could forget writes the quorum acknowledged",
      );
    }
    applyMyidFile(config, deps, warnings);
  }
  warnings.push(...checkConfig(config));
  return { config, warnings };
}

/** Runs `corral serve ARGS` until a stop signal; returns the exit code. */
export async function runServe(argv: readonly string[], io: CliIo): Promise<number> {
  let resolved: { config: ServerConfig; warnings: string[] };
  try {
    const args = parseArgs(argv, serveFlags);
    if (args.bool("help")) {
      io.stdout(serveHelp());
      return exitCodes.ok;
    }
    resolved = resolveServeConfig(args);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      io.stderr(`corral serve: ${error.message}\nRun "corral serve --help" for usage.\n`);
      return exitCodes.usage;
    }
    throw error;
  }
  const { config, warnings } = resolved;
  const logger = jsonLogger(config.logLevel, (line) => io.stderr(`${line}\n`));
  for (const warning of warnings) logger.log("warn", "config warning", { warning });
  const server = await start(config, logger);
  if (server === null) return exitCodes.failed;
  let off = () => {};
  const signal = await Promise.race([
    new Promise<string>((resolve) => {
      off = io.onStopSignal((name) => {
        off();
        resolve(name);
      });
    }),
    // The server stopped by itself (it could not go on; it logged why).
    server.stopped.then(() => null),
  ]);
  if (signal === null) {
    off();
    return exitCodes.failed;
  }
  logger.log("info", "stopping", { signal });
  return await stop(server, logger);
}

async function start(config: ServerConfig, logger: Logger): Promise<CorralServer | null> {
  try {
    if (config.inMemory) {
      logger.log(
        "warn",
        "in-memory mode: nothing is written to disk; all state is lost on exit",
        {},
      );
      return await startWith(config, logger);
    }
    mkdirSync(config.dataDir, { recursive: true });
    if (config.dataLogDir !== config.dataDir) mkdirSync(config.dataLogDir, { recursive: true });
  } catch (error) {
    logger.log("error", "cannot create the data directory", {
      dataDir: config.dataDir,
      error: String(error),
    });
    return null;
  }
  const ensemble = ensembleOptions(config);
  logger.log("info", "starting", {
    dataDir: config.dataDir,
    serverId: config.serverId,
    tickMs: config.tickMs,
    maxClientCnxns: config.maxClientCnxns,
    mode: ensemble ? "ensemble" : "standalone",
  });
  if (ensemble) {
    logger.log("info", "ensemble members", {
      serverId: config.serverId,
      members: ensemble.members.map((m) =>
        `server.${m.id}=${
          m.host.includes(":") ? `[${m.host}]` : m.host
        }:${m.peerPort}:${m.electionPort}${m.observer ? ":observer" : ""}`
      ),
      peerTickMs: ensemble.peerTickMs,
      initLimitMs: ensemble.initLimitMs ?? initLimitMsDefault,
      syncLimitMs: ensemble.syncLimitMs ?? syncLimitMsDefault,
    });
  }
  return await startWith(config, logger);
}

async function startWith(config: ServerConfig, logger: Logger): Promise<CorralServer | null> {
  try {
    return await startServer({
      port: config.cborClientPort,
      zkPort: config.clientPort || null,
      ttlEnabled: config.extendedTypesEnabled,
      fourLetterWords: config.fourLetterWords,
      version,
      hostname: config.hostname,
      tickMs: config.tickMs,
      serverId: config.serverId,
      maxClientCnxns: config.maxClientCnxns,
      superDigest: config.superDigest,
      dataBytesMax: config.dataBytesMax,
      dataDir: config.inMemory ? undefined : config.dataDir,
      dataLogDir: config.inMemory ? undefined : config.dataLogDir,
      snapCount: config.snapCount,
      snapRetainCount: config.snapRetainCount,
      fsyncWarningMs: config.fsyncWarningMs,
      forceSync: config.forceSync,
      ensemble: ensembleOptions(config),
      logger,
    });
  } catch (error) {
    logger.log("error", "cannot start the server", { error: String(error) });
    return null;
  }
}

async function stop(server: CorralServer, logger: Logger): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const closed = await Promise.race([
    server.close().then(() => true),
    new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), closeMsMax)),
  ]);
  clearTimeout(timer);
  if (closed) return exitCodes.ok;
  logger.log("error", "the server did not close in time", { closeMsMax });
  return exitCodes.failed;
}
