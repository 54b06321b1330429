/**
 * `corral shell`: an interactive session in the spirit of zkCli. Reads one command per line from
 * a terminal (with a prompt and history) or from a pipe (no prompt), runs each to completion
 * before reading the next, prints watch events as they fire, and closes the session on the way
 * out (quit, end of input, SIGINT) so its ephemerals go at once.
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createInterface, type Interface } from "node:readline";
import { parseArgs, type ParsedArgs, UsageError } from "./args.ts";
import { checkArguments, type CommandContext, findCommand } from "./commands.ts";
import { helpFlag, jsonFlag, sessionFlags } from "./flag_specs.ts";
import { type EventLike, formatError, formatEvent, isCodedError } from "./format.ts";
import { shellCommandHelp, shellHelp } from "./help.ts";
import type { CliIo } from "./io.ts";
import {
  closeBounded,
  exitCodes,
  reportError,
  type SessionSettings,
  sessionSettings,
} from "./oneshot.ts";
import { type CliClient, firstServer, openSession } from "./session.ts";

/** Most lines kept in the history, in memory and in the file. */
export const historyLinesMax = 1000;

/** Most lines read ahead of the command that is running; input pauses beyond it. */
const queuedLinesMax = 1000;

/**
 * Splits a command line into words: whitespace separates, single and double quotes group, a
 * backslash escapes the next character (outside single quotes). Throws a
 * {@linkcode UsageError} on an unclosed quote.
 *
 * @example
 * ```ts
 * import { splitWords } from "./shell.ts";
 * splitWords(`create /a "hello world"`); // ["create", "/a", "hello world"]
 * ```
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote === "'") {
      if (ch === "'") quote = null;
      else word += ch;
    } else if (ch === "\\" && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (quote === '"') {
      if (ch === '"') quote = null;
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote !== null) throw new UsageError(`unclosed ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}

/** The history file: `$CORRAL_HISTORY`, else `~/.corral_history`. */
export function historyFile(io: CliIo): string {
  return io.env("CORRAL_HISTORY") ?? join(io.env("HOME") ?? homedir(), ".corral_history");
}

/** The last {@linkcode historyLinesMax} lines of the history file, oldest first ([] if none). */
export function loadHistory(file: string): string[] {
  try {
    return readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "").slice(
      -historyLinesMax,
    );
  } catch {
    return [];
  }
}

/** Writes the last {@linkcode historyLinesMax} of `lines` (oldest first); ignores failures. */
export function saveHistory(file: string, lines: readonly string[]): void {
  try {
    const kept = lines.slice(-historyLinesMax);
    writeFileSync(file, kept.length > 0 ? `${kept.join("\n")}\n` : "", { mode: 0o600 });
  } catch {
    // History is a convenience: an unwritable home must not turn quitting into an error.
  }
}

/** zkCli's names for the session states, as shown in the prompt. */
function promptState(state: string): string {
  switch (state) {
    case "SyncConnected":
      return "CONNECTED";
    case "Disconnected":
      return "CONNECTING";
    case "Expired":
      return "EXPIRED";
    default:
      return state.toUpperCase();
  }
}

/** The running shell: its session, prompt and input. */
class Shell {
  readonly #io: CliIo;
  readonly #settings: SessionSettings;
  readonly #tty: boolean;
  #client: CliClient | null = null;
  #server: string;
  #state = "CLOSED";
  #count = 0;
  #rl: Interface | null = null;
  readonly #history: string[] = [];

  constructor(io: CliIo, settings: SessionSettings) {
    this.#io = io;
    this.#settings = settings;
    this.#server = settings.server;
    this.#tty = io.stdinIsTty;
  }

  /** Opens the session to `server`; reports and returns false on failure. */
  async connect(server: string): Promise<boolean> {
    if (this.#client) await this.close();
    this.#server = server;
    this.#state = "CONNECTING";
    try {
      const client = await openSession(server, {
        ...this.#settings,
        onState: (state) => this.#onState(client, state),
      });
      this.#client = client;
      this.#state = "CONNECTED";
      for (const [scheme, auth] of this.#settings.auth) await client.addAuth(scheme, auth);
      return true;
    } catch (error) {
      this.#state = "CLOSED";
      this.#report(error);
      return false;
    }
  }

  /** Closes the session, if any. */
  async close(): Promise<void> {
    const client = this.#client;
    this.#client = null;
    this.#state = "CLOSED";
    if (client) await closeBounded(client);
  }

  #onState(client: CliClient, state: string): void {
    // Events of a session this shell already left are of no interest.
    if (client !== this.#client || state === "Closed") return;
    if (state === "AuthFailed") {
      // An event only: the session stays usable, so the prompt keeps its state.
      this.#print(formatEvent({ state, type: "None", path: null }));
      return;
    }
    const shown = promptState(state);
    if (shown === this.#state) return;
    this.#state = shown;
    this.#print(formatEvent({ state, type: "None", path: null }));
  }

  /** Prints a line that arrives on its own (a watch or state event), keeping the prompt tidy. */
  #print(text: string): void {
    this.#io.stdout(this.#tty ? `\n${text}` : text);
    if (this.#tty && this.#rl) {
      this.#rl.setPrompt(this.prompt());
      this.#rl.prompt(true);
    }
  }

  readonly #watcher = (event: EventLike) => this.#print(formatEvent(event));

  #report(error: unknown, path?: string): void {
    if (error instanceof UsageError) {
      this.#io.stderr(`${error.message}\n`);
    } else if (isCodedError(error)) {
      this.#io.stderr(formatError(error, path));
    } else {
      this.#io.stderr(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }

  prompt(): string {
    return `[corral: ${firstServer(this.#server)}(${this.#state}) ${this.#count}] `;
  }

  /** Runs one input line; returns false when the shell should end. */
  async execute(line: string): Promise<boolean> {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return true;
    this.#count++;
    if (this.#tty) this.#history.push(trimmed);
    let words: string[];
    try {
      words = splitWords(trimmed);
    } catch (error) {
      this.#report(error);
      return true;
    }
    const [name, ...rest] = words;
    switch (name) {
      case "quit":
      case "exit":
        return false;
      case "help":
        this.#io.stdout(shellCommandHelp(rest[0]));
        return true;
      case "close":
        await this.close();
        return true;
      case "connect":
        if (rest.length !== 1) this.#io.stderr("usage: connect HOST:PORT[,HOST:PORT][/chroot]\n");
        else await this.connect(rest[0]);
        return true;
      case "addauth":
        await this.#addAuth(rest);
        return true;
      default:
        await this.#znodeCommand(name, rest);
        return true;
    }
  }

  async #addAuth(rest: string[]): Promise<void> {
    if (rest.length !== 2) {
      this.#io.stderr("usage: addauth SCHEME AUTH (e.g. addauth digest bob:secret)\n");
      return;
    }
    if (!this.#client) return this.#notConnected();
    try {
      await this.#client.addAuth(rest[0], rest[1]);
    } catch (error) {
      this.#report(error);
    }
  }

  #notConnected(): void {
    this.#io.stderr(`ConnectionLoss: not connected (use connect HOST:PORT)\n`);
  }

  async #znodeCommand(name: string, rest: string[]): Promise<void> {
    const command = findCommand(name);
    if (!command) {
      this.#io.stderr(`Unknown command "${name}". Type help for the list.\n`);
      return;
    }
    let args: ParsedArgs;
    try {
      args = parseArgs(rest, [...command.flags, jsonFlag, helpFlag]);
      if (args.bool("help")) {
        this.#io.stdout(shellCommandHelp(name));
        return;
      }
      checkArguments(command, args);
    } catch (error) {
      this.#report(error);
      this.#io.stderr(`Type "help ${name}" for usage.\n`);
      return;
    }
    if (!this.#client) return this.#notConnected();
    const ctx: CommandContext = {
      client: this.#client,
      json: args.bool("json"),
      out: (chunk) => this.#io.stdout(chunk),
      watcher: () => this.#watcher,
    };
    try {
      await command.run(ctx, args);
    } catch (error) {
      this.#report(error, args.positionals[0]);
    }
  }

  /** Reads and runs lines until quit, end of input or a stop signal. */
  async run(): Promise<void> {
    const historyPath = historyFile(this.#io);
    const rl = createInterface({
      input: this.#io.stdin,
      output: this.#tty ? process.stdout : undefined,
      terminal: this.#tty,
      // readline wants the newest entry first.
      history: this.#tty ? loadHistory(historyPath).reverse() : [],
      historySize: historyLinesMax,
    });
    this.#rl = rl;
    if (this.#tty) this.#history.push(...loadHistory(historyPath));
    const lines = new LineQueue(rl);
    const offSignal = this.#io.onStopSignal(() => lines.stop());
    rl.on("SIGINT", () => lines.stop());
    try {
      while (true) {
        if (this.#tty) {
          rl.setPrompt(this.prompt());
          rl.prompt();
        }
        const line = await lines.next();
        if (line === null || !(await this.execute(line))) break;
      }
    } finally {
      offSignal();
      rl.close();
      this.#rl = null;
      if (this.#tty) {
        this.#io.stdout("\n");
        saveHistory(historyPath, this.#history);
      }
    }
  }
}

/**
 * Lines from a readline interface, one at a time, in order. Reading pauses while
 * {@linkcode queuedLinesMax} lines wait, so a long pipe is not buffered whole.
 */
class LineQueue {
  readonly #rl: Interface;
  readonly #lines: string[] = [];
  #ended = false;
  #paused = false;
  #waiter: (() => void) | null = null;

  constructor(rl: Interface) {
    this.#rl = rl;
    rl.on("line", (line: string) => {
      this.#lines.push(line);
      if (this.#lines.length >= queuedLinesMax && !this.#ended && !this.#paused) {
        this.#paused = true;
        rl.pause();
      }
      this.#wake();
    });
    rl.on("close", () => this.end());
  }

  /** Input ended: the lines already read are still handed out, then `null`. */
  end(): void {
    this.#ended = true;
    this.#wake();
  }

  /** Stop now (a signal): the lines not yet taken are dropped. */
  stop(): void {
    this.#lines.length = 0;
    this.end();
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.();
  }

  /** The next line, or `null` once input has ended and every line read was taken. */
  async next(): Promise<string | null> {
    while (this.#lines.length === 0) {
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#waiter = resolve);
    }
    const line = this.#lines.shift() as string;
    if (this.#paused && !this.#ended && this.#lines.length < queuedLinesMax / 2) {
      this.#paused = false;
      this.#rl.resume();
    }
    return line;
  }
}

/** Runs `corral shell ARGS`; returns the exit code. */
export async function runShell(argv: readonly string[], io: CliIo): Promise<number> {
  let settings: SessionSettings;
  try {
    const args = parseArgs(argv, [...sessionFlags, helpFlag]);
    if (args.bool("help")) {
      io.stdout(shellHelp());
      return exitCodes.ok;
    }
    if (args.positionals.length > 0) {
      throw new UsageError(`shell: unexpected argument "${args.positionals[0]}"`);
    }
    settings = sessionSettings(args, io);
  } catch (error) {
    return reportError(error, io, "corral shell --help");
  }
  const shell = new Shell(io, settings);
  if (!(await shell.connect(settings.server))) return exitCodes.failed;
  try {
    await shell.run();
  } finally {
    await shell.close();
  }
  return exitCodes.ok;
}
