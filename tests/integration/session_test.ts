/**
 * Sessions over real TCP (REFERENCE §3, §4): timeout negotiation, keep-alive, resuming the same
 * session on a new connection (ephemerals kept, watches re-registered with SetWatches), and
 * expiry. Connections are broken with the test-only `_testDropConnection()`.
 * @module
 */
import assert from "../assert.ts";
import { assertRejects } from "../client/_assert_throws.ts";
import type { Client, SessionEvent } from "../../src/client/mod.ts";
import { SessionExpiredError } from "../../src/client/errors.ts";
import { delay, EventLog, testTickMs, until, withServer } from "./_helpers.ts";

function recordStates(client: Client): SessionEvent[] {
  const states: SessionEvent[] = [];
  client.on("state", (state) => states.push(state));
  return states;
}

/** Drops `client`'s connection and returns a function that lets it reconnect. */
function dropAndHold(client: Client): () => void {
  let release!: () => void;
  client._testDropConnection({ reconnectAfter: new Promise<void>((resolve) => release = resolve) });
  return release;
}

Deno.test("The server clamps the requested session timeout to [2, 20] ticks", async () => {
  await withServer(async ({ open }) => {
    const short = await open({ sessionTimeoutMs: 50 });
    const long = await open({ sessionTimeoutMs: 100_000 });
    const middle = await open({ sessionTimeoutMs: 1_000 });
    assert.equal(short.sessionTimeoutMs, 2 * testTickMs);
    assert.equal(long.sessionTimeoutMs, 20 * testTickMs);
    assert.equal(middle.sessionTimeoutMs, 1_000);
    assert.notEqual(short.sessionId, long.sessionId);
    assert.equal(short.sessionPassword.byteLength, 16);
  });
});

Deno.test("A client that pings when idle keeps its session alive over many timeouts", async () => {
  await withServer(async ({ open }) => {
    const client = await open({ sessionTimeoutMs: 400 });
    const observer = await open();
    const states = recordStates(client);
    await client.create("/alive", "", { mode: "ephemeral" });
    await delay(1_600);
    assert.deepEqual(states, []);
    assert.equal(client.state, "SyncConnected");
    assert.equal((await observer.exists("/alive"))!.ephemeralOwner, client.sessionId);
  });
});

Deno.test("A session resumed on a new connection keeps its ephemerals and re-registers its watches", async () => {
  await withServer(async ({ open }) => {
    const client = await open({ sessionTimeoutMs: 2_000 });
    const writer = await open();
    const states = recordStates(client);
    const sessionId = client.sessionId;
    await client.create("/eph", "", { mode: "ephemeral" });
    await writer.create("/data", "0");
    await writer.create("/parent");
    const data = new EventLog();
    const children = new EventLog();
    const created = new EventLog();
    await client.getData("/data", { watch: data.watcher });
    await client.getChildren("/parent", { watch: children.watcher });
    await client.exists("/later", { watch: created.watcher });
    client._testDropConnection();
    await until(() => states.includes("SyncConnected"), "the session to resume");
    assert.deepEqual(states, ["Disconnected", "SyncConnected"]);
    assert.equal(client.sessionId, sessionId);
    assert.equal((await writer.exists("/eph"))!.ephemeralOwner, sessionId);
    // Changes after the reconnect reach the watches registered before it.
    await client.sync("/");
    await writer.setData("/data", "1");
    await writer.create("/parent/child");
    await writer.create("/later");
    assert.deepEqual(await data.waitFor(1), [{ type: "NodeDataChanged", path: "/data" }]);
    assert.deepEqual(await children.waitFor(1), [{ type: "NodeChildrenChanged", path: "/parent" }]);
    assert.deepEqual(await created.waitFor(1), [{ type: "NodeCreated", path: "/later" }]);
  });
});

Deno.test("Changes made while a client was disconnected fire its watches at once after the reconnect", async () => {
  await withServer(async ({ open }) => {
    const client = await open({ sessionTimeoutMs: 2_000 });
    const writer = await open();
    await writer.create("/changed", "0");
    await writer.create("/removed");
    await writer.create("/parent");
    await writer.create("/same", "0");
    const log = new EventLog();
    await client.getData("/changed", { watch: log.watcher });
    await client.getData("/removed", { watch: log.watcher });
    await client.getChildren("/parent", { watch: log.watcher });
    await client.exists("/born", { watch: log.watcher });
    const unchanged = new EventLog();
    await client.getData("/same", { watch: unchanged.watcher });
    const release = dropAndHold(client);
    await writer.setData("/changed", "1");
    await writer.delete("/removed");
    await writer.create("/parent/child");
    await writer.create("/born");
    assert.equal(log.events.length, 0);
    release();
    const events = await log.waitFor(4);
    assert.deepEqual(
      [...events].sort((a, b) => a.path.localeCompare(b.path)),
      [
        { type: "NodeCreated", path: "/born" },
        { type: "NodeDataChanged", path: "/changed" },
        { type: "NodeChildrenChanged", path: "/parent" },
        { type: "NodeDeleted", path: "/removed" },
      ],
    );
    // The unchanged node's watch was re-registered, not fired, and still works.
    await client.sync("/");
    assert.deepEqual(unchanged.events, []);
    await writer.setData("/same", "1");
    assert.deepEqual(await unchanged.waitFor(1), [{ type: "NodeDataChanged", path: "/same" }]);
  });
});

Deno.test("Requests issued while disconnected are sent, in order, once the session resumes", async () => {
  await withServer(async ({ open }) => {
    const client = await open({ sessionTimeoutMs: 2_000 });
    const release = dropAndHold(client);
    assert.equal(client.state, "Disconnected");
    const created = client.create("/queued", "a");
    const updated = client.setData("/queued", "b", { version: 0 });
    const read = client.getData("/queued");
    release();
    assert.equal(await created, "/queued");
    assert.equal((await updated).version, 1);
    assert.equal(new TextDecoder().decode((await read).data), "b");
  });
});

Deno.test("Session expiry is seen as Expired, and the server deletes the session's ephemerals", async () => {
  await withServer(async ({ open }) => {
    const client = await open({ sessionTimeoutMs: 200 });
    const observer = await open();
    const states = recordStates(client);
    await client.create("/doomed", "", { mode: "ephemeral" });
    const log = new EventLog();
    await observer.exists("/doomed", { watch: log.watcher });
    // Stay away until the server has expired the session (seen as the ephemeral's deletion).
    client._testDropConnection({ reconnectAfter: log.waitFor(1) });
    // A request issued meanwhile fails: ConnectionLoss once it has waited a session timeout,
    // or SessionExpired if the expiry is learnt first.
    const pending = client.getData("/doomed").then(() => "answered", (error) => error.code);
    assert.deepEqual(await log.waitFor(1), [{ type: "NodeDeleted", path: "/doomed" }]);
    assert.ok(["ConnectionLoss", "SessionExpired"].includes(await pending));
    await until(() => client.state === "Expired", "the client to see the expiry");
    assert.deepEqual(states, ["Disconnected", "Expired"]);
    await assertRejects(client.exists("/"), SessionExpiredError);
    assert.equal(await observer.exists("/doomed"), null);
  });
});
