/**
 * Where a Corral member's memory is after compare's load (issue 7: the RSS targets). Starts a
 * three-node system from source under Bun, each member with scripts/_heap_census.ts preloaded,
 * gives it scripts/compare's warm-up and ZooKeeper-protocol grid (the same `corral bench` command
 * lines), and reads every member as the load ends and again 5 s later: VmRSS split into the
 * binary's file pages and anonymous memory (/proc/PID/smaps_rollup), and JavaScriptCore's heap
 * (blocks, live cells, memory outside the heap). Last, the leader's live heap by cell class, from a
 * heap snapshot. Prints markdown tables; `--json FILE` writes the raw figures.
 *
 * A member run from source holds a few MiB more code than the compiled binary (source text and
 * its parse), so compare's figures for dist/corral are the ones the targets are judged on; this
 * says where they come from. Loopback only; everything started is stopped on every exit path, and
 * a watchdog ends the run after `--max-minutes` (exit 1).
 *
 * Usage: `profile_memory.ts [--max-minutes M] [--json FILE]`
 * @module
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { repoRoot } from "./bench_durability.ts";
import { gridArgs, gridDefaults, gridSessions, warmUpArgs } from "./_grid.ts";
import { integerFlag, parseScriptFlags } from "./_sweep.ts";
import { startCorral, stopAllSystems, type System } from "./_systems.ts";

const usage = "usage: scripts/profile_memory [--max-minutes M (5)] [--json FILE]";
const mib = (bytes: number) => bytes / 2 ** 20;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One member at one moment. */
interface Reading {
  node: number;
  leader: boolean;
  rssMiB: number;
  filePagesMiB: number;
  anonymousMiB: number;
  heap: { capacityMiB: number; liveMiB: number; extraMiB: number; objects: number } | null;
}

/** VmRSS and its anonymous part, bytes, from smaps_rollup; file pages are the rest. */
function residentOf(pid: number): { rss: number; anonymous: number } {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)![1]);
  return { rss: field("Rss") * 1024, anonymous: field("Anonymous") * 1024 };
}

/**
 * The census of `kind` that member `pid` writes when signalled, consumed (so the next one is
 * new); null when none comes within `ms`.
 */
async function censusOf(dir: string, pid: number, kind: string, ms: number): Promise<unknown> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    const name = readdirSync(dir).find((n) =>
      n.startsWith(`${pid}-`) && n.endsWith(`-${kind}.json`)
    );
    if (name !== undefined) {
      const path = join(dir, name);
      const body = JSON.parse(readFileSync(path, "utf8"));
      rmSync(path);
      return body;
    }
    await sleep(50);
  }
  return null;
}

async function readAll(system: System, leader: number, censusDir: string): Promise<Reading[]> {
  const readings: Reading[] = [];
  // RSS first, for every member, before any census allocates.
  const resident = system.nodes.map((n) => residentOf(n.pid));
  for (const n of system.nodes) Deno.kill(n.pid, "SIGUSR2");
  for (const [i, n] of system.nodes.entries()) {
    const heap = await censusOf(censusDir, n.pid, "heap", 5_000) as {
      capacityBytes: number;
      liveBytes: number;
      extraBytes: number;
      objects: number;
    } | null;
    readings.push({
      node: n.index,
      leader: i === leader,
      rssMiB: mib(resident[i].rss),
      filePagesMiB: mib(resident[i].rss - resident[i].anonymous),
      anonymousMiB: mib(resident[i].anonymous),
      heap: heap === null ? null : {
        capacityMiB: mib(heap.capacityBytes),
        liveMiB: mib(heap.liveBytes),
        extraMiB: mib(heap.extraBytes),
        objects: heap.objects,
      },
    });
  }
  return readings;
}

/** Runs `corral bench` from source with `args`; returns its result lines. */
function bench(bun: string, server: string, args: string[]): Record<string, unknown>[] {
  const run = spawnSync(
    bun,
    [
      join(repoRoot, "src/cli/main.ts"),
      "bench",
      "--json",
      "--protocol",
      "zk",
      "--server",
      server,
      ...args,
    ],
    { encoding: "utf8", timeout: 120_000 },
  );
  if (run.status !== 0) throw new Error(`bench ${args.join(" ")} failed: ${run.stderr}`);
  return run.stdout.trim().split("\n").map((line) => JSON.parse(line));
}

function table(moments: [string, Reading[]][]): string {
  const rows = [
    "| moment | member | RSS MiB | binary's file pages | anonymous | heap blocks | live cells | outside the heap | objects |",
    "| --- | --- | --: | --: | --: | --: | --: | --: | --: |",
  ];
  const f = (n: number | undefined) => n === undefined ? "–" : n.toFixed(1);
  for (const [moment, readings] of moments) {
    for (const r of readings) {
      rows.push(
        `| ${moment} | n${r.node}${r.leader ? " (leader)" : ""} | ${f(r.rssMiB)} | ` +
          `${f(r.filePagesMiB)} | ${f(r.anonymousMiB)} | ${f(r.heap?.capacityMiB)} | ` +
          `${f(r.heap?.liveMiB)} | ${f(r.heap?.extraMiB)} | ${r.heap?.objects ?? "–"} |`,
      );
    }
  }
  return rows.join("\n");
}

async function main(): Promise<number> {
  const values = parseScriptFlags("profile_memory", usage, {
    "max-minutes": { type: "string" },
    json: { type: "string" },
  });
  if (typeof values === "number") return values;
  const maxMinutes = integerFlag(
    "profile_memory",
    usage,
    values["max-minutes"] as string | undefined,
    5,
    "max-minutes",
    1,
  );
  const bun = process.env.BUN;
  if (bun === undefined) {
    console.error("profile_memory: run it through scripts/profile_memory, which sets $BUN");
    return 2;
  }
  const workDir = join(repoRoot, ".tmp/profile_memory");
  rmSync(workDir, { recursive: true, force: true });
  const censusDir = join(workDir, "census");
  mkdirSync(censusDir, { recursive: true });
  // The members are this wrapper: Corral from source under Bun, with the census preloaded.
  const member = join(workDir, "corral-with-census");
  writeFileSync(
    member,
    `#!/usr/bin/env bash\nexec "${bun}" --preload "${join(repoRoot, "scripts/_heap_census.ts")}" ` +
      `"${join(repoRoot, "src/cli/main.ts")}" "$@"\n`,
  );
  chmodSync(member, 0o755);
  process.env.CORRAL_CENSUS_DIR = censusDir;
  const watchdog = setTimeout(() => {
    console.error(`profile_memory: over ${maxMinutes} minutes, stopping`);
    stopAllSystems().finally(() => Deno.exit(1));
  }, maxMinutes * 60_000);
  try {
    const system = await startCorral(join(workDir, "system"), 3, member);
    await system.waitAllAnswer(60_000);
    await sleep(2_000);
    const leader = await system.leader();
    const server = `127.0.0.1:${system.nodes[leader].clientPort}`;
    const idle = await readAll(system, leader, censusDir);
    console.error("profile_memory: warm-up (9 s), then the grid (about 1 minute)");
    bench(bun, server, warmUpArgs(gridDefaults.systemWarmupS));
    const [timed, creates] = gridArgs(gridSessions, gridDefaults);
    const results = [...bench(bun, server, timed), ...bench(bun, server, creates)];
    const ended = await readAll(system, leader, censusDir);
    await sleep(5_000);
    const settled = await readAll(system, leader, censusDir);
    Deno.kill(system.nodes[leader].pid, "SIGUSR1");
    const classes = await censusOf(censusDir, system.nodes[leader].pid, "classes", 30_000) as
      | [string, { cells: number; bytes: number }][]
      | null;
    const moments: [string, Reading[]][] = [
      ["idle", idle],
      ["load ends", ended],
      ["5 s later", settled],
    ];
    const writes = results.find((r) => r.workload === "write" && r.sessions === 32);
    console.log(`## Memory of a three-node Corral (from source) after compare's load\n`);
    console.log(
      `Writes at 32 sessions in the grid: ${Math.round(Number(writes?.opsPerS ?? 0))}/s.\n`,
    );
    console.log(table(moments));
    if (classes !== null) {
      console.log(
        `\nThe leader's live heap by cell class, 5 s after the load (a heap snapshot):\n`,
      );
      console.log("| class | cells | MiB |\n| --- | --: | --: |");
      for (const [name, { cells, bytes }] of classes) {
        console.log(`| ${name} | ${cells} | ${mib(bytes).toFixed(2)} |`);
      }
    }
    if (values.json) {
      writeFileSync(values.json as string, JSON.stringify({ moments, classes, results }, null, 2));
    }
    await system.stop();
    return 0;
  } finally {
    clearTimeout(watchdog);
    await stopAllSystems();
  }
}

Deno.exit(await main());
