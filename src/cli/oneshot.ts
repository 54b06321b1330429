/**
 * One znode command as its own process: `corral get /a`. Opens a session, authenticates, runs the
 * command, waits for the watch event when asked (`-w`), closes the session, and turns the outcome
 * into an exit code: 0 success, 1 an error from the server or the connection, 2 a usage error.
 * @module
 */
import { parseArgs, type ParsedArgs, UsageError } from "./args.ts";
import { checkArguments, type CommandContext, type CommandSpec } from "./commands.ts";
import {
  connectTimeoutMsDefault,
  serverDefault,
  sessionTimeoutMsDefault,
  waitMsDefault,
} from "./flag_specs.ts";
import { eventJson, type EventLike, formatError, formatEvent, isCodedError } from "./format.ts";
import { commandHelp, oneShotCommonFlags } from "./help.ts";
import type { CliIo } from "./io.ts";
import { type CliClient, openSession } from "./session.ts";
import { parseConnectString } from "../client/mod.ts";

/** Exit codes of the command line. */
export const exitCodes = { ok: 0, failed: 1, usage: 2 } as const;

/** Longest wait for a session to close before the process leaves anyway. */
const closeMsMax = 5_000;

/** Where to connect and how, from the session flags and the environment. */
export interface SessionSettings {
  server: string;
  sessionTimeoutMs: number;
  connectTimeoutMs: number;
  auth: [scheme: string, auth: string][];
}

function positive(args: ParsedArgs, name: string, fallback: number): number {
  const value = args.int(name) ?? fallback;
  if (value <= 0) throw new UsageError(`--${name} must be a positive integer, not ${value}`);
  return value;
}

/** Reads the session flags; throws a {@linkcode UsageError} on a bad value. */
export function sessionSettings(args: ParsedArgs, io: CliIo): SessionSettings {
  const server = args.str("server") ?? io.env("CORRAL_SERVER") ?? serverDefault;
  try {
    parseConnectString(server);
  } catch (error) {
    throw new UsageError(`bad --server: ${(error as Error).message}`);
  }
  const auth = args.list("auth").map((text): [string, string] => {
    const colon = text.indexOf(":");
    if (colon <= 0) {
      throw new UsageError(`--auth needs SCHEME:AUTH (e.g. digest:bob:secret), not "${text}"`);
    }
    return [text.slice(0, colon), text.slice(colon + 1)];
  });
  return {
    server,
    sessionTimeoutMs: positive(args, "session-timeout-ms", sessionTimeoutMsDefault),
    connectTimeoutMs: positive(args, "connect-timeout-ms", connectTimeoutMsDefault),
    auth,
  };
}

/**
 * Reports `error` on stderr and returns the exit code: 2 with a hint for a usage error, 1 for an
 * error carrying a code (the server's or the connection's). Anything else is a bug and is
 * rethrown.
 */
export function reportError(error: unknown, io: CliIo, helpHint: string, path?: string): number {
  if (error instanceof UsageError) {
    io.stderr(`corral: ${error.message}\nRun "${helpHint}" for usage.\n`);
    return exitCodes.usage;
  }
  if (isCodedError(error)) {
    io.stderr(formatError(error, path));
    return exitCodes.failed;
  }
  throw error;
}

/** Closes `client`, waiting at most {@linkcode closeMsMax}. */
export async function closeBounded(client: CliClient): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    client.close().catch(() => {}),
    new Promise<void>((resolve) => timer = setTimeout(resolve, closeMsMax)),
  ]);
  clearTimeout(timer);
}

/** Runs `command` with its arguments `argv` (flags included) as a one-shot process. */
export async function runOneShot(
  command: CommandSpec,
  argv: readonly string[],
  io: CliIo,
): Promise<number> {
  const hint = `corral ${command.name} --help`;
  let args: ParsedArgs;
  let settings: SessionSettings;
  let waitMs: number;
  try {
    args = parseArgs(argv, [...command.flags, ...oneShotCommonFlags]);
    if (args.bool("help")) {
      io.stdout(commandHelp(command));
      return exitCodes.ok;
    }
    checkArguments(command, args);
    settings = sessionSettings(args, io);
    waitMs = positive(args, "wait-ms", waitMsDefault);
  } catch (error) {
    return reportError(error, io, hint);
  }
  const path = args.positionals[0];
  let client: CliClient;
  try {
    client = await openSession(settings.server, settings);
  } catch (error) {
    return reportError(error, io, hint);
  }
  try {
    for (const [scheme, auth] of settings.auth) await client.addAuth(scheme, auth);
    // Set by `watcher()`; a holder, since the compiler cannot see the callback assign it.
    const watched: { event: Promise<EventLike> | null } = { event: null };
    const json = args.bool("json");
    const ctx: CommandContext = {
      client,
      json,
      out: (chunk) => io.stdout(chunk),
      watcher() {
        let fire: (e: EventLike) => void = () => {};
        watched.event = new Promise((resolve) => fire = resolve);
        return (e) => fire(e);
      },
    };
    await command.run(ctx, args);
    if (watched.event !== null) {
      const fired = await waitFor(watched.event, waitMs);
      if (fired === null) {
        io.stderr(`OperationTimeout: no watch event on ${path} within ${waitMs} ms\n`);
        return exitCodes.failed;
      }
      io.stdout(json ? `${JSON.stringify(eventJson(fired))}\n` : formatEvent(fired));
    }
    return exitCodes.ok;
  } catch (error) {
    return reportError(error, io, hint, path);
  } finally {
    await closeBounded(client);
  }
}

/** `promise`'s value, or `null` after `ms`. */
async function waitFor<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
