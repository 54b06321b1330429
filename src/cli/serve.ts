/**
 * `corral serve`: settings from defaults, then a zoo.cfg-style file, then flags; a standalone
 * server with JSON-line logs on stderr; a graceful stop on SIGTERM or SIGINT.
 * @module
 */
import { mkdirSync, readFileSync } from "node:fs";
import { parseArgs, type ParsedArgs, UsageError } from "./args.ts";
import { serveFlags } from "./flag_specs.ts";
import { serveHelp } from "./help.ts";
import type { CliIo } from "./io.ts";
import { exitCodes } from "./oneshot.ts";
import {
  applyConfigText,
  ConfigError,
  defaultConfig,
  type ServerConfig,
} from "../server/config.ts";
import { isLogLevel, jsonLogger, type Logger } from "../server/log.ts";
import { type CorralServer, startServer } from "../server/server.ts";

/** Longest wait for the server to close after a stop signal. */
const closeMsMax = 10_000;

function ranged(args: ParsedArgs, name: string, min: number, max: number): number | undefined {
  const value = args.int(name);
  if (value !== undefined && (value < min || value > max)) {
    throw new ConfigError(`--${name} must be in [${min}, ${max}], not ${value}`);
  }
  return value;
}

/**
 * The settings `corral serve ARGS` runs with, and the warnings the config file produced. Throws
 * {@linkcode ConfigError} for a bad file or value and {@linkcode UsageError} for a bad flag.
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
export function resolveServeConfig(args: ParsedArgs): { config: ServerConfig; warnings: string[] } {
  if (args.positionals.length > 0) {
    throw new UsageError(`serve: unexpected argument "${args.positionals[0]}"`);
  }
  const config = defaultConfig();
  const warnings: string[] = [];
  const file = args.str("config");
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      throw new ConfigError(`cannot read config file ${file}: ${(error as Error).message}`);
    }
    warnings.push(...applyConfigText(config, text, file));
  }
  const port = ranged(args, "port", 0, 65535);
  if (port !== undefined) config.cborClientPort = port;
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
  config.serverId = ranged(args, "server-id", 0, 255) ?? config.serverId;
  config.maxClientCnxns = ranged(args, "max-client-cnxns", 0, 1_000_000) ?? config.maxClientCnxns;
  const level = args.str("log-level");
  if (level !== undefined) {
    if (!isLogLevel(level)) {
      throw new ConfigError(`--log-level must be debug, info, warn or error, not "${level}"`);
    }
    config.logLevel = level;
  }
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
  const signal = await new Promise<string>((resolve) => {
    const off = io.onStopSignal((name) => {
      off();
      resolve(name);
    });
  });
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
  logger.log("info", "starting", {
    dataDir: config.dataDir,
    serverId: config.serverId,
    tickMs: config.tickMs,
    maxClientCnxns: config.maxClientCnxns,
  });
  return await startWith(config, logger);
}

async function startWith(config: ServerConfig, logger: Logger): Promise<CorralServer | null> {
  try {
    return await startServer({
      port: config.cborClientPort,
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
