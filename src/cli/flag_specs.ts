/**
 * Flags shared by several commands, and those of `serve` and `shell`, in one place so help and
 * parsing cannot disagree.
 * @module
 */
import type { FlagSpec } from "./args.ts";

/** Default `--server` when neither the flag nor `CORRAL_SERVER` is set. */
export const serverDefault = "127.0.0.1:2281";

/** Default requested session timeout of CLI sessions. */
export const sessionTimeoutMsDefault = 30_000;

/** Default longest wait for the first connection. */
export const connectTimeoutMsDefault = 10_000;

/** Default longest wait for a watch event of a one-shot `-w`. */
export const waitMsDefault = 60_000;

/** `--help`, accepted everywhere. */
export const helpFlag: FlagSpec = {
  name: "help",
  short: "h",
  kind: "boolean",
  description: "Show help and exit.",
};

/** `--json`, accepted by every znode command. */
export const jsonFlag: FlagSpec = {
  name: "json",
  kind: "boolean",
  description: "Print one JSON object per line instead of zkCli-style text (stat included).",
};

/** `--server`, for every command that opens a session. */
export const serverFlag: FlagSpec = {
  name: "server",
  kind: "string",
  valueName: "HOST:PORT[,HOST:PORT][/chroot]",
  description: `Servers to connect to (default: env CORRAL_SERVER, else ${serverDefault}).`,
};

/** Session flags of one-shot commands and the shell. */
export const sessionFlags: readonly FlagSpec[] = [
  serverFlag,
  {
    name: "auth",
    kind: "string",
    multiple: true,
    valueName: "SCHEME:AUTH",
    description: "Authenticate before the command, e.g. digest:bob:secret (repeatable).",
  },
  {
    name: "session-timeout-ms",
    kind: "integer",
    valueName: "N",
    description: `Requested session timeout (default ${sessionTimeoutMsDefault}).`,
  },
  {
    name: "connect-timeout-ms",
    kind: "integer",
    valueName: "N",
    description: `Give up connecting after N ms (default ${connectTimeoutMsDefault}).`,
  },
];

/** `--wait-ms`, for one-shot commands with `-w`. */
export const waitFlag: FlagSpec = {
  name: "wait-ms",
  kind: "integer",
  valueName: "N",
  description:
    `With -w: give up waiting for the event after N ms, exit 1 (default ${waitMsDefault}).`,
};

/** Flags of `corral serve`. */
export const serveFlags: readonly FlagSpec[] = [
  {
    name: "port",
    kind: "integer",
    valueName: "N",
    description: "CBOR client port; 0 picks a free one (default 2281).",
  },
  {
    name: "zk-port",
    kind: "integer",
    valueName: "N",
    description:
      "ZooKeeper-protocol client port, for existing ZooKeeper clients and tools (zoo.cfg " +
      "clientPort); 0 serves none (default 2181).",
  },
  {
    name: "four-letter-words",
    kind: "string",
    valueName: "LIST",
    description:
      "Four-letter words answered on the ZooKeeper port, comma-separated, or * for all " +
      "(zoo.cfg 4lw.commands.whitelist; default srvr).",
  },
  {
    name: "extended-types",
    kind: "boolean",
    description: "Allow TTL nodes (zoo.cfg extendedTypesEnabled=true).",
  },
  {
    name: "host",
    kind: "string",
    valueName: "ADDR",
    description: "Address to bind (default 0.0.0.0).",
  },
  {
    name: "data-dir",
    kind: "string",
    valueName: "DIR",
    description:
      "Data directory for snapshots and txn logs, created if missing (default ./corral-data).",
  },
  {
    name: "data-log-dir",
    kind: "string",
    valueName: "DIR",
    description:
      "Separate directory for txn logs, e.g. on a faster disk (default: the data directory).",
  },
  {
    name: "snap-count",
    kind: "integer",
    valueName: "N",
    description:
      "Take a snapshot after N/2 to N txns, drawn anew each time so members do not snapshot together (default 100000).",
  },
  {
    name: "snap-retain-count",
    kind: "integer",
    valueName: "N",
    description: "Snapshots kept, with the txn logs they need; older ones are purged (default 3).",
  },
  {
    name: "in-memory",
    kind: "boolean",
    description: "Keep all state in memory: nothing is written, everything is lost on exit.",
  },
  {
    name: "config",
    kind: "string",
    valueName: "FILE",
    description: "zoo.cfg-style file of key=value lines; flags override it.",
  },
  {
    name: "tick-ms",
    kind: "integer",
    valueName: "N",
    description: "Tick length in ms (default 2000).",
  },
  {
    name: "id",
    kind: "integer",
    valueName: "N",
    description:
      "This server's id, 0-255 (default: zoo.cfg myid; in an ensemble DATADIR/myid; else 1).",
  },
  {
    name: "server-id",
    kind: "integer",
    valueName: "N",
    description: "The same as --id.",
  },
  {
    name: "max-client-cnxns",
    kind: "integer",
    valueName: "N",
    description: "Most connections from one address, 0 = no limit (default 60).",
  },
  {
    name: "log-level",
    kind: "string",
    valueName: "LEVEL",
    description: "debug, info, warn or error (default info). Logs are JSON lines on stderr.",
  },
  helpFlag,
];

/** `--json` of the snapshot and data commands, which print one report rather than znodes. */
export const reportJsonFlag: FlagSpec = {
  name: "json",
  kind: "boolean",
  description: "Print the result as one JSON object instead of text.",
};

/** Flags of `corral snapshot save`. */
export const snapshotSaveFlags: readonly FlagSpec[] = [...sessionFlags, reportJsonFlag, helpFlag];

/** Flags of `corral snapshot restore`. */
export const snapshotRestoreFlags: readonly FlagSpec[] = [
  {
    name: "data-dir",
    kind: "string",
    valueName: "DIR",
    description:
      "Data directory to restore into (required); created if missing, refused if it holds data.",
  },
  {
    name: "data-log-dir",
    kind: "string",
    valueName: "DIR",
    description: "The txn-log directory the server will use, if separate; it must hold no logs.",
  },
  reportJsonFlag,
  helpFlag,
];

/** Flags of `corral snapshot status`. */
export const snapshotStatusFlags: readonly FlagSpec[] = [reportJsonFlag, helpFlag];

/** Flags of `corral data inspect`. */
export const dataInspectFlags: readonly FlagSpec[] = [
  {
    name: "data-log-dir",
    kind: "string",
    valueName: "DIR",
    description: "Where the txn logs are, when not in the data directory.",
  },
  reportJsonFlag,
  helpFlag,
];

/** The flags of `corral bench`. */
export const benchFlags: readonly FlagSpec[] = [
  helpFlag,
  {
    name: "server",
    kind: "string",
    valueName: "HOST:PORT[,HOST:PORT]",
    description: "Servers to load; session i uses the (i mod count)-th (default 127.0.0.1:2181).",
  },
  {
    name: "protocol",
    kind: "string",
    valueName: "zk|cbor|etcd",
    description: "ZooKeeper's protocol (default), Corral's CBOR protocol, or etcd 3.4's JSON API.",
  },
  {
    name: "workload",
    kind: "string",
    valueName: "LIST",
    description: "Comma-separated, from write, create, read, mixed (default write).",
  },
  {
    name: "sessions",
    kind: "string",
    valueName: "LIST",
    description: "Comma-separated session counts, one run each (default 1,8,32,128).",
  },
  {
    name: "depth",
    kind: "integer",
    valueName: "N",
    description: "Requests each session keeps outstanding, closed loop (default 1).",
  },
  {
    name: "rate",
    kind: "integer",
    valueName: "OPS",
    description: "Open loop instead: send OPS requests per second in all, answered or not.",
  },
  {
    name: "warmup",
    kind: "string",
    valueName: "SECONDS",
    description: "Load before each measured window (default 2).",
  },
  {
    name: "duration",
    kind: "string",
    valueName: "SECONDS",
    description: "Measured window of each run (default 10, at most 600).",
  },
  {
    name: "max-ops",
    kind: "integer",
    valueName: "N",
    description: "End a window early after N operations (default 5000000).",
  },
  {
    name: "value-bytes",
    kind: "integer",
    valueName: "N",
    description: "Bytes of each written value (default 100).",
  },
  {
    name: "pid",
    kind: "string",
    valueName: "LIST",
    description: "Comma-separated server pids whose CPU and RSS to report (Linux /proc).",
  },
  {
    name: "json",
    kind: "boolean",
    description: "Print one JSON object per run instead of a table row.",
  },
];
