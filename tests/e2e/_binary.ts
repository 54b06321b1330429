/**
 * Helpers for end-to-end tests of the compiled `corral` binary: build it when stale, copy it to
 * an empty folder, and run it as a subprocess with an environment that offers nothing else (no
 * Deno, Bun or Node on PATH, no node_modules). Every wait is bounded; every process started can
 * be killed and awaited.
 * @module
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** The repository root. */
export const repoRoot = new URL("../../", import.meta.url).pathname;

/** The binary compile.sh writes. */
export const binaryPath = join(repoRoot, "dist", "corral");

/** Longest a build may take. */
const buildMsMax = 300_000;

function newestMtimeMs(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtimeMs(join(path, name)));
  return newest;
}

/**
 * Runs ./compile.sh unless dist/corral is newer than every file under src/, package.json and
 * compile.sh itself.
 */
export async function ensureBinary(): Promise<void> {
  const inputs = ["src", "package.json", "compile.sh"].map((p) => newestMtimeMs(join(repoRoot, p)));
  if (existsSync(binaryPath) && statSync(binaryPath).mtimeMs > Math.max(...inputs)) return;
  const build = new Deno.Command("bash", {
    args: ["./compile.sh"],
    cwd: repoRoot,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(buildMsMax),
  });
  const { code, stdout, stderr } = await build.output();
  const decoder = new TextDecoder();
  if (code !== 0) {
    throw new Error(
      `compile.sh failed (exit ${code}):\n${decoder.decode(stdout)}${decoder.decode(stderr)}`,
    );
  }
}

/** A folder holding only a copy of the binary; `remove()` deletes it. */
export interface BinaryHome {
  dir: string;
  binary: string;
  remove(): void;
}

/** Copies the built binary into a fresh, otherwise empty temp folder. */
export function copyBinary(): BinaryHome {
  const dir = Deno.makeTempDirSync({ prefix: "corral-e2e-" });
  const binary = join(dir, "corral");
  Deno.copyFileSync(binaryPath, binary);
  Deno.chmodSync(binary, 0o755);
  return { dir, binary, remove: () => Deno.removeSync(dir, { recursive: true }) };
}

/** A running subprocess whose output is collected as it comes. */
export class Proc {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #reading: Promise<void>;
  readonly #status: Promise<Deno.CommandStatus>;
  #stdout = "";
  #stderr = "";
  #stdinClosed = false;

  constructor(home: BinaryHome, args: string[], env: Record<string, string>) {
    this.#child = new Deno.Command(home.binary, {
      args,
      cwd: home.dir,
      clearEnv: true,
      // PATH names only the folder of the copy: nothing else the binary could lean on.
      env: { PATH: home.dir, HOME: home.dir, ...env },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    const collect = (stream: ReadableStream<Uint8Array>, add: (text: string) => void) => {
      const decoder = new TextDecoder();
      return stream.pipeTo(
        new WritableStream({ write: (chunk) => add(decoder.decode(chunk, { stream: true })) }),
      );
    };
    this.#reading = Promise.all([
      collect(this.#child.stdout, (t) => this.#stdout += t),
      collect(this.#child.stderr, (t) => this.#stderr += t),
    ]).then(() => {});
    this.#status = this.#child.status;
  }

  /** Everything the process wrote to stdout so far. */
  get stdout(): string {
    return this.#stdout;
  }

  /** Everything the process wrote to stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** Writes `text` to the process's stdin. */
  async write(text: string): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(text));
  }

  /** Closes the process's stdin (end of input). Idempotent. */
  async closeStdin(): Promise<void> {
    if (this.#stdinClosed) return;
    this.#stdinClosed = true;
    await this.#writer.close().catch(() => {});
  }

  /** Resolves once `check(this)` holds; rejects after `ms`, quoting the output so far. */
  async waitFor(check: (p: Proc) => boolean, what: string, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check(this)) {
      if (Date.now() > deadline) {
        throw new Error(
          `timed out after ${ms} ms waiting for ${what}\nstdout: ${this.#stdout}\nstderr: ${this.#stderr}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Sends `signal` (no-op once the process has exited). */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    try {
      this.#child.kill(signal);
    } catch {
      // Already gone.
    }
  }

  /** Waits for the exit (killing it with SIGKILL after `ms`) and for all output. */
  async exit(ms = 10_000): Promise<Deno.CommandStatus> {
    await this.closeStdin();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = new Promise<void>((resolve) =>
      timer = setTimeout(() => {
        this.kill("SIGKILL");
        resolve();
      }, ms)
    );
    const status = await Promise.race([this.#status, killed.then(() => this.#status)]);
    clearTimeout(timer);
    await this.#reading;
    return status;
  }
}

/** Runs the binary to completion with `stdin` as input; kills it after `ms`. */
export async function runBinary(
  home: BinaryHome,
  args: string[],
  options: { env?: Record<string, string>; stdin?: string; ms?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = new Proc(home, args, options.env ?? {});
  try {
    if (options.stdin !== undefined) await proc.write(options.stdin);
    const status = await proc.exit(options.ms ?? 15_000);
    return { code: status.code, stdout: proc.stdout, stderr: proc.stderr };
  } finally {
    proc.kill("SIGKILL");
  }
}

/**
 * Spawns a copied binary that reads nothing on stdin and logs on stderr (piped), in its own
 * folder with an environment naming only that folder: nothing else the binary could lean on.
 */
export function spawnIsolated(binary: string, args: string[]): Deno.ChildProcess {
  const dir = binary.slice(0, binary.lastIndexOf("/"));
  return new Deno.Command(binary, {
    args,
    cwd: dir,
    clearEnv: true,
    env: { PATH: dir, HOME: dir },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

/** Starts `corral serve` on 127.0.0.1 with a free port; resolves with the process and the port. */
export async function startServe(
  home: BinaryHome,
  extraArgs: string[] = [],
): Promise<{ proc: Proc; port: number }> {
  const dataDir = join(home.dir, "data");
  const proc = new Proc(home, [
    "serve",
    "--port",
    "0",
    "--host",
    "127.0.0.1",
    "--data-dir",
    dataDir,
    // Tests run side by side: the ZooKeeper port only where a test asks for one.
    ...(extraArgs.includes("--zk-port") ? [] : ["--zk-port", "0"]),
    ...extraArgs,
  ], {});
  try {
    await proc.waitFor((p) => listeningPort(p.stderr) !== null, 'the "listening" log line');
  } catch (error) {
    proc.kill("SIGKILL");
    await proc.exit();
    throw error;
  }
  return { proc, port: listeningPort(proc.stderr) as number };
}

/** The port of the first complete "listening" JSON log line in `log`, or null. */
export function listeningPort(log: string): number | null {
  for (const line of log.split("\n").slice(0, -1)) {
    try {
      const entry = JSON.parse(line);
      if (entry.msg === "listening" && Number.isInteger(entry.port)) return entry.port;
    } catch {
      // Not a JSON line; ignore.
    }
  }
  return null;
}
