/**
 * The benchmark targets: address parsing, the etcd target's requests against a fake JSON
 * gateway (keys, values, which server each session uses, failures by name), and a ZooKeeper
 * target opened on a server it was not prepared on.
 * @module
 */
import assert from "../assert.ts";
import { runBench } from "../../src/bench/run.ts";
import { benchRoot, benchSeqParent, benchTarget, parseAddresses } from "../../src/bench/targets.ts";
import { defaultAdapter } from "../../src/net/mod.ts";
import type { CorralServer } from "../../src/server/server.ts";
import { withServer } from "./_server.ts";
import { fourLetterWord } from "../server/_zk_client.ts";

Deno.test("parseAddresses: HOST:PORT lists, IPv6 in brackets, spaces around entries", () => {
  assert.deepEqual(parseAddresses("127.0.0.1:2181"), [{ hostname: "127.0.0.1", port: 2181 }]);
  assert.deepEqual(parseAddresses("a:1, b.example:65535"), [
    { hostname: "a", port: 1 },
    { hostname: "b.example", port: 65535 },
  ]);
  assert.deepEqual(parseAddresses("[::1]:2181"), [{ hostname: "::1", port: 2181 }]);
});

Deno.test("parseAddresses: anything else throws, naming the entry", () => {
  for (const bad of ["", "host", "host:", ":2181", "host:0", "host:65536", "host:x", "a:1,,b:2"]) {
    assert.throws(() => parseAddresses(bad), /is not HOST:PORT/, JSON.stringify(bad));
  }
  assert.throws(() => parseAddresses("a:1,b"), /"b" is not HOST:PORT/);
});

Deno.test("benchTarget: needs a server; says which protocol it speaks", async () => {
  const adapter = await defaultAdapter();
  assert.throws(
    () => benchTarget({ protocol: "zk", servers: [], valueBytes: 1, adapter }),
    /at least one server/,
  );
  for (const protocol of ["zk", "cbor", "etcd"] as const) {
    const target = benchTarget({
      protocol,
      servers: [{ hostname: "127.0.0.1", port: 1 }],
      valueBytes: 1,
      adapter,
    });
    assert.equal(target.protocol, protocol);
  }
});

/** A fake etcd JSON gateway that records every request. */
function fakeEtcd(failPuts = false) {
  const requests: { method: string; key: string; value?: string }[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const method = new URL(request.url).pathname;
      const body = await request.json();
      requests.push({ method, key: atob(body.key), value: body.value && atob(body.value) });
      if (failPuts && method === "/v3/kv/put" && atob(body.key).startsWith(benchSeqParent)) {
        return new Response("no space", { status: 500 });
      }
      return Response.json({ header: {} });
    },
  );
  return { server, requests, port: server.addr.port };
}

Deno.test("etcd target: puts, ranges and fresh keys per create, session i on server i mod n", async () => {
  const a = fakeEtcd();
  const b = fakeEtcd();
  try {
    const target = benchTarget({
      protocol: "etcd",
      servers: [{ hostname: "127.0.0.1", port: a.port }, { hostname: "127.0.0.1", port: b.port }],
      valueBytes: 4,
      adapter: await defaultAdapter(),
    });
    for (const workload of ["write", "read", "create"] as const) {
      const result = await runBench({
        target,
        workload,
        sessions: 3,
        warmupMs: 0,
        durationMs: 5_000,
        maxOps: 30,
      });
      assert.equal(result.ops, 30, workload);
      assert.equal(result.errors, 0, workload);
    }
    const keysOn = (fake: typeof a) => new Set(fake.requests.map((r) => r.key));
    // prepare() goes to the first server only; sessions 0 and 2 to a, session 1 to b.
    assert.ok(keysOn(a).has(benchRoot));
    assert.ok(!keysOn(b).has(benchRoot));
    for (const key of [`${benchRoot}/s-0`, `${benchRoot}/s-2`]) assert.ok(keysOn(a).has(key));
    assert.ok(!keysOn(a).has(`${benchRoot}/s-1`));
    assert.ok(keysOn(b).has(`${benchRoot}/s-1`));
    assert.ok(!keysOn(b).has(`${benchRoot}/s-0`));

    const all = [...a.requests, ...b.requests];
    const writes = all.filter((r) => r.method === "/v3/kv/put" && /\/s-\d$/.test(r.key));
    assert.ok(writes.length > 0 && writes.every((r) => r.value === "aaaa"), "4-byte values");
    assert.ok(all.some((r) => r.method === "/v3/kv/range" && r.key === `${benchRoot}/s-1`));
    const creates = all.filter((r) => r.key.startsWith(`${benchSeqParent}/`));
    assert.ok(creates.length >= 30);
    assert.equal(new Set(creates.map((r) => r.key)).size, creates.length, "every create key new");
    assert.ok(creates.every((r) => /\/seq\/n-[0-2]-\d+$/.test(r.key)), creates[0].key);
  } finally {
    await a.server.shutdown();
    await b.server.shutdown();
  }
});

Deno.test("etcd target: an HTTP failure is an error named by its status, a dead server fails open", async () => {
  const fake = fakeEtcd(true);
  try {
    const result = await runBench({
      target: benchTarget({
        protocol: "etcd",
        servers: [{ hostname: "127.0.0.1", port: fake.port }],
        valueBytes: 1,
        adapter: await defaultAdapter(),
      }),
      workload: "create",
      sessions: 1,
      warmupMs: 0,
      durationMs: 100,
    });
    assert.equal(result.ops, 0);
    assert.ok(result.errors > 0);
    assert.deepEqual(Object.keys(result.errorKinds), ["HTTP 500 no space"]);
  } finally {
    await fake.server.shutdown();
  }
  const gone = benchTarget({
    protocol: "etcd",
    servers: [{ hostname: "127.0.0.1", port: fake.port }],
    valueBytes: 1,
    adapter: await defaultAdapter(),
  });
  await assert.rejects(gone.prepare(), /etcd put \/corral-bench/);
  await assert.rejects(gone.open(0), /etcd put \/corral-bench\/s-0/);
});

/** "Connections: N" of the ZooKeeper port's srvr word. */
async function zkConnections(port: number): Promise<number> {
  const text = await fourLetterWord(port, "srvr");
  return Number(/^Connections: (\d+)$/m.exec(text)![1]);
}

/** A ZooKeeper-protocol target on `server`, with 1-byte values. */
async function zkTargetOn(server: CorralServer) {
  return benchTarget({
    protocol: "zk",
    servers: [{ hostname: "127.0.0.1", port: server.zkPort! }],
    valueBytes: 1,
    adapter: await defaultAdapter(),
  });
}

Deno.test("zk target: opening where the root is missing fails with the node's error", async () => {
  await withServer(async (server) => {
    const target = await zkTargetOn(server);
    await assert.rejects(target.open(0), /create \/corral-bench\/s-0: NoNode/);
    await target.prepare();
    const session = await target.open(0);
    assert.equal(await session.write(), null);
    assert.equal(await session.read(), null);
    assert.equal(await session.create(), null);
    await session.close();
    assert.equal(await session.write(), "ConnectionLoss", "a closed session's calls fail");
  });
});

Deno.test({
  // Regression (found by this suite in src/bench/targets.ts, ZkTarget.open and CborTarget.open):
  // when the node set-up after connecting fails (NoNode here, NoAuth under an ACL), the session
  // just opened is never closed: its connection and ping timer stay until the server drops them.
  name: "zk target: a failed open closes the connection it opened",
  async fn() {
    await withServer(async (server) => {
      const target = await zkTargetOn(server);
      await assert.rejects(target.open(0), /NoNode/);
      // Only srvr's own connection is left, once the failed open has hung up.
      let connections = 0;
      for (let i = 0; i < 50 && (connections = await zkConnections(server.zkPort!)) !== 1; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.equal(connections, 1, "the failed open's connection is still there");
    });
  },
});
