/**
 * WriteProbe and failoverMs: a probe on a Corral server's ZooKeeper port keeps getting writes
 * acknowledged; failoverMs finds the first acknowledgement of a write sent after t0; a probe
 * whose connection goes resumes its session, or starts a new one when told it expired; stop()
 * stops it, even while the server is gone.
 * @module
 */
import assert from "../assert.ts";
import { failoverMs, WriteProbe } from "../../src/bench/probe.ts";
import { benchRoot } from "../../src/bench/targets.ts";
import { connect } from "../../src/client/mod.ts";
import { defaultAdapter } from "../../src/net/mod.ts";
import { startServer } from "../../src/server/server.ts";
import { sessionIdOf, startFakeZk, until } from "./_fake_zk.ts";

/** Longer than the probe's pause between reconnect attempts (20 ms), so one in flight ends. */
const reconnectPauseMs = 60;

Deno.test("WriteProbe: acknowledged writes grow; failoverMs finds the first after t0", async () => {
  const server = await startServer({ port: 0, zkPort: 0, hostname: "127.0.0.1" });
  const adapter = await defaultAdapter();
  const address = { hostname: "127.0.0.1", port: server.zkPort! };
  const a = new WriteProbe("zk", address, "a", adapter, 2);
  const b = new WriteProbe("zk", address, "b", adapter, 2);
  try {
    const beforeStart = performance.now();
    await a.start();
    await b.start();
    assert.equal(a.protocol, "zk");
    await until(() => a.acknowledged >= 5 && b.acknowledged >= 5, "five acknowledged writes each");
    const grown = a.acknowledged;
    await until(() => a.acknowledged > grown, "more acknowledged writes");

    // The probe writes its own node, 100 bytes.
    const client = await connect(`127.0.0.1:${server.port}`, { adapter });
    try {
      const node = await client.getData(`${benchRoot}/probe-a`);
      assert.deepEqual(node.data, new Uint8Array(100).fill(0x70));
      assert.ok(node.stat.version >= 5);
      assert.ok(await client.exists(`${benchRoot}/probe-b`));
    } finally {
      await client.close();
    }

    assert.equal(failoverMs([a, b], performance.now() + 60_000), null, "t0 in the future");
    assert.equal(failoverMs([], beforeStart), null, "no probes");
    const sinceStart = failoverMs([a, b], beforeStart);
    assert.ok(sinceStart !== null && sinceStart >= 0, `${sinceStart}`);
    const firstA = a.firstAckSentAfter(beforeStart)!;
    const firstB = b.firstAckSentAfter(beforeStart)!;
    assert.equal(sinceStart, Math.min(firstA, firstB) - beforeStart, "the earliest over probes");
    assert.equal(failoverMs([a], beforeStart), firstA - beforeStart);

    // A t0 after every write sent so far: only later writes count.
    const t0 = performance.now();
    await until(() => failoverMs([a], t0) !== null, "a write sent after t0");
    assert.ok(failoverMs([a], t0)! >= 0);
    assert.ok(a.firstAckSentAfter(t0)! >= t0);

    a.reset();
    assert.equal(a.acknowledged, 0);
    assert.equal(a.firstAckSentAfter(beforeStart), null);
    await until(() => a.acknowledged > 0, "writes acknowledged after the reset");

    a.stop();
    b.stop();
    const stopped = a.acknowledged;
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(a.acknowledged, stopped, "no writes after stop()");
  } finally {
    a.stop();
    b.stop();
    await server.close();
  }
});

Deno.test("WriteProbe: the server going away stops the acknowledgements, not the probe", async () => {
  const server = await startServer({ port: 0, zkPort: 0, hostname: "127.0.0.1" });
  const probe = new WriteProbe(
    "zk",
    { hostname: "127.0.0.1", port: server.zkPort! },
    "gone",
    await defaultAdapter(),
    2,
  );
  try {
    await probe.start();
    await until(() => probe.acknowledged >= 3, "acknowledged writes");
  } finally {
    await server.close();
  }
  // The probe now retries its connection every 20 ms; nothing is acknowledged, nothing thrown.
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(failoverMs([probe], t0), null);
  probe.stop();
  await new Promise((resolve) => setTimeout(resolve, reconnectPauseMs));
});

Deno.test("WriteProbe: a lost connection resumes the same session; an expired one starts afresh", async () => {
  // Connection 0: the first session. 1: its resume, refused as expired. 2: a new session.
  // 3: the resume of that new session, accepted.
  const fake = await startFakeZk(
    (index) => index === 1 ? { kind: "accept", response: { timeOut: 0 } } : { kind: "accept" },
    { autoReply: true },
  );
  const probe = new WriteProbe(
    "zk",
    { hostname: "127.0.0.1", port: fake.port },
    "f",
    await defaultAdapter(),
    2,
  );
  try {
    await probe.start();
    await until(() => probe.acknowledged >= 3, "acknowledged writes");
    assert.equal(sessionIdOf(fake.connections[0].connectRequest!), 0n, "a new session");

    fake.connections[0].socket.close();
    // A connection is listed when accepted, its connect request a moment later.
    const asked = (i: number) => fake.connections[i]?.connectRequest != null;
    await until(() => asked(1) && asked(2), "a resume, then a new session");
    assert.equal(sessionIdOf(fake.connections[1].connectRequest!), 0x1234n, "resumed first");
    assert.equal(sessionIdOf(fake.connections[2].connectRequest!), 0n, "afresh after expiry");
    const acknowledged = probe.acknowledged;
    await until(() => probe.acknowledged > acknowledged, "writes on the new session");

    fake.connections[2].socket.close();
    await until(() => asked(3), "the new session resumed");
    assert.equal(sessionIdOf(fake.connections[3].connectRequest!), 0x1234n);
    const again = probe.acknowledged;
    await until(() => probe.acknowledged > again, "writes on the resumed session");
    assert.equal(fake.connections.length, 4, "no connection more than needed");
  } finally {
    probe.stop();
    await fake.close();
  }
  await new Promise((resolve) => setTimeout(resolve, reconnectPauseMs));
});
