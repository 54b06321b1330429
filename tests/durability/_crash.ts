/**
 * The crash harness of the durability tests and of `scripts/soak_crash` (REFERENCE §8: a write is
 * acknowledged only once it is durable). It runs the compiled `corral` binary on one data
 * directory, drives it with writer clients that each pipeline many writes, kills it with SIGKILL
 * at a random moment, restarts it on the same directory, checks that no acknowledged write was
 * lost, and goes on writing: the log, snapshots and purges accumulate over the cycles.
 *
 * The model behind the checks: writer `i` owns `/w<i>` and writes version `n` with the data `"n"`
 * through a conditional setData (expected version `n - 1`), so at any moment the node's data must
 * be its version; every few ops it also creates a persistent-sequential child of `/seq` whose
 * data names the writer and the op. After each restart the harness checks: every `/w<i>` is at
 * least at its highest acknowledged version, at most at its highest version ever sent, and holds
 * its version as data; every acknowledged create exists with its data; the recovered server's
 * last zxid is at least the newest zxid any client saw.
 *
 * Also the shared helpers of the other tests of this folder: building and copying the binary
 * (the ideas of tests/e2e/_binary.ts, copied, since that file is private to its folder) and
 * {@linkcode ServeProcess}, a `corral serve` subprocess whose JSON log lines can be read.
 * @module
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { type Client, connect } from "../../src/client/mod.ts";

// ---- the binary ---------------------------------------------------------------------------

// The binary helpers are the end-to-end tests' own; a crash run copies the binary so a rebuild
// of dist/corral during a long run changes nothing under it.
import { type BinaryHome, copyBinary, spawnIsolated } from "../e2e/_binary.ts";
export { binaryPath, copyBinary, ensureBinary, repoRoot } from "../e2e/_binary.ts";

// ---- a server subprocess ------------------------------------------------------------------

/** One JSON log line of the server. */
export type LogEntry = { level: string; msg: string } & Record<string, unknown>;

/** How to start `corral serve`. */
export interface ServeOptions {
  /** The binary to run (see {@linkcode copyBinary}). */
  binary: string;
  /** `--data-dir`. */
  dataDir: string;
  /** `--port`; default 0 (a free port, read back from the "listening" line). */
  port?: number;
  /** `--tick-ms`; default 200. */
  tickMs?: number;
  /** `--snap-count`, when given. */
  snapCount?: number;
  /** Longest wait for the "listening" line. Default 30 s. */
  startMsMax?: number;
}

/** A promise that resolves after `ms`. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `condition` every 10 ms until it holds; throws after `ms` naming `what`.
 *
 * @example
 * ```ts ignore
 * import { until } from "./_crash.ts";
 * await until(() => client.state === "SyncConnected", "the client to reconnect", 10_000);
 * ```
 */
export async function until(condition: () => boolean, what: string, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    }
    await delay(10);
  }
}

/** `promise`, or a rejection naming `what` after `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  );
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A running `corral serve` on 127.0.0.1, its stderr collected as it comes.
 *
 * @example
 * ```ts ignore
 * import { copyBinary, ServeProcess } from "./_crash.ts";
 * const home = copyBinary();
 * const server = await ServeProcess.start({ binary: home.binary, dataDir: `${home.dir}/data` });
 * console.log(server.port, server.entry("recovered"));
 * server.kill("SIGKILL");
 * await server.exit();
 * ```
 */
export class ServeProcess {
  readonly #child: Deno.ChildProcess;
  readonly #reading: Promise<void>;
  #stderr = "";
  #status: Deno.CommandStatus | null = null;
  /** Wall-clock ms from the spawn to the "listening" line. */
  startMs = 0;

  private constructor(binary: string, args: string[]) {
    this.#child = spawnIsolated(binary, args);
    const decoder = new TextDecoder();
    this.#reading = this.#child.stderr.pipeTo(
      new WritableStream({
        write: (chunk) => {
          this.#stderr += decoder.decode(chunk, { stream: true });
        },
      }),
    );
    void this.#child.status.then((status) => this.#status = status);
  }

  /** Spawns the server and resolves once it logs "listening"; throws with its stderr otherwise. */
  static async start(options: ServeOptions): Promise<ServeProcess> {
    const args = [
      "serve",
      "--port",
      String(options.port ?? 0),
      "--zk-port",
      "0",
      "--host",
      "127.0.0.1",
      "--data-dir",
      options.dataDir,
      "--tick-ms",
      String(options.tickMs ?? 200),
    ];
    if (options.snapCount !== undefined) args.push("--snap-count", String(options.snapCount));
    const started = performance.now();
    const proc = new ServeProcess(options.binary, args);
    try {
      await proc.#waitForListening(options.startMsMax ?? 30_000);
    } catch (error) {
      proc.kill("SIGKILL");
      await proc.exit();
      throw error;
    }
    proc.startMs = Math.round(performance.now() - started);
    return proc;
  }

  async #waitForListening(ms: number): Promise<void> {
    const deadline = performance.now() + ms;
    while (this.entry("listening") === undefined) {
      if (this.#status !== null) {
        await this.#reading.catch(() => {});
        throw new Error(
          `corral serve exited with code ${this.#status.code} before listening; stderr:\n${this.#stderr}`,
        );
      }
      if (performance.now() > deadline) {
        throw new Error(
          `corral serve did not log "listening" within ${ms} ms; stderr:\n${this.#stderr}`,
        );
      }
      await delay(10);
    }
  }

  /** The port from the "listening" line. */
  get port(): number {
    return this.entry("listening")!.port as number;
  }

  /** `127.0.0.1:PORT`. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Everything the server wrote to stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** The exit status, or null while the process runs. */
  get exitStatus(): Deno.CommandStatus | null {
    return this.#status;
  }

  /** Every complete JSON log line so far. */
  entries(): LogEntry[] {
    const out: LogEntry[] = [];
    for (const line of this.#stderr.split("\n").slice(0, -1)) {
      try {
        const entry = JSON.parse(line);
        if (typeof entry?.msg === "string") out.push(entry);
      } catch {
        // Not a JSON line (a runtime's crash report, say): `stderr` still has it.
      }
    }
    return out;
  }

  /** The first log line whose message is `msg`. */
  entry(msg: string): LogEntry | undefined {
    return this.entries().find((e) => e.msg === msg);
  }

  /** The last `count` lines of stderr, for failure messages. */
  tail(count = 20): string {
    return this.#stderr.trimEnd().split("\n").slice(-count).join("\n");
  }

  /** Sends `signal` (no-op once the process has exited). */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    try {
      this.#child.kill(signal);
    } catch {
      // Already gone.
    }
  }

  /** Waits for the exit (sending SIGKILL after `ms`) and for all of stderr. */
  async exit(ms = 10_000): Promise<Deno.CommandStatus> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) =>
      timer = setTimeout(() => {
        this.kill("SIGKILL");
        resolve();
      }, ms)
    );
    const status = await Promise.race([this.#child.status, late.then(() => this.#child.status)]);
    clearTimeout(timer);
    await this.#reading.catch(() => {});
    return status;
  }
}

// ---- the seeded random source -------------------------------------------------------------

/**
 * A deterministic random source in [0, 1) (mulberry32): one seed replays every random choice.
 *
 * @example
 * ```ts
 * import { seededRandom } from "./_crash.ts";
 * const random = seededRandom(42);
 * random() === seededRandom(42)(); // true
 * ```
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- the crash harness --------------------------------------------------------------------

/** Settings of {@linkcode runCrashCycles}; every field but `cycles` and `seed` has a default. */
export interface CrashOptions {
  /** Crash-and-restart cycles to run. */
  cycles: number;
  /** Seeds every random choice (kill moments, torn tails). */
  seed: number;
  /** Writer clients. Default 4. */
  writers?: number;
  /** Writes one writer keeps in flight. Default 64. */
  inflightMax?: number;
  /** Every this many ops a writer creates a sequential node instead of a setData. Default 8. */
  createEvery?: number;
  /** `--snap-count` of the server. Default 500, so snapshots and purges happen often. */
  snapCount?: number;
  /** `--tick-ms` of the server. Default 200. */
  tickMs?: number;
  /** Session timeout the clients ask for. Default 4000 (20 ticks of 200 ms, the most). */
  sessionTimeoutMs?: number;
  /** The kill comes uniformly between this and `writeMsMax` after the writers start. Default 100. */
  writeMsMin?: number;
  /** See `writeMsMin`. Default 1500. */
  writeMsMax?: number;
  /**
   * Chance, per cycle, of appending a torn record to the newest log after the kill, as a power
   * cut in the middle of an unsynced batch would leave it. Default 0.25.
   */
  tornTailChance?: number;
  /** No cycle starts after this `performance.now()` time. Default: none. */
  deadlineMs?: number;
  /** Most ops one writer issues in one cycle (a bound besides the clock). Default 1,000,000. */
  opsPerCycleMax?: number;
  /** The command that replays this run, printed in failure messages. */
  replayCommand?: string;
  /** Where progress lines go. Default `console.log`. */
  log?: (line: string) => void;
}

/** What one cycle did and found. */
export interface CycleReport {
  cycle: number;
  /** When the kill came, after the writers started. */
  killAfterMs: number;
  /** Writes whose response arrived. */
  acknowledged: number;
  /** Writes cut off by the kill (they may or may not have been applied). */
  unacknowledged: number;
  /** Spawn of the restarted server to its "listening" line. */
  startMs: number;
  /** What the restarted server reported in its "recovered" line. */
  recoveryMs: number;
  snapshotZxid: number | null;
  replayed: number;
  /** Bytes of torn record appended to the newest log after the kill, or null. */
  tornTailBytes: number | null;
  /** Warnings the restarted server logged while recovering (torn tail truncated, ...). */
  notes: string[];
  /** Acknowledged writes lost, or state that no write could have produced. */
  lost: string[];
}

/** What {@linkcode runCrashCycles} found over the whole run. */
export interface CrashResult {
  seed: number;
  cycles: CycleReport[];
  /** Writes acknowledged over all cycles. */
  acknowledged: number;
  /** Every acknowledged write lost, every inconsistency, over all cycles. */
  lost: string[];
  /** Failures that are not a lost write: a restart that failed, an unexpected error reply. */
  problems: string[];
  /** True when `deadlineMs` ended the run before `cycles` cycles. */
  stoppedByDeadline: boolean;
  /** The data directory, kept for inspection when something was lost or went wrong. */
  keptDataDir: string | null;
}

type Settings = Required<Omit<CrashOptions, "replayCommand">> & { replayCommand: string };

/** What the harness knows about one writer's node, across cycles. */
interface WriterModel {
  index: number;
  path: string;
  /** Highest version of `path` acknowledged (or read back after a restart). */
  floorVersion: number;
  /** Highest version ever sent in a setData of `path`. */
  sentVersion: number;
  /** Version the next setData of this cycle writes. */
  nextVersion: number;
  /** Ops issued over the whole run: names the data of sequential creates. */
  opCount: number;
}

/** Counts of one cycle's writes. */
interface Tally {
  acknowledged: number;
  unacknowledged: number;
  problems: string[];
}

/** The state of one run. */
interface Run {
  settings: Settings;
  random: () => number;
  home: BinaryHome;
  dataDir: string;
  writers: WriterModel[];
  /** Every acknowledged sequential create: path -> data. */
  creates: Map<string, string>;
  /** Creates acknowledged since the last check of their data. */
  freshCreates: string[];
  /** Newest zxid any client saw in a response. */
  zxidSeen: number;
  server: ServeProcess | null;
}

function settingsOf(options: CrashOptions): Settings {
  const settings: Settings = {
    writers: 4,
    inflightMax: 64,
    createEvery: 8,
    snapCount: 500,
    tickMs: 200,
    sessionTimeoutMs: 4000,
    writeMsMin: 100,
    writeMsMax: 1500,
    tornTailChance: 0.25,
    deadlineMs: Infinity,
    opsPerCycleMax: 1_000_000,
    log: (line) => console.log(line),
    replayCommand: `scripts/soak_crash --cycles ${options.cycles} --seed ${options.seed}`,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
  } as Settings;
  if (!(settings.cycles >= 1 && settings.writers >= 1 && settings.inflightMax >= 1)) {
    throw new RangeError("cycles, writers and inflightMax must be at least 1");
  }
  if (!(settings.writeMsMin >= 0 && settings.writeMsMax >= settings.writeMsMin)) {
    throw new RangeError("writeMsMin <= writeMsMax are non-negative");
  }
  return settings;
}

/**
 * Runs `options.cycles` crash cycles against one data directory (write, SIGKILL, restart,
 * verify) and returns what was acknowledged and whether anything was lost. Never throws for a
 * finding: losses and failed restarts are in the result, so a caller can report them all.
 *
 * @example
 * ```ts ignore
 * import { ensureBinary, runCrashCycles } from "./_crash.ts";
 * await ensureBinary();
 * const result = await runCrashCycles({ cycles: 3, seed: 42 });
 * console.log(result.acknowledged, result.lost.length);
 * ```
 */
export async function runCrashCycles(options: CrashOptions): Promise<CrashResult> {
  const settings = settingsOf(options);
  const home = copyBinary();
  const run: Run = {
    settings,
    random: seededRandom(settings.seed),
    home,
    dataDir: join(home.dir, "data"),
    writers: Array.from({ length: settings.writers }, (_, index) => ({
      index,
      path: `/w${index}`,
      floorVersion: 0,
      sentVersion: 0,
      nextVersion: 1,
      opCount: 0,
    })),
    creates: new Map(),
    freshCreates: [],
    zxidSeen: 0,
    server: null,
  };
  const result: CrashResult = {
    seed: settings.seed,
    cycles: [],
    acknowledged: 0,
    lost: [],
    problems: [],
    stoppedByDeadline: false,
    keptDataDir: null,
  };
  settings.log(
    `crash harness: seed=${settings.seed}, ${settings.cycles} cycles, ${settings.writers} writers, ` +
      `snap-count ${settings.snapCount}, data dir ${run.dataDir}; replay: ${settings.replayCommand}`,
  );
  try {
    await setUp(run);
    for (let cycle = 1; cycle <= settings.cycles; cycle++) {
      if (performance.now() > settings.deadlineMs) {
        result.stoppedByDeadline = true;
        break;
      }
      const report = await crashCycle(run, cycle, result.problems);
      if (report === null) break;
      result.cycles.push(report);
      result.acknowledged += report.acknowledged;
      result.lost.push(...report.lost);
      settings.log(describe(report, settings.cycles));
      if (report.lost.length > 0 || result.problems.length > 0) break;
    }
    if (result.lost.length === 0 && result.problems.length === 0) await stopGracefully(run, result);
  } catch (error) {
    result.problems.push(`the harness failed: ${(error as Error).stack ?? error}`);
  } finally {
    await killServer(run);
    if (result.lost.length > 0 || result.problems.length > 0) {
      result.keptDataDir = run.dataDir;
      Deno.removeSync(home.binary);
    } else {
      home.remove();
    }
  }
  return result;
}

/** Starts the first server and creates `/seq` and every writer's node at version 0. */
async function setUp(run: Run): Promise<void> {
  run.server = await startServer(run);
  const client = await connect(run.server.address, {
    sessionTimeoutMs: run.settings.sessionTimeoutMs,
  });
  try {
    await client.create("/seq");
    await Promise.all(run.writers.map((w) => client.create(w.path, "0")));
  } finally {
    await client.close();
  }
}

function startServer(run: Run): Promise<ServeProcess> {
  return ServeProcess.start({
    binary: run.home.binary,
    dataDir: run.dataDir,
    tickMs: run.settings.tickMs,
    snapCount: run.settings.snapCount,
  });
}

async function killServer(run: Run): Promise<void> {
  if (run.server === null) return;
  run.server.kill("SIGKILL");
  await run.server.exit();
  run.server = null;
}

/** The last cycle's server is stopped with SIGTERM: it must exit 0 after logging "stopped". */
async function stopGracefully(run: Run, result: CrashResult): Promise<void> {
  const server = run.server!;
  server.kill("SIGTERM");
  const status = await server.exit();
  run.server = null;
  if (status.code !== 0 || server.entry("stopped") === undefined) {
    result.problems.push(
      `the last server did not stop cleanly on SIGTERM (exit ${status.code}):\n${server.tail()}`,
    );
  }
}

/** One cycle: write, kill at a random moment, maybe tear the log's tail, restart, verify. */
async function crashCycle(
  run: Run,
  cycle: number,
  problems: string[],
): Promise<CycleReport | null> {
  const { settings } = run;
  const killAfterMs = Math.round(
    settings.writeMsMin + run.random() * (settings.writeMsMax - settings.writeMsMin),
  );
  const tear = run.random() < settings.tornTailChance;
  const tornBytes = Math.floor(1 + run.random() * 4000);
  const tally = await writeThenKill(run, killAfterMs);
  problems.push(...tally.problems.map((p) => `cycle ${cycle}: ${p}`));
  const tornTailBytes = tear ? tearTail(run.dataDir, tornBytes, run.random) : null;
  try {
    run.server = await startServer(run);
  } catch (error) {
    problems.push(
      `cycle ${cycle}: the server did not restart on ${run.dataDir} after the kill ` +
        `(replay: ${settings.replayCommand}): ${(error as Error).message}`,
    );
    return null;
  }
  const server = run.server;
  const recovered = server.entry("recovered");
  const notes = server.entries().filter((e) => e.level === "warn" || e.level === "error").map(
    (e) => e.msg,
  );
  const lost: string[] = [];
  if (recovered === undefined) lost.push(`no "recovered" log line:\n${server.tail()}`);
  else if ((recovered.lastZxid as number) < run.zxidSeen) {
    lost.push(
      `the recovered last zxid 0x${(recovered.lastZxid as number).toString(16)} is older than ` +
        `0x${run.zxidSeen.toString(16)}, which a client saw before the kill`,
    );
  }
  if (tornTailBytes !== null && !notes.some((n) => n.includes("torn tail"))) {
    problems.push(`cycle ${cycle}: a torn tail was appended but recovery did not report it`);
  }
  lost.push(...await verifyState(run, server.address));
  return {
    cycle,
    killAfterMs,
    acknowledged: tally.acknowledged,
    unacknowledged: tally.unacknowledged,
    startMs: server.startMs,
    recoveryMs: (recovered?.ms as number) ?? -1,
    snapshotZxid: (recovered?.snapshotZxid as number | null) ?? null,
    replayed: (recovered?.replayed as number) ?? -1,
    tornTailBytes,
    notes,
    lost: lost.map((l) => `cycle ${cycle} (seed ${settings.seed}): ${l}`),
  };
}

/** Runs every writer against the current server and SIGKILLs it `killAfterMs` after they start. */
async function writeThenKill(run: Run, killAfterMs: number): Promise<Tally> {
  const { settings } = run;
  const server = run.server!;
  const tally: Tally = { acknowledged: 0, unacknowledged: 0, problems: [] };
  const clients: Client[] = [];
  const phase = { killed: false, stopped: false };
  try {
    for (const _ of run.writers) {
      clients.push(
        await connect(server.address, {
          sessionTimeoutMs: settings.sessionTimeoutMs,
          retryDelayMsMax: 100,
        }),
      );
    }
    const writing = run.writers.map((w, i) => runWriter(run, clients[i], w, tally, phase));
    await delay(killAfterMs);
    phase.killed = true;
    server.kill("SIGKILL");
    await server.exit();
    run.server = null;
    phase.stopped = true;
    // Close only once each client saw its connection drop, so close() sends nothing.
    await until(
      () => clients.every((c) => c.state !== "SyncConnected"),
      "the clients to see the kill",
      10_000,
    );
    await within(Promise.all(clients.map((c) => c.close())), 10_000, "the clients to close");
    await within(Promise.all(writing), 10_000, "the writers to stop");
  } finally {
    phase.stopped = true;
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
  }
  for (const client of clients) run.zxidSeen = Math.max(run.zxidSeen, client.lastZxid);
  return tally;
}

/**
 * One writer's cycle: keeps up to `inflightMax` writes in flight until the kill (or the first
 * failure), counting what was acknowledged. Every write is conditional or sequential, so the
 * model stays exact even though many are in flight.
 */
async function runWriter(
  run: Run,
  client: Client,
  writer: WriterModel,
  tally: Tally,
  phase: { killed: boolean; stopped: boolean },
): Promise<void> {
  const { inflightMax, createEvery, opsPerCycleMax } = run.settings;
  const inflight = new Set<Promise<void>>();
  let failed = false;
  const onError = (what: string) => (error: unknown) => {
    failed = true;
    const code = (error as { code?: string }).code;
    if (phase.killed && code === "ConnectionLoss") tally.unacknowledged++;
    else {
      tally.problems.push(
        `writer ${writer.index}: ${what} failed ${phase.killed ? "after" : "before"} the kill: ` +
          `${code ?? "no code"}: ${(error as Error).message}`,
      );
    }
  };
  for (let ops = 0; ops < opsPerCycleMax && !phase.stopped && !failed;) {
    if (client.state !== "SyncConnected") break;
    if (inflight.size >= inflightMax) {
      await Promise.race(inflight);
      continue;
    }
    ops++;
    writer.opCount++;
    const write = writer.opCount % createEvery === 0
      ? createOne(run, client, writer, tally).catch(
        onError(`create /seq/s- (op ${writer.opCount})`),
      )
      : setOne(run, client, writer, tally).catch(onError(`setData ${writer.path}`));
    const tracked: Promise<void> = write.finally(() => inflight.delete(tracked));
    inflight.add(tracked);
  }
  await Promise.all(inflight);
}

async function setOne(run: Run, client: Client, writer: WriterModel, tally: Tally): Promise<void> {
  const version = writer.nextVersion++;
  writer.sentVersion = Math.max(writer.sentVersion, version);
  const stat = await client.setData(writer.path, String(version), { version: version - 1 });
  tally.acknowledged++;
  if (stat.version !== version) {
    tally.problems.push(
      `setData ${writer.path} to version ${version} answered version ${stat.version}`,
    );
  }
  writer.floorVersion = Math.max(writer.floorVersion, stat.version);
  run.zxidSeen = Math.max(run.zxidSeen, stat.mzxid);
}

async function createOne(
  run: Run,
  client: Client,
  writer: WriterModel,
  tally: Tally,
): Promise<void> {
  const data = `w${writer.index}:${writer.opCount}`;
  const path = await client.create("/seq/s-", data, { mode: "persistentSequential" });
  tally.acknowledged++;
  run.creates.set(path, data);
  run.freshCreates.push(path);
}

/**
 * Appends a torn record to the newest log file: a record header announcing a body, and only part
 * of that body, as a crash in the middle of an unsynced batch leaves it. Returns the bytes added,
 * or null when there is no log file with a complete header to tear.
 */
function tearTail(dataDir: string, bytes: number, random: () => number): number | null {
  const logs = readdirSync(dataDir).filter((n) => /^log\.[0-9a-f]{16}$/.test(n)).sort();
  const newest = logs.at(-1);
  if (newest === undefined) return null;
  const path = join(dataDir, newest);
  if (statSync(path).size < 16) return null; // A header never written: nothing to tear after it.
  const torn = new Uint8Array(8 + bytes);
  const view = new DataView(torn.buffer);
  view.setUint32(0, bytes + 1 + Math.floor(random() * 1000)); // more than follows: cut short
  for (let i = 4; i < torn.length; i++) torn[i] = Math.floor(random() * 256);
  const file = Deno.openSync(path, { append: true });
  try {
    let done = 0;
    while (done < torn.length) done += file.writeSync(torn.subarray(done));
  } finally {
    file.close();
  }
  return torn.length;
}

/** Checks the restarted server against the model; returns what was lost or inconsistent. */
async function verifyState(run: Run, address: string): Promise<string[]> {
  const lost: string[] = [];
  const client = await connect(address, { sessionTimeoutMs: run.settings.sessionTimeoutMs });
  try {
    const reads = await Promise.all(run.writers.map((w) => client.getData(w.path)));
    reads.forEach(({ data, stat }, i) => {
      const writer = run.writers[i];
      const text = new TextDecoder().decode(data);
      if (stat.version < writer.floorVersion) {
        lost.push(
          `${writer.path} is at version ${stat.version}, but version ${writer.floorVersion} was acknowledged`,
        );
      }
      if (stat.version > writer.sentVersion) {
        lost.push(
          `${writer.path} is at version ${stat.version}; no write past ${writer.sentVersion} was sent`,
        );
      }
      if (text !== String(stat.version)) {
        lost.push(
          `${writer.path} holds "${text}" at version ${stat.version} (expected "${stat.version}")`,
        );
      }
      writer.floorVersion = Math.max(writer.floorVersion, stat.version);
      writer.nextVersion = stat.version + 1;
    });
    lost.push(...await verifyCreates(run, client));
  } finally {
    await client.close();
  }
  return lost;
}

/** Every acknowledged create must be listed; those of the last cycle are also read back. */
async function verifyCreates(run: Run, client: Client): Promise<string[]> {
  const lost: string[] = [];
  const children = new Set(await client.getChildren("/seq"));
  for (const path of run.creates.keys()) {
    if (!children.has(path.slice("/seq/".length))) {
      lost.push(`the acknowledged create ${path} is missing`);
    }
  }
  const fresh = run.freshCreates;
  run.freshCreates = [];
  for (let i = 0; i < fresh.length; i += 256) {
    const chunk = fresh.slice(i, i + 256).filter((p) => children.has(p.slice("/seq/".length)));
    const reads = await Promise.all(chunk.map((p) => client.getData(p)));
    reads.forEach(({ data }, j) => {
      const text = new TextDecoder().decode(data);
      const expected = run.creates.get(chunk[j]);
      if (text !== expected) lost.push(`${chunk[j]} holds "${text}", not "${expected}"`);
    });
  }
  return lost;
}

/** One line per cycle for the log. */
function describe(report: CycleReport, cycles: number): string {
  const snapshot = report.snapshotZxid === null
    ? "no snapshot"
    : `snapshot 0x${report.snapshotZxid.toString(16)}`;
  const torn = report.tornTailBytes === null
    ? ""
    : `; ${report.tornTailBytes}-byte torn tail added`;
  const notes = report.notes.length === 0 ? "" : `; notes: ${report.notes.join(" | ")}`;
  const lost = report.lost.length === 0 ? "" : `; LOST ${report.lost.length}`;
  return `cycle ${report.cycle}/${cycles}: killed after ${report.killAfterMs} ms; ` +
    `${report.acknowledged} writes acknowledged, ${report.unacknowledged} cut off; ` +
    `restart ${report.startMs} ms (recovery ${report.recoveryMs} ms: ${snapshot}, ` +
    `${report.replayed} replayed)${torn}${notes}${lost}`;
}
