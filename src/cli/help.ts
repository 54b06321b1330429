/**
 * Help text: `corral --help`, `corral CMD --help`, and the shell's `help`. Built from the same
 * flag and command tables the parser uses, so every flag that parses is documented.
 * @module
 */
import type { FlagSpec } from "./args.ts";
import { type CommandSpec, findCommand, znodeCommands } from "./commands.ts";
import { helpFlag, jsonFlag, serveFlags, sessionFlags, waitFlag } from "./flag_specs.ts";
import { version } from "./version.ts";

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
  corral help [COMMAND]     (or: corral COMMAND --help)
  corral --version

Commands:
${
    table([
      ["serve", "Run a standalone server."],
      ["shell", "Open an interactive shell (reads commands from a pipe too)."],
      ...znodeCommands.map((c): [string, string] => [`${c.name} ${c.synopsis}`, c.summary]),
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
`;
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

Runs a standalone server until SIGTERM or SIGINT (then closes every session and exits 0).
Settings come from the defaults, then --config FILE (zoo.cfg keys such as tickTime,
cborClientPort, clientPortAddress, dataDir, maxClientCnxns, myid, superDigest), then the flags.
Logs are JSON lines on stderr; the "listening" line carries the bound port. A bad setting exits 2.

Flags:
${flagLines(serveFlags)}
Examples:
${
    table([
      ["corral serve", "# port 2281 on every interface, data in ./corral-data"],
      [
        "corral serve --port 0 --host 127.0.0.1",
        "# a free port, printed in the listening log line",
      ],
      ["corral serve --config zoo.cfg --log-level debug", "# settings from a file, verbose logs"],
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
