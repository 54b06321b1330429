/**
 * Client behaviour that is hard to force on the real server (silence, refusal on resume,
 * throttling, out-of-order answers), checked against the scripted {@linkcode FakeServer}.
 * @module
 */
import assert from "../assert.ts";
import { assertRejects } from "./_assert_throws.ts";
import { type Client, connect, type SessionEvent, type WatchEvent } from "../../src/client/mod.ts";
import {
  AuthFailedError,
  BadArgumentsError,
  ConnectionLossError,
  NoNodeError,
  SessionExpiredError,
} from "../../src/client/errors.ts";
import type { CreateMode } from "../../src/tree/types.ts";
import { protocolVersion } from "../../src/constants.ts";
import { fakePassword, FakeServer, type Frame, standardHandler } from "./fake_server.ts";

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 10 ms for at most `timeoutMs`. */
async function until(condition: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

function recordStates(client: Client): SessionEvent[] {
  const states: SessionEvent[] = [];
  client.on("state", (state) => states.push(state));
  return states;
}

function ops(frames: Frame[]): string[] {
  return frames.map((frame) => frame.op);
}

Deno.test("connect() sends a connect frame for a new session and exposes what the server granted", async () => {
  const server = await FakeServer.start(standardHandler({ sessionId: 77, timeoutMs: 4_000 }));
  const client = await connect(server.address, { sessionTimeoutMs: 5_000 });
  const [first] = server.connections[0].frames;
  assert.equal(first.op, "connect");
  assert.equal(first.proto, protocolVersion);
  assert.equal(first.timeoutMs, 5_000);
  assert.equal(first.sessionId, 0);
  assert.equal(first.lastZxid, 0);
  assert.equal(client.sessionId, 77);
  assert.equal(client.sessionTimeoutMs, 4_000);
  assert.deepEqual(client.sessionPassword, fakePassword);
  assert.equal(client.state, "SyncConnected");
  await client.close();
  assert.equal(client.state, "Closed");
  assert.deepEqual(ops(server.connections[0].frames), ["connect", "close"]);
  await server.close();
});

Deno.test("Client pings when idle, at about a third of the session timeout", async () => {
  const server = await FakeServer.start(standardHandler({ timeoutMs: 450 }));
  const client = await connect(server.address);
  await delay(800);
  const pings = server.connections[0].frames.filter((frame) => frame.op === "ping").length;
  // 800 ms at one ping per ~150 ms, with slack for timer granularity and a loaded machine.
  assert.ok(pings >= 2 && pings <= 8, `${pings} pings in 800 ms`);
  assert.equal(server.connections.length, 1);
  await client.close();
  await server.close();
});

Deno.test("Client drops a silent connection and resumes the session on a new one", async () => {
  const answering = standardHandler({ timeoutMs: 300 });
  const server = await FakeServer.start((conn, frame) => {
    // The first connection answers the handshake and then goes silent.
    if (conn.index === 0 && frame.op !== "connect") return;
    answering(conn, frame);
  });
  const client = await connect(server.address);
  const states = recordStates(client);
  const second = await server.waitForConnections(2);
  await until(() => states.includes("SyncConnected"), "the session to resume");
  assert.deepEqual(states, ["Disconnected", "SyncConnected"]);
  const resume = second.frames[0];
  assert.equal(resume.op, "connect");
  assert.equal(resume.sessionId, 0x1234);
  assert.deepEqual(resume.password, fakePassword);
  await client.close();
  await server.close();
});

Deno.test("Client fails requests in flight with ConnectionLossError when the connection breaks", async () => {
  const handler = standardHandler();
  const server = await FakeServer.start((conn, frame) => {
    if (conn.index === 0 && frame.op === "getData") return conn.close();
    handler(conn, frame);
  });
  const client = await connect(server.address);
  const error = await assertRejects(client.getData("/a"), ConnectionLossError, "lost");
  assert.equal((error as ConnectionLossError).path, "/a");
  await server.waitForConnections(2);
  await until(() => client.state === "SyncConnected", "the reconnect");
  assert.equal(await client.exists("/a"), null);
  await client.close();
  await server.close();
});

Deno.test("Client re-sends credentials, then watches with its last zxid, before requests queued while disconnected", async () => {
  const handler = standardHandler();
  const server = await FakeServer.start((conn, frame) => {
    if (frame.op === "getData") {
      return conn.answer(frame, { data: new Uint8Array([1]), stat: {} }, 41);
    }
    if (frame.op === "exists") return conn.answer(frame, { stat: null }, 42);
    if (frame.op === "getChildren") return conn.answer(frame, { children: [], stat: {} }, 42);
    handler(conn, frame);
  });
  const client = await connect(`${server.address}/app`);
  await client.addAuth("digest", "bob:secret");
  await client.getData("/d", { watch: true });
  await client.exists("/e", { watch: true });
  await client.getChildren("/c", { watch: true });
  assert.equal(client.lastZxid, 42);
  let release!: () => void;
  client._testDropConnection({ reconnectAfter: new Promise<void>((resolve) => release = resolve) });
  assert.equal(client.state, "Disconnected");
  const queued = client.exists("/later");
  release();
  const second = await server.waitForConnections(2);
  assert.equal(await queued, null);
  assert.deepEqual(ops(second.frames), ["connect", "addAuth", "setWatches", "exists"]);
  const [connectFrame, auth, setWatches, exists] = second.frames;
  assert.equal(connectFrame.lastZxid, 42);
  assert.equal(auth.scheme, "digest");
  assert.deepEqual(auth.auth, new TextEncoder().encode("bob:secret"));
  assert.equal(setWatches.relativeZxid, 42);
  assert.deepEqual(setWatches.dataWatches, ["/app/d"]);
  assert.deepEqual(setWatches.existWatches, ["/app/e"]);
  assert.deepEqual(setWatches.childWatches, ["/app/c"]);
  assert.equal(exists.path, "/app/later");
  await client.close();
  await server.close();
});

Deno.test("Client fails requests queued while disconnected once the session timeout passes", async () => {
  const server = await FakeServer.start(standardHandler({ timeoutMs: 300 }));
  const client = await connect(server.address);
  let release!: () => void;
  client._testDropConnection({ reconnectAfter: new Promise<void>((resolve) => release = resolve) });
  const started = Date.now();
  await assertRejects(client.exists("/a"), ConnectionLossError, "session timeout");
  const waitedMs = Date.now() - started;
  assert.ok(waitedMs >= 250 && waitedMs < 1_500, `failed after ${waitedMs} ms`);
  release();
  await client.close();
  await server.close();
});

Deno.test("Client reports Expired when the server refuses to resume, and rejects every call after", async () => {
  const handler = standardHandler();
  const server = await FakeServer.start((conn, frame) => {
    if (conn.index > 0 && frame.op === "connect") {
      conn.send({ t: "refused", err: "SessionExpired", message: "session 0x1234 has expired" });
      return conn.close();
    }
    handler(conn, frame);
  });
  const client = await connect(server.address);
  const states = recordStates(client);
  let release!: () => void;
  client._testDropConnection({ reconnectAfter: new Promise<void>((resolve) => release = resolve) });
  const waiting = client.getData("/a");
  release();
  await assertRejects(waiting, SessionExpiredError, "has expired");
  assert.equal(client.state, "Expired");
  assert.deepEqual(states, ["Disconnected", "Expired"]);
  await assertRejects(client.create("/b"), SessionExpiredError);
  // Never a silent new session: exactly one more connection, the refused resume.
  assert.equal(server.connections.length, 2);
  assert.equal(server.connections[1].frames[0].sessionId, 0x1234);
  await client.close();
  assert.equal(client.state, "Closed");
  await server.close();
});

Deno.test("Client treats a fatal SessionExpired frame as expiry of the session", async () => {
  const handler = standardHandler();
  const server = await FakeServer.start((conn, frame) => {
    if (frame.op === "sync") {
      conn.send({ t: "error", err: "SessionExpired", message: "session expired" });
      return conn.close();
    }
    handler(conn, frame);
  });
  const client = await connect(server.address);
  await assertRejects(client.sync("/"), SessionExpiredError);
  assert.equal(client.state, "Expired");
  await client.close();
  await server.close();
});

Deno.test("Client keeps at most pendingRequestsMax requests in flight and answers all in order", async () => {
  const handler = standardHandler({ limits: { pendingRequestsMax: 3 } });
  let outstanding: Frame[] = [];
  let mostInFlight = 0;
  const server = await FakeServer.start((conn, frame) => {
    if (frame.op !== "exists") return handler(conn, frame);
    outstanding.push(frame);
    mostInFlight = Math.max(mostInFlight, outstanding.length);
    // Answer in bursts, later, so the client has every chance to overrun the limit.
    setTimeout(() => {
      const batch = outstanding;
      outstanding = [];
      for (const f of batch) conn.answer(f, { stat: null });
    }, 5);
  });
  const client = await connect(server.address);
  const order: number[] = [];
  await Promise.all(
    Array.from({ length: 30 }, (_, i) => client.exists(`/n${i}`).then(() => order.push(i))),
  );
  assert.deepEqual(order, Array.from({ length: 30 }, (_, i) => i));
  assert.ok(mostInFlight <= 3, `${mostInFlight} in flight`);
  const paths = server.connections[0].frames.filter((f) => f.op === "exists").map((f) => f.path);
  assert.deepEqual(paths, order.map((i) => `/n${i}`));
  await client.close();
  await server.close();
});

Deno.test("Client drops the connection when a response arrives out of order", async () => {
  const handler = standardHandler();
  const server = await FakeServer.start((conn, frame) => {
    if (conn.index === 0 && frame.op === "exists") {
      return conn.answer({ ...frame, xid: (frame.xid ?? 0) + 100 });
    }
    handler(conn, frame);
  });
  const client = await connect(server.address);
  await assertRejects(client.exists("/a"), ConnectionLossError, "protocol error");
  await server.waitForConnections(2);
  await client.close();
  await server.close();
});

Deno.test("Client rejects bad paths and oversized data with BadArgumentsError without sending", async () => {
  const server = await FakeServer.start(standardHandler({ limits: { dataBytesMax: 10 } }));
  const client = await connect(server.address);
  await assertRejects(client.getData("a"), BadArgumentsError, "must start with /");
  await assertRejects(client.create("/a/"), BadArgumentsError, "must not end with /");
  await assertRejects(
    client.create("/a", "x".repeat(11)),
    BadArgumentsError,
    "over the server's 10-byte limit",
  );
  await assertRejects(client.setData("/a", new Uint8Array(11)), BadArgumentsError, "10-byte limit");
  await assertRejects(client.delete("/a", { version: -2 }), BadArgumentsError, "version");
  await assertRejects(
    client.create("/a", "", { mode: "forever" as CreateMode }),
    BadArgumentsError,
    "create mode",
  );
  assert.deepEqual(ops(server.connections[0].frames), ["connect"]);
  await client.close();
  await server.close();
});

Deno.test("Client fires a watcher registered twice once, and NodeDeleted fires data, exist and child watches", async () => {
  const handler = standardHandler();
  let conn0!: Parameters<typeof handler>[0];
  const server = await FakeServer.start((conn, frame) => {
    conn0 = conn;
    if (frame.op === "getData") return conn.answer(frame, { data: new Uint8Array(), stat: {} });
    if (frame.op === "exists") {
      return conn.answer(frame, { stat: frame.path === "/gone" ? null : {} });
    }
    if (frame.op === "getChildren") return conn.answer(frame, { children: [], stat: {} });
    handler(conn, frame);
  });
  const defaultEvents: WatchEvent[] = [];
  const client = await connect(server.address, { watcher: (event) => defaultEvents.push(event) });
  const events: WatchEvent[] = [];
  const fn = (event: WatchEvent) => events.push(event);
  await client.getData("/a", { watch: fn });
  await client.getData("/a", { watch: fn });
  await client.exists("/a", { watch: fn });
  await client.getChildren("/a", { watch: fn });
  await client.getChildren("/a", { watch: true });
  await client.exists("/gone", { watch: true });
  conn0.send({ t: "event", type: "NodeDeleted", path: "/a", zxid: 5 });
  conn0.send({ t: "event", type: "NodeDeleted", path: "/a", zxid: 6 });
  conn0.send({ t: "event", type: "NodeCreated", path: "/gone", zxid: 7 });
  await client.sync("/");
  assert.deepEqual(events, [{ type: "NodeDeleted", path: "/a" }]);
  assert.deepEqual(defaultEvents, [{ type: "NodeDeleted", path: "/a" }, {
    type: "NodeCreated",
    path: "/gone",
  }]);
  // Events (zxids 5-7) do not move the last zxid, as in ZooKeeper's client; responses (zxid 1) do.
  // Moved by an event, a reconnect in the middle of the events one setWatches fires would make the
  // next server skip the rest.
  assert.equal(client.lastZxid, 1);
  await client.close();
  await server.close();
});

Deno.test("Client strips the chroot from created paths and events and ignores events outside it", async () => {
  const handler = standardHandler();
  let conn0!: Parameters<typeof handler>[0];
  const server = await FakeServer.start((conn, frame) => {
    conn0 = conn;
    if (frame.op === "create") {
      return conn.answer(frame, { path: `${frame.path}0000000003`, stat: {} });
    }
    if (frame.op === "getChildren") return conn.answer(frame, { children: ["x"], stat: {} });
    if (frame.op === "getData" && frame.path === "/app/missing") {
      return conn.answer(frame, { err: "NoNode", message: "/app/missing does not exist" });
    }
    handler(conn, frame);
  });
  const client = await connect(`${server.address}/app`);
  assert.equal(await client.create("/q-", "", { mode: "persistentSequential" }), "/q-0000000003");
  assert.equal(server.connections[0].frames[1].path, "/app/q-");
  const events: WatchEvent[] = [];
  assert.deepEqual(await client.getChildren("/", { watch: (e) => events.push(e) }), ["x"]);
  assert.equal(server.connections[0].frames[2].path, "/app");
  conn0.send({ t: "event", type: "NodeChildrenChanged", path: "/other", zxid: 2 });
  conn0.send({ t: "event", type: "NodeChildrenChanged", path: "/app", zxid: 3 });
  const error = await assertRejects(client.getData("/missing"), NoNodeError);
  assert.equal((error as NoNodeError).path, "/missing");
  assert.deepEqual(events, [{ type: "NodeChildrenChanged", path: "/" }]);
  await client.close();
  await server.close();
});

Deno.test("Client rejects every call after close() with SessionExpiredError", async () => {
  const server = await FakeServer.start();
  const client = await connect(server.address);
  const states = recordStates(client);
  await Promise.all([client.close(), client.close()]);
  assert.deepEqual(states, ["Closed"]);
  await assertRejects(client.getData("/a"), SessionExpiredError, "closed");
  await server.close();
});

Deno.test("connect() rejects with ConnectionLossError when no server answers in time", async () => {
  const server = await FakeServer.start(() => {});
  const silent = server.address;
  const started = Date.now();
  await assertRejects(
    connect(silent, { connectTimeoutMs: 300 }),
    ConnectionLossError,
    "within 300 ms",
  );
  assert.ok(Date.now() - started < 2_000);
  await server.close();
  // Nothing listens on the closed port: the attempts fail at once and retry until the deadline.
  await assertRejects(
    connect(silent, { connectTimeoutMs: 200 }),
    ConnectionLossError,
    "Could not open a session",
  );
});

Deno.test("connect() rejects with the server's error when it refuses the new session", async () => {
  const server = await FakeServer.start((conn) => {
    conn.send({ t: "refused", err: "Throttled", message: "too many connections" });
    conn.close();
  });
  const error = await assertRejects(connect(server.address), Error, "too many connections");
  assert.equal((error as { code?: string }).code, "Throttled");
  await server.close();
});

Deno.test("addAuth() rejects with AuthFailedError and emits AuthFailed when the server refuses", async () => {
  const handler = standardHandler();
  const server = await FakeServer.start((conn, frame) => {
    if (frame.op === "addAuth") {
      return conn.answer(frame, { err: "AuthFailed", message: "bad credentials" });
    }
    handler(conn, frame);
  });
  const client = await connect(server.address);
  const states = recordStates(client);
  await assertRejects(client.addAuth("digest", "nope"), AuthFailedError, "bad credentials");
  assert.deepEqual(states, ["AuthFailed"]);
  assert.equal(client.state, "SyncConnected");
  await client.close();
  await assertRejects(
    connect(server.address, { auth: [{ scheme: "digest", auth: "x" }] }),
    AuthFailedError,
  );
  await server.close();
});

Deno.test("await getData(path, { watch }) resumes before a watcher whose event arrived right after the response", async () => {
  const handler = standardHandler();
  const server = await FakeServer.start((conn, frame) => {
    if (frame.op !== "getData") return handler(conn, frame);
    conn.answer(frame, { data: new Uint8Array(), stat: {} });
    conn.send({ t: "event", type: "NodeDataChanged", path: frame.path as string, zxid: 2 });
  });
  const client = await connect(server.address);
  const seen: string[] = [];
  await client.getData("/a", { watch: () => seen.push("event") });
  seen.push("response");
  await client.sync("/");
  assert.deepEqual(seen, ["response", "event"]);
  await client.close();
  await server.close();
});

Deno.test("close() while disconnected from a server that is gone resolves promptly", async () => {
  const server = await FakeServer.start(standardHandler({ timeoutMs: 3_000 }));
  const client = await connect(server.address, { retryDelayMsMax: 50 });
  const states = recordStates(client);
  const pending = client.exists("/a", { watch: true }).then(
    () => "answered",
    (error) => error.code,
  );
  await server.close();
  await until(() => states.includes("Disconnected"), "the client to notice");
  const queued = client.getData("/b").then(() => "answered", (error) => error.code);
  await delay(150);
  const started = Date.now();
  await client.close();
  assert.ok(Date.now() - started < 1_000, `close took ${Date.now() - started} ms`);
  assert.deepEqual(states, ["Disconnected", "Closed"]);
  assert.ok(["answered", "ConnectionLoss"].includes(await pending));
  assert.equal(await queued, "ConnectionLoss");
});
