/**
 * The load loop of `corral bench`: N sessions drive one workload against a {@linkcode BenchTarget}
 * for a warm-up and then a measured window, either closed-loop (each session keeps `depth`
 * requests outstanding and sends the next when one is answered) or open-loop (requests leave at a
 * fixed total rate whether or not earlier ones were answered, and latency counts from when each
 * was due, so a stalled server cannot hide its queue). Only operations that complete inside the
 * window count. CPU and memory of the server processes come from /proc by pid.
 * @module
 */
import { LatencyHistogram } from "./histogram.ts";
import {
  cpuPercents,
  type CpuSample,
  cpuSample,
  type MachineUsage,
  machineUsage,
  rssBytesOf,
} from "./proc.ts";
import type { BenchSession, BenchTarget } from "./targets.ts";

/** The operations a run sends. */
export type Workload = "write" | "create" | "read" | "mixed";

/** Every workload, in report order. */
export const workloads: readonly Workload[] = ["write", "create", "read", "mixed"];

/** What to run. */
export interface BenchOptions {
  target: BenchTarget;
  /**
   * write: setData of the session's own node; create: persistent-sequential creates under one
   * parent; read: getData of the session's own node; mixed: 9 reads then 1 write, repeated.
   */
  workload: Workload;
  /** Client sessions, each on its own connection. */
  sessions: number;
  /** Requests each session keeps outstanding in closed loop (1 = strictly one at a time). */
  depth?: number;
  /** Open loop: total requests per second over all sessions. Absent or 0: closed loop. */
  rate?: number;
  /** Load before the measured window, ms. */
  warmupMs: number;
  /** Measured window, ms. */
  durationMs: number;
  /** The window ends early once this many operations completed in it. Default 5,000,000. */
  maxOps?: number;
  /** Server processes whose CPU and RSS to report. */
  pids?: readonly number[];
  /** Longest wait for outstanding requests after the window, ms. Default 10,000. */
  drainMs?: number;
}

/** CPU and memory of one server process over the measured window. */
export interface ServerUsage {
  pid: number;
  /** Percent of one core over the window (null when /proc could not be read). */
  cpuPercent: number | null;
  /** Resident memory at the end of the window, bytes. */
  rssBytes: number | null;
}

/** Latency figures of a run, in milliseconds. */
export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** What a run measured. */
export interface BenchResult {
  workload: Workload;
  sessions: number;
  depth: number;
  /** Open-loop rate, or null for closed loop. */
  rate: number | null;
  /** Operations completed successfully in the window. */
  ops: number;
  /** Operations that completed with an error in the window. */
  errors: number;
  /** Errors by name. */
  errorKinds: Record<string, number>;
  /** Length of the window, seconds. */
  seconds: number;
  /** Successful operations per second. */
  opsPerS: number;
  /** Latency of the successful operations. */
  latencyMs: LatencySummary;
  servers: ServerUsage[];
  /** CPU of this load generator, percent of one core over the window. */
  clientCpuPercent: number;
  /** The whole machine's CPU over the window (null off Linux). */
  machine: MachineUsage | null;
}

/** Most requests one session may have waiting in open loop before new ones count as dropped. */
const openLoopBacklogMax = 1_000;

/** Opens `count` sessions, `batch` at a time, so many sessions do not stampede the server. */
export async function openSessions(
  target: BenchTarget,
  count: number,
  batch = 32,
): Promise<BenchSession[]> {
  const sessions: BenchSession[] = [];
  try {
    for (let first = 0; first < count; first += batch) {
      const indexes = Array.from({ length: Math.min(batch, count - first) }, (_, i) => first + i);
      const opened = await Promise.allSettled(indexes.map((i) => target.open(i)));
      for (const result of opened) if (result.status === "fulfilled") sessions.push(result.value);
      const failed = opened.find((result) => result.status === "rejected");
      if (failed) throw failed.reason;
    }
  } catch (error) {
    await closeSessions(sessions);
    throw error;
  }
  return sessions;
}

/** Closes every session, waiting at most `limitMs`. */
export async function closeSessions(sessions: readonly BenchSession[], limitMs = 10_000) {
  await withinMs(Promise.allSettled(sessions.map((s) => s.close())), limitMs);
}

/** Runs one workload; prepares the target, opens and finally closes the sessions. */
export async function runBench(options: BenchOptions): Promise<BenchResult> {
  if (!(options.sessions >= 1)) throw new Error("a run needs at least one session");
  await options.target.prepare();
  const sessions = await openSessions(options.target, options.sessions);
  try {
    return await measure(options, sessions);
  } finally {
    await closeSessions(sessions);
  }
}

/** The counters a run fills in while it goes. */
class Tally {
  readonly latency = new LatencyHistogram();
  readonly errorKinds: Record<string, number> = {};
  ops = 0;
  errors = 0;
  /** performance.now() of the window's start and end. */
  windowStart = Infinity;
  windowEnd = Infinity;
  /** Set once no more requests may be sent. */
  stopped = false;

  constructor(readonly maxOps: number, readonly onFull: () => void) {}

  /** Counts an operation that completed at `doneAt`, if inside the window. */
  done(startedAt: number, doneAt: number, error: string | null): void {
    if (doneAt < this.windowStart || doneAt >= this.windowEnd) return;
    if (error === null) {
      this.ops++;
      this.latency.record((doneAt - startedAt) * 1000);
      if (this.ops >= this.maxOps) this.onFull();
    } else {
      this.errors++;
      this.errorKinds[error] = (this.errorKinds[error] ?? 0) + 1;
    }
  }
}

/** The operation number `n` of a session sends, for `workload`. */
function opOf(session: BenchSession, workload: Workload, n: number): Promise<string | null> {
  switch (workload) {
    case "write":
      return session.write();
    case "create":
      return session.create();
    case "read":
      return session.read();
    case "mixed":
      return n % 10 === 9 ? session.write() : session.read();
  }
}

async function measure(options: BenchOptions, sessions: BenchSession[]): Promise<BenchResult> {
  const depth = Math.max(1, options.depth ?? 1);
  const rate = options.rate && options.rate > 0 ? options.rate : null;
  const start = performance.now();
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => finish = resolve);
  const tally = new Tally(options.maxOps ?? 5_000_000, () => endWindow());
  tally.windowStart = start + options.warmupMs;
  tally.windowEnd = tally.windowStart + options.durationMs;
  let before: CpuSample | null = null;
  let after: CpuSample | null = null;
  const pids = options.pids ?? [];
  const startTimer = setTimeout(() => before = cpuSample(pids), options.warmupMs);
  const endTimer = setTimeout(() => endWindow(), options.warmupMs + options.durationMs);
  function endWindow(): void {
    if (tally.stopped) return;
    tally.stopped = true;
    tally.windowEnd = Math.min(tally.windowEnd, performance.now());
    after = cpuSample(pids);
    clearTimeout(endTimer);
    finish();
  }

  const loops = rate === null
    ? sessions.flatMap((session) =>
      Array.from({ length: depth }, (_, lane) => closedLoop(session, lane, depth, options, tally))
    )
    : [openLoop(sessions, rate, options, tally)];
  await finished;
  clearTimeout(startTimer);
  await withinMs(Promise.all(loops), options.drainMs ?? 10_000);
  before ??= after;
  return summarise(options, depth, rate, tally, before!, after!);
}

/** One lane of a session: send, wait for the answer, repeat, until the window ends. */
async function closedLoop(
  session: BenchSession,
  lane: number,
  depth: number,
  options: BenchOptions,
  tally: Tally,
): Promise<void> {
  for (let n = lane; !tally.stopped; n += depth) {
    const sentAt = performance.now();
    const error = await opOf(session, options.workload, n);
    tally.done(sentAt, performance.now(), error);
    // An error may come back without any I/O (a lost connection, an expired session): yield to
    // the event loop, or a lane failing at once would starve the timer that ends the window.
    if (error !== null) {
      await new Promise((r) => setTimeout(r, error === "ConnectionLoss" ? 10 : 0));
    }
  }
}

/** Sends at `rate` per second, round-robin over the sessions, until the window ends. */
async function openLoop(
  sessions: BenchSession[],
  rate: number,
  options: BenchOptions,
  tally: Tally,
): Promise<void> {
  const start = performance.now();
  const waiting = new Array<number>(sessions.length).fill(0);
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  while (!tally.stopped) {
    const due = Math.floor((performance.now() - start) * rate / 1000);
    for (; sent < due && !tally.stopped; sent++) {
      const which = sent % sessions.length;
      const dueAt = start + sent * 1000 / rate;
      if (waiting[which] >= openLoopBacklogMax) {
        tally.done(dueAt, performance.now(), "Backlog");
        continue;
      }
      waiting[which]++;
      const op = opOf(sessions[which], options.workload, Math.floor(sent / sessions.length))
        .then((error) => {
          waiting[which]--;
          tally.done(dueAt, performance.now(), error);
        });
      inFlight.add(op);
      op.then(() => inFlight.delete(op));
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inFlight);
}

function summarise(
  options: BenchOptions,
  depth: number,
  rate: number | null,
  tally: Tally,
  before: CpuSample,
  after: CpuSample,
): BenchResult {
  const seconds = Math.max(1e-6, (tally.windowEnd - tally.windowStart) / 1000);
  const cpu = cpuPercents(before, after);
  const ms = (us: number) => us / 1000;
  const latency = tally.latency;
  return {
    workload: options.workload,
    sessions: options.sessions,
    depth,
    rate,
    ops: tally.ops,
    errors: tally.errors,
    errorKinds: tally.errorKinds,
    seconds,
    opsPerS: tally.ops / seconds,
    latencyMs: {
      p50: ms(latency.quantile(0.5)),
      p90: ms(latency.quantile(0.9)),
      p99: ms(latency.quantile(0.99)),
      p999: ms(latency.quantile(0.999)),
      max: ms(latency.max),
      mean: ms(latency.mean),
    },
    servers: (options.pids ?? []).map((pid, i) => ({
      pid,
      cpuPercent: cpu.pids[i],
      rssBytes: rssBytesOf(pid),
    })),
    clientCpuPercent: cpu.self,
    machine: machineUsage(before.machine, after.machine),
  };
}

/** Waits for `promise` at most `ms`; the result is ignored. */
async function withinMs(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([promise, new Promise<void>((r) => timer = setTimeout(r, ms))]);
  clearTimeout(timer);
}
