/**
 * Where the command line reads and writes: the process's streams by default, buffers in tests.
 * Every command goes through a {@linkcode CliIo}, so `main(args, io)` runs in-process with
 * nothing touching the real terminal.
 * @module
 */
import process from "node:process";
import type { Readable } from "node:stream";

/** The streams, environment and signals a command may use. */
export interface CliIo {
  /** Writes to standard output (text or raw bytes). */
  stdout(chunk: string | Uint8Array): void;
  /** Writes to standard error. */
  stderr(chunk: string): void;
  /** Reads an environment variable. */
  env(name: string): string | undefined;
  /** Standard input, read line by line by `corral shell`. */
  stdin: Readable;
  /** True when standard input is a terminal (the shell then prompts and keeps history). */
  stdinIsTty: boolean;
  /**
   * Calls `handler` once when the process is asked to stop (SIGTERM or SIGINT); returns a
   * function that removes the handler again.
   */
  onStopSignal(handler: (signal: string) => void): () => void;
}

/**
 * The real process: `node:process` streams, environment and signals. Works on Deno, Bun and
 * Node alike.
 */
export function processIo(): CliIo {
  return {
    stdout: (chunk) => void process.stdout.write(chunk),
    stderr: (chunk) => void process.stderr.write(chunk),
    env: (name) => process.env[name],
    stdin: process.stdin,
    stdinIsTty: process.stdin.isTTY === true,
    onStopSignal(handler) {
      const signals = ["SIGTERM", "SIGINT"] as const;
      let fired = false;
      const listener = (signal: string) => {
        if (fired) return;
        fired = true;
        handler(signal);
      };
      for (const signal of signals) process.on(signal, listener);
      return () => {
        for (const signal of signals) process.off(signal, listener);
      };
    },
  };
}

/** Waits until everything written to the process's stdout and stderr has been handed over. */
export async function flushProcessOutput(): Promise<void> {
  const flush = (stream: NodeJS.WriteStream) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      stream.write("", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
}
