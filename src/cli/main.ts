/**
 * The `corral` command: `serve`, `shell`, `bench`, the zkCli-like znode commands, `snapshot` (backups),
 * `data inspect`, `help` and `--version`. Run as a program (`deno run -A src/cli/main.ts ...`,
 * or the compiled binary) it calls {@linkcode main} with the process's arguments and exits with
 * its code.
 * @module
 */
import process from "node:process";
import { runSnapshot } from "./backup.ts";
import { runBenchCommand } from "./bench.ts";
import { findCommand } from "./commands.ts";
import { runData } from "./data.ts";
import {
  benchHelp,
  commandHelp,
  groupHelp,
  mainHelp,
  oneShotCommonFlags,
  serveHelp,
  shellHelp,
} from "./help.ts";
import { type CliIo, flushProcessOutput, processIo } from "./io.ts";
import { exitCodes, runOneShot } from "./oneshot.ts";
import { runServe } from "./serve.ts";
import { runShell } from "./shell.ts";
import { version } from "./version.ts";

function usage(io: CliIo, message: string, hint = "corral --help"): number {
  io.stderr(`corral: ${message}\nRun "${hint}" for usage.\n`);
  return exitCodes.usage;
}

/**
 * Runs the command line `args` (without the program name) and returns the exit code: 0
 * success, 1 an error from the server or the connection, 2 a usage error. Output goes through
 * `io`, the real process by default.
 *
 * @example
 * ```ts ignore
 * import { main } from "./main.ts";
 * const code = await main(["--version"]); // prints "corral 0.1.0"
 * ```
 */
export async function main(args: readonly string[], io: CliIo = processIo()): Promise<number> {
  // Flags written before the command (`corral --server h:p ls /`) belong to it.
  const leading: string[] = [];
  let i = 0;
  for (; i < args.length && args[i].startsWith("-") && args[i] !== "-"; i++) {
    const arg = args[i];
    if (arg === "--help" || arg === "-h") return help(io, args[i + 1]);
    if (arg === "--version" || arg === "-V") {
      io.stdout(`corral ${version}\n`);
      return exitCodes.ok;
    }
    const name = arg.replace(/^--?/, "").replace(/=.*$/, "");
    const spec = oneShotCommonFlags.find((f) => f.name === name);
    if (!spec) return usage(io, `unknown flag ${arg}`);
    leading.push(arg);
    if (spec.kind !== "boolean" && !arg.includes("=")) {
      if (i + 1 >= args.length) return usage(io, `${arg} needs a value`);
      leading.push(args[++i]);
    }
  }
  const name = args[i];
  const rest = [...leading, ...args.slice(i + 1)];
  switch (name) {
    case undefined:
      return usage(io, "missing command");
    case "help":
      return help(io, args[i + 1]);
    case "serve":
      return await runServe(rest, io);
    case "shell":
      return await runShell(rest, io);
    case "bench":
      return await runBenchCommand(rest, io);
    // The subcommand word stays first; leading flags follow it (`corral --json data inspect D`).
    case "snapshot":
      return await runSnapshot([...args.slice(i + 1, i + 2), ...leading, ...args.slice(i + 2)], io);
    case "data":
      return await runData([...args.slice(i + 1, i + 2), ...leading, ...args.slice(i + 2)], io);
  }
  const command = findCommand(name);
  if (!command) return usage(io, `unknown command "${name}"`);
  return await runOneShot(command, rest, io);
}

function help(io: CliIo, name: string | undefined): number {
  if (name === undefined || name.startsWith("-")) {
    io.stdout(mainHelp());
    return exitCodes.ok;
  }
  if (name === "serve") io.stdout(serveHelp());
  else if (name === "bench") io.stdout(benchHelp());
  else if (name === "shell") io.stdout(shellHelp());
  else if (name === "snapshot" || name === "data") io.stdout(groupHelp(name));
  else {
    const command = findCommand(name);
    if (!command) return usage(io, `unknown command "${name}"`);
    io.stdout(commandHelp(command));
  }
  return exitCodes.ok;
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(process.argv.slice(2));
  } catch (error) {
    // A bug, not a user's or a server's error: say so plainly, with the stack for the report.
    process.stderr.write(
      `corral: internal error: ${error instanceof Error ? error.stack : String(error)}\n`,
    );
    code = exitCodes.failed;
  }
  await flushProcessOutput();
  process.exit(code);
}
