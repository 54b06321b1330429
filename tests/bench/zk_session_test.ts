/**
 * ZkBenchSession, the load generator's lean ZooKeeper client: against an in-process Corral
 * server's ZooKeeper port (replies, zxids, pipelining, resuming a session elsewhere, expiry) and
 * against a scripted fake server (replies out of order, silence, a hang-up with requests pending).
 * @module
 */
import assert from "../assert.ts";
import { ZkBenchSession, ZkConnectionLost, zkErrorName } from "../../src/bench/zk_session.ts";
import { defaultAdapter } from "../../src/net/mod.ts";
import { startServer } from "../../src/server/server.ts";
import { withServer } from "./_server.ts";
import { CreateFlag, KeeperCode } from "../../src/zk/codes.ts";
import type { ZkRequest } from "../../src/zk/records.ts";
import { sessionIdOf, startFakeZk, until, within } from "./_fake_zk.ts";

const open = [{ perms: 31, scheme: "world", id: "anyone" }];
const bytes = (n: number) => new Uint8Array(n).fill(0x61);

function create(path: string, flags: number = CreateFlag.persistent): ZkRequest {
  return { op: "create", path, data: bytes(3), acl: open, flags };
}

function isLost(pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof ZkConnectionLost, `expected ZkConnectionLost, got ${error}`);
    assert.equal(error.name, "ZkConnectionLost");
    assert.match(error.message, pattern);
    return true;
  };
}

Deno.test("ZkBenchSession: handshake, then create/setData/getData answer Ok with growing zxids", async () => {
  await withServer(async (server) => {
    const adapter = await defaultAdapter();
    const session = await ZkBenchSession.open(adapter, "127.0.0.1", server.zkPort!, {
      sessionTimeoutMs: 10_000,
    });
    try {
      assert.ok(session.sessionId !== 0n);
      assert.equal(session.passwd.byteLength, 16);
      assert.ok(session.timeoutMs > 0);
      assert.equal(session.closed, false);
      assert.equal(session.outstanding, 0);

      const created = await session.call(create("/z"));
      assert.equal(created.err, KeeperCode.Ok);
      assert.ok(created.zxid > 0);
      const written = await session.call({
        op: "setData",
        path: "/z",
        data: bytes(5),
        version: -1,
      });
      assert.equal(written.err, KeeperCode.Ok);
      assert.ok(written.zxid > created.zxid, `setData zxid ${written.zxid} after ${created.zxid}`);
      const read = await session.call({ op: "getData", path: "/z", watch: false });
      assert.equal(read.err, KeeperCode.Ok);
      assert.ok(read.zxid >= written.zxid, "a read carries the last zxid the server applied");
      assert.equal(session.lastZxid, Math.max(created.zxid, written.zxid, read.zxid));

      // An error reply is a reply: its code, and the connection stays usable.
      const again = await session.call(create("/z"));
      assert.equal(again.err, KeeperCode.NodeExists);
      assert.equal(zkErrorName(again.err), "NodeExists");
      const missing = await session.call({ op: "getData", path: "/nope", watch: false });
      assert.equal(zkErrorName(missing.err), "NoNode");
      assert.equal(session.closed, false);
      assert.equal(session.outstanding, 0);
    } finally {
      await session.close();
    }
    assert.equal(session.closed, true);
  });
});

Deno.test("ZkBenchSession: 100 pipelined requests all resolve, in xid order", async () => {
  await withServer(async (server) => {
    const session = await ZkBenchSession.open(await defaultAdapter(), "127.0.0.1", server.zkPort!);
    try {
      assert.equal((await session.call(create("/p"))).err, 0);
      const order: number[] = [];
      const replies = Array.from({ length: 100 }, (_, i) => {
        const request: ZkRequest = i % 3 === 0
          ? { op: "getData", path: "/p", watch: false }
          : { op: "setData", path: "/p", data: bytes(i), version: -1 };
        return session.call(request).then((reply) => {
          order.push(i);
          return reply;
        });
      });
      assert.equal(session.outstanding, 100, "all sent before any answer");
      const answered = await within(Promise.all(replies), "100 replies");
      assert.deepEqual(order, Array.from({ length: 100 }, (_, i) => i));
      assert.ok(answered.every((reply) => reply.err === 0));
      for (let i = 1; i < answered.length; i++) {
        assert.ok(answered[i].zxid >= answered[i - 1].zxid, `zxid fell at reply ${i}`);
      }
      // 67 setData, each its own transaction.
      assert.ok(answered[99].zxid - answered[0].zxid >= 66);
      assert.equal(session.outstanding, 0);
    } finally {
      await session.close();
    }
  });
});

Deno.test("ZkBenchSession: resume on a second connection keeps the session and its ephemeral node", async () => {
  await withServer(async (server) => {
    const adapter = await defaultAdapter();
    const first = await ZkBenchSession.open(adapter, "127.0.0.1", server.zkPort!);
    const made = await first.call(create("/eph", CreateFlag.ephemeral));
    assert.equal(made.err, 0);
    const resume = first.resume;
    assert.equal(resume.sessionId, first.sessionId);
    assert.equal(resume.lastZxid, made.zxid);
    first.drop();
    assert.equal(first.closed, true);
    await assert.rejects(
      first.call({ op: "getData", path: "/eph", watch: false }),
      isLost(/closed/),
    );

    const second = await ZkBenchSession.open(adapter, "127.0.0.1", server.zkPort!, { resume });
    const other = await ZkBenchSession.open(adapter, "127.0.0.1", server.zkPort!);
    try {
      assert.equal(second.sessionId, first.sessionId);
      assert.deepEqual(second.passwd, first.passwd);
      assert.equal(second.lastZxid, made.zxid, "starts from the resumed zxid");
      assert.equal((await second.call({ op: "exists", path: "/eph", watch: false })).err, 0);
      assert.equal((await other.call({ op: "exists", path: "/eph", watch: false })).err, 0);

      // close() ends the session on the server: its ephemeral goes.
      await second.close();
      const gone = await other.call({ op: "exists", path: "/eph", watch: false });
      assert.equal(zkErrorName(gone.err), "NoNode");
    } finally {
      await second.close();
      await other.close();
    }
  });
});

Deno.test("ZkBenchSession: resuming a closed session rejects with ZkConnectionLost (expired)", async () => {
  await withServer(async (server) => {
    const adapter = await defaultAdapter();
    const session = await ZkBenchSession.open(adapter, "127.0.0.1", server.zkPort!);
    assert.equal((await session.call(create("/x"))).err, 0);
    await session.close();
    await assert.rejects(
      ZkBenchSession.open(adapter, "127.0.0.1", server.zkPort!, { resume: session.resume }),
      isLost(/expired/),
    );
  });
});

Deno.test("ZkBenchSession: the server going away fails pending and later calls", async () => {
  const server = await startServer({ port: 0, zkPort: 0, hostname: "127.0.0.1" });
  const session = await ZkBenchSession.open(await defaultAdapter(), "127.0.0.1", server.zkPort!);
  try {
    assert.equal((await session.call(create("/g"))).err, 0);
  } finally {
    await server.close();
  }
  await until(() => session.closed, "the session to see the connection close");
  await assert.rejects(session.call({ op: "getData", path: "/g", watch: false }), isLost(/closed/));
  session.drop();
});

Deno.test("ZkBenchSession: replies matched by xid when the server answers out of order", async () => {
  const fake = await startFakeZk({ kind: "accept" });
  try {
    const session = await ZkBenchSession.open(await defaultAdapter(), "127.0.0.1", fake.port);
    assert.equal(session.sessionId, 0x1234n);
    assert.equal(session.timeoutMs, 30_000);
    const calls = Array.from(
      { length: 5 },
      (_, i) => session.call({ op: "getData", path: `/k${i}`, watch: false }),
    );
    const connection = fake.connections[0];
    await until(() => connection.requests.length === 5, "five requests at the fake");
    const xids = [...connection.requests];
    assert.equal(new Set(xids).size, 5, "every request has its own xid");
    // Answer in reverse order, each with a zxid and error of its own.
    for (const [i, xid] of [...xids.entries()].reverse()) {
      fake.reply(connection, xid, 100 + i, i === 2 ? KeeperCode.NoNode : 0);
    }
    const replies = await within(Promise.all(calls), "the replies");
    assert.deepEqual(replies.map((r) => r.zxid), [100, 101, 102, 103, 104]);
    assert.deepEqual(replies.map((r) => r.err), [0, 0, KeeperCode.NoNode, 0, 0]);
    assert.equal(session.lastZxid, 104);
    session.drop();
  } finally {
    await fake.close();
  }
});

Deno.test("ZkBenchSession: a 64-bit session id survives the handshake and the resume, bit for bit", async () => {
  // ZooKeeper puts the server id in the top byte: such ids do not fit a double.
  const id = 0x0300_0000_0000_0005n;
  const fake = await startFakeZk({ kind: "accept64", sessionId: id });
  try {
    const adapter = await defaultAdapter();
    const first = await ZkBenchSession.open(adapter, "127.0.0.1", fake.port);
    assert.equal(first.sessionId, id);
    assert.deepEqual(first.passwd, new Uint8Array(16).fill(9));
    assert.equal(sessionIdOf(fake.connections[0].connectRequest!), 0n, "a new session asks for 0");
    first.drop();
    const second = await ZkBenchSession.open(adapter, "127.0.0.1", fake.port, {
      resume: first.resume,
    });
    const asked = fake.connections[1].connectRequest!;
    assert.equal(sessionIdOf(asked), id);
    assert.deepEqual(asked.slice(asked.byteLength - 16), new Uint8Array(16).fill(9), "passwd");
    second.drop();
  } finally {
    await fake.close();
  }
});

Deno.test("ZkBenchSession: a hang-up rejects every pending request with ZkConnectionLost", async () => {
  const fake = await startFakeZk({ kind: "accept" });
  try {
    const session = await ZkBenchSession.open(await defaultAdapter(), "127.0.0.1", fake.port);
    const outcomes: string[] = [];
    const calls = Array.from(
      { length: 3 },
      (_, i) =>
        session.call({ op: "getData", path: `/k${i}`, watch: false }).then(
          () => outcomes.push("answered"),
          (error) => outcomes.push(`${error.name}: ${error.message}`),
        ),
    );
    const connection = fake.connections[0];
    await until(() => connection.requests.length === 3, "three requests at the fake");
    assert.equal(session.outstanding, 3);
    connection.socket.close();
    await within(Promise.all(calls), "the pending requests to fail");
    assert.deepEqual(outcomes, Array(3).fill("ZkConnectionLost: connection closed by the server"));
    assert.equal(session.outstanding, 0);
    assert.equal(session.closed, true);
  } finally {
    await fake.close();
  }
});

Deno.test("ZkBenchSession: no handshake answer, a bad one, or none at all reject open()", async () => {
  const adapter = await defaultAdapter();
  const silent = await startFakeZk({ kind: "silent" });
  const garbage = await startFakeZk({ kind: "garbage" });
  const expired = await startFakeZk({ kind: "accept", response: { timeOut: 0 } });
  try {
    await assert.rejects(
      ZkBenchSession.open(adapter, "127.0.0.1", silent.port, { connectTimeoutMs: 50 }),
      isLost(/no handshake answer in time/),
    );
    await assert.rejects(
      ZkBenchSession.open(adapter, "127.0.0.1", garbage.port),
      isLost(/bad handshake answer/),
    );
    await assert.rejects(
      ZkBenchSession.open(adapter, "127.0.0.1", expired.port),
      isLost(/session expired/),
    );
    // The rejected sessions hung up (the silent one: see the ignored test below).
    await until(() => garbage.connections[0]?.closed === true, "the bad handshake to hang up");
    await until(() => expired.connections[0]?.closed === true, "the expired session to hang up");
  } finally {
    await silent.close();
    await garbage.close();
    await expired.close();
  }
  // Nothing listens on a port just released: the connect itself fails.
  await assert.rejects(ZkBenchSession.open(adapter, "127.0.0.1", silent.port));
});

Deno.test({
  // Regression (found by this suite in src/bench/zk_session.ts, open()): the handshake timer calls
  // #fail, which rejects but never closes the socket, so every timed-out attempt leaves a
  // connection open (the failover probe retries every 20 ms against a paused leader).
  name: "ZkBenchSession: a handshake timeout closes its connection",
  async fn() {
    const silent = await startFakeZk({ kind: "silent" });
    try {
      await assert.rejects(
        ZkBenchSession.open(await defaultAdapter(), "127.0.0.1", silent.port, {
          connectTimeoutMs: 50,
        }),
        isLost(/no handshake answer in time/),
      );
      await until(() => silent.connections[0]?.closed === true, "the timed-out attempt to hang up");
    } finally {
      await silent.close();
    }
  },
});

Deno.test("zkErrorName: ZooKeeper's names, or the number when unknown", () => {
  assert.equal(zkErrorName(-101), "NoNode");
  assert.equal(zkErrorName(-110), "NodeExists");
  assert.equal(zkErrorName(0), "Ok");
  assert.equal(zkErrorName(-4), "ConnectionLoss");
  assert.equal(zkErrorName(12345), "12345");
});
