/**
 * `corral bench`: loads a server (Corral through either protocol, Apache ZooKeeper, or etcd 3.4)
 * with the workloads of `src/bench/` and prints one line per run. The library under it is what
 * `scripts/compare` uses too.
 * @module
 */
import { parseArgs, UsageError } from "./args.ts";
import { benchFlags } from "./flag_specs.ts";
import { benchHelp } from "./help.ts";
import type { CliIo } from "./io.ts";
import { exitCodes } from "./oneshot.ts";
import { type BenchResult, runBench, type Workload, workloads } from "../bench/run.ts";
import { type BenchProtocol, benchTarget, parseAddresses } from "../bench/targets.ts";
import { defaultAdapter } from "../net/mod.ts";

/** Longest measured window one run may ask for, seconds. */
const durationSMax = 600;

/** What the flags ask for. */
interface BenchPlan {
  protocol: BenchProtocol;
  servers: string;
  workloads: Workload[];
  sessions: number[];
  depth: number;
  rate: number;
  warmupMs: number;
  durationMs: number;
  maxOps: number;
  valueBytes: number;
  pids: number[];
  json: boolean;
}

function listOf(text: string, name: string): string[] {
  const items = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (items.length === 0) throw new UsageError(`--${name} needs at least one value`);
  return items;
}

function positiveIntegers(text: string, name: string, max: number): number[] {
  return listOf(text, name).map((item) => {
    const value = Number(item);
    if (!/^\d+$/.test(item) || value < 1 || value > max) {
      throw new UsageError(`--${name}: "${item}" is not a whole number from 1 to ${max}`);
    }
    return value;
  });
}

function seconds(
  text: string | undefined,
  fallback: number,
  name: string,
  range: { zeroAllowed: boolean; max: number },
): number {
  if (text === undefined) return fallback * 1000;
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || value > range.max || (value === 0 && !range.zeroAllowed)) {
    const from = range.zeroAllowed ? "from 0" : "above 0";
    throw new UsageError(`--${name}: "${text}" is not a number of seconds ${from} to ${range.max}`);
  }
  return value * 1000;
}

function integerIn(value: number | undefined, fallback: number, name: string, min: number) {
  if (value === undefined) return fallback;
  if (value < min) throw new UsageError(`--${name} must be at least ${min}`);
  return value;
}

/** Largest --value-bytes: far above any server's limit (ZooKeeper's and Corral's are 1 MiB). */
const valueBytesMax = 64 * 1024 * 1024;

function valueBytesOf(value: number | undefined): number {
  const bytes = integerIn(value, 100, "value-bytes", 0);
  if (bytes > valueBytesMax) throw new UsageError(`--value-bytes must be at most ${valueBytesMax}`);
  return bytes;
}

function planOf(argv: readonly string[]): BenchPlan | "help" {
  const args = parseArgs(argv, benchFlags);
  if (args.bool("help")) return "help";
  if (args.positionals.length > 0) {
    throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
  }
  const protocol = args.str("protocol") ?? "zk";
  if (protocol !== "zk" && protocol !== "cbor" && protocol !== "etcd") {
    throw new UsageError(`--protocol must be zk, cbor or etcd, not "${protocol}"`);
  }
  const chosen = listOf(args.str("workload") ?? "write", "workload");
  for (const w of chosen) {
    if (!(workloads as readonly string[]).includes(w)) {
      throw new UsageError(`--workload: "${w}" is not one of ${workloads.join(", ")}`);
    }
  }
  const servers = args.str("server") ?? "127.0.0.1:2181";
  try {
    parseAddresses(servers);
  } catch (error) {
    throw new UsageError(`--server: ${(error as Error).message}`);
  }
  return {
    protocol,
    servers,
    workloads: chosen as Workload[],
    sessions: positiveIntegers(args.str("sessions") ?? "1,8,32,128", "sessions", 10_000),
    depth: integerIn(args.int("depth"), 1, "depth", 1),
    rate: integerIn(args.int("rate"), 0, "rate", 1),
    warmupMs: seconds(args.str("warmup"), 2, "warmup", { zeroAllowed: true, max: durationSMax }),
    durationMs: seconds(args.str("duration"), 10, "duration", {
      zeroAllowed: false,
      max: durationSMax,
    }),
    maxOps: integerIn(args.int("max-ops"), 5_000_000, "max-ops", 1),
    valueBytes: valueBytesOf(args.int("value-bytes")),
    pids: args.str("pid") === undefined ? [] : positiveIntegers(args.str("pid")!, "pid", 2 ** 22),
    json: args.bool("json"),
  };
}

const header =
  "workload  sessions  ops/s      p50 ms   p90 ms   p99 ms   p999 ms  errors  server CPU %  " +
  "server RSS MiB  steal %\n";

/** One table row of a run. */
export function benchRow(result: BenchResult): string {
  const ms = (value: number) => value.toFixed(value < 10 ? 2 : 1).padEnd(9);
  const cpu = result.servers.map((s) => s.cpuPercent === null ? "-" : s.cpuPercent.toFixed(0));
  const rss = result.servers.map((s) =>
    s.rssBytes === null ? "-" : (s.rssBytes / 2 ** 20).toFixed(0)
  );
  // The share of the machine's CPU the hypervisor gave to others in the window: on a shared host,
  // the reason two runs a minute apart differ.
  const steal = result.machine === null ? "-" : result.machine.stealPercent.toFixed(0);
  return `${result.workload.padEnd(10)}${String(result.sessions).padEnd(10)}` +
    `${Math.round(result.opsPerS).toString().padEnd(11)}${ms(result.latencyMs.p50)}` +
    `${ms(result.latencyMs.p90)}${ms(result.latencyMs.p99)}${ms(result.latencyMs.p999)}` +
    `${String(result.errors).padEnd(8)}${(cpu.join(",") || "-").padEnd(14)}${
      (rss.join(",") || "-").padEnd(16)
    }${steal}\n`;
}

/**
 * Runs `corral bench` with `argv` (the words after `bench`); returns the exit code: 0 when every
 * run completed, 1 when a run failed (no server, an error during setup), 2 on a usage error.
 *
 * @example
 * ```ts ignore
 * import { runBenchCommand } from "./bench.ts";
 * import { processIo } from "./io.ts";
 * await runBenchCommand(["--workload", "read", "--sessions", "8"], processIo());
 * ```
 */
export async function runBenchCommand(argv: readonly string[], io: CliIo): Promise<number> {
  let plan: BenchPlan | "help";
  try {
    plan = planOf(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`corral bench: ${error.message}\nRun "corral bench --help" for usage.\n`);
    return exitCodes.usage;
  }
  if (plan === "help") {
    io.stdout(benchHelp());
    return exitCodes.ok;
  }
  const target = benchTarget({
    protocol: plan.protocol,
    servers: parseAddresses(plan.servers),
    valueBytes: plan.valueBytes,
    adapter: await defaultAdapter(),
  });
  if (!plan.json) io.stdout(header);
  for (const workload of plan.workloads) {
    for (const sessions of plan.sessions) {
      try {
        const result = await runBench({
          target,
          workload,
          sessions,
          depth: plan.depth,
          rate: plan.rate || undefined,
          warmupMs: plan.warmupMs,
          durationMs: plan.durationMs,
          maxOps: plan.maxOps,
          pids: plan.pids,
        });
        io.stdout(plan.json ? `${JSON.stringify(result)}\n` : benchRow(result));
      } catch (error) {
        io.stderr(
          `corral bench: ${workload} with ${sessions} sessions failed: ${
            error instanceof Error ? error.message : String(error)
          }\n`,
        );
        return exitCodes.failed;
      }
    }
  }
  return exitCodes.ok;
}
