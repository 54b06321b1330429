/**
 * Scale benchmark of the compiled `corral` binary (issue 7 item 4): how throughput, latency and
 * memory grow with many watches, many znodes and large values, and where the limits are. Every
 * experiment starts a fresh server (the binary, default settings, standalone unless said) under
 * `.tmp/bench_scale/` on the real disk, drives it over the ZooKeeper protocol from this process
 * with {@linkcode ZkBenchSession} on 127.0.0.1 only, and stops it afterwards.
 *
 * 1. Watches. For W = 0, 1k, 10k, 100k: W nodes under /w (100 B each; 1,000 for W = 0) are
 *    created pipelined, then S = min(W, 1,000) watcher sessions register one data watch per node
 *    (getData watch:true), node i on session i mod S: 1k is 1,000 sessions with one watch each,
 *    10k and 100k are 10 and 100 watches on each of 1,000 sessions. The server allows 60
 *    connections per client address by default (maxClientCnxns), so the watcher sessions connect
 *    from 127.0.0.2, 127.0.0.3, ... (50 each) to the server on 127.0.0.1. Then 32 writer sessions
 *    run closed-loop setData (100 B) on random armed nodes (a watch registered and not yet fired)
 *    for a warm-up and a measured window. Every write fires exactly one NodeDataChanged event;
 *    the watcher re-arms its watch when the event arrives (getData watch:true, as a cache client
 *    would) and the node becomes eligible again once that is answered. After the window the run
 *    waits for every outstanding event: an acknowledged write whose event never arrived is lost.
 * 2. Znodes. 1M nodes of 100 B under 1,000 parents (/z/p-K/n-I), created by 4 sessions with 256
 *    requests outstanding each (stopped after 6 minutes); RSS at 10, 25, 50 and 100 % of the
 *    nodes, and 10 s after the build (once no snapshot save runs). The server saves a snapshot
 *    every 50,000-100,000 txns (snapCount) and, at this size, serving slows down sharply while it
 *    does; its log says when ("snapshot started" / "saved"), so the run first drives 16 readers
 *    and 16 writers until one save started and ended, splitting every figure by whether a save
 *    was running, and then measures closed-loop getData and setData by 32 sessions on random
 *    nodes with the next save at least 50,000 txns away. Then the data dir's size, the time to
 *    stop with SIGTERM and to restart on the same dir (to the first answered request), and the
 *    same after SIGKILL. Last, unless `--no-zookeeper`, the same tree is built the same way on a
 *    standalone Apache ZooKeeper (apt-get installs it when missing), for its RSS at the same
 *    points.
 * 3. Values. 1, 4 and 16 sessions run closed-loop setData of 1 MiB on a node of their own, then
 *    getData of it; then the same writes on a three-node ensemble (sessions on the leader). A
 *    value one byte over the limit, and one whose request frame is over the frame limit, must be
 *    refused while the server stays up.
 *
 * Latency counts from sending a request to its reply; only operations that complete inside the
 * window count. RSS and CPU come from /proc/PID of the server (VmRSS, VmHWM = peak RSS). The load
 * generator shares the 2-core machine with the server(s), so its CPU is reported too. It prints
 * a markdown section (tables and a "Limits" list) to stdout; `--json FILE` writes the raw numbers.
 * A watchdog stops everything after `--max-minutes` and exits 1; Ctrl-C exits 130. Run it through
 * `scripts/bench_scale`, which builds the binary when stale.
 *
 * Usage: `bench_scale.ts [--quick] [--only watches|znodes|values] [--no-zookeeper] [--max-minutes M]
 * [--json FILE]`
 * @module
 */
import { execFileSync } from "node:child_process";
import {
  closeSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import * as net from "node:net";
import { totalmem } from "node:os";
import { dirname, join } from "node:path";
import { LatencyHistogram } from "../src/bench/histogram.ts";
import { cpuPercents, type CpuSample, cpuSample, rssBytesOf } from "../src/bench/proc.ts";
import { zkOutcome } from "../src/bench/targets.ts";
import { ZkBenchSession } from "../src/bench/zk_session.ts";
import * as limits from "../src/constants.ts";
import { denoAdapter } from "../src/net/mod.ts";
import type { NetAdapter, Socket, SocketHandlers } from "../src/net/types.ts";
import { openAcl } from "../src/tree/types.ts";
import { EventType, KeeperCode } from "../src/zk/codes.ts";
import { FrameReader, type ZkRequest } from "../src/zk/records.ts";
import { binaryPath } from "../tests/e2e/_binary.ts";
import { fmt, repoRoot } from "./bench_durability.ts";
import { integerFlag, machineFacts, parseScriptFlags } from "./_sweep.ts";
import {
  fourLetterWord,
  installMissing,
  startCorral,
  startZooKeeper,
  stopAllSystems,
  type System,
  zkHeapMb,
} from "./_systems.ts";

const name = "bench_scale";
const usage = "usage: scripts/bench_scale [--quick] [--only watches|znodes|values] " +
  "[--no-zookeeper] [--max-minutes M (20)] [--json FILE]";

/** Where every experiment's work dir goes (real disk; _systems.ts refuses tmpfs). */
const workRoot = join(repoRoot, ".tmp", "bench_scale");
/** Watcher sessions at most; more watches share them. */
const watcherSessionsMax = 1_000;
/** Connections from one source address (the server allows 60 by default). */
const connectionsPerSource = 50;
/** Writer (and reader) sessions of the closed loops. */
const loadSessions = 32;
/** Requests each session keeps outstanding when creating nodes. */
const createDepth = 256;
/** Sessions creating nodes. */
const createSessions = 4;
/** Bytes of the small values (watched nodes, the znode tree). */
const smallValueBytes = 100;
/** Nodes the watch baseline writes to. */
const baselineNodes = 1_000;
/** Children of each parent in the znode tree. */
const childrenPerParent = 1_000;
/** Longest the znode build may take, ms; it stops there and reports how many it made. */
const createMsMax = 6 * 60_000;
/** Session counts of the value experiment. */
const valueSessions = [1, 4, 16];
/** Load before each measured window. */
const warmupMs = 1_000;
/** Longest wait for the requests still outstanding when a window ends. */
const drainMsMax = 15_000;
/** Longest wait for the watch events still owed after the window. */
const eventDrainMsMax = 10_000;
/** Operations one closed loop completes at most (a bound besides the window). */
const loopOpsMax = 10_000_000;
/** Longest wait for a running snapshot save to end before a measured window. */
const snapshotQuietMsMax = 30_000;
/** Longest the mixed load runs waiting for a snapshot save to start and end. */
const snapshotRunMsMax = 60_000;
/** Longest a stopped server may take to exit. */
const exitMsMax = 60_000;
/** Time without load between the znode build's end and its settled RSS reading. */
const settleMs = 10_000;

// ---- settings --------------------------------------------------------------------------------

type Experiment = "watches" | "znodes" | "values";
const experiments: readonly Experiment[] = ["watches", "znodes", "values"];

interface Settings {
  quick: boolean;
  only: Experiment[];
  maxMinutes: number;
  json: string | null;
  /** Build the znode tree on ZooKeeper too, for reference (off with --no-zookeeper). */
  zookeeper: boolean;
  /** Watch counts, 0 being the baseline. */
  watchCounts: number[];
  /** Nodes of the znode experiment. */
  znodes: number;
  /** Measured window of the watch and znode loops, ms. */
  windowMs: number;
  /** Measured window of the value loops, ms. */
  valueWindowMs: number;
}

/** The settings from the command line, or the exit code to stop with. */
function parseSettings(): Settings | number {
  const values = parseScriptFlags(name, usage, {
    quick: { type: "boolean" },
    only: { type: "string" },
    "max-minutes": { type: "string" },
    json: { type: "string" },
    "no-zookeeper": { type: "boolean" },
  });
  if (typeof values === "number") return values;
  const only = values.only as string | undefined;
  if (only !== undefined && !experiments.includes(only as Experiment)) {
    console.error(`${name}: --only must be one of ${experiments.join(", ")}\n${usage}`);
    return 2;
  }
  const quick = values.quick === true;
  const maxText = values["max-minutes"] as string | undefined;
  return {
    quick,
    only: only === undefined ? [...experiments] : [only as Experiment],
    maxMinutes: integerFlag(name, usage, maxText, 20, "max-minutes", 1),
    json: (values.json as string | undefined) ?? null,
    zookeeper: values["no-zookeeper"] !== true,
    watchCounts: quick ? [0, 1_000, 10_000] : [0, 1_000, 10_000, 100_000],
    znodes: quick ? 200_000 : 1_000_000,
    windowMs: 5_000,
    valueWindowMs: quick ? 5_000 : 10_000,
  };
}

// ---- small helpers ---------------------------------------------------------------------------

/** Resolves after `ms`. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits for `promise` at most `ms`; true when it settled in time. */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), ms));
  const done = promise.then(() => true, () => true);
  try {
    return await Promise.race([done, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** `bytes` in MiB, for a table. */
function mib(bytes: number | null): string {
  return bytes === null ? "n/a" : fmt(bytes / 2 ** 20);
}

/** Peak resident memory (VmHWM) of process `pid`, bytes, or null. */
function hwmBytesOf(pid: number): number | null {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** True while process `pid` exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Waits until process `pid` has exited (≤ `ms`); how long it took, or null if it still runs. */
async function waitExit(pid: number, ms: number): Promise<number | null> {
  const start = performance.now();
  while (alive(pid)) {
    if (performance.now() - start > ms) return null;
    await sleep(5);
  }
  return performance.now() - start;
}

/** Bytes under `dir` (`du -sb`), or null. */
function dirBytes(dir: string): number | null {
  try {
    return Number(execFileSync("du", ["-sb", dir], { encoding: "utf8" }).split("\t")[0]);
  } catch {
    return null;
  }
}

/** The 1-minute load average of the machine. */
function loadAverage(): number {
  try {
    return Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
  } catch {
    return NaN;
  }
}

/** The number after `label` in `srvr`/`wchs` output, or null. */
async function fourLetterNumber(port: number, word: string, label: string): Promise<number | null> {
  const text = await fourLetterWord(port, word, 5_000);
  const match = text === null ? null : new RegExp(`${label}\\s*(\\d+)`).exec(text);
  return match ? Number(match[1]) : null;
}

/** A fresh, empty work dir for experiment `what` (a leftover of an earlier run is removed). */
function workDir(what: string): string {
  const dir = join(workRoot, what);
  rmSync(dir, { recursive: true, force: true });
  return dir;
}

/** The error's name of a reply (null when ok), "ConnectionLoss" when none came. */
const outcome = zkOutcome;

/** Counts one `error` in `errors`, by name: `{ BadArguments: 2 }`. */
function countError(errors: Record<string, number>, error: string): void {
  errors[error] = (errors[error] ?? 0) + 1;
}

// ---- connections -----------------------------------------------------------------------------

/** Every session opened, so each experiment can drop whatever it left open. */
const openSessions = new Set<ZkBenchSession>();

/** Opens a session on 127.0.0.1:`port` through `adapter` and remembers it. */
async function openSession(port: number, adapter: NetAdapter = denoAdapter) {
  const session = await ZkBenchSession.open(adapter, "127.0.0.1", port);
  openSessions.add(session);
  return session;
}

/** Opens `count` sessions, `batch` connecting at once; `adapterOf(i)` for session i. */
async function openMany(
  count: number,
  port: number,
  adapterOf: (i: number) => NetAdapter = () => denoAdapter,
  batch = 50,
): Promise<ZkBenchSession[]> {
  const sessions: ZkBenchSession[] = [];
  for (let first = 0; first < count; first += batch) {
    const indexes = Array.from({ length: Math.min(batch, count - first) }, (_, i) => first + i);
    sessions.push(...await Promise.all(indexes.map((i) => openSession(port, adapterOf(i)))));
  }
  return sessions;
}

/** Closes the connection of every session still open (the server is stopped right after). */
function dropAllSessions(): void {
  for (const session of openSessions) session.drop();
  openSessions.clear();
}

/** 127.0.0.2, 127.0.0.3, ...: the source address of connection `i`, 50 to an address. */
function sourceAddressOf(i: number): string {
  const n = 2 + Math.floor(i / connectionsPerSource);
  return `127.0.${Math.floor(n / 256)}.${n % 256}`;
}

/**
 * A connect-only {@linkcode NetAdapter} on node:net whose connections leave from `localAddress`
 * (any 127.x address is local on Linux), so one process can hold more sessions than the server's
 * per-address limit. `onFrame` sees every frame the server sends (after the handshake's).
 */
function sourceAdapter(localAddress: string, onFrame?: (payload: Uint8Array) => void): NetAdapter {
  return {
    name: "node-source",
    listen: () => Promise.reject(new Error("sourceAdapter only connects")),
    connect: (address, handlers) =>
      new Promise<Socket>((resolve, reject) => {
        const inner = net.connect({ host: address.hostname, port: address.port, localAddress });
        inner.once("error", reject);
        inner.once("connect", () => {
          inner.off("error", reject);
          inner.setNoDelay(true);
          resolve(wrapSocket(inner, handlers, onFrame));
        });
      }),
  };
}

/**
 * The contract's Socket over a connected node:net socket; `onFrame` taps the frames read. Its
 * close drops the connection at once: the benchmark only closes sessions it is done with.
 */
function wrapSocket(
  inner: net.Socket,
  makeHandlers: (socket: Socket) => SocketHandlers,
  onFrame?: (payload: Uint8Array) => void,
): Socket {
  let closed = false;
  const socket: Socket = {
    remoteAddress: inner.remoteAddress ?? "",
    remotePort: inner.remotePort ?? 0,
    write: (chunk) => void (closed || inner.write(chunk.slice())),
    writeOwned: (chunk) => void (closed || inner.write(chunk)),
    get pendingWriteBytes() {
      return inner.writableLength;
    },
    pause: () => void inner.pause(),
    resume: () => void inner.resume(),
    close: () => void inner.destroy(),
  };
  const handlers = makeHandlers(socket);
  const frames = onFrame ? new FrameReader(64 * 1024 * 1024) : null;
  let handshake = true;
  inner.on("data", (chunk: Uint8Array) => {
    handlers.data(chunk);
    for (const frame of frames?.push(chunk) ?? []) {
      if (frame.ok && !handshake) onFrame!(frame.payload);
      handshake = false;
    }
  });
  inner.on("error", () => {});
  inner.on("close", () => {
    if (closed) return;
    closed = true;
    handlers.close();
  });
  return socket;
}

/** A watch notification's event type and path, or null when `payload` is something else. */
function watchEventOf(payload: Uint8Array): { type: number; path: string } | null {
  if (payload.byteLength < 28) return null;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  if (view.getInt32(0) !== -1) return null; // xid -1: a notification
  // ReplyHeader (xid, zxid, err), then WatcherEvent: type, state, path.
  const length = view.getInt32(24);
  if (length < 0 || 28 + length > payload.byteLength) return null;
  const path = new TextDecoder().decode(payload.subarray(28, 28 + length));
  return { type: view.getInt32(16), path };
}

// ---- load ------------------------------------------------------------------------------------

/** A measured window: load from `start`, counted from `from` to `to` (performance.now()). */
interface Window {
  start: number;
  from: number;
  to: number;
}

/** A window that starts now, warms up for {@linkcode warmupMs}, then measures `ms`. */
function windowOf(ms: number): Window {
  const start = performance.now();
  return { start, from: start + warmupMs, to: start + warmupMs + ms };
}

/**
 * Follows the "snapshot started" / "snapshot saved" (or "snapshot failed") lines of server logs,
 * polling every 50 ms, so a load can tell when a snapshot save was running (to 50 ms).
 */
class SnapshotWatch {
  readonly #paths: string[];
  readonly #offsets: number[];
  readonly #timer: ReturnType<typeof setInterval>;
  started = 0;
  ended = 0;

  constructor(logPaths: string[]) {
    this.#paths = logPaths;
    this.#offsets = logPaths.map((path) => sizeOf(path));
    this.#timer = setInterval(() => this.poll(), 50);
  }

  /** True while a snapshot save that started has not ended. */
  get running(): boolean {
    return this.started > this.ended;
  }

  /** Reads what the logs gained since the last poll. */
  poll(): void {
    this.#paths.forEach((path, i) => {
      const text = readFrom(path, this.#offsets[i]);
      this.#offsets[i] += text.byteLength;
      for (const line of new TextDecoder().decode(text).split("\n")) {
        if (line.includes(`"msg":"snapshot started"`)) this.started++;
        else if (/"msg":"snapshot (saved|failed)/.test(line)) this.ended++;
      }
    });
  }

  /** Waits (≤ `ms`) until no snapshot save runs; true when none does. */
  async quiet(ms: number): Promise<boolean> {
    const deadline = performance.now() + ms;
    while (this.running && performance.now() < deadline) await sleep(50);
    return !this.running;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** Size of the file at `path`, 0 when missing. */
function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The bytes of the file at `path` from `offset` on (none when missing). */
function readFrom(path: string, offset: number): Uint8Array {
  try {
    const size = statSync(path).size;
    if (size <= offset) return new Uint8Array(0);
    const bytes = new Uint8Array(size - offset);
    const fd = openSync(path, "r");
    try {
      return bytes.subarray(0, readSync(fd, bytes, 0, bytes.byteLength, offset));
    } finally {
      closeSync(fd);
    }
  } catch {
    return new Uint8Array(0);
  }
}

/** The log file of node `index` (as _systems.ts lays a node out: its dir holds data/ and it). */
function logPathOf(system: System, index: number): string {
  return join(dirname(system.nodes[index].dataDir), "server.log");
}

/** Operations of one kind in one phase (a snapshot save running, or not). */
interface SplitStats {
  ops: number;
  seconds: number;
  opsPerS: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** What a closed loop measured in its window. */
interface LoopStats {
  ops: number;
  errors: Record<string, number>;
  seconds: number;
  opsPerS: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Seconds of the window during which a snapshot save ran. */
  snapshotSeconds: number;
  /** By `"KIND steady"` and `"KIND snapshot"`: operations completed with and without one. */
  split: Record<string, SplitStats>;
  /** Percent of one core per server pid over the window (null when unreadable). */
  serverCpuPercent: (number | null)[];
  /** Percent of one core of this load generator. */
  clientCpuPercent: number;
}

/** What a closed loop needs besides its lanes, operation and window. */
interface LoopOptions {
  /** Server pids whose CPU to measure. */
  pids: readonly number[];
  /** Snapshot saves to split the operations by; none tracked when absent. */
  snapshots?: SnapshotWatch;
  /** The kind of lane `lane`'s operations, for the split; "op" when absent. */
  kindOf?: (lane: number) => string;
  /** Ends the window early once this returns true (checked every 50 ms). */
  until?: () => boolean;
}

/** Operations counted under one key. */
class Tally {
  readonly latency = new LatencyHistogram();
  ops = 0;

  /** The figures over `seconds`. */
  stats(seconds: number): SplitStats {
    return {
      ops: this.ops,
      seconds,
      opsPerS: seconds > 0 ? this.ops / seconds : NaN,
      p50Ms: this.latency.quantile(0.5) / 1000,
      p99Ms: this.latency.quantile(0.99) / 1000,
      maxMs: this.latency.max / 1000,
    };
  }
}

/**
 * Runs `lanes` closed loops, each awaiting `op(lane)` (null on success, else an error's name)
 * and sending the next, until the window ends (or `options.until()`) or after
 * {@linkcode loopOpsMax} operations. Only operations that complete inside the window count; CPU
 * is measured over the window; each 50 ms of the window counts as "snapshot" or "steady".
 */
async function closedLoop(
  lanes: number,
  op: (lane: number) => Promise<string | null>,
  window: Window,
  options: LoopOptions,
): Promise<LoopStats> {
  const { pids, snapshots } = options;
  const kindOf = options.kindOf ?? (() => "op");
  const phase = () => snapshots?.running ? "snapshot" : "steady";
  const all = new Tally();
  const tallies = new Map<string, Tally>();
  const phaseMs: Record<string, number> = { steady: 0, snapshot: 0 };
  const errors: Record<string, number> = {};
  let started = 0;
  let to = window.to;
  let before = cpuSample(pids);
  let after: CpuSample | null = null;
  let last = window.from;
  const ticker = setInterval(() => {
    const now = Math.min(performance.now(), to);
    if (now <= window.from) return;
    if (options.until?.() && to > now) to = now;
    phaseMs[phase()] += now - Math.max(last, window.from);
    last = now;
  }, 50);
  const beforeTimer = setTimeout(() => before = cpuSample(pids), window.from - performance.now());
  const afterTimer = setTimeout(() => after = cpuSample(pids), window.to - performance.now());
  const lane = async (index: number) => {
    const kind = kindOf(index);
    while (performance.now() < to && started++ < loopOpsMax) {
      const sentAt = performance.now();
      const error = await op(index);
      const doneAt = performance.now();
      if (doneAt < window.from || doneAt >= to) continue;
      if (error === null) {
        const key = `${kind} ${phase()}`;
        if (!tallies.has(key)) tallies.set(key, new Tally());
        for (const tally of [all, tallies.get(key)!]) {
          tally.ops++;
          tally.latency.record((doneAt - sentAt) * 1000);
        }
      } else countError(errors, error);
      if (error === "ConnectionLoss") await sleep(10);
    }
  };
  const done = Promise.all(Array.from({ length: lanes }, (_, i) => lane(i)));
  await settledWithin(done, window.to - performance.now() + drainMsMax);
  clearInterval(ticker);
  clearTimeout(beforeTimer);
  clearTimeout(afterTimer);
  if (last < to) phaseMs[phase()] += to - Math.max(last, window.from);
  // The lanes may see the window end before the timer runs: then sample now.
  const end: CpuSample = after ?? cpuSample(pids);
  const cpu = cpuPercents(before, end);
  const seconds = (to - window.from) / 1000;
  const split: Record<string, SplitStats> = {};
  for (const [key, tally] of tallies) {
    split[key] = tally.stats(phaseMs[key.endsWith("snapshot") ? "snapshot" : "steady"] / 1000);
  }
  return {
    ...all.stats(seconds),
    errors,
    snapshotSeconds: phaseMs.snapshot / 1000,
    split,
    serverCpuPercent: cpu.pids,
    clientCpuPercent: cpu.self,
  };
}

/** What a pipelined batch did. */
interface PipelineResult {
  /** Requests answered Ok. */
  acked: number;
  /** Requests sent. */
  sent: number;
  seconds: number;
  errors: Record<string, number>;
  /** True when the deadline stopped it before `count`. */
  cutShort: boolean;
}

/**
 * Sends requests `request(0)` .. `request(count - 1)` over `sessions`, `depth` outstanding on
 * each, until all are answered or `deadline` (performance.now()) passes; `onAck(n)` runs when
 * the n-th Ok arrives. A lane whose connection is lost stops.
 */
async function pipeline(
  sessions: readonly ZkBenchSession[],
  count: number,
  request: (i: number) => ZkRequest,
  depth: number,
  deadline = Infinity,
  onAck?: (acked: number) => void,
): Promise<PipelineResult> {
  const start = performance.now();
  const errors: Record<string, number> = {};
  let next = 0;
  let acked = 0;
  let cutShort = false;
  const lane = async (session: ZkBenchSession) => {
    while (next < count) {
      if (performance.now() > deadline) {
        cutShort = true;
        return;
      }
      const error = await outcome(session.call(request(next++)));
      if (error === null) {
        acked++;
        onAck?.(acked);
      } else countError(errors, error);
      if (error === "ConnectionLoss") return;
    }
  };
  await Promise.all(sessions.flatMap((s) => Array.from({ length: depth }, () => lane(s))));
  return { acked, sent: next, seconds: (performance.now() - start) / 1000, errors, cutShort };
}

/** A create of `path` holding `data`, open ACL, persistent. */
function createOf(path: string, data: Uint8Array | null): ZkRequest {
  return { op: "create", path, data, acl: [...openAcl], flags: 0 };
}

/** Creates `path` with one session; throws on anything but Ok. */
async function createOne(session: ZkBenchSession, path: string, data: Uint8Array | null) {
  const error = await outcome(session.call(createOf(path, data)));
  if (error !== null) throw new Error(`create ${path}: ${error}`);
}

/** "none" or `Name×count, ...` for a table cell. */
function errorsText(errors: Record<string, number>): string {
  const entries = Object.entries(errors);
  return entries.length === 0 ? "none" : entries.map(([k, v]) => `${k}×${v}`).join(", ");
}

// ---- 1. watches ------------------------------------------------------------------------------

/** What one watch count measured. */
interface WatchResult {
  watches: number;
  watcherSessions: number;
  watchesPerSession: number;
  /** ms to open the watcher sessions. */
  openMs: number;
  /** ms to register every watch (all pipelined at once). */
  registerMs: number;
  registerErrors: Record<string, number>;
  /** Server RSS: fresh with its nodes, after opening the sessions, after registering. */
  rssStartBytes: number | null;
  rssSessionsBytes: number | null;
  rssWatchedBytes: number | null;
  /** `wchs` "Total watches" after registering. */
  wchsTotal: number | null;
  wchsText: string | null;
  write: LoopStats;
  /** Writes acknowledged Ok in the whole run (warm-up included), each owing one event. */
  writesOk: number;
  /** Events received for those writes; in the window; per second of the window. */
  eventsReceived: number;
  eventsInWindow: number;
  eventsPerS: number;
  /** From sending a write to its event arriving at the watcher, ms. */
  eventDelayP50Ms: number;
  eventDelayP99Ms: number;
  /** Acknowledged writes whose event had not arrived {@linkcode eventDrainMsMax} after. */
  eventsLost: number;
  /** Events for a node no write was waiting on, or of another type. */
  eventsUnexpected: number;
  unexpectedSamples: string[];
  rearmErrors: number;
  rssEndBytes: number | null;
  hwmBytes: number | null;
}

/** Path of watched node `i`. */
const watchedPath = (i: number) => `/w/n-${i}`;

/**
 * The watched nodes and their events: which nodes are armed (a watch registered and not fired),
 * which owe an event (a write sent), and what arrived. Watcher session `i % sessions` owns node i.
 */
class WatchTracker {
  readonly armed: number[] = [];
  /** Nodes whose write was sent and whose event has not arrived: node → when the write left. */
  readonly owed = new Map<number, number>();
  readonly delay = new LatencyHistogram();
  readonly unexpectedSamples: string[] = [];
  watchers: ZkBenchSession[] = [];
  window: Window | null = null;
  received = 0;
  inWindow = 0;
  unexpected = 0;
  rearmErrors = 0;

  /** A random armed node, now owing an event; null when none is armed. */
  take(): number | null {
    if (this.armed.length === 0) return null;
    const k = Math.floor(Math.random() * this.armed.length);
    const node = this.armed[k];
    this.armed[k] = this.armed[this.armed.length - 1];
    this.armed.pop();
    this.owed.set(node, performance.now());
    return node;
  }

  /** The write to `node` failed: it owes no event (its watch did not fire). */
  failed(node: number): void {
    this.owed.delete(node);
    this.armed.push(node);
  }

  /** A frame arrived on a watcher session: count an event and re-arm its watch. */
  onFrame(payload: Uint8Array): void {
    const event = watchEventOf(payload);
    if (event === null || event.type === EventType.None) return;
    const now = performance.now();
    const node = Number(event.path.slice(watchedPath(0).length - 1));
    const sentAt = this.owed.get(node);
    if (event.type !== EventType.NodeDataChanged || sentAt === undefined) {
      this.unexpected++;
      if (this.unexpectedSamples.length < 5) {
        this.unexpectedSamples.push(`type ${event.type} ${event.path}`);
      }
      return;
    }
    this.owed.delete(node);
    this.received++;
    this.delay.record((now - sentAt) * 1000);
    if (this.window && now >= this.window.from && now < this.window.to) this.inWindow++;
    const watcher = this.watchers[node % this.watchers.length];
    watcher.call({ op: "getData", path: event.path, watch: true }).then(
      (reply) => reply.err === KeeperCode.Ok ? this.armed.push(node) : this.rearmErrors++,
      () => this.rearmErrors++,
    );
  }
}

/** Runs one watch count on a fresh server. */
async function watchCase(watches: number, settings: Settings, binary: string) {
  const system = await startCorral(workDir(`watches-${watches}`), 1, binary);
  const snapshots = new SnapshotWatch([logPathOf(system, 0)]);
  try {
    return await measureWatches(system, snapshots, watches, settings);
  } finally {
    snapshots.stop();
    dropAllSessions();
    await system.stop();
  }
}

async function measureWatches(
  system: System,
  snapshots: SnapshotWatch,
  watches: number,
  settings: Settings,
): Promise<WatchResult> {
  const { pid, clientPort: port } = system.nodes[0];
  const small = new Uint8Array(smallValueBytes).fill(0x77);
  const nodes = watches === 0 ? baselineNodes : watches;
  const creators = await openMany(createSessions, port);
  await createOne(creators[0], "/w", null);
  const made = await pipeline(creators, nodes, (i) => createOf(watchedPath(i), small), createDepth);
  if (made.acked !== nodes) {
    throw new Error(`made ${made.acked} of ${nodes} nodes under /w: ${errorsText(made.errors)}`);
  }
  const rssStartBytes = rssBytesOf(pid);

  const tracker = new WatchTracker();
  const sessions = Math.min(watches, watcherSessionsMax);
  const openStart = performance.now();
  tracker.watchers = await openMany(
    sessions,
    port,
    (i) => sourceAdapter(sourceAddressOf(i), (payload) => tracker.onFrame(payload)),
  );
  const openMs = performance.now() - openStart;
  const rssSessionsBytes = rssBytesOf(pid);

  const registerStart = performance.now();
  const registered = await Promise.all(
    Array.from({ length: watches }, (_, i) =>
      outcome(tracker.watchers[i % sessions].call({
        op: "getData",
        path: watchedPath(i),
        watch: true,
      }))),
  );
  const registerMs = performance.now() - registerStart;
  const registerErrors: Record<string, number> = {};
  registered.forEach((error, i) =>
    error === null ? tracker.armed.push(i) : countError(registerErrors, error)
  );
  const rssWatchedBytes = rssBytesOf(pid);
  const wchsText = await fourLetterWord(port, "wchs", 5_000);
  const wchsTotal = /Total watches:\s*(\d+)/.exec(wchsText ?? "")?.[1];

  const writers = await openMany(loadSessions, port);
  let writesOk = 0;
  const write = async (lane: number): Promise<string | null> => {
    if (watches === 0) {
      const path = watchedPath(Math.floor(Math.random() * nodes));
      return await outcome(writers[lane].call({ op: "setData", path, data: small, version: -1 }));
    }
    const node = tracker.take();
    if (node === null) {
      await sleep(1);
      return "NoArmedNode";
    }
    const path = watchedPath(node);
    const error = await outcome(
      writers[lane].call({ op: "setData", path, data: small, version: -1 }),
    );
    if (error === null) writesOk++;
    else tracker.failed(node);
    return error;
  };
  tracker.window = windowOf(settings.windowMs);
  const stats = await closedLoop(loadSessions, write, tracker.window, { pids: [pid], snapshots });
  const drainStart = performance.now();
  while (tracker.owed.size > 0 && performance.now() - drainStart < eventDrainMsMax) await sleep(20);
  return {
    watches,
    watcherSessions: sessions,
    watchesPerSession: sessions === 0 ? 0 : watches / sessions,
    openMs,
    registerMs,
    registerErrors,
    rssStartBytes,
    rssSessionsBytes,
    rssWatchedBytes,
    wchsTotal: wchsTotal === undefined ? null : Number(wchsTotal),
    wchsText: wchsText?.trim() ?? null,
    write: stats,
    writesOk,
    eventsReceived: tracker.received,
    eventsInWindow: tracker.inWindow,
    eventsPerS: tracker.inWindow / stats.seconds,
    eventDelayP50Ms: tracker.delay.quantile(0.5) / 1000,
    eventDelayP99Ms: tracker.delay.quantile(0.99) / 1000,
    eventsLost: tracker.owed.size,
    eventsUnexpected: tracker.unexpected,
    unexpectedSamples: tracker.unexpectedSamples,
    rearmErrors: tracker.rearmErrors,
    rssEndBytes: rssBytesOf(pid),
    hwmBytes: hwmBytesOf(pid),
  };
}

// ---- 2. znodes -------------------------------------------------------------------------------

/** Server RSS when the build had made `znodes` nodes. */
interface Checkpoint {
  znodes: number;
  atS: number;
  rssBytes: number | null;
  /** Creates per second since the previous checkpoint. */
  segmentPerS: number;
}

/** How a restart on the data dir went. */
interface RestartResult {
  how: "SIGTERM" | "SIGKILL";
  /** Signal to exit, ms (null: still running after {@linkcode exitMsMax}). */
  exitMs: number | null;
  /** Spawn to the first answered request, ms. */
  restartMs: number | null;
  /** `srvr` Node count after the restart. */
  nodeCount: number | null;
  rssBytes: number | null;
  error: string | null;
}

/** What the znode experiment measured. */
/** How building the znode tree went on one server. */
interface TreeBuild {
  made: number;
  createS: number;
  createsPerS: number;
  cutShort: boolean;
  createErrors: Record<string, number>;
  /** Server RSS with the parents made and no children yet. */
  rssEmptyBytes: number | null;
  checkpoints: Checkpoint[];
  /** Server RSS as the last create is answered. */
  rssBuiltBytes: number | null;
  /** Server RSS after {@linkcode settleMs} without load (and, for Corral, no snapshot save). */
  rssSettledBytes: number | null;
}

interface ZnodeResult extends TreeBuild {
  target: number;
  /** `srvr` Node count after the build. */
  nodeCount: number | null;
  /** Snapshot saves started while building. */
  snapshotsDuringBuild: number;
  read: LoopStats;
  write: LoopStats;
  /** Half the sessions reading, half writing, across one snapshot save. */
  mixed: LoopStats;
  rssAfterLoadBytes: number | null;
  hwmBytes: number | null;
  dataDirBytes: number | null;
  restarts: RestartResult[];
  /** The same tree built on a standalone ZooKeeper, for reference (null when not run). */
  zookeeper: TreeBuild | null;
  /** Why the ZooKeeper reference failed, or null. */
  zookeeperError: string | null;
}

/** Path of child `k` of the tree: parent k / 1000, child k % 1000. */
function treePath(k: number): string {
  return `/z/p-${Math.floor(k / childrenPerParent)}/n-${k % childrenPerParent}`;
}

/**
 * Builds the tree on a fresh server, loads it, restarts it twice; then, unless told not to,
 * builds the same tree on a standalone ZooKeeper for reference.
 */
async function znodeCase(settings: Settings, binary: string): Promise<ZnodeResult> {
  const system = await startCorral(workDir("znodes"), 1, binary);
  const snapshots = new SnapshotWatch([logPathOf(system, 0)]);
  let result: ZnodeResult;
  try {
    result = await measureZnodes(system, snapshots, settings);
  } finally {
    snapshots.stop();
    dropAllSessions();
    await system.stop();
  }
  if (settings.zookeeper) {
    try {
      result.zookeeper = await zookeeperTree(settings);
    } catch (error) {
      result.zookeeperError = errorLine(error);
    }
  }
  return result;
}

/**
 * The same tree on a standalone Apache ZooKeeper (installed with apt-get when missing; default
 * settings and the 1000 MB heap zkServer.sh gives it), built the same way: how much memory the
 * same znodes take there.
 */
async function zookeeperTree(settings: Settings): Promise<TreeBuild> {
  await installMissing((line) => console.error(`${name}: ${line}`), ["zookeeper"]);
  const system = await startZooKeeper(workDir("znodes-zookeeper"), 1);
  try {
    const node = system.nodes[0];
    const creators = await openMany(createSessions, node.clientPort);
    return await buildTree(creators, node.pid, settings, () => Promise.resolve());
  } finally {
    dropAllSessions();
    await system.stop();
  }
}

/**
 * Creates /z, its parents, then `settings.znodes` children of 100 B through `creators`, reading
 * the server's RSS at 10, 25, 50 and 100 % of them; then waits for `settle` and a further
 * {@linkcode settleMs}, and reads it again.
 */
async function buildTree(
  creators: readonly ZkBenchSession[],
  pid: number,
  settings: Settings,
  settle: () => Promise<unknown>,
): Promise<TreeBuild> {
  const small = new Uint8Array(smallValueBytes).fill(0x7a);
  await createOne(creators[0], "/z", null);
  const parents = Math.ceil(settings.znodes / childrenPerParent);
  const parentsMade = await pipeline(creators, parents, (i) => createOf(`/z/p-${i}`, null), 64);
  if (parentsMade.acked !== parents) {
    throw new Error(`made ${parentsMade.acked} of ${parents} parents`);
  }

  const rssEmptyBytes = rssBytesOf(pid);
  const marks = [0.1, 0.25, 0.5, 1].map((f) => Math.round(f * settings.znodes));
  const checkpoints: Checkpoint[] = [];
  const buildStart = performance.now();
  const onAck = (acked: number) => {
    if (acked !== marks[checkpoints.length]) return;
    const atS = (performance.now() - buildStart) / 1000;
    const previous = checkpoints.at(-1) ?? { znodes: 0, atS: 0 };
    const segmentPerS = (acked - previous.znodes) / Math.max(1e-6, atS - previous.atS);
    checkpoints.push({ znodes: acked, atS, rssBytes: rssBytesOf(pid), segmentPerS });
  };
  const build = await pipeline(
    creators,
    settings.znodes,
    (k) => createOf(treePath(k), small),
    createDepth,
    buildStart + createMsMax,
    onAck,
  );
  const rssBuiltBytes = rssBytesOf(pid);
  await settle();
  await sleep(settleMs);
  return {
    made: build.acked,
    createS: build.seconds,
    createsPerS: build.acked / build.seconds,
    cutShort: build.cutShort,
    createErrors: build.errors,
    rssEmptyBytes,
    checkpoints,
    rssBuiltBytes,
    rssSettledBytes: rssBytesOf(pid),
  };
}

async function measureZnodes(
  system: System,
  snapshots: SnapshotWatch,
  settings: Settings,
): Promise<ZnodeResult> {
  const node = system.nodes[0];
  const pid = node.pid;
  const small = new Uint8Array(smallValueBytes).fill(0x7a);
  const creators = await openMany(createSessions, node.clientPort);
  // A snapshot save may still run as the build ends; the settled RSS is read after it.
  const built = await buildTree(
    creators,
    pid,
    settings,
    () => snapshots.quiet(snapshotQuietMsMax),
  );
  const made = built.made;
  const nodeCount = await fourLetterNumber(node.clientPort, "srvr", "Node count:");

  const snapshotsDuringBuild = snapshots.started;
  const loaders = await openMany(loadSessions, node.clientPort);
  const randomPath = () => treePath(Math.floor(Math.random() * made));
  const getData = (lane: number) =>
    outcome(loaders[lane].call({ op: "getData", path: randomPath(), watch: false }));
  const setData = (lane: number) =>
    outcome(loaders[lane].call({ op: "setData", path: randomPath(), data: small, version: -1 }));
  const options = { pids: [pid], snapshots };
  // First half the sessions read and half write until a snapshot save started and ended
  // (≤ 60 s). The next save is then at least 50,000 txns away: the windows after see none.
  await snapshots.quiet(snapshotQuietMsMax);
  const endedBefore = snapshots.ended;
  const mixed = await closedLoop(
    loadSessions,
    (lane) => lane % 2 === 0 ? getData(lane) : setData(lane),
    windowOf(snapshotRunMsMax),
    {
      ...options,
      kindOf: (lane) => lane % 2 === 0 ? "getData" : "setData",
      until: () => snapshots.ended > endedBefore,
    },
  );
  await snapshots.quiet(snapshotQuietMsMax);
  const read = await closedLoop(loadSessions, getData, windowOf(settings.windowMs), options);
  const write = await closedLoop(loadSessions, setData, windowOf(settings.windowMs), options);
  const rssAfterLoadBytes = rssBytesOf(pid);
  const hwmBytes = hwmBytesOf(pid);
  dropAllSessions();
  await snapshots.quiet(snapshotQuietMsMax);
  const dataDirBytes = dirBytes(node.dataDir);
  const restarts = [await restartOn(system, "SIGTERM"), await restartOn(system, "SIGKILL")];
  return {
    ...built,
    target: settings.znodes,
    nodeCount,
    snapshotsDuringBuild,
    read,
    write,
    mixed,
    rssAfterLoadBytes,
    hwmBytes,
    dataDirBytes,
    restarts,
    zookeeper: null,
    zookeeperError: null,
  };
}

/** Stops the standalone server with `how`, then times its restart on the same data dir. */
async function restartOn(system: System, how: "SIGTERM" | "SIGKILL"): Promise<RestartResult> {
  const node = system.nodes[0];
  const result: RestartResult = {
    how,
    exitMs: null,
    restartMs: null,
    nodeCount: null,
    rssBytes: null,
    error: null,
  };
  system.signal(0, how);
  result.exitMs = await waitExit(node.pid, exitMsMax);
  if (result.exitMs === null) {
    result.error = `still running ${exitMsMax} ms after ${how}`;
    system.signal(0, "SIGKILL");
    await waitExit(node.pid, exitMsMax);
  }
  const start = performance.now();
  try {
    await system.restart(0);
    result.restartMs = performance.now() - start;
    result.rssBytes = rssBytesOf(node.pid);
    result.nodeCount = await fourLetterNumber(node.clientPort, "srvr", "Node count:");
  } catch (error) {
    result.error = (error as Error).message.split("\n")[0];
  }
  return result;
}

// ---- 3. values -------------------------------------------------------------------------------

/** One closed loop of 1 MiB reads or writes. */
interface ValueRun {
  where: "standalone" | "ensemble";
  op: "setData" | "getData";
  sessions: number;
  stats: LoopStats;
  mibPerS: number;
  /** RSS and peak RSS of every server after the window. */
  rssBytes: (number | null)[];
  hwmBytes: (number | null)[];
  /** RSS of every server before the run (warm-up included). */
  rssBeforeBytes: (number | null)[];
  /** Operations answered Ok over the whole run, warm-up and drain included. */
  opsAll: number;
}

/** One check of the value limit. */
interface LimitCheck {
  what: string;
  expected: string;
  got: string;
  ok: boolean;
}

/** What the value experiment measured. */
interface ValueResult {
  runs: ValueRun[];
  checks: LimitCheck[];
  ensembleError: string | null;
}

const valueBytes = limits.dataBytesMax;

/** 1 MiB loops on a fresh standalone server, the limit checks, then on a fresh ensemble. */
async function valueCase(settings: Settings, binary: string): Promise<ValueResult> {
  const result: ValueResult = { runs: [], checks: [], ensembleError: null };
  const standalone = await startCorral(workDir("values-1"), 1, binary);
  try {
    const sessions = await valueSessionsOn(standalone, 0);
    for (const n of valueSessions) {
      result.runs.push(await valueRun(standalone, sessions, n, "setData", settings));
    }
    for (const n of valueSessions) {
      result.runs.push(await valueRun(standalone, sessions, n, "getData", settings));
    }
    result.checks = await limitChecks(standalone, sessions[0]);
  } finally {
    dropAllSessions();
    await standalone.stop();
  }
  const ensemble = await startCorral(workDir("values-3"), 3, binary);
  try {
    const leader = await ensemble.leader();
    const sessions = await valueSessionsOn(ensemble, leader);
    for (const n of valueSessions) {
      result.runs.push(await valueRun(ensemble, sessions, n, "setData", settings));
    }
  } catch (error) {
    result.ensembleError = (error as Error).message.split("\n")[0];
  } finally {
    dropAllSessions();
    await ensemble.stop();
  }
  return result;
}

/** Opens the most sessions a run needs on node `index`, each with its node /v/s-I of 1 MiB. */
async function valueSessionsOn(system: System, index: number): Promise<ZkBenchSession[]> {
  const port = system.nodes[index].clientPort;
  const sessions = await openMany(Math.max(...valueSessions), port);
  await createOne(sessions[0], "/v", null);
  const value = new Uint8Array(valueBytes).fill(0x76);
  await Promise.all(sessions.map((s, i) => createOne(s, `/v/s-${i}`, value)));
  return sessions;
}

/** `n` sessions reading or writing 1 MiB on their own nodes, closed loop. */
async function valueRun(
  system: System,
  sessions: readonly ZkBenchSession[],
  n: number,
  op: "setData" | "getData",
  settings: Settings,
): Promise<ValueRun> {
  const value = new Uint8Array(valueBytes).fill(0x56);
  const request = (lane: number): ZkRequest =>
    op === "setData"
      ? { op, path: `/v/s-${lane}`, data: value, version: -1 }
      : { op, path: `/v/s-${lane}`, watch: false };
  const pids = system.nodes.map((node) => node.pid);
  const rssBeforeBytes = pids.map(rssBytesOf);
  let opsAll = 0;
  const stats = await closedLoop(
    n,
    async (lane) => {
      const error = await outcome(sessions[lane].call(request(lane)));
      if (error === null) opsAll++;
      return error;
    },
    windowOf(settings.valueWindowMs),
    { pids },
  );
  return {
    where: system.nodes.length === 1 ? "standalone" : "ensemble",
    op,
    sessions: n,
    stats,
    mibPerS: stats.opsPerS * valueBytes / 2 ** 20,
    rssBytes: pids.map(rssBytesOf),
    hwmBytes: pids.map(hwmBytesOf),
    rssBeforeBytes,
    opsAll,
  };
}

/** Per server: MiB of RSS gained over a run per MiB its writes carried ("-" for reads). */
function rssGrowthText(r: ValueRun): string {
  if (r.op !== "setData" || r.opsAll === 0) return "-";
  return r.rssBytes.map((after, i) => {
    const before = r.rssBeforeBytes[i];
    return before === null || after === null
      ? "n/a"
      : fmt((after - before) / (r.opsAll * valueBytes));
  }).join(" / ");
}

/**
 * A value of exactly the limit is accepted; one byte more is refused (setData and create) with
 * the session kept; a value whose frame is over the frame limit ends that connection; the server
 * answers throughout and the other session still works.
 */
async function limitChecks(system: System, session: ZkBenchSession): Promise<LimitCheck[]> {
  const port = system.nodes[0].clientPort;
  const checks: LimitCheck[] = [];
  const check = (what: string, expected: string, got: string) =>
    checks.push({ what, expected, got, ok: got === expected });
  const bytes = (n: number) => new Uint8Array(n).fill(0x6c);
  const path = "/v/s-0";
  const at = (n: number) => `${n.toLocaleString("en-US")} B`;
  check(
    `setData of ${at(valueBytes)} (the limit)`,
    "Ok",
    await outcome(session.call({ op: "setData", path, data: bytes(valueBytes), version: -1 })) ??
      "Ok",
  );
  const over = valueBytes + 1;
  check(
    `setData of ${at(over)}`,
    "BadArguments",
    await outcome(session.call({ op: "setData", path, data: bytes(over), version: -1 })) ?? "Ok",
  );
  check(
    `create of ${at(over)}`,
    "BadArguments",
    await outcome(session.call(createOf("/v/over", bytes(over)))) ?? "Ok",
  );
  check(
    "the same session afterwards (getData)",
    "Ok",
    await outcome(session.call({ op: "getData", path, watch: false })) ?? "Ok",
  );
  const victim = await openSession(port);
  const frameOver = limits.frameBytesMax;
  const reply = await Promise.race([
    outcome(victim.call({ op: "setData", path, data: bytes(frameOver), version: -1 })),
    sleep(10_000).then(() => "no answer in 10 s"),
  ]);
  check(
    `setData of ${at(frameOver)} (frame over the ${at(frameOver)} frame limit)`,
    "ConnectionLoss",
    reply ?? "Ok",
  );
  check("server answers a new session", "yes", await system.answers(0) ? "yes" : "no");
  check(
    "the first session afterwards (getData)",
    "Ok",
    await outcome(session.call({ op: "getData", path, watch: false })) ?? "Ok",
  );
  const log = join(dirname(system.nodes[0].dataDir), "server.log");
  const said = logLinesAbout(log, /over the|too large|frame|Len error/i);
  if (said.length > 0) checks.push({ what: "server log says", expected: "", got: said, ok: true });
  return checks;
}

/** The first few lines of the log at `path` that match `pattern`, joined; "" when none. */
function logLinesAbout(path: string, pattern: RegExp): string {
  try {
    return readFileSync(path, "utf8").split("\n").filter((l) => pattern.test(l)).slice(0, 3)
      .map((l) => l.slice(0, 300)).join(" / ");
  } catch {
    return "";
  }
}

// ---- report ----------------------------------------------------------------------------------

/** A markdown table. */
function table(headers: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(headers), line(headers.map(() => "---")), ...rows.map(line)].join("\n");
}

/** A CPU percentage for a table. */
function cpu(percent: number | null): string {
  return percent === null ? "n/a" : `${Math.round(percent)} %`;
}

/** Bytes per item between two RSS readings, or NaN. */
function perItem(from: number | null, to: number | null, items: number): number {
  return from === null || to === null || items === 0 ? NaN : (to - from) / items;
}

/** Everything the run measured, as written to --json. */
interface Results {
  startedAt: string;
  machine: string;
  corral: string;
  quick: boolean;
  loadAverage: { start: number; end: number };
  runSeconds: number;
  watches: WatchResult[];
  watchErrors: Record<string, string>;
  znodes: ZnodeResult | null;
  znodeError: string | null;
  values: ValueResult | null;
  valueError: string | null;
}

function watchTables(results: Results): string[] {
  const rows = results.watches;
  if (rows.length === 0) return [];
  return [
    "### Watches",
    "",
    `W data watches (getData watch:true) on W nodes of ${smallValueBytes} B, spread over ` +
    `min(W, ${watcherSessionsMax}) watcher sessions: W = 1,000 is 1,000 sessions with one watch ` +
    "each; 10,000 and 100,000 are 10 and 100 watches on each of 1,000 sessions. W = 0 is the " +
    `baseline: the same writers on ${baselineNodes.toLocaleString("en-US")} unwatched nodes. ` +
    `Watcher sessions connect from 127.0.0.2+ (${connectionsPerSource} per address; the ` +
    `server allows ${limits.maxClientCnxnsDefault} per client address by default).`,
    "",
    table(
      [
        "watches",
        "sessions × watches",
        "open sessions s",
        "register s",
        "watches/s",
        "RSS fresh MiB",
        "RSS + sessions MiB",
        "RSS + watches MiB",
        "B/session",
        "B/watch",
        "wchs total",
      ],
      rows.map((r) => [
        r.watches.toLocaleString("en-US"),
        r.watches === 0 ? "-" : `${r.watcherSessions} × ${r.watchesPerSession}`,
        r.watches === 0 ? "-" : fmt(r.openMs / 1000),
        r.watches === 0 ? "-" : fmt(r.registerMs / 1000),
        r.watches === 0 ? "-" : fmt(r.watches / (r.registerMs / 1000)),
        mib(r.rssStartBytes),
        mib(r.rssSessionsBytes),
        mib(r.rssWatchedBytes),
        fmt(perItem(r.rssStartBytes, r.rssSessionsBytes, r.watcherSessions)),
        fmt(perItem(r.rssSessionsBytes, r.rssWatchedBytes, r.watches)),
        r.wchsTotal === null ? "n/a" : r.wchsTotal.toLocaleString("en-US"),
      ]),
    ),
    "",
    `${loadSessions} writer sessions, closed loop, setData of ${smallValueBytes} B on random ` +
    `armed nodes, ${warmupMs / 1000} s warm-up + ${
      fmt(rows[0].write.seconds)
    } s window. Each write ` +
    "fires one watch; the watcher re-arms it when the event arrives. Event delay: write sent " +
    "to event received. Lost: acknowledged writes whose event never came (checked after the " +
    "window, all writes of the run). Snapshot s: seconds of the window during which the " +
    "server was saving a snapshot (one every 50,000-100,000 txns by default).",
    "",
    table(
      [
        "watches",
        "writes/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "events/s",
        "event delay p50/p99 ms",
        "writes ok",
        "events received",
        "lost",
        "unexpected",
        "errors",
        "snapshot s",
        "server CPU",
        "client CPU",
        "RSS end MiB",
      ],
      rows.map((r) => [
        r.watches.toLocaleString("en-US"),
        fmt(r.write.opsPerS),
        fmt(r.write.p50Ms),
        fmt(r.write.p99Ms),
        fmt(r.write.maxMs),
        r.watches === 0 ? "-" : fmt(r.eventsPerS),
        r.watches === 0 ? "-" : `${fmt(r.eventDelayP50Ms)} / ${fmt(r.eventDelayP99Ms)}`,
        r.watches === 0 ? "-" : r.writesOk.toLocaleString("en-US"),
        r.watches === 0 ? "-" : r.eventsReceived.toLocaleString("en-US"),
        r.watches === 0 ? "-" : String(r.eventsLost),
        r.watches === 0 ? "-" : String(r.eventsUnexpected),
        errorsText({ ...r.write.errors, ...r.registerErrors }),
        fmt(r.write.snapshotSeconds),
        cpu(r.write.serverCpuPercent[0]),
        cpu(r.write.clientCpuPercent),
        mib(r.rssEndBytes),
      ]),
    ),
    ...Object.entries(results.watchErrors).map(([w, e]) => `\nW = ${w} FAILED: ${e}`),
    "",
  ];
}

/** The rows of a loop's split: op, phase, seconds, ops/s and latencies. */
function splitRows(stats: LoopStats): string[][] {
  return Object.entries(stats.split).sort(([a], [b]) => a < b ? -1 : 1).map(([key, s]) => {
    const [op, phase] = key.split(" ");
    return [
      op,
      phase === "snapshot" ? "snapshot saving" : "no snapshot",
      fmt(s.seconds),
      fmt(s.opsPerS),
      fmt(s.p50Ms),
      fmt(s.p99Ms),
      fmt(s.maxMs),
    ];
  });
}

function znodeTables(z: ZnodeResult | null, error: string | null): string[] {
  if (z === null) return error === null ? [] : ["### Znodes", "", `FAILED: ${error}`, ""];
  const loop = (what: string, s: LoopStats) => [
    what,
    fmt(s.opsPerS),
    fmt(s.p50Ms),
    fmt(s.p99Ms),
    fmt(s.maxMs),
    errorsText(s.errors),
    fmt(s.snapshotSeconds),
    cpu(s.serverCpuPercent[0]),
    cpu(s.clientCpuPercent),
  ];
  return [
    `### ${z.target.toLocaleString("en-US")} znodes`,
    "",
    `${z.target.toLocaleString("en-US")} nodes of ${smallValueBytes} B under ` +
    `${Math.ceil(z.target / childrenPerParent).toLocaleString("en-US")} parents, single ` +
    `creates by ${createSessions} sessions × ${createDepth} outstanding. Made ` +
    `${z.made.toLocaleString("en-US")} in ${fmt(z.createS)} s = ${fmt(z.createsPerS)} ` +
    `creates/s${z.cutShort ? ` (STOPPED at the ${createMsMax / 60_000}-minute bound)` : ""}; ` +
    `errors: ${errorsText(z.createErrors)}; srvr Node count ${z.nodeCount ?? "n/a"}.`,
    "",
    table(
      ["znodes", "at s", "creates/s in segment", "RSS MiB", "RSS growth B/znode"],
      z.checkpoints.map((c) => [
        c.znodes.toLocaleString("en-US"),
        fmt(c.atS),
        fmt(c.segmentPerS),
        mib(c.rssBytes),
        fmt(perItem(z.rssEmptyBytes, c.rssBytes, c.znodes)),
      ]),
    ),
    "",
    `RSS ${settleMs / 1000} s after the build (once no snapshot save ran): ` +
    `${mib(z.rssSettledBytes)} MiB.`,
    "",
    ...zookeeperLines(z),
    `${loadSessions} sessions, closed loop, random nodes of the tree, ${warmupMs / 1000} s ` +
    `warm-up + ${fmt(z.read.seconds)} s window, run after the snapshot-save run below, so ` +
    "that the next save is at least 50,000 txns away (snapshot s shows if one ran anyway):",
    "",
    table(
      ["op", "ops/s", "p50 ms", "p99 ms", "max ms", "errors", "snapshot s", "server CPU", "client"],
      [loop("getData", z.read), loop(`setData ${smallValueBytes} B`, z.write)],
    ),
    "",
    `Across a snapshot save (run first, after the build, during which ` +
    `${z.snapshotsDuringBuild} saves started): ${loadSessions / 2} sessions getData and ` +
    `${loadSessions / 2} setData on random nodes until a snapshot save started and ended (window ` +
    `${fmt(z.mixed.seconds)} s, ${fmt(z.mixed.snapshotSeconds)} s of it saving; bounded ` +
    `${snapshotRunMsMax / 1000} s). Per op, while a save ran and while none did:`,
    "",
    table(
      ["op", "while", "seconds", "ops/s", "p50 ms", "p99 ms", "max ms"],
      splitRows(z.mixed),
    ),
    "",
    `RSS after the loads ${mib(z.rssAfterLoadBytes)} MiB, peak (VmHWM) ${mib(z.hwmBytes)} MiB; ` +
    `data dir ${mib(z.dataDirBytes)} MiB.`,
    "",
    table(
      [
        "stop",
        "exit ms",
        "restart to first answer ms",
        "Node count after",
        "RSS after MiB",
        "error",
      ],
      z.restarts.map((r) => [
        r.how,
        r.exitMs === null ? "n/a" : fmt(r.exitMs),
        r.restartMs === null ? "n/a" : fmt(r.restartMs),
        r.nodeCount === null ? "n/a" : r.nodeCount.toLocaleString("en-US"),
        mib(r.rssBytes),
        r.error ?? "",
      ]),
    ),
    "",
  ];
}

function valueTables(v: ValueResult | null, error: string | null): string[] {
  if (v === null) return error === null ? [] : ["### 1 MiB values", "", `FAILED: ${error}`, ""];
  const nodesOf = (r: ValueRun) => r.rssBytes.map((b) => mib(b)).join(" / ");
  return [
    "### 1 MiB values",
    "",
    `Closed loop, each session on a node of its own, values of ${
      valueBytes.toLocaleString("en-US")
    } ` +
    `B (the limit), ${warmupMs / 1000} s warm-up + ${
      fmt(v.runs[0]?.stats.seconds ?? NaN)
    } s window. ` +
    "The ensemble runs three nodes on this 2-core machine, sessions on the leader; its RSS " +
    "and CPU columns list node 1 / 2 / 3.",
    "",
    table(
      [
        "where",
        "op",
        "sessions",
        "ops/s",
        "MiB/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "errors",
        "server CPU",
        "client CPU",
        "RSS MiB",
        "peak RSS MiB",
        "RSS gain per MiB written",
      ],
      v.runs.map((r) => [
        r.where,
        r.op,
        String(r.sessions),
        fmt(r.stats.opsPerS),
        fmt(r.mibPerS),
        fmt(r.stats.p50Ms),
        fmt(r.stats.p99Ms),
        fmt(r.stats.maxMs),
        errorsText(r.stats.errors),
        r.stats.serverCpuPercent.map(cpu).join(" / "),
        cpu(r.stats.clientCpuPercent),
        nodesOf(r),
        r.hwmBytes.map((b) => mib(b)).join(" / "),
        rssGrowthText(r),
      ]),
    ),
    ...(v.ensembleError === null ? [] : ["", `Ensemble FAILED: ${v.ensembleError}`]),
    "",
    "Value limit (standalone, ZooKeeper protocol; the reply carries only the error code):",
    "",
    table(
      ["request", "expected", "got", "ok"],
      v.checks.map((c) => [c.what, c.expected, c.got, c.ok ? "yes" : "NO"]),
    ),
    "",
  ];
}

/**
 * From the first write run on `where` to the last: RSS gained (the worst server) per MiB the
 * writes carried, as "X MiB/MiB (A → B MiB)".
 */
function growthOver(runs: readonly ValueRun[], where: ValueRun["where"]): string {
  const writes = runs.filter((r) => r.where === where && r.op === "setData");
  const first = writes[0];
  const last = writes.at(-1);
  if (!first || !last) return "n/a";
  const written = writes.reduce((n, r) => n + r.opsAll, 0) * valueBytes;
  let worst = 0;
  let from = 0;
  let to = 0;
  last.rssBytes.forEach((after, i) => {
    const before = first.rssBeforeBytes[i];
    if (after === null || before === null || after - before < worst) return;
    [worst, from, to] = [after - before, before, after];
  });
  return `${fmt(worst / written)} MiB/MiB (${mib(from)} → ${mib(to)} MiB)`;
}

/** The "Limits" list: what grows how and what breaks first, from the numbers measured. */
function limitLines(results: Results): string[] {
  const lines: string[] = [];
  const watch = results.watches.filter((r) => r.watches > 0);
  const base = results.watches.find((r) => r.watches === 0);
  const most = watch.at(-1);
  if (most) {
    const perWatch = perItem(most.rssSessionsBytes, most.rssWatchedBytes, most.watches);
    const perSession = watch.map((r) =>
      perItem(r.rssStartBytes, r.rssSessionsBytes, r.watcherSessions)
    );
    const lost = watch.reduce((n, r) => n + r.eventsLost, 0);
    lines.push(
      `- **Watches:** server memory grows about ${fmt(perWatch)} B per watch at ` +
        `${most.watches.toLocaleString("en-US")} watches and ${fmt(Math.min(...perSession))}–${
          fmt(Math.max(...perSession))
        } B per idle session (RSS steps, GC-noisy); registering runs at ${
          fmt(most.watches / (most.registerMs / 1000))
        } ` +
        `watches/s. Writes that fire a watch: ${
          watch.map((r) => `${fmt(r.write.opsPerS)}/s at ${r.watches.toLocaleString("en-US")}`)
            .join(", ")
        }${base ? ` vs ${fmt(base.write.opsPerS)}/s unwatched` : ""}; p99 ${
          watch.map((r) => fmt(r.write.p99Ms)).join(" / ")
        } ms${base ? ` vs ${fmt(base.write.p99Ms)} ms` : ""}. Events lost: ${lost}. Hard limits: ` +
        `${limits.watchesPerSessionMax.toLocaleString("en-US")} watches per session, ` +
        `${limits.maxClientCnxnsDefault} connections per client address (maxClientCnxns).`,
    );
  }
  const z = results.znodes;
  if (z) {
    const last = z.checkpoints.at(-1);
    const first = z.checkpoints[0];
    const perZnode = perItem(z.rssEmptyBytes, last?.rssBytes ?? null, last?.znodes ?? 0);
    const term = z.restarts.find((r) => r.how === "SIGTERM");
    const kill = z.restarts.find((r) => r.how === "SIGKILL");
    lines.push(
      `- **Znodes:** RSS ${mib(last?.rssBytes ?? null)} MiB at ` +
        `${(last?.znodes ?? 0).toLocaleString("en-US")} znodes of ${smallValueBytes} B, about ` +
        `${fmt(perZnode)} B each (linear: ${fmt(perZnode * 1e6 / 2 ** 30)} GiB per million); ` +
        `peak ${mib(z.hwmBytes)} MiB, ${mib(z.rssSettledBytes)} MiB ${settleMs / 1000} s after ` +
        `the build${zookeeperVersus(z)}. Creates/s went from ${fmt(first?.segmentPerS ?? NaN)} ` +
        `(first ${(first?.znodes ?? 0).toLocaleString("en-US")}) to ` +
        `${fmt(last?.segmentPerS ?? NaN)} (last segment). getData p99 ${fmt(z.read.p99Ms)} ms, ` +
        `setData p99 ${fmt(z.write.p99Ms)} ms on the full tree. Restart on the data dir ` +
        `(${mib(z.dataDirBytes)} MiB): ${fmt((term?.restartMs ?? NaN) / 1000)} s after SIGTERM, ` +
        `${fmt((kill?.restartMs ?? NaN) / 1000)} s after SIGKILL; it grows with the tree, as ` +
        "recovery decodes the whole snapshot.",
    );
    lines.push(snapshotLine(z));
  }
  const v = results.values;
  if (v) {
    const best = (where: string, op: string) =>
      v.runs.filter((r) => r.where === where && r.op === op)
        .reduce<ValueRun | null>((a, r) => a === null || r.mibPerS > a.mibPerS ? r : a, null);
    const describe = (r: ValueRun | null) =>
      r === null
        ? "n/a"
        : `${fmt(r.mibPerS)} MiB/s (${r.sessions} session${r.sessions === 1 ? "" : "s"}, p99 ` +
          `${fmt(r.stats.p99Ms)} ms)`;
    const peak = Math.max(...v.runs.flatMap((r) => r.hwmBytes.map((b) => b ?? 0)));
    const failed = v.checks.filter((c) => !c.ok).length;
    lines.push(
      `- **1 MiB values:** standalone writes top out at ${
        describe(best("standalone", "setData"))
      }, reads at ${describe(best("standalone", "getData"))}, ensemble writes at ${
        describe(best("ensemble", "setData"))
      }; peak server RSS ${mib(peak)} MiB. Over the write runs, server RSS grew ` +
        `${growthOver(v.runs, "standalone")} (standalone) and ${growthOver(v.runs, "ensemble")} ` +
        `(ensemble, worst node) per MiB written. Values over ` +
        `${limits.dataBytesMax.toLocaleString("en-US")} B are refused with BadArguments, ` +
        `frames over ${limits.frameBytesMax.toLocaleString("en-US")} B end the connection ` +
        `(${failed === 0 ? "all limit checks passed" : `${failed} limit checks FAILED`}); a ` +
        `connection may queue ${limits.connectionOutboxBytesMax / 2 ** 20} MiB of replies ` +
        `and ${limits.pendingRequestsMax} requests.`,
    );
  }
  lines.push(breaksFirst(results));
  return lines;
}

/** The tree built on ZooKeeper beside Corral's: creates/s and RSS at the same points. */
function zookeeperLines(z: ZnodeResult): string[] {
  if (z.zookeeperError !== null) {
    return [`The same tree on ZooKeeper FAILED: ${z.zookeeperError}`, ""];
  }
  const zk = z.zookeeper;
  if (zk === null) return [];
  const row = (label: string, b: TreeBuild) => [
    label,
    `${b.made.toLocaleString("en-US")}${b.cutShort ? " (stopped)" : ""}`,
    fmt(b.createsPerS),
    errorsText(b.createErrors),
    mib(b.rssEmptyBytes),
    ...z.checkpoints.map((_, i) => mib(b.checkpoints[i]?.rssBytes ?? null)),
    mib(b.rssSettledBytes),
  ];
  const ratio = (c: number | null, k: number | null) =>
    c === null || k === null || k === 0 ? "–" : `${(c / k).toFixed(2)}×`;
  return [
    `The same tree, built the same way on a standalone Apache ZooKeeper (default settings, the ` +
    `${zkHeapMb} MB heap zkServer.sh gives it), RSS in MiB:`,
    "",
    table(
      [
        "server",
        "made",
        "creates/s",
        "errors",
        "parents only",
        ...z.checkpoints.map((c) => c.znodes.toLocaleString("en-US")),
        `${settleMs / 1000} s after`,
      ],
      [
        row("Corral", z),
        row("ZooKeeper", zk),
        [
          "Corral/ZooKeeper",
          "",
          ratio(z.createsPerS, zk.createsPerS),
          "",
          ratio(z.rssEmptyBytes, zk.rssEmptyBytes),
          ...z.checkpoints.map((c, i) => ratio(c.rssBytes, zk.checkpoints[i]?.rssBytes ?? null)),
          ratio(z.rssSettledBytes, zk.rssSettledBytes),
        ],
      ],
    ),
    "",
  ];
}

/** ", against ZooKeeper's ..." for the Limits line, or "" without the reference. */
function zookeeperVersus(z: ZnodeResult): string {
  const zk = z.zookeeper;
  if (zk === null) return "";
  const last = z.checkpoints.at(-1);
  return ` (ZooKeeper, same tree: ${mib(zk.checkpoints.at(-1)?.rssBytes ?? null)} MiB as ` +
    `the build ended against Corral's ${mib(last?.rssBytes ?? null)}, ` +
    `${mib(zk.rssSettledBytes)} ${settleMs / 1000} s after; ${fmt(zk.createsPerS)} creates/s ` +
    `against ${fmt(z.createsPerS)})`;
}

/** What serving looked like while a snapshot save of the tree ran, against while none did. */
function snapshotLine(z: ZnodeResult): string {
  const split = z.mixed.split;
  const compare = (op: string) => {
    const steady = split[`${op} steady`];
    const saving = split[`${op} snapshot`];
    if (!steady || !saving) return `${op} n/a`;
    return `${op} ${fmt(steady.opsPerS)}/s → ${fmt(saving.opsPerS)}/s (p99 ` +
      `${fmt(steady.p99Ms)} → ${fmt(saving.p99Ms)} ms, max ${fmt(saving.maxMs)} ms)`;
  };
  if (z.mixed.snapshotSeconds === 0) {
    return `- **Snapshots:** no snapshot save ran in the ${fmt(z.mixed.seconds)} s mixed window.`;
  }
  return `- **Snapshots:** a save of the ${z.made.toLocaleString("en-US")}-node tree ran ` +
    `${fmt(z.mixed.snapshotSeconds)} s; meanwhile ${compare("getData")} and ` +
    `${
      compare("setData")
    }. One runs every 50,000-100,000 txns (snapCount), so its share of the time ` +
    "grows with the tree and with the write rate.";
}

/** Every closed loop of the run, for the highest server CPU. */
function allLoops(results: Results): LoopStats[] {
  return [
    ...results.watches.map((r) => r.write),
    ...(results.znodes ? [results.znodes.read, results.znodes.write] : []),
    ...(results.values?.runs.map((r) => r.stats) ?? []),
  ];
}

/**
 * Which resource runs out first on this machine, projected linearly from the measured memory
 * per item (a projection, not a measurement), and how busy the server's one thread got.
 */
function breaksFirst(results: Results): string {
  const memory = totalmem();
  const parts: string[] = [];
  const z = results.znodes;
  const last = z?.checkpoints.at(-1);
  if (z && last && z.hwmBytes !== null) {
    const perZnode = z.hwmBytes / last.znodes;
    const fits = memory / perZnode;
    const restart = z.restarts.find((r) => r.how === "SIGKILL")?.restartMs ?? NaN;
    parts.push(
      `at the peak RSS measured (${fmt(perZnode)} B per ${smallValueBytes}-B znode, snapshot ` +
        `headroom included) the ${mib(memory)} MiB of this machine hold about ` +
        `${fmt(fits / 1e6)} million znodes, whose restart would take about ` +
        `${fmt(restart / 1000 * fits / last.znodes)} s at the measured rate`,
    );
  }
  const most = results.watches.filter((r) => r.watches > 0).at(-1);
  const perWatch = most ? perItem(most.rssSessionsBytes, most.rssWatchedBytes, most.watches) : NaN;
  if (perWatch > 0) {
    parts.push(`watches alone would fill it at about ${fmt(memory / perWatch / 1e6)} million`);
  }
  const cpus = allLoops(results).flatMap((s) => s.serverCpuPercent)
    .filter((c): c is number => c !== null);
  const busiest = cpus.length === 0 ? "n/a" : cpu(Math.max(...cpus));
  return `- **What breaks first** (linear projections): ${parts.join("; ") || "n/a"}. Under ` +
    `load the busiest server used ${busiest} of one core (its JavaScript runs on one thread; ` +
    "GC and I/O threads can take it past 100 %; this 2-core machine also runs the load " +
    "generator, so a server short of 100 % shares the cores rather than waiting on the disk).";
}

function report(results: Results): string {
  return [
    "## Scale benchmark (scripts/bench_scale)",
    "",
    `${results.corral}, compiled binary, default settings (tickTime 2000, fsync on; 4lw enabled ` +
    `for srvr/wchs). Machine: ${results.machine}. Load average ${results.loadAverage.start} at ` +
    `the start, ${results.loadAverage.end} at the end. Started ${results.startedAt}, ran ` +
    `${fmt(results.runSeconds)} s${results.quick ? " (--quick)" : ""}. The load generator ` +
    "(this Deno process) shares the machine with the server(s).",
    "",
    ...watchTables(results),
    ...znodeTables(results.znodes, results.znodeError),
    ...valueTables(results.values, results.valueError),
    "### Limits",
    "",
    ...limitLines(results),
  ].join("\n");
}

// ---- main ------------------------------------------------------------------------------------

/** The first line of an error, for a report. */
function errorLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0];
}

async function main(settings: Settings): Promise<Results> {
  const started = performance.now();
  const results: Results = {
    startedAt: new Date().toISOString(),
    machine: machineFacts(),
    corral: execFileSync(binaryPath, ["--version"], { encoding: "utf8" }).trim(),
    quick: settings.quick,
    loadAverage: { start: loadAverage(), end: NaN },
    runSeconds: NaN,
    watches: [],
    watchErrors: {},
    znodes: null,
    znodeError: null,
    values: null,
    valueError: null,
  };
  const progress = (text: string) =>
    console.error(`${name}: ${fmt((performance.now() - started) / 1000)} s: ${text}`);
  if (settings.only.includes("watches")) {
    for (const watches of settings.watchCounts) {
      progress(`watches ${watches}`);
      try {
        results.watches.push(await watchCase(watches, settings, binaryPath));
      } catch (error) {
        results.watchErrors[watches] = errorLine(error);
        progress(`watches ${watches} FAILED: ${errorLine(error)}`);
      }
    }
  }
  if (settings.only.includes("znodes")) {
    progress(`znodes ${settings.znodes}`);
    try {
      results.znodes = await znodeCase(settings, binaryPath);
    } catch (error) {
      results.znodeError = errorLine(error);
      progress(`znodes FAILED: ${results.znodeError}`);
    }
  }
  if (settings.only.includes("values")) {
    progress("values");
    try {
      results.values = await valueCase(settings, binaryPath);
    } catch (error) {
      results.valueError = errorLine(error);
      progress(`values FAILED: ${results.valueError}`);
    }
  }
  results.loadAverage.end = loadAverage();
  results.runSeconds = (performance.now() - started) / 1000;
  return results;
}

/** Stops every server and session, then exits with `code`. */
async function shutdown(code: number): Promise<never> {
  dropAllSessions();
  await stopAllSystems();
  Deno.exit(code);
}

if (import.meta.main) {
  const settings = parseSettings();
  if (typeof settings === "number") Deno.exit(settings);
  Deno.addSignalListener("SIGINT", () => {
    console.error(`${name}: interrupted; stopping every server`);
    void shutdown(130);
  });
  const watchdog = setTimeout(() => {
    console.error(`${name}: stopped at the ${settings.maxMinutes}-minute limit`);
    void shutdown(1);
  }, settings.maxMinutes * 60_000);
  let code = 0;
  try {
    const results = await main(settings);
    console.log(report(results));
    if (settings.json !== null) {
      writeFileSync(settings.json, `${JSON.stringify(results, null, 2)}\n`);
    }
    const broken = Object.keys(results.watchErrors).length > 0 || results.znodeError !== null ||
      results.valueError !== null;
    if (broken) code = 1;
  } catch (error) {
    console.error(`${name}: ${error instanceof Error ? error.stack : error}`);
    code = 1;
  } finally {
    clearTimeout(watchdog);
  }
  await shutdown(code);
}
