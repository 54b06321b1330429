/**
 * Restart benchmark of the compiled `corral` binary on a data directory of 1,000,000 znodes: how
 * long until it listens and answers, how much memory it holds after recovery, how large the
 * snapshot is, how long saving a snapshot of that tree takes and how long its synchronous
 * capture blocks serving. Run it through `scripts/bench_restart`, which builds the binary.
 *
 * The directory is what a real server writes, because a real server writes it: an in-process
 * `startServer` (the same code the binary runs) takes the znodes as client `multi`s of 100
 * creates each, snapshots, then takes `--tail-txns` single `setData`s that stay in the txn log,
 * so a restart loads the snapshot AND replays a log tail (half the default snapCount by default).
 *
 * Phases, each bounded in time (the whole script stays under 10 minutes):
 * 1. build the directory (reused by later invocations unless `--rebuild`);
 * 2. restart `dist/corral serve` on it `--runs` times: time to the "listening" line, to the first
 *    answered request (connect + exists), VmRSS and VmHWM, the "recovered" log line;
 * 3. on a copy of the directory, let the binary take `--runs` snapshots (`--snap-count`) while a
 *    probe client reads in a loop: "captureMs" of each "snapshot started" line, the time to
 *    "snapshot saved", and the probe's worst latency during the snapshot;
 * 4. in this process, time the parts of recovery (read, decode, rebuild the tree, replay).
 *
 * Usage: scripts/bench_restart [--znodes 1000000] [--data-bytes 100] [--tail-txns 50000]
 *        [--runs 3] [--snap-count 10000] [--rebuild]
 * @module
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { readFile } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { type Client, connect, op } from "../src/client/mod.ts";
import { Replica } from "../src/replica/replica.ts";
import { startServer } from "../src/server/server.ts";
import { decodeSnapshot, FileStore, listFiles } from "../src/storage/file_store.ts";
import {
  copyBinary,
  fmt,
  median,
  repoRoot,
  sleep,
  started,
  startServe,
  stopAll,
  within,
} from "./bench_durability.ts";

/** The whole script must end within this. */
const scriptMsMax = 10 * 60_000;
/** Longest the build phase may take. */
const buildMsMax = 6 * 60_000;
/** Parents under /r; leaves are spread over them so no child set is huge. */
const parentCount = 1000;
/** Creates per multi in the build. */
const createsPerMulti = 100;
/** Multis (or setDatas) in flight per build session. */
const inFlightPerSession = 16;
/** Sessions used by the build. */
const buildSessions = 4;

const scriptStartMs = performance.now();

/** Milliseconds left before the script deadline (less a margin for cleanup). */
function msLeft(): number {
  return scriptMsMax - 20_000 - (performance.now() - scriptStartMs);
}

function log(text: string): void {
  console.error(`[${((performance.now() - scriptStartMs) / 1000).toFixed(1)} s] ${text}`);
}

// ---- phase 1: build ------------------------------------------------------------------------

interface BuildSpec {
  znodes: number;
  dataBytes: number;
  tailTxns: number;
}

function leafPath(i: number): string {
  return `/r/p${i % parentCount}/n${i}`;
}

/** Runs `work(i)` for i in [0, count) with `limit` in flight; stops at the deadline. */
async function pipelined(
  count: number,
  limit: number,
  deadlineMs: number,
  work: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) {
      if (performance.now() > deadlineMs) throw new Error("the build ran out of time");
      await work(next++);
    }
  };
  await Promise.all(Array.from({ length: limit }, lane));
}

/** Writes the data directory through an in-process server; returns what it took. */
async function build(dataDir: string, spec: BuildSpec): Promise<Record<string, unknown>> {
  rmSync(dataDir, { recursive: true, force: true });
  const deadlineMs = performance.now() + Math.min(buildMsMax, msLeft() - 120_000);
  // No automatic snapshot during the build: one is taken explicitly once the tree is whole.
  const server = await startServer({ port: 0, hostname: "127.0.0.1", dataDir, snapCount: 2 ** 40 });
  const clients: Client[] = [];
  try {
    for (let i = 0; i < buildSessions; i++) {
      clients.push(await connect(`127.0.0.1:${server.port}`, { sessionTimeoutMs: 40_000 }));
    }
    const data = new Uint8Array(spec.dataBytes).fill(0x63);
    const leaves = spec.znodes - parentCount - 4; // /, /zookeeper, /zookeeper/quota and /r
    if (leaves < 0) throw new RangeError(`--znodes must be at least ${parentCount + 4}`);
    const started = performance.now();
    await clients[0].create("/r", "");
    await pipelined(
      parentCount / createsPerMulti,
      inFlightPerSession,
      deadlineMs,
      (m) =>
        clients[m % buildSessions].multi(
          Array.from(
            { length: createsPerMulti },
            (_, k) => op.create(`/r/p${m * createsPerMulti + k}`, ""),
          ),
        ),
    );
    const multis = Math.ceil(leaves / createsPerMulti);
    let done = 0;
    await pipelined(multis, buildSessions * inFlightPerSession, deadlineMs, async (m) => {
      const ops = [];
      for (let i = m * createsPerMulti; i < Math.min(leaves, (m + 1) * createsPerMulti); i++) {
        ops.push(op.create(leafPath(i), data));
      }
      await clients[m % buildSessions].multi(ops);
      if (++done % 1000 === 0) log(`build: ${done * createsPerMulti} znodes created`);
    });
    const createS = (performance.now() - started) / 1000;
    const nodes = server.replica.tree.nodeCount;
    if (nodes !== spec.znodes) {
      throw new Error(`the build made ${nodes} znodes, not ${spec.znodes}`);
    }
    const snapStarted = performance.now();
    const info = await server.snapshot();
    const snapshotS = (performance.now() - snapStarted) / 1000;
    log(
      `build: ${nodes} znodes in ${createS.toFixed(1)} s; snapshot ${info?.bytes} B in ${
        snapshotS.toFixed(1)
      } s`,
    );
    const tailStarted = performance.now();
    await pipelined(
      spec.tailTxns,
      buildSessions * inFlightPerSession,
      deadlineMs,
      (i) => clients[i % buildSessions].setData(leafPath((i * 7919) % leaves), data),
    );
    const tailS = (performance.now() - tailStarted) / 1000;
    log(`build: ${spec.tailTxns} tail txns in ${tailS.toFixed(1)} s`);
    return {
      ...spec,
      createS,
      inProcessSnapshotS: snapshotS,
      tailS,
      builtAt: new Date().toISOString(),
    };
  } finally {
    await within(Promise.all(clients.map((c) => c.close())), 20_000, "closing build sessions")
      .catch(
        (e) => log(String(e)),
      );
    await server.close();
  }
}

// ---- phase 2: restarts ---------------------------------------------------------------------

interface RestartResult {
  listeningMs: number;
  firstReplyMs: number;
  recoveredMs: number;
  nodes: number;
  replayed: number;
  rssMiB: number;
  hwmMiB: number;
}

function statusKiB(pid: number, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(
    readFileSync(`/proc/${pid}/status`, "utf8"),
  );
  return match ? Number(match[1]) : NaN;
}

async function restartOnce(binary: string, dataDir: string): Promise<RestartResult> {
  const { server, port } = await startServe(binary, dataDir, {
    extraArgs: ["--snap-count", "100000"],
  });
  try {
    const listening = server.entries.find((e) => e.msg === "listening")!;
    const recovered = server.entries.find((e) => e.msg === "recovered")!;
    const client = await within(
      connect(`127.0.0.1:${port}`, { sessionTimeoutMs: 20_000 }),
      60_000,
      "connect",
    );
    const stat = await within(client.exists("/r"), 60_000, "the first request");
    const firstReplyMs = performance.now() - server.spawnedMs;
    if (stat === null) throw new Error("/r is missing after restart");
    const result = {
      listeningMs: listening.seenMs - server.spawnedMs,
      firstReplyMs,
      recoveredMs: Number(recovered.fields.ms),
      nodes: Number(recovered.fields.nodes),
      replayed: Number(recovered.fields.replayed),
      rssMiB: statusKiB(server.pid, "VmRSS") / 1024,
      hwmMiB: statusKiB(server.pid, "VmHWM") / 1024,
    };
    await within(client.close(), 10_000, "closing the session").catch(() => {});
    return result;
  } finally {
    await server.stop();
    started.delete(server);
  }
}

// ---- phase 3: snapshots under the binary ---------------------------------------------------

interface SnapshotResult {
  captureMs: number;
  saveMs: number;
  bytes: number;
  probeMaxMs: number;
  probeP50Ms: number;
}

/** Reads /r in a loop until stopped; keeps (end time, latency) of each read. */
function startProbe(
  client: Client,
): { samples: Array<[number, number]>; stop: () => Promise<void> } {
  const samples: Array<[number, number]> = [];
  let running = true;
  const loop = (async () => {
    while (running && samples.length < 5_000_000) {
      const start = performance.now();
      await client.exists("/r");
      const end = performance.now();
      samples.push([end, end - start]);
    }
  })();
  return {
    samples,
    stop: async () => {
      running = false;
      await within(loop, 30_000, "the probe loop");
    },
  };
}

async function snapshots(
  binary: string,
  dataDir: string,
  runs: number,
  snapCount: number,
  dataBytes: number,
): Promise<SnapshotResult[]> {
  const { server, port } = await startServe(binary, dataDir, {
    extraArgs: ["--snap-count", String(snapCount)],
  });
  const results: SnapshotResult[] = [];
  try {
    const probeClient = await connect(`127.0.0.1:${port}`, { sessionTimeoutMs: 20_000 });
    const writer = await connect(`127.0.0.1:${port}`, { sessionTimeoutMs: 20_000 });
    const probe = startProbe(probeClient);
    const data = new Uint8Array(dataBytes).fill(0x64);
    // The log tail (more than snapCount txns) triggers a first snapshot on the first durable txn
    // (the probe's own session), before the probe runs, so that one is not counted. Each later
    // one is triggered by snapCount more writes while the probe reads.
    for (let r = 0; r <= runs && msLeft() > 60_000; r++) {
      const from = r === 0 ? 0 : server.entries.length;
      if (r > 0) {
        await within(
          pipelined(
            snapCount + 10,
            inFlightPerSession,
            performance.now() + 120_000,
            (i) => writer.setData(leafPath(i * 13), data),
          ),
          150_000,
          "the writes that trigger a snapshot",
        );
      }
      const begun = await server.waitForLog("snapshot started", 60_000, from);
      const saved = await server.waitForLog("snapshot saved", Math.min(300_000, msLeft()), from);
      await sleep(200); // let the probe see the tail of the snapshot
      if (r === 0) {
        log(`snapshot 0 (warm-up, not counted): captureMs ${begun.fields.captureMs}`);
        continue;
      }
      const startMs = begun.seenMs - Number(begun.fields.captureMs);
      const during = probe.samples.filter(([end, ms]) =>
        end - ms <= saved.seenMs && end >= startMs
      );
      results.push({
        captureMs: Number(begun.fields.captureMs),
        saveMs: Date.parse(String(saved.fields.ts)) - Date.parse(String(begun.fields.ts)),
        bytes: Number(saved.fields.bytes),
        probeMaxMs: Math.max(...during.map(([, ms]) => ms)),
        probeP50Ms: median(during.map(([, ms]) => ms)),
      });
      log(`snapshot ${r}: ${JSON.stringify(results.at(-1))}`);
    }
    await probe.stop();
    await within(Promise.all([probeClient.close(), writer.close()]), 10_000, "closing").catch(
      () => {},
    );
  } finally {
    await server.stop();
    started.delete(server);
  }
  return results;
}

// ---- phase 4: where recovery time goes -----------------------------------------------------

async function recoveryBreakdown(dataDir: string): Promise<Record<string, number>> {
  const newest = (await listFiles(dataDir, "snapshot")).at(-1)!;
  const timed = async <T>(work: () => T | Promise<T>): Promise<[T, number]> => {
    const t = performance.now();
    const value = await work();
    return [value, performance.now() - t];
  };
  // In a function of its own, so the bytes and the image are garbage before the next step and
  // the heap holds one image at a time, as in the server.
  const [readMs, decodeMs] = await (async () => {
    const [bytes, readMs] = await timed(async () =>
      new Uint8Array(await readFile(join(dataDir, newest.name)))
    );
    const [decoded, decodeMs] = await timed(() => decodeSnapshot(bytes));
    if (!("image" in decoded)) throw new Error(`the snapshot does not decode: ${decoded.problem}`);
    return [readMs, decodeMs];
  })();
  const store = await FileStore.open({ dataDir });
  const [recovered, storeRecoverMs] = await timed(() => store.recover());
  await store.close();
  const replica = new Replica({ serverId: 1, tickMs: 2000, sessionIdBase: 2 ** 45 });
  const [, treeMs] = await timed(() => replica.restore(recovered.snapshot, []));
  const [, replayMs] = await timed(() => {
    for (const record of recovered.records) replica.tree.apply(record);
  });
  recovered.snapshot = null;
  const heapMiB = heapUsedAfterGcMiB();
  const [, pathsMs] = await timed(() => {
    let count = 0;
    for (const _ of replica.tree.paths()) count++;
    return count;
  });
  const [, captureMs] = await timed(() => replica.captureImage());
  return {
    snapshotReadMs: readMs,
    snapshotDecodeMs: decodeMs,
    storeRecoverMs,
    buildTreeMs: treeMs,
    replayMs,
    replayedTxns: recovered.records.length,
    pathsMs,
    captureMs,
    heapMiB,
    znodes: replica.tree.nodeCount,
  };
}

/** JS heap in use after a full collection (when the runtime offers one), in MiB. */
function heapUsedAfterGcMiB(): number {
  const runtime = globalThis as { Bun?: { gc(force: boolean): void }; gc?: () => void };
  if (runtime.Bun) runtime.Bun.gc(true);
  else runtime.gc?.();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

// ---- the command ---------------------------------------------------------------------------

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

function settingsFrom(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      znodes: { type: "string", default: "1000000" },
      "data-bytes": { type: "string", default: "100" },
      "tail-txns": { type: "string", default: "50000" },
      runs: { type: "string", default: "3" },
      "snap-count": { type: "string", default: "10000" },
      rebuild: { type: "boolean", default: false },
    },
  });
  const settings = {
    znodes: Number(values.znodes),
    dataBytes: Number(values["data-bytes"]),
    tailTxns: Number(values["tail-txns"]),
    runs: Number(values.runs),
    snapCount: Number(values["snap-count"]),
    rebuild: values.rebuild,
  };
  if (!(settings.znodes >= 2000 && settings.znodes <= 5_000_000)) {
    throw new RangeError("--znodes is in [2000, 5000000]");
  }
  if (!(settings.dataBytes >= 0 && settings.dataBytes <= 4096)) {
    throw new RangeError("--data-bytes is in [0, 4096]");
  }
  if (!(settings.tailTxns >= 0 && settings.tailTxns <= 1_000_000)) {
    throw new RangeError("--tail-txns is in [0, 1000000]");
  }
  if (!(settings.runs >= 1 && settings.runs <= 10)) throw new RangeError("--runs is in [1, 10]");
  if (!(settings.snapCount >= 1 && settings.snapCount < settings.tailTxns)) {
    throw new RangeError(
      "--snap-count is at least 1 and below --tail-txns (the tail triggers the first snapshot)",
    );
  }
  return settings;
}

async function main(): Promise<void> {
  const settings = settingsFrom(process.argv.slice(2));
  const workDir = join(repoRoot, ".tmp", "bench_restart");
  mkdirSync(workDir, { recursive: true });
  const binary = copyBinary(workDir);
  const spec: BuildSpec = {
    znodes: settings.znodes,
    dataBytes: settings.dataBytes,
    tailTxns: settings.tailTxns,
  };
  const dataDir = join(workDir, `data-${spec.znodes}`);
  const markerPath = `${dataDir}.json`;
  let marker = existsSync(markerPath) ? JSON.parse(readFileSync(markerPath, "utf8")) : null;
  if (
    settings.rebuild || marker === null || marker.znodes !== spec.znodes ||
    marker.dataBytes !== spec.dataBytes || marker.tailTxns !== spec.tailTxns
  ) {
    rmSync(markerPath, { force: true });
    log(`building ${dataDir}`);
    marker = await build(dataDir, spec);
    writeFileSync(markerPath, JSON.stringify(marker, null, 2));
  } else {
    log(`reusing ${dataDir} (built ${marker.builtAt}; --rebuild to redo)`);
  }
  const snapshotFile = (await listFiles(dataDir, "snapshot")).at(-1)!;
  const snapshotBytes = statSync(join(dataDir, snapshotFile.name)).size;

  const restarts: RestartResult[] = [];
  for (let r = 0; r < settings.runs && msLeft() > 90_000; r++) {
    restarts.push(await restartOnce(binary, dataDir));
    log(`restart ${r + 1}: ${JSON.stringify(restarts.at(-1))}`);
  }

  const copyDir = join(workDir, "snapshot-copy");
  rmSync(copyDir, { recursive: true, force: true });
  cpSync(dataDir, copyDir, { recursive: true });
  let snaps: SnapshotResult[] = [];
  try {
    snaps = await snapshots(binary, copyDir, settings.runs, settings.snapCount, settings.dataBytes);
  } finally {
    rmSync(copyDir, { recursive: true, force: true });
  }

  const breakdown = msLeft() > 60_000 ? await recoveryBreakdown(dataDir) : null;
  report(settings, marker, snapshotBytes, dirBytes(dataDir), restarts, snaps, breakdown);
}

function report(
  settings: ReturnType<typeof settingsFrom>,
  marker: Record<string, unknown>,
  snapshotBytes: number,
  totalBytes: number,
  restarts: RestartResult[],
  snaps: SnapshotResult[],
  breakdown: Record<string, number> | null,
): void {
  const m = (key: keyof RestartResult) => median(restarts.map((r) => r[key]));
  const s = (key: keyof SnapshotResult) => median(snaps.map((r) => r[key]));
  const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  const each = (values: number[]) => values.map(fmt).join(", ");
  const lines = [
    `Restart of dist/corral on ${
      fmt(restarts[0]?.nodes ?? NaN)
    } znodes (${settings.dataBytes}-byte values), ` +
    `a snapshot plus ${
      fmt(m("replayed"))
    } txns replayed from the log; median of ${restarts.length} runs ` +
    `(page cache warm).`,
    "",
    "| measure | median | each run |",
    "| --- | --- | --- |",
    `| process start → "listening" | ${fmt(m("listeningMs"))} ms | ${
      each(restarts.map((r) => r.listeningMs))
    } |`,
    `| process start → first answered request (connect + exists) | ${fmt(m("firstReplyMs"))} ms | ${
      each(restarts.map((r) => r.firstReplyMs))
    } |`,
    `| "recovered" log line, ms field (read + decode + rebuild + replay) | ${
      fmt(m("recoveredMs"))
    } ms | ${each(restarts.map((r) => r.recoveredMs))} |`,
    `| VmRSS after recovery | ${fmt(m("rssMiB"))} MiB | ${each(restarts.map((r) => r.rssMiB))} |`,
    `| VmHWM (peak RSS) | ${fmt(m("hwmMiB"))} MiB | ${each(restarts.map((r) => r.hwmMiB))} |`,
    `| snapshot file | ${mib(snapshotBytes)} (${snapshotBytes.toLocaleString("en-US")} B) | |`,
    `| data directory (snapshot + logs) | ${mib(totalBytes)} | |`,
    "",
    `Snapshots of the same tree taken by the binary (snapCount ${settings.snapCount}, a probe client ` +
    `reading in a loop); median of ${snaps.length}:`,
    "",
    "| measure | median | each run |",
    "| --- | --- | --- |",
    `| synchronous capture ("captureMs"), serving blocked | ${fmt(s("captureMs"))} ms | ${
      each(snaps.map((r) => r.captureMs))
    } |`,
    `| "snapshot started" → "snapshot saved" | ${fmt(s("saveMs"))} ms | ${
      each(snaps.map((r) => r.saveMs))
    } |`,
    `| worst probe read latency during the snapshot | ${fmt(s("probeMaxMs"))} ms | ${
      each(snaps.map((r) => r.probeMaxMs))
    } |`,
    `| median probe read latency during the snapshot | ${fmt(s("probeP50Ms"))} ms | ${
      each(snaps.map((r) => r.probeP50Ms))
    } |`,
    `| snapshot bytes | ${mib(s("bytes"))} | |`,
  ];
  if (breakdown !== null) {
    lines.push(
      "",
      `Where recovery time goes (one run in this process, ${
        typeof Bun === "undefined" ? "Deno" : "Bun"
      }, not the binary):`,
      "",
      "| step | ms (or as stated) |",
      "| --- | --- |",
      `| read the snapshot file | ${fmt(breakdown.snapshotReadMs)} |`,
      `| decode and check it (CBOR, CRC) | ${fmt(breakdown.snapshotDecodeMs)} |`,
      `| FileStore.recover() (read + decode the snapshot, read + decode the logs) | ${
        fmt(breakdown.storeRecoverMs)
      } |`,
      `| rebuild the DataTree from the image (DataTree.fromNodes) | ${
        fmt(breakdown.buildTreeMs)
      } |`,
      `| apply ${fmt(breakdown.replayedTxns)} log txns | ${fmt(breakdown.replayMs)} |`,
      `| JS heap in use holding the recovered tree (after a full GC) | ${
        fmt(breakdown.heapMiB)
      } MiB, ${fmt((breakdown.heapMiB * 1024 * 1024) / breakdown.znodes)} B per znode |`,
      `| snapshot capture: walk DataTree.paths() alone (sorts every child list) | ${
        fmt(breakdown.pathsMs)
      } |`,
      `| snapshot capture: Replica.captureImage() (the walk + a copy of each stat) | ${
        fmt(breakdown.captureMs)
      } |`,
    );
  }
  lines.push(
    "",
    `Build of the directory (in-process server, ${marker.builtAt}): ${
      fmt(Number(marker.createS))
    } s for the ` +
      `znodes (multis of ${createsPerMulti} creates), ${fmt(Number(marker.tailS))} s for ${
        fmt(Number(marker.tailTxns))
      } single setData txns.`,
  );
  const text = lines.join("\n");
  console.log(text);
  const summary = [
    `corral restart on ${fmt(restarts[0]?.nodes ?? NaN)} znodes (${settings.dataBytes} B values, ` +
    `snapshot + ${fmt(m("replayed"))} log txns), median of ${restarts.length}, ${
      new Date().toISOString()
    }`,
    `listening_ms=${Math.round(m("listeningMs"))}`,
    `first_reply_ms=${Math.round(m("firstReplyMs"))}`,
    `recovered_ms=${Math.round(m("recoveredMs"))}`,
    `rss_mib=${Math.round(m("rssMiB"))}`,
    `snapshot_bytes=${snapshotBytes}`,
    `snapshot_mib=${(snapshotBytes / 1024 / 1024).toFixed(1)}`,
    `snapshot_save_ms=${Math.round(s("saveMs"))}`,
    `snapshot_capture_ms=${Math.round(s("captureMs"))}`,
    `commit=${gitDescribe()}`,
  ].join("\n");
  writeFileSync(join(repoRoot, ".tmp", "bench_restart_result.txt"), `${summary}\n`);
}

declare const Bun: unknown;

/** The commit measured (`-dirty` when the working tree differs), or "unknown". */
function gitDescribe(): string {
  try {
    return execFileSync("git", ["describe", "--always", "--dirty"], {
      cwd: repoRoot,
      encoding: "utf8",
      timeout: 10_000,
    }).trim();
  } catch {
    return "unknown";
  }
}

if (import.meta.main) {
  process.on("SIGINT", () => void stopAll().then(() => process.exit(130)));
  const deadline = setTimeout(() => {
    console.error(`bench_restart: over ${scriptMsMax / 60_000} minutes; stopping`);
    void stopAll().then(() => process.exit(1));
  }, scriptMsMax);
  let code = 0;
  try {
    await main();
  } catch (error) {
    console.error(error);
    code = 1;
  } finally {
    clearTimeout(deadline);
    await stopAll();
  }
  process.exit(code);
}
