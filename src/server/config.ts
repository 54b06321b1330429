/**
 * Server configuration: embedded defaults, a zoo.cfg-style file (`key=value` lines, `#`
 * comments), and command-line flags on top, in that order of precedence.
 *
 * `clientPort` keeps its ZooKeeper meaning (the ZooKeeper-protocol port, served by a later
 * release), so an existing zoo.cfg means what it says; the CBOR port is `cborClientPort`.
 * @module
 */
import * as limits from "../constants.ts";
import type { LogLevel } from "./log.ts";

/** Resolved settings of `corral serve`. */
export interface ServerConfig {
  /** CBOR client port. */
  cborClientPort: number;
  /** Address to bind (zoo.cfg `clientPortAddress`). */
  hostname: string;
  /** Data directory (snapshots and logs in a later release). */
  dataDir: string;
  /** Separate txn-log directory (zoo.cfg `dataLogDir`); defaults to dataDir. */
  dataLogDir: string;
  /** Tick length in ms (zoo.cfg `tickTime`). */
  tickMs: number;
  /** Connections per client address (0 = unlimited). */
  maxClientCnxns: number;
  /** Server id (`myid`). */
  serverId: number;
  /** Super-user digest, `super:base64digest`. */
  superDigest: string | null;
  /** Largest znode value in bytes (zoo.cfg `jute.maxbuffer` is the closest ZooKeeper knob). */
  dataBytesMax: number;
  /** Log threshold. */
  logLevel: LogLevel;
  /** ZooKeeper-protocol port from zoo.cfg `clientPort`; recorded, not yet served. */
  clientPort: number | null;
  /** Txns between snapshots (zoo.cfg `snapCount`). */
  snapCount: number;
  /** Snapshots kept with the logs they need (zoo.cfg `autopurge.snapRetainCount`). */
  snapRetainCount: number;
  /** Keep state in memory only (no data directory): lost when the process stops. */
  inMemory: boolean;
}

/** The embedded defaults: `corral serve` with no flags and no file. */
export function defaultConfig(): ServerConfig {
  return {
    cborClientPort: limits.cborClientPortDefault,
    hostname: "0.0.0.0",
    dataDir: "./corral-data",
    dataLogDir: "./corral-data",
    tickMs: limits.tickMsDefault,
    maxClientCnxns: limits.maxClientCnxnsDefault,
    serverId: 1,
    superDigest: null,
    dataBytesMax: limits.dataBytesMax,
    logLevel: "info",
    clientPort: null,
    snapCount: 100_000,
    snapRetainCount: 3,
    inMemory: false,
  };
}

/** A configuration problem, with the file and line when it came from a file. */
export class ConfigError extends Error {
  /** Always `ConfigError`. */
  override name = "ConfigError";
}

function integer(key: string, text: string, min: number, max: number, where: string): number {
  if (!/^-?\d+$/.test(text.trim())) {
    throw new ConfigError(`${where}: ${key} must be an integer, not "${text}"`);
  }
  const value = Number(text);
  if (value < min || value > max) {
    throw new ConfigError(`${where}: ${key} must be in [${min}, ${max}], not ${value}`);
  }
  return value;
}

/** Keys accepted from a file, with how to apply them. Unknown keys are reported, not fatal. */
const fileKeys: Record<string, (config: ServerConfig, value: string, where: string) => void> = {
  tickTime: (c, v, w) => c.tickMs = integer("tickTime", v, 1, 600_000, w),
  dataDir: (c, v) => {
    if (c.dataLogDir === c.dataDir) c.dataLogDir = v;
    c.dataDir = v;
  },
  dataLogDir: (c, v) => c.dataLogDir = v,
  cborClientPort: (c, v, w) => c.cborClientPort = integer("cborClientPort", v, 0, 65535, w),
  clientPort: (c, v, w) => c.clientPort = integer("clientPort", v, 0, 65535, w),
  clientPortAddress: (c, v) => c.hostname = v,
  maxClientCnxns: (c, v, w) => c.maxClientCnxns = integer("maxClientCnxns", v, 0, 1_000_000, w),
  myid: (c, v, w) => c.serverId = integer("myid", v, 0, 255, w),
  superDigest: (c, v) => c.superDigest = v,
  "jute.maxbuffer": (c, v, w) =>
    c.dataBytesMax = integer("jute.maxbuffer", v, 1, 64 * 1024 * 1024, w),
  dataBytesMax: (c, v, w) => c.dataBytesMax = integer("dataBytesMax", v, 1, 64 * 1024 * 1024, w),
  snapCount: (c, v, w) => c.snapCount = integer("snapCount", v, 1, 100_000_000, w),
  "autopurge.snapRetainCount": (c, v, w) =>
    c.snapRetainCount = integer("autopurge.snapRetainCount", v, 1, 1000, w),
};

/** ZooKeeper keys that are accepted and ignored for now, so existing files load cleanly. */
const ignoredKeys = new Set([
  "initLimit",
  "syncLimit",
  "autopurge.purgeInterval",
  "admin.enableServer",
  "admin.serverPort",
  "4lw.commands.whitelist",
  "preAllocSize",
  "standaloneEnabled",
  "reconfigEnabled",
  "minSessionTimeout",
  "maxSessionTimeout",
]);

/**
 * Applies a zoo.cfg-style text to `config`. Returns warnings (unknown keys); throws
 * {@linkcode ConfigError} on a malformed line or a bad value, naming the file and line.
 *
 * @example
 * ```ts
 * import { applyConfigText, defaultConfig } from "./config.ts";
 * const config = defaultConfig();
 * applyConfigText(config, "tickTime=1000\ncborClientPort=3000\n", "zoo.cfg");
 * ```
 */
export function applyConfigText(config: ServerConfig, text: string, fileName: string): string[] {
  const warnings: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    const where = `${fileName}:${index + 1}`;
    if (line === "" || line.startsWith("#")) return;
    const eq = line.indexOf("=");
    if (eq <= 0) throw new ConfigError(`${where}: expected key=value, got "${line}"`);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    const apply = fileKeys[key];
    if (apply) apply(config, value, where);
    else if (key.startsWith("server.") || ignoredKeys.has(key)) {
      warnings.push(`${where}: ${key} is not used in standalone mode yet`);
    } else warnings.push(`${where}: unknown key ${key} ignored`);
  });
  return warnings;
}
