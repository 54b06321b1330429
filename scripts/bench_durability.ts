/**
 * Durability benchmark of the compiled `corral` binary: how many acknowledged (fdatasync'ed)
 * writes per second it sustains, at what latency, and how many txns each fdatasync covers (group
 * commit). Run it through `scripts/bench_durability`, which builds the binary when stale.
 *
 * Load: N sessions, each keeping exactly one `setData` of 100 bytes outstanding on its own znode
 * (a closed loop); a warm-up, then a measured window; the whole thing repeated `--runs` times
 * with a fresh data directory on the real disk (under `.tmp/`, never tmpfs).
 *
 * fdatasync counting: the server is a separate process and logs no sync counters, so it runs
 * under `strace -f --seccomp-bpf -e trace=fdatasync -ttt`. With `--seccomp-bpf` the kernel stops
 * the process only on fdatasync itself (no stop on any other syscall), and every line carries the
 * completion time, so only the syncs inside the measured window are counted. This counts the real
 * syscalls of the real binary; `--fsync-count off` runs without strace to show its overhead.
 *
 * Baseline: the raw rate of the same disk for one process appending 100 bytes and calling
 * fdatasync in a loop, i.e. what one-fsync-per-write could at best achieve.
 *
 * Usage: scripts/bench_durability [--sessions 1,32] [--runs 3] [--warmup-s 2] [--measure-s 10]
 *        [--baseline-s 3] [--fsync-count strace|off] [--keep]
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  fdatasyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { type Client, connect } from "../src/client/mod.ts";

/** The repository root. */
export const repoRoot: string = new URL("../", import.meta.url).pathname;

/** Longest wait for a server's "listening" line. */
const listenMsMax = 120_000;
/** Longest wait for a server to exit after SIGTERM before it is killed. */
const stopMsMax = 15_000;
/** Bytes of each benchmark write. */
const writeBytes = 100;

// ---- small statistics ----------------------------------------------------------------------

/** The median of `values` (NaN when empty). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The `p`-th percentile (0..100, nearest rank) of `values` (NaN when empty). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** A number rounded for a table: 3 significant digits, thousands kept whole. */
export function fmt(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString("en-US");
  return value.toPrecision(3);
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects with `what` if `promise` has not settled within `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)
  );
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---- the server process --------------------------------------------------------------------

/** One parsed JSON log line of the server, with when this process read it. */
export interface LogEntry {
  msg: string;
  seenMs: number;
  fields: Record<string, unknown>;
}

/**
 * A `corral serve` subprocess (optionally under strace) whose JSON log lines are parsed as they
 * arrive. `pid` is the server's own pid, also when strace is its parent.
 */
export class ServerProcess {
  readonly child: ChildProcess;
  readonly spawnedMs: number;
  readonly entries: LogEntry[] = [];
  stderrText = "";
  pid = 0;
  #exited: Promise<void>;
  #exitedFlag = false;

  constructor(command: string, args: string[], env: Record<string, string>) {
    this.spawnedMs = performance.now();
    this.child = spawn(command, args, {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, ...env },
    });
    let partial = "";
    this.child.stderr!.setEncoding("utf8");
    this.child.stderr!.on("data", (chunk: string) => {
      const seenMs = performance.now();
      this.stderrText = (this.stderrText + chunk).slice(-20_000);
      const lines = (partial + chunk).split("\n");
      partial = lines.pop()!;
      for (const line of lines) this.#parse(line, seenMs);
    });
    this.#exited = new Promise((resolve) =>
      this.child.on("exit", () => {
        this.#exitedFlag = true;
        resolve();
      })
    );
  }

  #parse(line: string, seenMs: number): void {
    if (!line.startsWith("{")) return;
    try {
      const fields = JSON.parse(line) as Record<string, unknown>;
      if (typeof fields.msg === "string") this.entries.push({ msg: fields.msg, seenMs, fields });
    } catch {
      // Not a log line (a crash report, say); it stays in stderrText.
    }
  }

  get exited(): boolean {
    return this.#exitedFlag;
  }

  /** The first log entry with message `msg` (after index `from`), waiting up to `ms`. */
  async waitForLog(msg: string, ms: number, from = 0): Promise<LogEntry> {
    const deadline = performance.now() + ms;
    for (;;) {
      const found = this.entries.slice(from).find((e) => e.msg === msg);
      if (found) return found;
      if (this.#exitedFlag) {
        throw new Error(`the server exited before logging "${msg}":\n${this.stderrText}`);
      }
      if (performance.now() > deadline) {
        throw new Error(`no "${msg}" log line within ${ms} ms:\n${this.stderrText}`);
      }
      await sleep(5);
    }
  }

  /**
   * Finds the server's pid: the child itself, or the child of strace running the binary (strace
   * may fork short-lived helpers of its own first, so the command line is checked).
   */
  async resolvePid(binary: string | null): Promise<number> {
    const own = this.child.pid!;
    if (binary === null) return this.pid = own;
    const deadline = performance.now() + 10_000;
    while (performance.now() < deadline && !this.#exitedFlag) {
      const children = readFileSync(`/proc/${own}/task/${own}/children`, "utf8").trim();
      for (const pid of children === "" ? [] : children.split(/\s+/).map(Number)) {
        let cmdline: string[] = [];
        try {
          cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
        } catch {
          continue; // A helper that already exited.
        }
        if (cmdline[0] === binary && cmdline[1] === "serve") return this.pid = pid;
      }
      await sleep(5);
    }
    throw new Error(`strace started no server process:\n${this.stderrText}`);
  }

  /** SIGTERM (a graceful stop), then SIGKILL after {@linkcode stopMsMax}; waits for the exit. */
  async stop(): Promise<void> {
    if (this.#exitedFlag) return;
    const target = this.pid || this.child.pid!;
    signal(target, "SIGTERM");
    const stopped = await within(this.#exited, stopMsMax, "the server stop").then(
      () => true,
      () => false,
    );
    if (!stopped) {
      signal(target, "SIGKILL");
      signal(this.child.pid!, "SIGKILL");
      await within(this.#exited, 5_000, "the killed server's exit").catch(() => {});
    }
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/** Servers started by this process, stopped on the way out whatever happens. */
export const started = new Set<ServerProcess>();

/** Stops every server this process started (each by its own pid). */
export async function stopAll(): Promise<void> {
  await Promise.all([...started].map((s) => s.stop()));
  started.clear();
}

/** Copies dist/corral next to the data so a concurrent rebuild cannot touch a running binary. */
export function copyBinary(workDir: string): string {
  const source = join(repoRoot, "dist", "corral");
  if (!existsSync(source)) throw new Error(`${source} is missing; run ./compile.sh first`);
  const target = join(workDir, "corral");
  copyFileSync(source, target);
  chmodSync(target, 0o755);
  return target;
}

/** Extra environment for the servers these benchmarks start (none: they run as users run them). */
export const benchEnv: Record<string, string> = {};

/** Starts `binary serve` on 127.0.0.1 with a free port, optionally under strace. */
export async function startServe(
  binary: string,
  dataDir: string,
  options: { extraArgs?: string[]; straceOut?: string } = {},
): Promise<{ server: ServerProcess; port: number }> {
  const serveArgs = [
    "serve",
    "--port",
    "0",
    "--zk-port",
    "0",
    "--host",
    "127.0.0.1",
    "--data-dir",
    dataDir,
    ...(options.extraArgs ?? []),
  ];
  const server = options.straceOut === undefined
    ? new ServerProcess(binary, serveArgs, benchEnv)
    : new ServerProcess("strace", [
      "-f",
      "--seccomp-bpf",
      "-qq",
      "-e",
      "trace=fdatasync",
      "-ttt",
      "-T",
      "-o",
      options.straceOut,
      binary,
      ...serveArgs,
    ], benchEnv);
  started.add(server);
  const listening = await server.waitForLog("listening", listenMsMax);
  await server.resolvePid(options.straceOut === undefined ? null : binary);
  return { server, port: Number(listening.fields.port) };
}

/** CPU seconds (user + system) used so far by process `pid`. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may contain spaces.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(rest[11]) + Number(rest[12])) / clockTicksPerS();
}

let ticks = 0;
function clockTicksPerS(): number {
  if (ticks === 0) ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }));
  return ticks;
}

/** True when strace can trace a child with a seccomp filter here. */
export function straceWorks(): boolean {
  try {
    execFileSync("strace", [
      "-f",
      "--seccomp-bpf",
      "-qq",
      "-e",
      "trace=fdatasync",
      "-o",
      "/dev/null",
      "true",
    ], {
      stdio: "ignore",
      timeout: 10_000,
    });
    return true;
  } catch {
    return false;
  }
}

/** fdatasync calls in an strace -ttt -T log that completed in [fromMs, toMs], and their durations. */
function fdatasyncsIn(straceOut: string, fromMs: number, toMs: number): number[] {
  const completed =
    /^\d+\s+(\d+\.\d+)\s+(?:fdatasync\(|<\.\.\. fdatasync resumed>).*=\s*0\s+<(\d+\.\d+)>\s*$/;
  const durationsMs: number[] = [];
  for (const line of readFileSync(straceOut, "utf8").split("\n")) {
    const match = completed.exec(line);
    if (!match) continue;
    const ms = Number(match[1]) * 1000;
    if (ms >= fromMs && ms <= toMs) durationsMs.push(Number(match[2]) * 1000);
  }
  return durationsMs;
}

// ---- the raw fdatasync baseline ------------------------------------------------------------

/** Appends 100 B + fdatasync in a loop for `seconds`: syncs per second and the median sync. */
function rawFdatasyncRate(dir: string, seconds: number): { perS: number; p50Ms: number } {
  const path = join(dir, "raw-fdatasync.log");
  const fd = openSync(path, "a");
  const bytes = new Uint8Array(writeBytes).fill(0x61);
  const syncMs: number[] = [];
  const start = performance.now();
  const end = start + seconds * 1000;
  try {
    for (let now = start; now < end && syncMs.length < 10_000_000;) {
      writeSync(fd, bytes);
      fdatasyncSync(fd);
      const after = performance.now();
      syncMs.push(after - now);
      now = after;
    }
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  return { perS: syncMs.length / ((performance.now() - start) / 1000), p50Ms: median(syncMs) };
}

// ---- one measured run ----------------------------------------------------------------------

interface RunResult {
  writesPerS: number;
  p50Ms: number;
  p99Ms: number;
  fsyncsPerS: number;
  txnsPerFsync: number;
  /** Median time the server spent inside one fdatasync (strace -T). */
  fsyncP50Ms: number;
  /** Share of the window the server spent inside fdatasync. */
  syncBusyPct: number;
  serverCpuPct: number;
  clientCpuPct: number;
}

interface RunOptions {
  binary: string;
  workDir: string;
  sessions: number;
  warmupS: number;
  measureS: number;
  strace: boolean;
  keep: boolean;
}

/** Opens `count` sessions, each with its own znode under /bench. */
async function openSessions(port: number, count: number): Promise<Client[]> {
  const clients: Client[] = [];
  for (let i = 0; i < count; i++) {
    clients.push(await connect(`127.0.0.1:${port}`, { sessionTimeoutMs: 20_000 }));
  }
  await clients[0].create("/bench", "");
  await Promise.all(clients.map((c, i) => c.create(`/bench/s${i}`, "")));
  return clients;
}

/** One closed-loop run: writes completed inside the window, their latencies, syncs, CPU. */
async function measureRun(options: RunOptions, label: string): Promise<RunResult> {
  const dataDir = join(options.workDir, `data-${label}`);
  const straceOut = join(options.workDir, `strace-${label}.txt`);
  rmSync(dataDir, { recursive: true, force: true });
  const { server, port } = await startServe(options.binary, dataDir, {
    straceOut: options.strace ? straceOut : undefined,
  });
  try {
    const clients = await openSessions(port, options.sessions);
    const data = new Uint8Array(writeBytes).fill(0x62);
    const t0 = performance.now();
    const windowStart = t0 + options.warmupS * 1000;
    const windowEnd = windowStart + options.measureS * 1000;
    const latencies: number[] = [];
    let serverCpu0 = NaN;
    let clientCpu0 = process.cpuUsage();
    const marks = setTimeout(() => {
      // The server may have died; the load loop then times out and reports it.
      serverCpu0 = server.exited ? NaN : cpuSeconds(server.pid);
      clientCpu0 = process.cpuUsage();
    }, windowStart - t0);
    const loop = async (client: Client, path: string) => {
      while (performance.now() < windowEnd) {
        const start = performance.now();
        await client.setData(path, data);
        const end = performance.now();
        if (end >= windowStart && end <= windowEnd) latencies.push(end - start);
      }
    };
    await within(
      Promise.all(clients.map((c, i) => loop(c, `/bench/s${i}`))),
      (options.warmupS + options.measureS) * 1000 + 30_000,
      "the load loop",
    );
    clearTimeout(marks);
    const serverCpu = cpuSeconds(server.pid) - serverCpu0;
    const clientCpu = process.cpuUsage(clientCpu0);
    await within(Promise.all(clients.map((c) => c.close())), 10_000, "closing the sessions");
    await server.stop();
    started.delete(server);
    const wall = (perf: number) => performance.timeOrigin + perf;
    const syncsMs = options.strace
      ? fdatasyncsIn(straceOut, wall(windowStart), wall(windowEnd))
      : [];
    const fsyncs = options.strace ? syncsMs.length : NaN;
    return {
      writesPerS: latencies.length / options.measureS,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      fsyncsPerS: fsyncs / options.measureS,
      txnsPerFsync: latencies.length / fsyncs,
      fsyncP50Ms: options.strace ? percentile(syncsMs, 50) : NaN,
      syncBusyPct: options.strace
        ? (100 * syncsMs.reduce((a, b) => a + b, 0)) / (options.measureS * 1000)
        : NaN,
      serverCpuPct: (100 * serverCpu) / options.measureS,
      clientCpuPct: (100 * (clientCpu.user + clientCpu.system) / 1e6) / options.measureS,
    };
  } finally {
    await server.stop();
    started.delete(server);
    if (!options.keep) {
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(straceOut, { force: true });
    }
  }
}

// ---- the command ---------------------------------------------------------------------------

interface Settings {
  sessions: number[];
  runs: number;
  warmupS: number;
  measureS: number;
  baselineS: number;
  strace: boolean;
  keep: boolean;
}

function settingsFrom(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv,
    options: {
      sessions: { type: "string", default: "1,32" },
      runs: { type: "string", default: "3" },
      "warmup-s": { type: "string", default: "2" },
      "measure-s": { type: "string", default: "10" },
      "baseline-s": { type: "string", default: "3" },
      "fsync-count": { type: "string", default: "strace" },
      keep: { type: "boolean", default: false },
    },
  });
  const sessions = values.sessions.split(",").map(Number);
  const settings = {
    sessions,
    runs: Number(values.runs),
    warmupS: Number(values["warmup-s"]),
    measureS: Number(values["measure-s"]),
    baselineS: Number(values["baseline-s"]),
    strace: values["fsync-count"] === "strace",
    keep: values.keep,
  };
  // Every loop is bounded: at most 60 sessions (maxClientCnxns) and 10 runs of at most 120 s.
  if (!sessions.every((n) => Number.isInteger(n) && n >= 1 && n <= 60)) {
    throw new RangeError("--sessions takes integers in [1, 60] (maxClientCnxns is 60)");
  }
  if (!(settings.runs >= 1 && settings.runs <= 10)) throw new RangeError("--runs is in [1, 10]");
  for (const key of ["warmupS", "measureS", "baselineS"] as const) {
    if (!(settings[key] > 0 && settings[key] <= 120)) throw new RangeError(`${key} is in (0, 120]`);
  }
  if (!["strace", "off"].includes(values["fsync-count"])) {
    throw new RangeError("--fsync-count is strace or off");
  }
  return settings;
}

function pct(value: number): string {
  return Number.isFinite(value) ? `${fmt(value)}%` : "n/a";
}

function row(cells: string[]): string {
  return `| ${cells.join(" | ")} |`;
}

async function main(): Promise<void> {
  const settings = settingsFrom(process.argv.slice(2));
  const workDir = join(repoRoot, ".tmp", "bench_durability");
  mkdirSync(workDir, { recursive: true });
  const binary = copyBinary(workDir);
  if (settings.strace && !straceWorks()) {
    console.error("strace with --seccomp-bpf is not usable here: fsync columns will be n/a");
    settings.strace = false;
  }
  const baseline: Array<{ perS: number; p50Ms: number }> = [];
  for (let r = 0; r < settings.runs; r++) {
    baseline.push(rawFdatasyncRate(workDir, settings.baselineS));
    console.error(`raw fdatasync run ${r + 1}: ${fmt(baseline.at(-1)!.perS)}/s`);
  }
  const rawPerS = median(baseline.map((b) => b.perS));
  const lines: string[] = [];
  const results = new Map<number, RunResult[]>();
  for (const sessions of settings.sessions) {
    for (let r = 0; r < settings.runs; r++) {
      const result = await measureRun(
        { ...settings, binary, workDir, sessions },
        `${sessions}-${r}`,
      );
      console.error(
        `sessions ${sessions} run ${r + 1}: ${fmt(result.writesPerS)} writes/s, p50 ${
          fmt(result.p50Ms)
        } ms, p99 ${fmt(result.p99Ms)} ms, ${fmt(result.fsyncsPerS)} fsyncs/s, ${
          fmt(result.txnsPerFsync)
        } txns/fsync, fdatasync p50 ${fmt(result.fsyncP50Ms)} ms, in fdatasync ${
          fmt(result.syncBusyPct)
        }% of the time, server CPU ${fmt(result.serverCpuPct)}%, bench CPU ${
          fmt(result.clientCpuPct)
        }%`,
      );
      results.set(sessions, [...(results.get(sessions) ?? []), result]);
    }
  }
  const header = [
    "sessions",
    "writes/s",
    "p50 ms",
    "p99 ms",
    "fsyncs/s",
    "txns per fsync",
    "writes/s ÷ raw fsync/s",
    "fdatasync p50 ms",
    "server time in fdatasync",
    "server CPU",
    "writes/s of each run",
  ];
  lines.push(row(header), row(header.map(() => "---")));
  for (const [sessions, runs] of results) {
    const m = (key: keyof RunResult) => median(runs.map((r) => r[key]));
    lines.push(row([
      String(sessions),
      fmt(m("writesPerS")),
      fmt(m("p50Ms")),
      fmt(m("p99Ms")),
      fmt(m("fsyncsPerS")),
      fmt(m("txnsPerFsync")),
      `${fmt(m("writesPerS") / rawPerS)}×`,
      fmt(m("fsyncP50Ms")),
      pct(m("syncBusyPct")),
      pct(m("serverCpuPct")),
      runs.map((r) => fmt(r.writesPerS)).join(", "),
    ]));
  }
  console.log(
    `Durability: ${writeBytes}-byte setData, one outstanding per session, warm-up ${settings.warmupS} s, ` +
      `window ${settings.measureS} s, median of ${settings.runs} runs; fsyncs counted ${
        settings.strace
          ? "by strace (fdatasync calls of the server)"
          : "not at all (--fsync-count off)"
      }.\n`,
  );
  console.log(lines.join("\n"));
  console.log(
    `\nRaw disk baseline (append ${writeBytes} B + fdatasync, one process, ${settings.baselineS} s, ` +
      `median of ${settings.runs}): ${fmt(rawPerS)} fdatasync/s, p50 ${
        fmt(median(baseline.map((b) => b.p50Ms)))
      } ms per sync.`,
  );
}

if (import.meta.main) {
  process.on("SIGINT", () => void stopAll().then(() => process.exit(130)));
  try {
    await main();
  } finally {
    await stopAll();
  }
  // Client timers (reconnect, ping) must not keep the benchmark alive.
  process.exit(0);
}
