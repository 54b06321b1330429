/**
 * Help text: `corral --help`, `corral CMD --help`, and the shell's `help`. Built from the same
 * flag and command tables the parser uses, so every flag that parses is documented.
 * @module
 */
import type { FlagSpec } from "./args.ts";
import { type CommandSpec, findCommand, znodeCommands } from "./commands.ts";
import {
  benchFlags,
  dataInspectFlags,
  helpFlag,
  jsonFlag,
  serveFlags,
  sessionFlags,
  snapshotRestoreFlags,
  snapshotSaveFlags,
  snapshotStatusFlags,
  waitFlag,
} from "./flag_specs.ts";
import { version } from "./version.ts";
import {
  initLimitMsDefault,
  peerTickMsDefault,
  syncLimitMsDefault,
} from "../server/ensemble_types.ts";

function flagLines(flags: readonly FlagSpec[]): string {
  const heads = flags.map((f) => {
    const value = f.kind === "boolean" ? "" : ` ${f.valueName ?? "VALUE"}`;
    return `${f.short ? `-${f.short}, ` : "    "}--${f.name}${value}`;
  });
  const width = Math.max(...heads.map((h) => h.length));
  return flags.map((f, i) => `  ${heads[i].padEnd(width)}  ${f.description}\n`).join("");
}

function table(rows: readonly [string, string][]): string {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}\n`).join("");
}

/** Flags every one-shot znode command accepts besides its own. */
export const oneShotCommonFlags: readonly FlagSpec[] = [
  ...sessionFlags,
  jsonFlag,
  waitFlag,
  helpFlag,
];

/** Shell-only commands: name, synopsis, summary. */
export const shellOnlyCommands: readonly [string, string, string][] = [
  ["addauth", "SCHEME AUTH", "Add an identity to this session: addauth digest bob:secret."],
  ["connect", "HOST:PORT[,...][/chroot]", "Close this session and open one to other servers."],
  ["close", "", "Close this session (its ephemerals go at once); connect opens a new one."],
  ["help", "[COMMAND]", "List the commands, or show one command's flags."],
  ["quit", "", "Close the session and leave (also: exit, Ctrl-D)."],
];

/** `corral --help`. */
export function mainHelp(): string {
  return `corral ${version}: a ZooKeeper-style coordination server and its command line.

Usage:
  corral serve [--port N] [--host ADDR] [--data-dir DIR] [--config FILE] ...
  corral shell [--server HOST:PORT]
  corral COMMAND [FLAGS] ARGS
  corral snapshot save|restore|status ...   (backups; corral snapshot --help)
  corral data inspect DIR                   (what a data directory holds)
  corral bench [--server HOST:PORT] ...     (load a server and measure; corral bench --help)
  corral help [COMMAND]     (or: corral COMMAND --help)
  corral --version

Commands:
${
    table([
      ["serve", "Run a server, standalone or an ensemble member."],
      ["shell", "Open an interactive shell (reads commands from a pipe too)."],
      ...znodeCommands.map((c): [string, string] => [`${c.name} ${c.synopsis}`, c.summary]),
      ...[...snapshotSubcommands, ...dataSubcommands].map((c): [string, string] => [
        `${c.group} ${c.name} ${c.synopsis}`,
        c.summary,
      ]),
    ])
  }
Flags of every znode command:
${flagLines(oneShotCommonFlags)}
Exit codes: 0 success; 1 an error from the server or the connection (stderr: "Code: message",
e.g. "NoNode: /a does not exist"); 2 a usage error (unknown command or flag, missing argument).

Examples:
  corral serve --port 2281 --data-dir /var/lib/corral
  corral create /app hello                 # prints Created /app
  corral get /app                          # prints hello
  corral stat /app --json                  # the stat as JSON
  corral --server 10.0.0.1:2281/app ls /   # list /app on another server
  echo "ls /" | corral shell               # run shell commands from a pipe
  corral snapshot save backup.snap         # an online backup of the server's state
  corral data inspect /var/lib/corral      # what recovery would load, and any damage
`;
}

/** `corral bench --help`. */
export function benchHelp(): string {
  return `Usage: corral bench [FLAGS]

Loads a server and measures it: each run opens N sessions (one connection each), warms up, then
counts the operations answered inside the measured window and reports ops/s, latency percentiles,
errors, the CPU and memory of the server processes given by --pid, and the share of the machine's
CPU stolen by the hypervisor in the window (Linux). Workloads: write (setData
of each session's own node), create (persistent-sequential under one parent), read (getData of
each session's own node), mixed (9 reads, 1 write). Closed loop by default (each session keeps
--depth requests outstanding); --rate switches to open loop, where latency counts from when a
request was due. Nodes live under /corral-bench. Runs are bounded by --duration and --max-ops.

Flags:
${flagLines(benchFlags)}
Examples:
${
    table([
      ["corral bench --server 127.0.0.1:2181", "# writes, 1 to 128 sessions, ZooKeeper protocol"],
      ["corral bench --workload read,mixed --sessions 32", "# two runs of 32 sessions"],
      ["corral bench --protocol cbor --server 127.0.0.1:2281", "# Corral's own protocol"],
      ["corral bench --sessions 8 --rate 5000 --json", "# open loop at 5000 ops/s, JSON out"],
    ])
  }`;
}

/** `corral CMD --help` for a znode command. */
export function commandHelp(command: CommandSpec): string {
  return `Usage: corral ${command.name} ${command.synopsis} [--json] [--server HOST:PORT]

${command.summary}
${command.flags.length > 0 ? `\nFlags:\n${flagLines(command.flags)}` : ""}
Flags of every znode command:
${flagLines(oneShotCommonFlags)}
Examples:
${table(command.examples.map(([example, comment]) => [`corral ${example}`, `# ${comment}`]))}`;
}

/** `corral serve --help`. */
export function serveHelp(): string {
  return `Usage: corral serve [FLAGS]

Runs a server, standalone or as a member of an ensemble, until SIGTERM or SIGINT (then closes
every session and exits 0). It serves Corral's CBOR protocol (cborClientPort, default 2281) and
ZooKeeper's client protocol (clientPort, default 2181). Settings come from the defaults, then
--config FILE (zoo.cfg keys such as tickTime, cborClientPort, clientPort, clientPortAddress,
dataDir, maxClientCnxns, myid, superDigest, extendedTypesEnabled, 4lw.commands.whitelist), then
the flags. Logs are JSON lines on stderr; the "listening" line carries the bound ports. A bad
setting exits 2.

Flags:
${flagLines(serveFlags)}
Ensemble (zoo.cfg keys; two or more server.N lines make this server a member):
  server.N=HOST:PEER:ELECTION[:observer]
                   Member N (0-255): HOST:PEER takes ZAB traffic, HOST:ELECTION election
                   notifications; :observer for one that never votes. A ZooKeeper 3.5
                   ";clientPort" suffix is ignored. A single server.N line runs standalone,
                   as in ZooKeeper. Use an odd number of voters (3 or 5).
  initLimit=N      Ticks of tickTime a follower may take to connect and sync
                   (default ${initLimitMsDefault / 1000} s).
  syncLimit=N      Ticks of tickTime of silence after which a peer counts as gone
                   (default ${syncLimitMsDefault / 1000} s).
  peerTickTime=MS  Heartbeat and election step between members, in ms (default ${peerTickMsDefault}).
  myid=N           This member's id, one of the server.N ids. --id overrides it; with
                   neither, it is read from the file DATADIR/myid, as in ZooKeeper.
  Each member keeps its txn log, so --in-memory is refused with server.N lines.

  A three-node cluster on one host: three files like this one, each with its own cborClientPort
  (2281, 2282, 2283) and dataDir, and in each dataDir a file myid holding 1, 2 or 3
  (scripts/cluster in the source tree writes and starts such a cluster):
    tickTime=2000
    cborClientPort=2281
    dataDir=/var/lib/corral/node1
    server.1=127.0.0.1:2888:3888
    server.2=127.0.0.1:2889:3889
    server.3=127.0.0.1:2890:3890

Examples:
${
    table([
      ["corral serve", "# port 2281 on every interface, data in ./corral-data"],
      [
        "corral serve --port 0 --host 127.0.0.1",
        "# a free port, printed in the listening log line",
      ],
      ["corral serve --config zoo.cfg --log-level debug", "# settings from a file, verbose logs"],
      ["corral serve --config node2.cfg --id 2", "# an ensemble member whose id is 2"],
    ])
  }`;
}

/** `corral shell --help`. */
export function shellHelp(): string {
  return `Usage: corral shell [--server HOST:PORT[,HOST:PORT][/chroot]]

An interactive session: type the znode commands without "corral" (ls /, get -w /a, ...).
Reads commands from a pipe as well, one per line, in order. Watches set with -w print
"WATCHER:: WatchedEvent ..." when they fire. Interactive history is kept in ~/.corral_history.
Leaving (quit, end of input, Ctrl-C) closes the session, so its ephemerals go at once.

Flags:
${flagLines([...sessionFlags, helpFlag])}
Shell commands:
${shellCommandTable()}
Examples:
${
    table([
      ["corral shell", "# connect to 127.0.0.1:2281 and prompt"],
      ["printf 'create /a x\\nls /\\n' | corral shell", "# run two commands and exit"],
    ])
  }`;
}

function shellCommandTable(): string {
  return table([
    ...znodeCommands.map((c): [string, string] => [`${c.name} ${c.synopsis}`, c.summary]),
    ...shellOnlyCommands.map(([name, synopsis, summary]): [string, string] => [
      `${name} ${synopsis}`.trim(),
      summary,
    ]),
  ]);
}

/** The shell's `help` and `help CMD`. */
export function shellCommandHelp(name?: string): string {
  if (name === undefined) {
    return `Commands (add --json to any znode command for JSON output):\n${shellCommandTable()}`;
  }
  const command = findCommand(name);
  if (command) {
    return `Usage: ${command.name} ${command.synopsis} [--json]\n\n${command.summary}\n` +
      (command.flags.length > 0 ? `\nFlags:\n${flagLines(command.flags)}` : "") +
      `\nExamples:\n${table(command.examples.map(([e, c]) => [e, `# ${c}`]))}`;
  }
  const only = shellOnlyCommands.find(([n]) => n === name || (name === "exit" && n === "quit"));
  if (only) return `Usage: ${`${only[0]} ${only[1]}`.trim()}\n\n${only[2]}\n`;
  return `Unknown command "${name}". Type help for the list.\n`;
}

/** A subcommand of a command group: `corral snapshot save`, `corral data inspect`. */
export interface SubcommandSpec {
  /** The group word: `snapshot`. */
  group: string;
  /** The subcommand word: `save`. */
  name: string;
  /** Arguments and flags in one line, for help: `FILE [--server HOST:PORT]`. */
  synopsis: string;
  /** What it does, in one sentence. */
  summary: string;
  /** More about what it does, in full sentences (may be empty). */
  details: string;
  /** Every flag it accepts (`--help` included). */
  flags: readonly FlagSpec[];
  /** Example invocations without the `corral ` prefix, each with a comment. */
  examples: [string, string][];
}

/** `corral snapshot save|restore|status`. */
export const snapshotSubcommands: readonly SubcommandSpec[] = [
  {
    group: "snapshot",
    name: "save",
    synopsis: "FILE [--server HOST:PORT] [--auth digest:USER:PASS]",
    summary: "Save an online backup of a running server's state to FILE.",
    details:
      `The server captures a consistent snapshot (after this command's earlier requests) and streams
it; the bytes go to FILE.part, are verified, synced to disk, and only then renamed to FILE.
Allowed to the super user (--auth with the server's superDigest identity), or, when the server
has no superDigest, from a loopback address. Exit 1 with NoAuth otherwise.
`,
    flags: snapshotSaveFlags,
    examples: [
      ["snapshot save backup.snap", "prints Snapshot saved at zxid 0x...: N znodes, ..."],
      [
        "snapshot save b.snap --server 10.0.0.1:2281 --auth digest:super:secret",
        "a remote server, as the super user",
      ],
    ],
  },
  {
    group: "snapshot",
    name: "restore",
    synopsis: "FILE --data-dir DIR [--data-log-dir DIR2]",
    summary: "Install a verified backup as the snapshot a new server starts from.",
    details: `FILE is verified, then written durably as DIR/snapshot.<zxid>, so that
"corral serve --data-dir DIR" starts with exactly the saved state. A directory that already
holds snapshots, txn logs or epochs is refused (exit 1): restore into a new, empty directory.
`,
    flags: snapshotRestoreFlags,
    examples: [
      [
        "snapshot restore backup.snap --data-dir ./restored",
        "then: corral serve --data-dir ./restored",
      ],
    ],
  },
  {
    group: "snapshot",
    name: "status",
    synopsis: "FILE [--json]",
    summary: "Verify a backup file and print its zxid, znode and session counts.",
    details:
      "Exit 0 when FILE is a valid snapshot, 1 (with the problem and its offset) when not.\n",
    flags: snapshotStatusFlags,
    examples: [["snapshot status backup.snap", "prints the zxid, znodes, sessions and bytes"]],
  },
];

/** `corral data inspect`. */
export const dataSubcommands: readonly SubcommandSpec[] = [
  {
    group: "data",
    name: "inspect",
    synopsis: "DIR [--data-log-dir DIR2] [--json]",
    summary: "Describe a data directory and what recovery would do with it; changes nothing.",
    details:
      `Lists every snapshot (zxid, size, znodes, sessions, valid or the problem and its offset) and
every txn log (zxid range, records, size, and ok, a torn tail recovery would truncate, or
corruption), zxid gaps, the epochs, and which snapshot and log range recovery would load.
Exit 0 when recovery would succeed, 1 when it would stop on corruption (the file and offset are
printed). Run it on a stopped server's directory, or on a copy.
`,
    flags: dataInspectFlags,
    examples: [
      ["data inspect ./corral-data", "a table of snapshots and logs, and the recovery plan"],
      ["data inspect /data --data-log-dir /fast/txnlog --json", "logs elsewhere; as JSON"],
    ],
  },
];

/** `corral snapshot --help` or `corral data --help`: the subcommands of `group`. */
export function groupHelp(group: "snapshot" | "data"): string {
  const subcommands = group === "snapshot" ? snapshotSubcommands : dataSubcommands;
  const usage = subcommands.map((c) => `  corral ${group} ${c.name} ${c.synopsis}\n`).join("");
  return `Usage:
${usage}
Subcommands:
${table(subcommands.map((c) => [c.name, c.summary]))}
Run "corral ${group} SUBCOMMAND --help" for the flags of one.
`;
}

/** `corral snapshot save --help` and the like. */
export function subcommandHelp(command: SubcommandSpec): string {
  return `Usage: corral ${command.group} ${command.name} ${command.synopsis}

${command.summary}
${command.details === "" ? "" : `\n${command.details}`}
Flags:
${flagLines(command.flags)}
Examples:
${table(command.examples.map(([example, comment]) => [`corral ${example}`, `# ${comment}`]))}`;
}
