/**
 * An in-memory {@linkcode CliIo} for running `main(args, io)` in-process: captured stdout and
 * stderr, a chosen environment, standard input from a stream the test writes, and a stop signal
 * the test sends.
 * @module
 */
import { PassThrough } from "node:stream";
import type { CliIo } from "../../src/cli/io.ts";

/** A captured run's streams and controls. */
export interface FakeIo {
  io: CliIo;
  /** Everything written to stdout so far, as text. */
  stdout(): string;
  /** Everything written to stdout so far, as bytes. */
  stdoutBytes(): Uint8Array;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Writes to the command's standard input. */
  input(text: string): void;
  /** Ends the command's standard input. */
  endInput(): void;
  /** Delivers a stop signal (as SIGTERM would). */
  signal(name?: string): void;
}

/** A fresh fake; `env` is the whole environment the command sees. */
export function fakeIo(env: Record<string, string> = {}): FakeIo {
  const out: Uint8Array[] = [];
  let err = "";
  const stdin = new PassThrough();
  const handlers = new Set<(signal: string) => void>();
  const encoder = new TextEncoder();
  const bytes = () => {
    const total = out.reduce((n, c) => n + c.length, 0);
    const all = new Uint8Array(total);
    let at = 0;
    for (const chunk of out) {
      all.set(chunk, at);
      at += chunk.length;
    }
    return all;
  };
  return {
    io: {
      stdout: (chunk) =>
        void out.push(typeof chunk === "string" ? encoder.encode(chunk) : chunk.slice()),
      stderr: (chunk) => void (err += chunk),
      env: (name) => env[name],
      stdin,
      stdinIsTty: false,
      onStopSignal(handler) {
        handlers.add(handler);
        return () => handlers.delete(handler);
      },
    },
    stdout: () => new TextDecoder().decode(bytes()),
    stdoutBytes: bytes,
    stderr: () => err,
    input: (text) => void stdin.write(text),
    endInput: () => void stdin.end(),
    signal(name = "SIGTERM") {
      for (const handler of [...handlers]) handler(name);
    },
  };
}

/** Resolves once `check()` is true; rejects after `ms` with `what` in the message. */
export async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
