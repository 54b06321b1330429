/**
 * Server configuration: embedded defaults, a zoo.cfg-style file (`key=value` lines, `#`
 * comments), and command-line flags on top, in that order of precedence.
 *
 * `clientPort` keeps its ZooKeeper meaning (the ZooKeeper-protocol port), so an existing zoo.cfg
 * means what it says; the CBOR port is `cborClientPort`.
 *
 * An ensemble is described as in ZooKeeper: one `server.N=host:peerPort:electionPort` line per
 * member (`:observer` for a non-voting one), `initLimit` and `syncLimit` in ticks of `tickTime`,
 * and this server's id from `myid` (a key, a flag, or the file `<dataDir>/myid`). A file with a
 * single `server.N` line runs standalone, as ZooKeeper does.
 * @module
 */
import * as limits from "../constants.ts";
import {
  type EnsembleMember,
  type EnsembleOptions,
  initLimitMsDefault,
  peerTickMsDefault,
  syncLimitMsDefault,
} from "./ensemble_types.ts";
import { syncWarningMsDefault } from "../storage/file_store.ts";
import type { LogLevel } from "./log.ts";
import { fourLetterWordsDefault, parseFourLetterAllowList } from "./four_letter.ts";

/** Resolved settings of `corral serve`. */
export interface ServerConfig {
  /** CBOR client port. */
  cborClientPort: number;
  /** Address to bind (zoo.cfg `clientPortAddress`). */
  hostname: string;
  /** Data directory: snapshots, epochs and (unless `dataLogDir`) txn logs. */
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
  /** ZooKeeper-protocol port (zoo.cfg `clientPort`, `--zk-port`); null or 0 serves none. */
  clientPort: number | null;
  /** Allow TTL nodes (zoo.cfg `extendedTypesEnabled`). */
  extendedTypesEnabled: boolean;
  /** Four-letter words answered on the ZooKeeper port (zoo.cfg `4lw.commands.whitelist`). */
  fourLetterWords: string[];
  /** Txns between snapshots (zoo.cfg `snapCount`). */
  snapCount: number;
  /** Snapshots kept with the logs they need (zoo.cfg `autopurge.snapRetainCount`). */
  snapRetainCount: number;
  /** Txn-log syncs slower than this, ms, are logged and counted (`fsync.warningthresholdms`). */
  fsyncWarningMs: number;
  /**
   * Sync the txn log before acknowledging writes (zoo.cfg `forceSync`, yes or no; default yes).
   * With no, a power loss can lose acknowledged writes.
   */
  forceSync: boolean;
  /** Keep state in memory only (no data directory): lost when the process stops. */
  inMemory: boolean;
  /** Members of the ensemble (zoo.cfg `server.N` lines); empty for a standalone server. */
  ensemble: EnsembleMember[];
  /** Where the ensemble was described (the config file's name), for messages; null if nowhere. */
  ensembleFrom: string | null;
  /** Where `serverId` came from (`zoo.cfg:3`, `--id`, a myid file); null for the default. */
  serverIdFrom: string | null;
  /** zoo.cfg `initLimit`, in ticks of `tickTime`; null for the ensemble default. */
  initLimit: number | null;
  /** zoo.cfg `syncLimit`, in ticks of `tickTime`; null for the ensemble default. */
  syncLimit: number | null;
  /** Length of a peer tick in ms (zoo.cfg `peerTickTime`, a Corral key; default 100). */
  peerTickMs: number;
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
    clientPort: limits.zkClientPortDefault,
    extendedTypesEnabled: false,
    fourLetterWords: [...fourLetterWordsDefault],
    snapCount: 100_000,
    snapRetainCount: 3,
    fsyncWarningMs: syncWarningMsDefault,
    forceSync: true,
    inMemory: false,
    ensemble: [],
    ensembleFrom: null,
    serverIdFrom: null,
    initLimit: null,
    syncLimit: null,
    peerTickMs: peerTickMsDefault,
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
  "4lw.commands.whitelist": (c, v, w) => {
    try {
      c.fourLetterWords = parseFourLetterAllowList(v);
    } catch (error) {
      throw new ConfigError(`${w}: 4lw.commands.whitelist: ${(error as Error).message}`);
    }
  },
  extendedTypesEnabled: (c, v, w) => {
    if (v !== "true" && v !== "false") {
      throw new ConfigError(`${w}: extendedTypesEnabled must be true or false, not "${v}"`);
    }
    c.extendedTypesEnabled = v === "true";
  },
  maxClientCnxns: (c, v, w) => c.maxClientCnxns = integer("maxClientCnxns", v, 0, 1_000_000, w),
  myid: (c, v, w) => {
    c.serverId = integer("myid", v, 0, 255, w);
    c.serverIdFrom = w;
  },
  superDigest: (c, v) => c.superDigest = v,
  "jute.maxbuffer": (c, v, w) =>
    c.dataBytesMax = integer("jute.maxbuffer", v, 1, 64 * 1024 * 1024, w),
  dataBytesMax: (c, v, w) => c.dataBytesMax = integer("dataBytesMax", v, 1, 64 * 1024 * 1024, w),
  snapCount: (c, v, w) => c.snapCount = integer("snapCount", v, 1, 100_000_000, w),
  "autopurge.snapRetainCount": (c, v, w) =>
    c.snapRetainCount = integer("autopurge.snapRetainCount", v, 1, 1000, w),
  "fsync.warningthresholdms": (c, v, w) =>
    c.fsyncWarningMs = integer("fsync.warningthresholdms", v, 1, 3_600_000, w),
  forceSync: (c, v, w) => {
    if (v !== "yes" && v !== "no") {
      throw new ConfigError(`${w}: forceSync must be yes or no, not "${v}"`);
    }
    c.forceSync = v === "yes";
  },
  initLimit: (c, v, w) => c.initLimit = integer("initLimit", v, 1, 100_000, w),
  syncLimit: (c, v, w) => c.syncLimit = integer("syncLimit", v, 1, 100_000, w),
  peerTickTime: (c, v, w) => c.peerTickMs = integer("peerTickTime", v, 1, 60_000, w),
};

/** ZooKeeper keys that are accepted and ignored for now, so existing files load cleanly. */
const ignoredKeys = new Set([
  "autopurge.purgeInterval",
  "admin.enableServer",
  "admin.serverPort",
  "4lw.commands.whitelist",
  "preAllocSize",
  "standaloneEnabled",
  "reconfigEnabled",
  "minSessionTimeout",
  "maxSessionTimeout",
  "peerType",
]);

/** ZooKeeper keys that would change what the ensemble is, so ignoring them would be wrong. */
const unsupportedKeys: [RegExp, string][] = [
  [/^(group|weight)\.\d+$/, "hierarchical quorums (group.N, weight.N) are not supported"],
  [/^dynamicConfigFile$/, "dynamic reconfiguration is not supported: put the server.N lines here"],
];

const memberForm = "host:peerPort:electionPort[:participant|:observer]";

function port(key: string, text: string, what: string, where: string): number {
  if (!/^\d+$/.test(text)) {
    throw new ConfigError(`${where}: ${key}: ${what} must be an integer, not "${text}"`);
  }
  const value = Number(text);
  if (value < 1 || value > 65535) {
    throw new ConfigError(`${where}: ${key}: ${what} must be in [1, 65535], not ${value}`);
  }
  return value;
}

/**
 * Parses the value of a `server.N` line: `host:peerPort:electionPort[:participant|:observer]`,
 * optionally followed by ZooKeeper 3.5's `;[clientAddress:]clientPort`, which is ignored with a
 * warning (Corral's client port is `cborClientPort`). An IPv6 host is written in brackets.
 */
function parseMember(
  key: string,
  value: string,
  where: string,
  warnings: string[],
): EnsembleMember {
  const idText = key.slice("server.".length);
  if (!/^\d+$/.test(idText) || Number(idText) > 255) {
    throw new ConfigError(
      `${where}: ${key}: the server id must be an integer in [0, 255], not "${idText}"`,
    );
  }
  const id = Number(idText);
  let spec = value;
  const semicolon = value.indexOf(";");
  if (semicolon >= 0) {
    spec = value.slice(0, semicolon).trim();
    warnings.push(
      `${where}: ${key}: the client address after ";" (${
        value.slice(semicolon + 1).trim()
      }) is ignored; Corral's client port is cborClientPort`,
    );
  }
  let host: string;
  let rest: string[];
  if (spec.startsWith("[")) {
    const close = spec.indexOf("]");
    if (close < 0 || spec[close + 1] !== ":") {
      throw new ConfigError(`${where}: ${key} must be ${memberForm}, not "${value}"`);
    }
    host = spec.slice(1, close);
    rest = spec.slice(close + 2).split(":");
  } else {
    const parts = spec.split(":");
    host = parts[0];
    rest = parts.slice(1);
  }
  host = host.trim();
  if (rest.length < 2 || rest.length > 3) {
    throw new ConfigError(`${where}: ${key} must be ${memberForm}, not "${value}"`);
  }
  if (host === "") throw new ConfigError(`${where}: ${key}: the host is empty`);
  const peerPort = port(key, rest[0].trim(), "peerPort", where);
  const electionPort = port(key, rest[1].trim(), "electionPort", where);
  const role = rest.length === 3 ? rest[2].trim() : "participant";
  if (role !== "participant" && role !== "observer") {
    throw new ConfigError(
      `${where}: ${key}: the role must be participant or observer, not "${role}"`,
    );
  }
  if (peerPort === electionPort) {
    throw new ConfigError(
      `${where}: ${key}: peerPort and electionPort must differ (both are ${peerPort})`,
    );
  }
  return { id, host, peerPort, electionPort, observer: role === "observer" };
}

/** Checks the members of one file against each other; warns about an even number of voters. */
function checkMembers(
  members: readonly EnsembleMember[],
  origins: readonly string[],
  fileName: string,
  warnings: string[],
): void {
  const ids = new Map<number, string>();
  const endpoints = new Map<string, string>();
  members.forEach((member, i) => {
    const where = origins[i];
    const first = ids.get(member.id);
    if (first !== undefined) {
      throw new ConfigError(`${where}: server.${member.id} is defined twice (first at ${first})`);
    }
    ids.set(member.id, where);
    for (const p of [member.peerPort, member.electionPort]) {
      const endpoint = `${member.host.toLowerCase()}:${p}`;
      const user = endpoints.get(endpoint);
      if (user !== undefined) {
        throw new ConfigError(
          `${where}: server.${member.id} uses ${member.host}:${p}, already used by ${user}`,
        );
      }
      endpoints.set(endpoint, `server.${member.id} (${where})`);
    }
  });
  const voters = members.filter((m) => !m.observer).length;
  if (voters === 0) {
    throw new ConfigError(`${fileName}: the ensemble has no voting member (all are observers)`);
  }
  if (voters % 2 === 0) {
    const tolerated = voters / 2 - 1;
    warnings.push(
      `${fileName}: ${voters} voting members need ${
        voters / 2 + 1
      } for a quorum and tolerate ${tolerated} ${
        tolerated === 1 ? "failure" : "failures"
      }, no more than ${voters - 1} would: an odd number of voters is usual`,
    );
  }
}

/**
 * Applies a zoo.cfg-style text to `config`. Two or more `server.N` lines replace
 * `config.ensemble`. Returns warnings (unknown or unused keys, a lone `server.N` line, which
 * runs standalone, an even number of voters, an ignored `;clientPort` suffix); throws
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
  const members: EnsembleMember[] = [];
  const origins: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    const where = `${fileName}:${index + 1}`;
    if (line === "" || line.startsWith("#")) return;
    const eq = line.indexOf("=");
    if (eq <= 0) throw new ConfigError(`${where}: expected key=value, got "${line}"`);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    const apply = fileKeys[key];
    const unsupported = unsupportedKeys.find(([pattern]) => pattern.test(key));
    if (apply) apply(config, value, where);
    else if (key.startsWith("server.")) {
      members.push(parseMember(key, value, where, warnings));
      origins.push(where);
    } else if (unsupported) throw new ConfigError(`${where}: ${key}: ${unsupported[1]}`);
    else if (ignoredKeys.has(key)) warnings.push(`${where}: ${key} is not used by Corral yet`);
    else warnings.push(`${where}: unknown key ${key} ignored`);
  });
  if (members.length === 1) {
    warnings.push(
      `${
        origins[0]
      }: a single server.N line describes no ensemble; running standalone (as ZooKeeper does)`,
    );
  } else if (members.length > 1) {
    checkMembers(members, origins, fileName, warnings);
    config.ensemble = members;
    config.ensembleFrom = fileName;
  }
  return warnings;
}

/**
 * Checks the settings once every source (defaults, file, flags, the myid file) is merged:
 * an ensemble member's `serverId` must be one of the members. Returns warnings (limits that
 * leave too few peer ticks); throws {@linkcode ConfigError}.
 *
 * @example
 * ```ts
 * import { applyConfigText, checkConfig, defaultConfig } from "./config.ts";
 * const config = defaultConfig();
 * applyConfigText(config, "myid=2\nserver.1=a:2888:3888\nserver.2=b:2888:3888\nserver.3=c:2888:3888\n", "zoo.cfg");
 * checkConfig(config); // []
 * ```
 */
export function checkConfig(config: ServerConfig): string[] {
  const warnings: string[] = [];
  if (config.ensemble.length === 0) return warnings;
  const from = config.ensembleFrom ?? "the configuration";
  if (!config.ensemble.some((m) => m.id === config.serverId)) {
    const ids = config.ensemble.map((m) => m.id).join(", ");
    throw new ConfigError(
      `myid ${config.serverId}${
        config.serverIdFrom === null ? " (the default)" : ` (from ${config.serverIdFrom})`
      } is not a member of the ensemble in ${from}, whose server ids are ${ids}`,
    );
  }
  const options = ensembleOptions(config) as EnsembleOptions;
  const peerTickMs = options.peerTickMs ?? peerTickMsDefault;
  const limitsMs: [string, number][] = [
    ["initLimit", options.initLimitMs ?? initLimitMsDefault],
    ["syncLimit", options.syncLimitMs ?? syncLimitMsDefault],
  ];
  for (const [name, ms] of limitsMs) {
    if (ms < 3 * peerTickMs) {
      warnings.push(
        `${from}: ${name} is ${ms} ms, under 3 peer ticks of ${peerTickMs} ms: peers may be dropped between heartbeats`,
      );
    }
  }
  return warnings;
}

/**
 * What `startServer` needs to run as an ensemble member, or `undefined` for a standalone server.
 * `initLimit` and `syncLimit` (ticks of `tickTime`, as in ZooKeeper) become ms; unset ones are
 * left to the ensemble defaults.
 *
 * @example
 * ```ts
 * import { applyConfigText, defaultConfig, ensembleOptions } from "./config.ts";
 * const config = defaultConfig();
 * applyConfigText(config, "tickTime=200\nsyncLimit=5\nserver.1=a:2888:3888\nserver.2=b:2888:3888\nserver.3=c:2888:3888\n", "zoo.cfg");
 * ensembleOptions(config)?.syncLimitMs; // 1000
 * ```
 */
export function ensembleOptions(config: ServerConfig): EnsembleOptions | undefined {
  if (config.ensemble.length === 0) return undefined;
  const options: EnsembleOptions = {
    members: config.ensemble.map((member) => ({ ...member })),
    peerTickMs: config.peerTickMs,
  };
  if (config.initLimit !== null) options.initLimitMs = config.initLimit * config.tickMs;
  if (config.syncLimit !== null) options.syncLimitMs = config.syncLimit * config.tickMs;
  return options;
}
