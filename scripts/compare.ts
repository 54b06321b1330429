/**
 * Corral side by side with Apache ZooKeeper 3.8 and etcd 3.4, on this machine, in one run.
 *
 * One system at a time (so they never compete for the cores): start it (`--startups` times, to
 * time startup to the first answered request), read each server's idle RSS, warm it up with a few
 * seconds of unmeasured load, load its leader with `dist/corral bench` (a separate process) over
 * the grid of workloads and session counts, read each server's RSS after the first grid (the load
 * every system gets), and for three-node systems kill -9 and SIGSTOP the leader `--rounds` times
 * each under write load (time to the first acknowledged write sent after the failure, from
 * open-loop write probes on every server).
 * ZooKeeper and Corral are driven through the same ZooKeeper-protocol client; Corral also through
 * its CBOR client; etcd through its JSON gateway. Then it prints one markdown report and writes it
 * into docs/PERFORMANCE.md between the `<!-- compare:begin -->` and `<!-- compare:end -->` markers
 * (`--no-write` keeps the file) and the raw results as JSON (`--json FILE`). Every process it
 * started is stopped on every exit path.
 *
 * The targets at 32 sessions (writes, reads and their p99, Corral against ZooKeeper, three nodes)
 * are then measured again with both systems up at once, in `--alternations` rounds that take turns
 * in alternating order, and judged on the median of the rounds' ratios: this machine's speed drifts
 * within minutes, and one grid each, minutes apart, can put the two systems in different hours.
 *
 * With `--no-fsync`, Corral and ZooKeeper write their txn logs without syncing them
 * (`forceSync=no`; etcd 3.4 has no such setting, so it is left out): what is left is the CPU and
 * the network, and the difference from a normal run is what the disk costs. Such a run never
 * writes docs/PERFORMANCE.md.
 *
 * Usage: `compare.ts [--quick] [--warmup S] [--system-warmup S] [--window S] [--rounds N]
 * [--alternations N] [--startups N] [--systems LIST] [--create-ops N] [--json FILE] [--no-write]
 * [--no-fsync] [--max-minutes M] [--keep]`
 * @module
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { failoverMs, WriteProbe } from "../src/bench/probe.ts";
import type { BenchResult, Workload } from "../src/bench/run.ts";
import type { BenchProtocol } from "../src/bench/targets.ts";
import { rssBytesOf } from "../src/bench/proc.ts";
import { defaultAdapter } from "../src/net/mod.ts";
import { median, repoRoot } from "./bench_durability.ts";
import { gridArgs, gridDefaults, gridSessions, gridWorkloads, warmUpArgs } from "./_grid.ts";
import { integerFlag, machineFacts, parseScriptFlags } from "./_sweep.ts";
import {
  installMissing,
  startCorral,
  startEtcd,
  type StartOptions,
  startZooKeeper,
  stopAllSystems,
  type System,
  versions,
} from "./_systems.ts";

const usage = "usage: scripts/compare [--quick] [--warmup S (1)] [--system-warmup S (9)] " +
  "[--window S (2.5)] [--alternations N (5)] " +
  "[--rounds N (3)] [--startups N (3)] [--systems zk1,zk3,etcd3,corral1,corral3] [--json FILE] " +
  "[--create-ops N (5000)] [--no-write] [--no-fsync] [--max-minutes M (20)] [--keep]";

/** The systems of a comparison, by id. */
const systemIds = ["corral3", "zk3", "etcd3", "corral1", "zk1"] as const;
type SystemId = typeof systemIds[number];

interface SystemPlan {
  id: SystemId;
  name: string;
  nodes: 1 | 3;
  start(dir: string): Promise<System>;
  /** Protocols to drive it with, each with the session counts of its grid. */
  protocols: { protocol: BenchProtocol; sessions: number[] }[];
}

function plans(quick: boolean, binary: string, options: StartOptions): SystemPlan[] {
  const full = quick ? [1, 32] : gridSessions;
  const short = quick ? [32] : [1, 32];
  return [
    {
      id: "corral3",
      name: "Corral, 3 nodes",
      nodes: 3,
      start: (dir) => startCorral(dir, 3, binary, options),
      protocols: [{ protocol: "zk", sessions: full }, { protocol: "cbor", sessions: short }],
    },
    {
      id: "zk3",
      name: "ZooKeeper, 3 nodes",
      nodes: 3,
      start: (dir) => startZooKeeper(dir, 3, options),
      protocols: [{ protocol: "zk", sessions: full }],
    },
    {
      id: "etcd3",
      name: "etcd, 3 nodes",
      nodes: 3,
      start: (dir) => startEtcd(dir, 3),
      protocols: [{ protocol: "etcd", sessions: full }],
    },
    {
      id: "corral1",
      name: "Corral, standalone",
      nodes: 1,
      start: (dir) => startCorral(dir, 1, binary, options),
      protocols: [{ protocol: "zk", sessions: short }, { protocol: "cbor", sessions: short }],
    },
    {
      id: "zk1",
      name: "ZooKeeper, standalone",
      nodes: 1,
      start: (dir) => startZooKeeper(dir, 1, options),
      protocols: [{ protocol: "zk", sessions: short }],
    },
  ];
}

/** One cell of the grid. */
interface Cell {
  system: SystemId;
  protocol: BenchProtocol;
  result: BenchResult;
}

/** One system's turn in one round of the alternated target measurement. */
interface Turn {
  round: number;
  system: "corral3" | "zk3";
  /** Writes then reads at 32 sessions. */
  results: BenchResult[];
}

/** Grids or rounds that failed, for the report. */
const failures: string[] = [];

/** Everything measured of one system. */
interface SystemReport {
  id: SystemId;
  label: string;
  startupMs: number[];
  idleRssMiB: number[];
  /** As the first grid's load generator exits. */
  loadedRssMiB: number[];
  /** After the first grid and then `settleMs` without load: what the servers keep. */
  settledRssMiB: number[];
  /** Ms from each kill -9 or SIGSTOP of the leader to the first acknowledged write after it. */
  failover: { kill: (number | null)[]; stop: (number | null)[] };
}

interface Settings {
  quick: boolean;
  warmupS: number;
  /** Unmeasured load before a system's first grid, s (0: none); see {@linkcode warmUp}. */
  systemWarmupS: number;
  windowS: number;
  rounds: number;
  /** Rounds of the alternated target measurement (0: none); see {@linkcode alternate}. */
  alternations: number;
  startups: number;
  systems: SystemId[];
  json: string | null;
  write: boolean;
  /** Corral and ZooKeeper run with `forceSync=no` (`--no-fsync`). */
  noFsync: boolean;
  maxMinutes: number;
  keep: boolean;
  /** Creates counted per create cell (the window ends there). */
  createOps: number;
}

function settingsFrom(): Settings | number {
  const values = parseScriptFlags("compare", usage, {
    quick: { type: "boolean" },
    warmup: { type: "string" },
    "system-warmup": { type: "string" },
    window: { type: "string" },
    rounds: { type: "string" },
    alternations: { type: "string" },
    startups: { type: "string" },
    systems: { type: "string" },
    json: { type: "string" },
    "no-write": { type: "boolean" },
    "no-fsync": { type: "boolean" },
    "max-minutes": { type: "string" },
    keep: { type: "boolean" },
    "create-ops": { type: "string" },
  });
  if (typeof values === "number") return values;
  const seconds = (text: unknown, fallback: number, name: string) => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!(value > 0 && value <= 600)) throw new Error(`--${name} must be seconds in (0, 600]`);
    return value;
  };
  const noFsync = values["no-fsync"] === true;
  // etcd 3.4 cannot skip its fsync, so a run without fsync leaves it out.
  const defaults = noFsync ? systemIds.filter((id) => id !== "etcd3") : systemIds;
  const systems = String(values.systems ?? defaults.join(",")).split(",");
  for (const id of systems) {
    if (!(systemIds as readonly string[]).includes(id)) {
      throw new Error(`--systems: unknown "${id}" (known: ${systemIds.join(", ")})`);
    }
    if (noFsync && id === "etcd3") {
      throw new Error(
        "--systems: etcd3 cannot run with --no-fsync (etcd 3.4 cannot skip its fsync)",
      );
    }
  }
  const quick = values.quick === true;
  return {
    quick,
    warmupS: seconds(values.warmup, gridDefaults.warmupS, "warmup"),
    systemWarmupS: values["system-warmup"] === "0"
      ? 0
      : seconds(values["system-warmup"], quick ? 3 : gridDefaults.systemWarmupS, "system-warmup"),
    windowS: seconds(values.window, quick ? 1.5 : gridDefaults.windowS, "window"),
    rounds: integerFlag(
      "compare",
      usage,
      values.rounds as string | undefined,
      quick ? 1 : 3,
      "rounds",
      0,
    ),
    alternations: integerFlag(
      "compare",
      usage,
      values.alternations as string | undefined,
      quick ? 1 : 5,
      "alternations",
      0,
    ),
    startups: integerFlag(
      "compare",
      usage,
      values.startups as string | undefined,
      quick ? 1 : 3,
      "startups",
      1,
    ),
    systems: systemIds.filter((id) => systems.includes(id)),
    json: (values.json as string | undefined) ?? null,
    // A run without fsync measures something else than the targets: it never replaces the report.
    write: values["no-write"] !== true && !noFsync,
    noFsync,
    maxMinutes: integerFlag(
      "compare",
      usage,
      values["max-minutes"] as string | undefined,
      20,
      "max-minutes",
      1,
    ),
    keep: values.keep === true,
    createOps: integerFlag(
      "compare",
      usage,
      values["create-ops"] as string | undefined,
      quick ? 2_000 : gridDefaults.createOps,
      "create-ops",
      1,
    ),
  };
}

const mib = (bytes: number | null) => bytes === null ? NaN : bytes / 2 ** 20;
/**
 * The pause after the first grid before RSS is read again. A garbage-collected server holds the
 * garbage of the load's last seconds until its next collection, so the reading as the load ends
 * and this one bracket what it keeps.
 */
const settleMs = 5_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function log(line: string): void {
  console.error(`compare: ${line}`);
}

/**
 * Runs the grid (scripts/_grid.ts) with `dist/corral bench` as its own process and returns its
 * JSON results.
 */
async function bench(
  binary: string,
  protocol: BenchProtocol,
  server: string,
  sessions: number[],
  pids: number[],
  settings: Settings,
): Promise<BenchResult[]> {
  const common = benchArgs(protocol, server);
  const [timed, creates] = gridArgs(sessions, settings, pids);
  return [
    ...await benchProcess(binary, [...common, ...timed]),
    ...await benchProcess(binary, [...common, ...creates]),
  ];
}

/**
 * Unmeasured load before a system's first grid: write, read and mixed at 32 sessions, a third of
 * `settings.systemWarmupS` each, none of it creating znodes. ZooKeeper and Corral compile their
 * hot paths while they run (the JVM's JIT; JavaScriptCore's tiers). In one probe, `perf` put
 * Corral's leader's JIT thread at 35 % of a core 2.5 s into the load and 20 % at 14 s, and writes
 * at 32 sessions rose from 4.3k to 6.9k/s over four 4-second rounds. ZooKeeper's start is slower
 * still: in two paired runs without this warm-up its writes at 32 sessions were 1,853 and 5,059/s,
 * with it 8,624 and 6,990/s (Corral's 5,544-7,500 either way). Without it, the first cells of the
 * grid measure that start, not the server a coordinator is for most of its life.
 */
async function warmUp(
  binary: string,
  protocol: BenchProtocol,
  server: string,
  settings: Settings,
): Promise<void> {
  if (settings.systemWarmupS === 0) return;
  await benchProcess(binary, [
    ...benchArgs(protocol, server),
    ...warmUpArgs(settings.systemWarmupS),
  ]);
}

/** The start of every `corral bench` command line here: JSON results, one protocol, one server. */
function benchArgs(protocol: BenchProtocol, server: string): string[] {
  return ["bench", "--json", "--protocol", protocol, "--server", server];
}

function benchProcess(binary: string, args: string[]): Promise<BenchResult[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk) => out += chunk);
    child.stderr.on("data", (chunk) => err += chunk);
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`corral bench exited ${code}: ${err.trim()}`));
      else resolve(out.trim().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l)));
    });
  });
}

/** Starts `plan` `settings.startups` times; keeps the last start running. */
async function startTimed(
  plan: SystemPlan,
  workDir: string,
  settings: Settings,
): Promise<{ system: System; startupMs: number[] }> {
  const startupMs: number[] = [];
  for (let i = 1;; i++) {
    const system = await plan.start(`${workDir}/${plan.id}-${i}`);
    startupMs.push(system.startupMs);
    if (i >= settings.startups) return { system, startupMs };
    await system.stop(settings.keep);
  }
}

/** Kills or pauses the leader `rounds` times under probe load; ms to the first ack after each. */
async function failovers(
  system: System,
  kind: "kill" | "stop",
  rounds: number,
): Promise<(number | null)[]> {
  const adapter = await defaultAdapter();
  const protocol = system.kind === "etcd" ? "etcd" : "zk";
  const probes = system.nodes.map((node) =>
    new WriteProbe(
      protocol,
      { hostname: "127.0.0.1", port: node.clientPort },
      `n${node.index}`,
      adapter,
    )
  );
  const times: (number | null)[] = [];
  try {
    for (const probe of probes) await probe.start();
    for (let round = 1; round <= rounds; round++) {
      await system.waitAllAnswer(60_000);
      const victim = await system.leader();
      for (const probe of probes) probe.reset();
      await sleep(1_000); // steady load first
      const t0 = performance.now();
      system.signal(victim, kind === "kill" ? "SIGKILL" : "SIGSTOP");
      let ms: number | null = null;
      while (ms === null && performance.now() - t0 < 60_000) {
        await sleep(5);
        ms = failoverMs(probes.filter((_, i) => i !== victim), t0);
      }
      times.push(ms);
      log(
        `${system.label}: ${kind} of leader n${victim}: ${
          ms === null ? "no ack in 60 s" : `${ms.toFixed(0)} ms`
        }`,
      );
      if (kind === "kill") await system.restart(victim);
      else system.signal(victim, "SIGCONT");
    }
    await system.waitAllAnswer(60_000);
  } finally {
    for (const probe of probes) probe.stop();
  }
  return times;
}

async function measureSystem(
  plan: SystemPlan,
  binary: string,
  workDir: string,
  settings: Settings,
  cells: Cell[],
): Promise<SystemReport> {
  log(`starting ${plan.name}`);
  const { system, startupMs } = await startTimed(plan, workDir, settings);
  try {
    await system.waitAllAnswer(60_000);
    await sleep(2_000);
    const rssMiB = () => system.nodes.map((n) => mib(rssBytesOf(n.pid)));
    const idleRssMiB = rssMiB();
    const leader = system.nodes[await system.leader()];
    const pids = system.nodes.map((n) => n.pid);
    // Read after the first grid, the one every system of the comparison gets; Corral's extra CBOR
    // grid would otherwise count against it as "RSS after the same load".
    let loadedRssMiB: number[] | null = null;
    let settledRssMiB: number[] | null = null;
    if (settings.systemWarmupS > 0 && plan.protocols.length > 0) {
      const { protocol } = plan.protocols[0];
      const port = protocol === "cbor" ? leader.cborPort! : leader.clientPort;
      log(`${system.label}: warm-up, ${settings.systemWarmupS} s unmeasured`);
      try {
        await warmUp(binary, protocol, `127.0.0.1:${port}`, settings);
      } catch (error) {
        failures.push(`${system.label}, warm-up: ${(error as Error).message}`);
        log(`  warm-up failed: ${(error as Error).message}`);
      }
    }
    for (const { protocol, sessions } of plan.protocols) {
      const port = protocol === "cbor" ? leader.cborPort! : leader.clientPort;
      log(
        `${system.label}: ${protocol} protocol, sessions ${
          sessions.join(",")
        }, on n${leader.index}`,
      );
      let results: BenchResult[];
      try {
        results = await bench(binary, protocol, `127.0.0.1:${port}`, sessions, pids, settings);
      } catch (error) {
        // One failed grid must not throw away the rest of the run: the report names it.
        failures.push(`${system.label}, ${protocol} protocol: ${(error as Error).message}`);
        log(`  failed: ${(error as Error).message}`);
        continue;
      }
      for (const result of results) {
        cells.push({ system: plan.id, protocol, result });
        log(
          `  ${result.workload} ${result.sessions}: ${result.opsPerS.toFixed(0)} ops/s, ` +
            `p99 ${result.latencyMs.p99.toFixed(2)} ms, errors ${result.errors}`,
        );
      }
      if (loadedRssMiB === null) {
        loadedRssMiB = rssMiB();
        await sleep(settleMs);
        settledRssMiB = rssMiB();
      }
    }
    loadedRssMiB ??= rssMiB(); // a system without a grid
    settledRssMiB ??= loadedRssMiB;
    const failover = { kill: [] as (number | null)[], stop: [] as (number | null)[] };
    if (plan.nodes === 3 && settings.rounds > 0) {
      failover.kill = await failovers(system, "kill", settings.rounds);
      failover.stop = await failovers(system, "stop", settings.rounds);
    }
    return {
      id: plan.id,
      label: system.label,
      startupMs,
      idleRssMiB,
      loadedRssMiB,
      settledRssMiB,
      failover,
    };
  } finally {
    await system.stop(settings.keep);
  }
}

/**
 * The targets at 32 sessions measured again, with Corral's and ZooKeeper's three-node systems up at
 * once: each gets its warm-up, then `settings.alternations` rounds in which each in turn runs writes
 * and then reads at 32 sessions (Corral first in odd rounds, ZooKeeper first in even ones). The
 * system not running is idle. So each round's ratio compares the two within a minute of each other.
 */
async function alternate(
  byId: Map<SystemId, SystemPlan>,
  binary: string,
  workDir: string,
  settings: Settings,
): Promise<Turn[]> {
  const ids = ["corral3", "zk3"] as const;
  const systems = new Map<(typeof ids)[number], System>();
  const turns: Turn[] = [];
  try {
    for (const id of ids) {
      const system = await byId.get(id)!.start(`${workDir}/${id}-alternation`);
      systems.set(id, system);
      await system.waitAllAnswer(60_000);
    }
    const servers = new Map<(typeof ids)[number], { server: string; pids: number[] }>();
    for (const [id, system] of systems) {
      const leader = system.nodes[await system.leader()];
      const server = `127.0.0.1:${leader.clientPort}`;
      servers.set(id, { server, pids: system.nodes.map((n) => n.pid) });
      log(`alternation: ${system.label}: warm-up, ${settings.systemWarmupS} s unmeasured`);
      await warmUp(binary, "zk", server, settings);
    }
    for (let round = 1; round <= settings.alternations; round++) {
      const order = round % 2 === 1 ? ids : [...ids].reverse();
      for (const id of order) {
        const { server, pids } = servers.get(id)!;
        const results = await benchProcess(binary, [
          ...benchArgs("zk", server),
          "--workload",
          "write,read",
          "--sessions",
          "32",
          "--warmup",
          String(settings.warmupS),
          "--duration",
          String(settings.windowS),
          "--pid",
          pids.join(","),
        ]);
        turns.push({ round, system: id, results });
        log(
          `alternation ${round}: ${systems.get(id)!.label}: ` +
            results.map((r) => `${r.workload} ${r.opsPerS.toFixed(0)} ops/s`).join(", "),
        );
      }
    }
  } catch (error) {
    failures.push(`alternated targets: ${(error as Error).message}`);
    log(`  alternation failed: ${(error as Error).message}`);
  } finally {
    for (const system of systems.values()) await system.stop(settings.keep);
  }
  return turns;
}

/** Per round of `turns`, Corral's figure over ZooKeeper's, or null when a turn is missing. */
function roundRatios(turns: Turn[], pick: (results: BenchResult[]) => number | undefined) {
  const rounds = [...new Set(turns.map((t) => t.round))].sort((a, b) => a - b);
  return rounds.map((round) => {
    const of = (id: Turn["system"]) => {
      const turn = turns.find((t) => t.round === round && t.system === id);
      return turn ? pick(turn.results) : undefined;
    };
    const c = of("corral3");
    const z = of("zk3");
    return { round, c, z, ratio: c !== undefined && z !== undefined && z !== 0 ? c / z : null };
  });
}

/** The run of workload `w` at 32 sessions among `results`, if any. */
const at32 = (results: BenchResult[], w: Workload) =>
  results.find((r) => r.workload === w && r.sessions === 32);
const pickOps = (w: Workload) => (results: BenchResult[]) => at32(results, w)?.opsPerS;
const pickP99 = (w: Workload) => (results: BenchResult[]) => at32(results, w)?.latencyMs.p99;
/** The machine's CPU share stolen by the hypervisor during the turn's `w` run (percent). */
const pickSteal = (w: Workload) => (results: BenchResult[]) =>
  at32(results, w)?.machine?.stealPercent;

// ---------------------------------------------------------------------------------------------
// The report

/** µs of CPU per answered operation of a process that used `percent` of a core (null: unknown). */
function usPerOp(percent: number | null, result: BenchResult): number | null {
  return percent === null || result.opsPerS <= 0 ? null : (percent / 100) * 1e6 / result.opsPerS;
}

/** µs of CPU per answered operation of each server (null where unreadable) in `result`. */
function cpuPerOp(result: BenchResult): (number | null)[] {
  return result.servers.map((s) => usPerOp(s.cpuPercent, result));
}

/**
 * The CPU each system's servers spent per write in the alternated rounds: at the same rate, the
 * cost per write says which system is cheaper, and on a machine both fill, that sets the rate.
 */
function alternationCpuTable(turns: Turn[]): string {
  let text =
    `\nServer CPU per write in those rounds, µs per node (in node order) and in all, with ` +
    `the load generator's:\n\n` +
    row(["round", "system", "writes/s", "µs per write, per node", "all nodes", "load generator"]) +
    row(["---", "---", "--:", "--:", "--:", "--:"]);
  for (const turn of turns) {
    const write = at32(turn.results, "write");
    if (!write) continue;
    const perNode = cpuPerOp(write);
    const known = perNode.filter((v): v is number => v !== null);
    text += row([
      String(turn.round),
      turn.system === "corral3" ? "Corral" : "ZooKeeper",
      num(write.opsPerS),
      perNode.map((v) => num(v)).join(" / "),
      known.length === perNode.length && known.length > 0
        ? num(known.reduce((a, b) => a + b, 0))
        : "–",
      num(usPerOp(write.clientCpuPercent, write)),
    ]);
  }
  return text;
}

/** The alternated rounds, one row each: both systems' writes and reads at 32 sessions. */
function alternationTable(turns: Turn[]): string {
  const ops = (w: Workload) => roundRatios(turns, pickOps(w));
  const p99 = (w: Workload) => roundRatios(turns, pickP99(w));
  const [writes, reads, writeP99, readP99] = [
    ops("write"),
    ops("read"),
    p99("write"),
    p99("read"),
  ];
  const [writeSteal, readSteal] = [
    roundRatios(turns, pickSteal("write")),
    roundRatios(turns, pickSteal("read")),
  ];
  const steal = (s: { c?: number; z?: number }) => `${num(s.c, 0)} / ${num(s.z, 0)}`;
  let text =
    `The targets at 32 sessions above, measured with both three-node systems up, in rounds ` +
    `that take turns (Corral first in odd rounds, ZooKeeper first in even ones). "Steal" is ` +
    `the share of the machine's CPU (both cores) that the hypervisor gave to other guests ` +
    `during the run, from /proc/stat: a round whose two figures differ compared two different ` +
    `machines in effect.\n\n` +
    row([
      "round",
      "Corral writes/s",
      "ZooKeeper writes/s",
      "ratio",
      "write p99 ms (C / Z)",
      "Corral reads/s",
      "ZooKeeper reads/s",
      "ratio",
      "read p99 ms (C / Z)",
      "steal %, writes (C / Z)",
      "steal %, reads (C / Z)",
    ]) +
    row(["---", "--:", "--:", "--:", "--:", "--:", "--:", "--:", "--:", "--:", "--:"]);
  writes.forEach((w, i) => {
    const r = reads[i];
    text += row([
      String(w.round),
      num(w.c),
      num(w.z),
      ratio(w.c, w.z),
      `${num(writeP99[i].c, 2)} / ${num(writeP99[i].z, 2)}`,
      num(r.c),
      num(r.z),
      ratio(r.c, r.z),
      `${num(readP99[i].c, 2)} / ${num(readP99[i].z, 2)}`,
      steal(writeSteal[i]),
      steal(readSteal[i]),
    ]);
  });
  return text;
}

function num(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function ratio(a: number | null | undefined, b: number | null | undefined): string {
  if (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return "–";
  return `${(a / b).toFixed(a / b >= 10 ? 0 : 2)}×`;
}

function cellOf(cells: Cell[], system: SystemId, protocol: BenchProtocol, w: Workload, n: number) {
  return cells.find((c) =>
    c.system === system && c.protocol === protocol && c.result.workload === w &&
    c.result.sessions === n
  )?.result;
}

function row(cells: string[]): string {
  return `| ${cells.join(" | ")} |\n`;
}

function throughputTable(
  cells: Cell[],
  corral: SystemId,
  zk: SystemId,
  extra: { id: SystemId; protocol: BenchProtocol; name: string }[],
): string {
  const sessions = [
    ...new Set(
      cells.filter((c) => c.system === corral && c.protocol === "zk")
        .map((c) => c.result.sessions),
    ),
  ].sort((a, b) => a - b);
  const heads = [
    "workload",
    "sessions",
    "ZooKeeper ops/s",
    "p99 ms",
    "Corral ops/s",
    "p99 ms",
    "**ops/s ratio**",
    "p99 ratio",
    ...extra.flatMap((e) => [`${e.name} ops/s`, "p99 ms"]),
  ];
  let text = row(heads) + row(heads.map((_, i) => i < 2 ? "---" : "--:"));
  for (const w of gridWorkloads) {
    for (const n of sessions) {
      const z = cellOf(cells, zk, "zk", w, n);
      const c = cellOf(cells, corral, "zk", w, n);
      if (!z && !c) continue;
      text += row([
        w,
        String(n),
        num(z?.opsPerS),
        num(z?.latencyMs.p99, 2),
        num(c?.opsPerS),
        num(c?.latencyMs.p99, 2),
        `**${ratio(c?.opsPerS, z?.opsPerS)}**`,
        ratio(c?.latencyMs.p99, z?.latencyMs.p99),
        ...extra.flatMap((e) => {
          const x = cellOf(cells, e.id, e.protocol, w, n);
          return [num(x?.opsPerS), num(x?.latencyMs.p99, 2)];
        }),
      ]);
    }
  }
  return text;
}

function stats(values: (number | null)[]): { median: number | null; text: string } {
  const ok = values.filter((v): v is number => v !== null);
  if (values.length === 0) return { median: null, text: "–" };
  const m = ok.length === values.length ? median(ok) : null;
  const each = values.map((v) => v === null ? "none in 60 s" : num(v)).join(", ");
  return { median: m, text: `${m === null ? "–" : num(m)} (${each})` };
}

function maxOf(values: number[]): number {
  return values.length === 0 ? NaN : Math.max(...values);
}

interface Target {
  what: string;
  goal: string;
  measured: string;
  met: boolean | null;
}

function targets(
  cells: Cell[],
  reports: Map<SystemId, SystemReport>,
  turns: Turn[],
): Target[] {
  const list: Target[] = [];
  const add = (
    what: string,
    goal: string,
    a: number | undefined,
    b: number | undefined,
    pass: (r: number) => boolean,
    unit = "",
  ) => {
    const r = a !== undefined && b !== undefined && b !== 0 ? a / b : null;
    list.push({
      what,
      goal,
      measured: r === null
        ? "not measured"
        : `${ratio(a, b)} (${num(a, unit === "ms" ? 2 : 0)} vs ${num(b, unit === "ms" ? 2 : 0)}${
          unit ? ` ${unit}` : ""
        })`,
      met: r === null ? null : pass(r),
    });
  };
  /**
   * A target at 32 sessions: judged on the median of the alternated rounds' ratios when there are
   * any, else on the one grid cell of each system.
   */
  const at32 = (
    what: string,
    goal: string,
    pick: (results: BenchResult[]) => number | undefined,
    pass: (r: number) => boolean,
    unit = "",
  ) => {
    const rounds = roundRatios(turns, pick).filter((r) => r.ratio !== null);
    if (rounds.length === 0) {
      const one = (id: SystemId) => {
        const cell = cells.filter((c) => c.system === id && c.protocol === "zk").map((c) =>
          c.result
        );
        return pick(cell);
      };
      add(what, goal, one("corral3"), one("zk3"), pass, unit);
      return;
    }
    const r = median(rounds.map((x) => x.ratio!))!;
    list.push({
      what,
      goal,
      measured: `${num(r, 2)}×, median of ${rounds.length} alternated ` +
        `round${rounds.length === 1 ? "" : "s"} (` +
        rounds.map((x) => `${num(x.ratio, 2)}×`).join(", ") + ")",
      met: pass(r),
    });
  };
  at32("3-node writes at 32 sessions, Corral/ZooKeeper", "≥ 2×", pickOps("write"), (r) => r >= 2);
  at32("3-node reads at 32 sessions, Corral/ZooKeeper", "≥ 1×", pickOps("read"), (r) => r >= 1);
  at32(
    "3-node write p99 at 32 sessions, Corral/ZooKeeper",
    "≤ 1×",
    pickP99("write"),
    (r) => r <= 1,
    "ms",
  );
  at32(
    "3-node read p99 at 32 sessions, Corral/ZooKeeper",
    "≤ 1×",
    pickP99("read"),
    (r) => r <= 1,
    "ms",
  );
  const cr = reports.get("corral3");
  const zr = reports.get("zk3");
  if (cr && zr) {
    add(
      "RSS per server after the load (largest node), Corral/ZooKeeper",
      "≤ 0.25×",
      maxOf(cr.loadedRssMiB),
      maxOf(zr.loadedRssMiB),
      (r) => r <= 0.25,
      "MiB",
    );
    add(
      `RSS per server ${settleMs / 1000} s after the load (largest node), Corral/ZooKeeper`,
      "≤ 0.25×",
      maxOf(cr.settledRssMiB),
      maxOf(zr.settledRssMiB),
      (r) => r <= 0.25,
      "MiB",
    );
    add(
      "3-node startup to the first answer, Corral/ZooKeeper",
      "≤ 0.1×",
      median(cr.startupMs),
      median(zr.startupMs),
      (r) => r <= 0.1,
      "ms",
    );
    const kill = stats(cr.failover.kill).median;
    const stop = stats(cr.failover.stop).median;
    list.push({
      what: "Corral failover after kill -9 of the leader (median)",
      goal: "< 500 ms",
      measured: kill === null ? "not measured" : `${num(kill)} ms`,
      met: kill === null ? null : kill < 500,
    });
    list.push({
      what: "Corral failover after SIGSTOP of the leader (median)",
      goal: "< 2,000 ms",
      measured: stop === null ? "not measured" : `${num(stop)} ms`,
      met: stop === null ? null : stop < 2_000,
    });
  }
  const c1 = reports.get("corral1");
  const z1 = reports.get("zk1");
  if (c1 && z1) {
    add(
      "standalone startup to the first answer, Corral/ZooKeeper",
      "≤ 0.1×",
      median(c1.startupMs),
      median(z1.startupMs),
      (r) => r <= 0.1,
      "ms",
    );
  }
  return list;
}

function report(
  cells: Cell[],
  reports: SystemReport[],
  turns: Turn[],
  settings: Settings,
  software: Record<string, string>,
  started: Date,
  minutes: number,
): string {
  const byId = new Map(reports.map((r) => [r.id, r]));
  const commit = startCommit;
  let text = `## Side by side with ZooKeeper and etcd: \`scripts/compare\`\n\n`;
  text +=
    `Written by \`scripts/compare${settings.quick ? " --quick" : ""}${
      settings.noFsync ? " --no-fsync" : ""
    }\` on ${started.toISOString().slice(0, 16).replace("T", " ")} UTC ` +
    `(commit ${commit}, ${num(minutes, 1)} minutes). Machine: ${machineFacts()}. Software: ` +
    Object.entries(software).map(([k, v]) => `${k} ${v}`).join(", ") + ".\n\n";
  text += `### Method\n\n` +
    (settings.noFsync
      ? `- **Without fsync**: Corral and ZooKeeper ran with forceSync=no, so their txn logs were ` +
        `written but never synced; this measures their CPU and network, not their durability.\n`
      : "") +
    `- One system at a time on 127.0.0.1, data on the real disk, ${
      settings.noFsync ? "forceSync=no" : "fsync on everywhere"
    }, default settings otherwise: ZooKeeper with tickTime 2000, initLimit 10, syncLimit 5, ${
      settings.noFsync ? "forceSync=no" : "forceSync=yes"
    } ` +
    `and zkServer.sh's heap (-Xmx1000m); Corral's compiled binary with tickTime 2000; etcd's ` +
    `defaults. ZooKeeper and Corral both get maxClientCnxns=0, since up to 128 sessions come ` +
    `from 127.0.0.1.\n` +
    `- The load generator is \`corral bench\`, a separate process. ZooKeeper and Corral get the ` +
    `same ZooKeeper-protocol client (the columns "ops/s" below); Corral also gets its own CBOR ` +
    `client; etcd gets its JSON gateway over HTTP/1.1 keep-alive.\n` +
    `- Closed loop: each session has its own connection and one request outstanding. Sessions ` +
    `all talk to the leader. Before its first grid, each system gets ` +
    `${settings.systemWarmupS} s of unmeasured load (write, read and mixed at 32 sessions, a ` +
    `third each), so that the grid measures servers whose hot paths are compiled, not their ` +
    `first seconds. Each cell has ${settings.warmupS} s of warm-up and then a measured ` +
    `window of ${settings.windowS} s. Only requests answered inside the window count.\n` +
    `- Workloads: write is a setData of 100 B on the session's own node; read is a getData of ` +
    `that node; mixed is 9 reads then 1 write; create is a persistent-sequential create under ` +
    `one parent; its cells end after ${settings.createOps} creates (0.2 s of warm-up), so every ` +
    `system ends the grid holding about as many znodes, and RSS is compared after the same ` +
    `load. etcd has no sequential keys, so its create puts a fresh key.\n` +
    `- Startup is the time from spawning every node to the first request any node answers (a ` +
    `getData of "/", or a range for etcd), as a median of ${settings.startups} starts. Until a ` +
    `node's port takes connections, it is tried every 2 ms; then a request goes out every 10 ms, ` +
    `each without waiting for the last (a server may take a connection before it can answer, ` +
    `and never answer it). RSS is ` +
    `VmRSS from /proc, idle (2 s after startup) and after the load: the first grid, the ` +
    `ZooKeeper-protocol one for ZooKeeper and Corral (Corral's CBOR grid runs after these ` +
    `readings, so both carry the same load). It is read twice: as the load generator exits, and ` +
    `again after ${settleMs / 1000} s without load, once the servers' collectors have run.\n` +
    `- Failover: open-loop write probes send a write to every server every 5 ms. The leader is ` +
    `killed (SIGKILL) or paused (SIGSTOP) at t0. The figure is t0 to the first acknowledgement ` +
    `of a write sent at or after t0, over the surviving servers' probes. The killed node is ` +
    `then restarted, or the paused one resumed, before the next round. ${settings.rounds} ` +
    `rounds of each.\n` +
    (settings.alternations > 0
      ? `- The targets at 32 sessions (writes, reads and their p99) are judged on a second ` +
        `measurement: Corral's and ZooKeeper's three-node systems are started anew and both ` +
        `kept up, each gets the same warm-up, and then in each of ${settings.alternations} ` +
        `rounds each in turn runs writes and then reads at 32 sessions (Corral first in odd ` +
        `rounds). The target is met when the median of the rounds' ratios is. This machine's ` +
        `speed drifts within minutes, so one grid each, minutes apart, can compare two ` +
        `different machines; within a round, the two run a minute apart at most.\n\n`
      : `\n`);
  text += `### Targets\n\n` + row(["target", "goal", "measured", "met"]) +
    row(["---", "---", "---", "---"]);
  for (const t of targets(cells, byId, turns)) {
    text += row([t.what, t.goal, t.measured, t.met === null ? "–" : t.met ? "yes" : "**no**"]);
  }
  if (turns.length > 0) text += `\n` + alternationTable(turns) + alternationCpuTable(turns);
  text += `\n### Three nodes, sessions on the leader\n\n`;
  text += throughputTable(cells, "corral3", "zk3", [
    { id: "corral3", protocol: "cbor", name: "Corral CBOR" },
    { id: "etcd3", protocol: "etcd", name: "etcd" },
  ]);
  text += `\n### Standalone\n\n`;
  text += throughputTable(cells, "corral1", "zk1", [
    { id: "corral1", protocol: "cbor", name: "Corral CBOR" },
  ]);
  text += `\n### Startup, memory and failover\n\n` +
    row([
      "system",
      "startup ms, median (each)",
      "idle RSS MiB per node",
      "RSS MiB after load per node",
      `RSS MiB ${settleMs / 1000} s later per node`,
      "kill -9 failover ms, median (each)",
      "SIGSTOP failover ms, median (each)",
    ]) +
    row(["---", "--:", "--:", "--:", "--:", "--:", "--:"]);
  for (const r of reports) {
    text += row([
      r.label,
      stats(r.startupMs).text,
      r.idleRssMiB.map((v) => num(v)).join(", "),
      r.loadedRssMiB.map((v) => num(v)).join(", "),
      r.settledRssMiB.map((v) => num(v)).join(", "),
      stats(r.failover.kill).text,
      stats(r.failover.stop).text,
    ]);
  }
  /** A table of every grid cell at 32 sessions, one row per system and protocol. */
  const perCell = (cellText: (cell: BenchResult) => string | null): string => {
    let table = row(["system", "protocol", ...gridWorkloads]) +
      row(["---", "---", ...gridWorkloads.map(() => "--:")]);
    for (const r of reports) {
      for (const protocol of ["zk", "cbor", "etcd"] as BenchProtocol[]) {
        const rowCells = gridWorkloads.map((w) => {
          const cell = cellOf(cells, r.id, protocol, w, 32);
          return cell ? cellText(cell) : null;
        });
        if (rowCells.every((c) => c === null)) continue;
        table += row([r.label, protocol, ...rowCells.map((c) => c ?? "–")]);
      }
    }
    return table;
  };
  text += `\n### Server CPU during the grid\n\n` +
    `Percent of one core per node, at 32 sessions (the leader is the node the sessions use).\n\n` +
    perCell((cell) => cell.servers.map((s) => num(s.cpuPercent)).join(" / "));
  text += `\n### Server CPU per operation\n\n` +
    `Microseconds of CPU per answered operation, per node, at 32 sessions: the table above ` +
    `divided by the cell's ops/s. Batching lowers it as the rate rises, so compare systems at ` +
    `similar rates.\n\n` +
    perCell((cell) => cell.opsPerS > 0 ? cpuPerOp(cell).map((v) => num(v)).join(" / ") : null);
  if (failures.length > 0) {
    text += `\n### Failures\n\n` + failures.map((f) => `- ${f}\n`).join("");
  }
  text += `\n### Caveats\n\n` +
    `- Two cores host the servers and the load generator together: a three-node system runs ` +
    `three server processes on them, so these figures measure CPU efficiency as much as ` +
    `protocol design. On separate machines the network adds latency and the CPU limit goes.\n` +
    `- One short window per cell; this machine's results swing between runs, by a factor of two ` +
    `or more from one hour to the next. ` +
    `Compare ratios from the same run, not figures across runs.\n` +
    `- The JVM warms up during the first cells; each cell has its own warm-up, but ZooKeeper's ` +
    `first cells may still be slower than a long-running server's.\n` +
    `- etcd is reached through its HTTP gateway, which costs more per request than its gRPC API; ` +
    `its figures are for orientation, not a judgement of etcd.\n`;
  return text;
}

/** The commit checked out when the run began (the binary is built from it, or was already). */
const startCommit = gitHead();

function gitHead(): string {
  try {
    const out = new Deno.Command("git", {
      args: ["-C", repoRoot, "rev-parse", "--short", "HEAD"],
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    return new TextDecoder().decode(out.stdout).trim() || "unknown";
  } catch {
    return "unknown";
  }
}

/** Replaces the text between the compare markers of docs/PERFORMANCE.md with `section`. */
function writeIntoPerformanceDoc(section: string): string {
  const path = `${repoRoot}docs/PERFORMANCE.md`;
  const begin = "<!-- compare:begin -->";
  const end = "<!-- compare:end -->";
  const doc = readFileSync(path, "utf8");
  const from = doc.indexOf(begin);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${path} has no ${begin} … ${end} markers`);
  writeFileSync(path, `${doc.slice(0, from + begin.length)}\n${section}${doc.slice(to)}`);
  // Tables as the repository's formatter lays them out, so `deno fmt --check` stays clean.
  new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", path] }).outputSync();
  return path;
}

async function main(): Promise<number> {
  const settings = settingsFrom();
  if (typeof settings === "number") return settings;
  const started = new Date();
  const t0 = performance.now();
  const watchdog = setTimeout(() => {
    log(`over --max-minutes ${settings.maxMinutes}: stopping everything`);
    stopAllSystems().finally(() => Deno.exit(1));
  }, settings.maxMinutes * 60_000);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      log(`${signal}: stopping everything`);
      stopAllSystems().finally(() => Deno.exit(130));
    });
  }
  await installMissing(log);
  const software = await versions();
  const binary = `${repoRoot}dist/corral`;
  const workDir = `${repoRoot}.tmp/compare`;
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  const cells: Cell[] = [];
  const reports: SystemReport[] = [];
  let turns: Turn[] = [];
  try {
    const all = plans(settings.quick, binary, { forceSync: !settings.noFsync });
    for (const plan of all) {
      if (!settings.systems.includes(plan.id)) continue;
      reports.push(await measureSystem(plan, binary, workDir, settings, cells));
    }
    if (
      settings.alternations > 0 && settings.systems.includes("corral3") &&
      settings.systems.includes("zk3")
    ) {
      log(`alternated targets: ${settings.alternations} rounds`);
      turns = await alternate(new Map(all.map((p) => [p.id, p])), binary, workDir, settings);
    }
  } finally {
    await stopAllSystems();
    clearTimeout(watchdog);
  }
  const minutes = (performance.now() - t0) / 60_000;
  const text = report(cells, reports, turns, settings, software, started, minutes);
  console.log(text);
  if (settings.json !== null) {
    writeFileSync(
      settings.json,
      JSON.stringify({ settings, software, reports, cells, turns }, null, 2),
    );
  }
  if (settings.write) log(`wrote ${writeIntoPerformanceDoc(text)}`);
  log(`done in ${num(minutes, 1)} minutes`);
  return 0;
}

if (import.meta.main) {
  let code = 1;
  try {
    code = await main();
  } catch (error) {
    log(`failed: ${error instanceof Error ? error.stack : String(error)}`);
    await stopAllSystems();
  }
  Deno.exit(code);
}
