/**
 * runBench end to end against an in-process Corral server, through both of its protocols: every
 * workload completes operations without errors, and the tree afterwards shows what the runs did
 * (each session's node holds the value written, the create workload's nodes are there).
 * @module
 */
import assert from "../assert.ts";
import { type BenchResult, runBench, type Workload, workloads } from "../../src/bench/run.ts";
import {
  type BenchProtocol,
  benchRoot,
  benchSeqParent,
  benchTarget,
} from "../../src/bench/targets.ts";
import { connect } from "../../src/client/mod.ts";
import { defaultAdapter } from "../../src/net/mod.ts";
import type { CorralServer } from "../../src/server/server.ts";
import { withServer } from "./_server.ts";

function portOf(server: CorralServer, protocol: BenchProtocol): number {
  return protocol === "zk" ? server.zkPort! : server.port;
}

async function bench(
  server: CorralServer,
  protocol: BenchProtocol,
  workload: Workload,
  { valueBytes = 100, warmupMs = 100, durationMs = 2_000, maxOps = 300 } = {},
): Promise<BenchResult> {
  const target = benchTarget({
    protocol,
    servers: [{ hostname: "127.0.0.1", port: portOf(server, protocol) }],
    valueBytes,
    adapter: await defaultAdapter(),
  });
  return await runBench({
    target,
    workload,
    sessions: 2,
    warmupMs,
    durationMs,
    maxOps,
    pids: [Deno.pid],
  });
}

/** Reads the tree through the TypeScript client (the CBOR port). */
async function inspect<T>(
  server: CorralServer,
  read: (client: Awaited<ReturnType<typeof connect>>) => Promise<T>,
): Promise<T> {
  const client = await connect(`127.0.0.1:${server.port}`, { adapter: await defaultAdapter() });
  try {
    return await read(client);
  } finally {
    await client.close();
  }
}

for (const protocol of ["zk", "cbor"] as const) {
  Deno.test(`runBench over ${protocol}: every workload runs clean, and the tree shows it`, async () => {
    await withServer(async (server) => {
      let created = 0;
      for (const workload of workloads) {
        const versionsBefore = await inspect(
          server,
          (client) =>
            Promise.all([0, 1].map(async (i) => {
              const stat = await client.exists(`${benchRoot}/s-${i}`);
              return stat?.version ?? 0;
            })),
        );
        const result = await bench(server, protocol, workload);
        const what = `${protocol} ${workload}: ${JSON.stringify(result)}`;
        assert.equal(result.workload, workload);
        assert.equal(result.sessions, 2);
        assert.equal(result.errors, 0, what);
        assert.deepEqual(result.errorKinds, {}, what);
        // The window ends at 300 operations; its 2 s limit only matters on a starved machine.
        assert.equal(result.ops, 300, what);
        assert.ok(result.seconds > 0 && result.seconds <= 2 + 1e-9, what);
        const { p50, p99, max } = result.latencyMs;
        assert.ok(0 < p50 && p50 <= p99 && p99 <= max, what);
        assert.equal(result.servers.length, 1);
        assert.equal(result.servers[0].pid, Deno.pid);
        assert.ok((result.servers[0].rssBytes ?? 0) > 0, what);
        assert.ok(result.servers[0].cpuPercent !== null && result.servers[0].cpuPercent >= 0, what);

        const { data, children, versions } = await inspect(server, async (client) => ({
          data: await Promise.all([0, 1].map((i) => client.getData(`${benchRoot}/s-${i}`))),
          children: await client.getChildren(benchSeqParent),
          versions: await Promise.all(
            [0, 1].map(async (i) => (await client.exists(`${benchRoot}/s-${i}`))!.version),
          ),
        }));
        for (const node of data) assert.deepEqual(node.data, new Uint8Array(100).fill(0x61));
        const written = versions[0] + versions[1] - versionsBefore[0] - versionsBefore[1];
        if (workload === "create") created += result.ops;
        assert.ok(children.length >= created, `${children.length} nodes, ${created} creates`);
        assert.ok(children.every((name) => /^n-\d{10}$/.test(name)), children.slice(0, 3).join());
        if (workload === "write") assert.ok(written >= result.ops, `${written} < ${result.ops}`);
        // Opening may set the value once per session (the CBOR target does); reads write nothing.
        if (workload === "read") assert.ok(written <= 2, `a read run wrote ${written} times`);
        if (workload === "mixed") assert.ok(written >= 1, "a mixed run wrote nothing");
      }
    });
  });
}

Deno.test("runBench over cbor: a session's node is given this run's value size", async () => {
  await withServer(async (server) => {
    for (const valueBytes of [10, 100]) {
      await bench(server, "cbor", "read", { valueBytes, warmupMs: 0, durationMs: 50 });
      const node = await inspect(server, (client) => client.getData(`${benchRoot}/s-0`));
      assert.equal(node.data.byteLength, valueBytes);
    }
  });
});

Deno.test({
  // Regression (found by this suite in src/bench/targets.ts, ZkTarget.open): createIfMissing leaves
  // a node left by an earlier run as it was, so a read run with --value-bytes 100 after one with 10
  // reads 10-byte values (CborTarget.open sets the value after creating).
  name: "runBench over zk: a session's node is given this run's value size",
  async fn() {
    await withServer(async (server) => {
      for (const valueBytes of [10, 100]) {
        await bench(server, "zk", "read", { valueBytes, warmupMs: 0, durationMs: 50 });
        const node = await inspect(server, (client) => client.getData(`${benchRoot}/s-0`));
        assert.equal(node.data.byteLength, valueBytes);
      }
    });
  },
});
