/**
 * The client's ZooKeeper 3.6+ additions against a real in-process server: persistent and
 * recursive watches (addWatch) and their re-registration after a reconnect, removeWatches and
 * checkWatches, getEphemerals, getAllChildrenNumber, whoAmI, multiRead, and the container and
 * TTL create modes.
 * @module
 */
import assert from "../assert.ts";
import { assertRejects } from "./_assert_throws.ts";
import {
  BadArgumentsError,
  type Client,
  connect,
  type ConnectOptions,
  NoNodeError,
  NoWatcherError,
  op,
  UnimplementedError,
  type WatchEvent,
} from "../../src/client/mod.ts";
import { type CorralServer, startServer } from "../../src/server/server.ts";

/** Tick of the test servers: sessions clamp to [200, 2000] ms. */
const tickMs = 100;

interface Harness {
  server: CorralServer;
  /** Opens a client (closed at the end); `suffix` is appended to the address (a chroot). */
  open(options?: ConnectOptions, suffix?: string): Promise<Client>;
}

/** Runs `body` against a fresh server with TTL nodes enabled, then closes everything. */
async function withServer(
  body: (harness: Harness) => Promise<void>,
  ttlEnabled = true,
): Promise<void> {
  const server = await startServer({ port: 0, hostname: "127.0.0.1", tickMs, ttlEnabled });
  const clients: Client[] = [];
  try {
    await body({
      server,
      open: async (options = {}, suffix = "") => {
        const client = await connect(`127.0.0.1:${server.port}${suffix}`, options);
        clients.push(client);
        return client;
      },
    });
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await server.close();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 20 ms until it holds; throws after `timeoutMs`. */
async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await delay(20);
  }
}

/** A listener that records what it is told, as `"Type /path"` strings. */
function recorder(): { events: string[]; listener: (event: WatchEvent) => void } {
  const events: string[] = [];
  return { events, listener: (event) => events.push(`${event.type} ${event.path}`) };
}

/** Drops `client`'s connection and returns a function that lets it reconnect. */
function dropAndHold(client: Client): () => void {
  let release!: () => void;
  client._testDropConnection({ reconnectAfter: new Promise<void>((resolve) => release = resolve) });
  return release;
}

/** Waits until `client` is connected again after a drop. */
function reconnected(client: Client): Promise<void> {
  return until(() => client.state === "SyncConnected", "the session to resume");
}

// ---- addWatch ---------------------------------------------------------------------------------

Deno.test("Client.addWatch() leaves a persistent watch that fires for every change of the node and its child list", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    const { events, listener } = recorder();
    await client.create("/p", "0");
    await client.addWatch("/p", listener);
    // The client's own writes are answered after the events they fire, so awaiting them is enough.
    await client.setData("/p", "1");
    await client.setData("/p", "2");
    await client.create("/p/c");
    await client.setData("/p/c", "x"); // a child's data: not this watch's business
    await client.delete("/p/c");
    await client.delete("/p");
    await client.create("/p");
    assert.deepEqual(events, [
      "NodeDataChanged /p",
      "NodeDataChanged /p",
      "NodeChildrenChanged /p",
      "NodeChildrenChanged /p",
      "NodeDeleted /p",
      "NodeCreated /p",
    ]);
  });
});

Deno.test("Client.addWatch() with recursive sees creates, changes and deletes at every depth, and no child-list events", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    const writer = await open();
    const { events, listener } = recorder();
    await client.addWatch("/r", listener, { recursive: true });
    await writer.create("/r");
    await writer.create("/r/a");
    // A child watch makes the server send NodeChildrenChanged /r/a to this session; the
    // recursive watch must still not hear it.
    const children = recorder();
    await client.getChildren("/r/a", { watch: children.listener });
    await writer.create("/r/a/b", "0");
    await writer.setData("/r/a/b", "1");
    await writer.create("/rx"); // shares a prefix with /r but is not below it
    await writer.delete("/r/a/b");
    await client.sync("/");
    assert.deepEqual(events, [
      "NodeCreated /r",
      "NodeCreated /r/a",
      "NodeCreated /r/a/b",
      "NodeDataChanged /r/a/b",
      "NodeDeleted /r/a/b",
    ]);
    assert.deepEqual(children.events, ["NodeChildrenChanged /r/a"]);
  });
});

Deno.test("Client.addWatch() and a one-shot watch on the same node are each told once, and only the persistent one stays", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    const once = recorder();
    const always = recorder();
    await client.create("/both", "0");
    await client.addWatch("/both", always.listener);
    await client.getData("/both", { watch: once.listener });
    await client.setData("/both", "1");
    await client.setData("/both", "2");
    assert.deepEqual(once.events, ["NodeDataChanged /both"]);
    assert.deepEqual(always.events, ["NodeDataChanged /both", "NodeDataChanged /both"]);
  });
});

Deno.test("Client.addWatch() under a chroot registers below it and reports paths without it", async () => {
  await withServer(async ({ open }) => {
    const root = await open();
    await root.create("/app");
    const client = await open({}, "/app");
    const { events, listener } = recorder();
    await client.addWatch("/", listener, { recursive: true });
    await root.create("/app/x");
    await root.create("/apple"); // outside the chroot
    await root.setData("/app", "v");
    await client.sync("/");
    assert.deepEqual(events, ["NodeCreated /x", "NodeDataChanged /"]);
  });
});

Deno.test("Client.addWatch() rejects a bad path or listener before sending anything", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    await assertRejects(client.addWatch("p", () => {}), BadArgumentsError, "Invalid path");
    await assertRejects(
      client.addWatch("/p", "not a function" as unknown as () => void),
      BadArgumentsError,
      "listener",
    );
  });
});

// ---- re-registration after a reconnect --------------------------------------------------------

Deno.test("Client re-registers persistent watches after a reconnect, without reporting what it missed", async () => {
  await withServer(async ({ open }) => {
    const root = await open();
    await root.create("/app");
    await root.create("/app/w", "0");
    await root.create("/app/tree");
    const client = await open({ sessionTimeoutMs: 2_000 }, "/app");
    const writer = await open({}, "/app");
    const node = recorder();
    const tree = recorder();
    await client.addWatch("/w", node.listener);
    await client.addWatch("/tree", tree.listener, { recursive: true });
    const release = dropAndHold(client);
    await writer.setData("/w", "missed");
    await writer.create("/tree/missed");
    release();
    await reconnected(client);
    // setWatches goes before sync: anything it fired would have arrived by now.
    await client.sync("/");
    assert.deepEqual(node.events, [], "changes made while disconnected are not reported");
    assert.deepEqual(tree.events, []);
    await writer.setData("/w", "after");
    await writer.create("/tree/missed/deeper");
    await client.sync("/");
    assert.deepEqual(node.events, ["NodeDataChanged /w"]);
    assert.deepEqual(tree.events, ["NodeCreated /tree/missed/deeper"]);
  });
});

Deno.test("Client keeps its persistent watches when a server restart closes its connection", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "corral-zk36-" });
  const options = { hostname: "127.0.0.1", tickMs, ttlEnabled: true, dataDir };
  let server = await startServer({ ...options, port: 0 });
  const port = server.port;
  const clients: Client[] = [];
  try {
    const address = `127.0.0.1:${port}`;
    const client = await connect(address, { sessionTimeoutMs: 2_000, retryDelayMsMax: 50 });
    clients.push(client);
    const states: string[] = [];
    client.on("state", (state) => states.push(state));
    const sessionId = client.sessionId;
    const { events, listener } = recorder();
    await client.create("/w", "0");
    await client.addWatch("/w", listener);
    await server.close();
    await until(() => states.includes("Disconnected"), "the client to see the connection go");
    server = await startServer({ ...options, port });
    await until(() => states.includes("SyncConnected"), "the session to resume");
    assert.equal(client.sessionId, sessionId);
    const writer = await connect(address);
    clients.push(writer);
    await writer.setData("/w", "1");
    await client.sync("/");
    assert.deepEqual(events, ["NodeDataChanged /w"]);
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await server.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

// ---- removeWatches and checkWatches -----------------------------------------------------------

Deno.test("Client.removeWatches() stops a persistent watch; a second removal rejects with NoWatcherError", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    const { events, listener } = recorder();
    await client.create("/rm", "0");
    await client.addWatch("/rm", listener);
    await client.checkWatches("/rm", "persistent");
    await client.setData("/rm", "1");
    await client.removeWatches("/rm", "persistent");
    await client.setData("/rm", "2");
    await client.create("/rm/child");
    assert.deepEqual(events, ["NodeDataChanged /rm"]);
    await assertRejects(client.checkWatches("/rm", "persistent"), NoWatcherError);
    const error = await assertRejects(client.removeWatches("/rm", "persistent"), NoWatcherError);
    assert.equal((error as NoWatcherError).path, "/rm");
  });
});

Deno.test("Client.removeWatches() also forgets the watch locally, so a reconnect does not bring it back", async () => {
  await withServer(async ({ open }) => {
    const client = await open({ sessionTimeoutMs: 2_000 });
    const { events, listener } = recorder();
    await client.addWatch("/gone", listener, { recursive: true });
    await client.addWatch("/kept", listener);
    await client.removeWatches("/gone", "persistentRecursive");
    dropAndHold(client)();
    await reconnected(client);
    await client.checkWatches("/kept", "persistent");
    await assertRejects(client.checkWatches("/gone", "any"), NoWatcherError);
    await client.create("/gone");
    assert.deepEqual(events, []);
  });
});

Deno.test("Client.removeWatches() with a listener removes only that function's watch", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    const a = recorder();
    const b = recorder();
    await client.create("/shared", "0");
    await client.addWatch("/shared", a.listener);
    await client.addWatch("/shared", b.listener);
    await client.removeWatches("/shared", "persistent", { listener: a.listener });
    // b still needs the server's watch, so it stays.
    await client.checkWatches("/shared", "persistent");
    await client.setData("/shared", "1");
    assert.deepEqual(a.events, []);
    assert.deepEqual(b.events, ["NodeDataChanged /shared"]);
    await assertRejects(
      client.removeWatches("/shared", "persistent", { listener: a.listener }),
      NoWatcherError,
      "listener",
    );
    await client.removeWatches("/shared", "any", { listener: b.listener });
    await assertRejects(client.checkWatches("/shared", "persistent"), NoWatcherError);
    await client.setData("/shared", "2");
    assert.deepEqual(b.events, ["NodeDataChanged /shared"]);
  });
});

Deno.test("Client.removeWatches() of type data removes getData and exists watches, and children leaves them", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    const { events, listener } = recorder();
    await client.create("/d", "0");
    await client.getData("/d", { watch: listener });
    await client.getChildren("/d", { watch: listener });
    await client.exists("/missing", { watch: listener });
    await client.checkWatches("/d", "any");
    await client.removeWatches("/d", "data");
    await client.removeWatches("/missing", "data");
    await assertRejects(client.checkWatches("/d", "data"), NoWatcherError);
    await client.checkWatches("/d", "children");
    await client.setData("/d", "1");
    await client.create("/missing");
    await client.create("/d/kid");
    assert.deepEqual(events, ["NodeChildrenChanged /d"]);
    await assertRejects(client.removeWatches("/d", "any"), NoWatcherError, "/d");
  });
});

Deno.test("Client.removeWatches() and checkWatches() reject an unknown watch type", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    const bogus = "everything" as unknown as "any";
    await assertRejects(client.removeWatches("/", bogus), BadArgumentsError, "watch type");
    await assertRejects(client.checkWatches("/", bogus), BadArgumentsError, "watch type");
  });
});

// ---- getEphemerals, getAllChildrenNumber, whoAmI ----------------------------------------------

Deno.test("Client.getEphemerals() lists this session's ephemerals by string prefix", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    const other = await open();
    await client.create("/eph");
    await client.create("/e1", "", { mode: "ephemeral" });
    await client.create("/eph/a", "", { mode: "ephemeral" });
    await client.create("/eph/b-", "", { mode: "ephemeralSequential" });
    await other.create("/e-other", "", { mode: "ephemeral" });
    assert.deepEqual(await client.getEphemerals(), ["/e1", "/eph/a", "/eph/b-0000000001"]);
    assert.deepEqual(await client.getEphemerals("/eph/b"), ["/eph/b-0000000001"]);
    assert.deepEqual(await client.getEphemerals("/none"), []);
    assert.deepEqual(await other.getEphemerals(), ["/e-other"]);
    await assertRejects(client.getEphemerals("eph"), BadArgumentsError, "prefix");
  });
});

Deno.test("Client.getEphemerals() under a chroot takes and returns paths below it", async () => {
  await withServer(async ({ open }) => {
    const root = await open();
    await root.create("/app");
    await root.create("/app/jobs");
    const client = await open({}, "/app");
    await client.create("/mine", "", { mode: "ephemeral" });
    await client.create("/jobs/j-", "", { mode: "ephemeralSequential" });
    assert.deepEqual(await client.getEphemerals(), ["/jobs/j-0000000000", "/mine"]);
    assert.deepEqual(await client.getEphemerals("/m"), ["/mine"]);
    assert.deepEqual(await client.getEphemerals("/jobs/"), ["/jobs/j-0000000000"]);
  });
});

Deno.test("Client.getAllChildrenNumber() counts the nodes at every depth below a node", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    await client.create("/n");
    await client.create("/n/a");
    await client.create("/n/a/b");
    await client.create("/n/a/b/c");
    await client.create("/n/d");
    assert.equal(await client.getAllChildrenNumber("/n"), 4);
    assert.equal(await client.getAllChildrenNumber("/n/a"), 2);
    assert.equal(await client.getAllChildrenNumber("/n/d"), 0);
    const error = await assertRejects(client.getAllChildrenNumber("/nothing"), NoNodeError);
    assert.equal((error as NoNodeError).path, "/nothing");
    await assertRejects(client.getAllChildrenNumber("n"), BadArgumentsError, "Invalid path");
  });
});

Deno.test("Client.whoAmI() names the digest users the connection authenticated as", async () => {
  await withServer(async ({ open }) => {
    const anonymous = await open();
    const bob = await open({ auth: [{ scheme: "digest", auth: "bob:secret" }] });
    const before = await anonymous.whoAmI();
    assert.ok(before.every((info) => info.scheme !== "digest"), JSON.stringify(before));
    const infos = await bob.whoAmI();
    assert.ok(
      infos.some((info) => info.scheme === "digest" && info.user === "bob"),
      JSON.stringify(infos),
    );
    await anonymous.addAuth("digest", "alice:pw");
    const after = await anonymous.whoAmI();
    assert.deepEqual(after.filter((info) => info.scheme === "digest"), [
      { scheme: "digest", user: "alice" },
    ]);
  });
});

// ---- multiRead --------------------------------------------------------------------------------

Deno.test("Client.multiRead() answers each read on its own, with a failed read as an error in its slot", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    await client.create("/mr", "value");
    await client.create("/mr/a");
    await client.create("/mr/b");
    await client.create("/secret", "s", { acl: [{ perms: 2, scheme: "world", id: "anyone" }] }); // WRITE only
    const results = await client.multiRead([
      { op: "getData", path: "/mr" },
      { op: "getChildren", path: "/mr" },
      { op: "getData", path: "/missing" },
      { op: "getChildren", path: "/secret" },
      { op: "getData", path: "/mr/a" },
    ]);
    assert.equal(results.length, 5);
    const [data, children, missing, denied, last] = results;
    assert.ok(data.op === "getData");
    assert.equal(new TextDecoder().decode(data.data), "value");
    assert.equal(data.stat.numChildren, 2);
    assert.ok(children.op === "getChildren");
    assert.deepEqual([...children.children].sort(), ["a", "b"]);
    assert.ok(missing.op === "error");
    assert.equal(missing.err, "NoNode");
    assert.ok(denied.op === "error");
    assert.equal(denied.err, "NoAuth");
    assert.ok(last.op === "getData");
    assert.equal(last.data.byteLength, 0);
    assert.deepEqual(await client.multiRead([]), []);
  });
});

Deno.test("Client.multiRead() applies the chroot and rejects a malformed read", async () => {
  await withServer(async ({ open }) => {
    const root = await open();
    await root.create("/app", "top");
    await root.create("/app/x", "in");
    const client = await open({}, "/app");
    const [top, x] = await client.multiRead([
      { op: "getData", path: "/" },
      { op: "getData", path: "/x" },
    ]);
    assert.ok(top.op === "getData" && x.op === "getData");
    assert.equal(new TextDecoder().decode(top.data), "top");
    assert.equal(new TextDecoder().decode(x.data), "in");
    await assertRejects(
      client.multiRead([{ op: "setData", path: "/x" } as unknown as { op: "getData"; path: "/" }]),
      BadArgumentsError,
      "getData or getChildren",
    );
    await assertRejects(
      client.multiRead([{ op: "getData", path: "x" }]),
      BadArgumentsError,
      "Invalid path",
    );
  });
});

// ---- containers and TTL nodes -----------------------------------------------------------------

Deno.test("Client.create() of a container: the server removes it once its last child is gone", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    await client.create("/ct", "", { mode: "container" });
    await client.create("/never", "", { mode: "container" });
    assert.equal((await client.exists("/ct"))!.ephemeralOwner, -1);
    await client.create("/ct/a");
    await client.create("/ct/b");
    await client.delete("/ct/a");
    assert.notEqual(await client.exists("/ct"), null, "one child left");
    await client.delete("/ct/b");
    await until(async () => (await client.exists("/ct")) === null, "the container to go");
    // The pass that removed /ct looked at /never too: a container that never had children stays.
    assert.notEqual(await client.exists("/never"), null);
  });
});

Deno.test("Client.create() of TTL nodes: the TTL is in ephemeralOwner and an idle childless node goes", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    await client.create("/t", "", { mode: "persistentWithTtl", ttlMs: 200 });
    assert.equal((await client.exists("/t"))!.ephemeralOwner, -201);
    const seq = await client.create("/s-", "", {
      mode: "persistentSequentialWithTtl",
      ttlMs: 1_000_000,
    });
    assert.equal(seq, "/s-0000000001");
    assert.equal((await client.exists(seq))!.ephemeralOwner, -1_000_001);
    const [created] = await client.multi([
      op.create("/m", "", { mode: "persistentWithTtl", ttlMs: 300 }),
    ]);
    assert.ok(created.op === "create" && created.stat.ephemeralOwner === -301);
    await until(async () => (await client.exists("/t")) === null, "the TTL node to go");
    assert.notEqual(await client.exists(seq), null, "a node within its TTL stays");
  });
});

Deno.test("Client.create() checks ttlMs against the mode before sending", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    await assertRejects(
      client.create("/t", "", { mode: "persistentWithTtl" }),
      BadArgumentsError,
      "ttlMs",
    );
    await assertRejects(
      client.create("/t", "", { mode: "persistentWithTtl", ttlMs: 0 }),
      BadArgumentsError,
      "ttlMs",
    );
    await assertRejects(
      client.create("/t", "", { mode: "persistentWithTtl", ttlMs: 1.5 }),
      BadArgumentsError,
      "ttlMs",
    );
    await assertRejects(
      client.create("/t", "", { mode: "container", ttlMs: 100 }),
      BadArgumentsError,
      "ttlMs",
    );
    await assertRejects(
      client.multi([op.create("/t", "", { mode: "persistent", ttlMs: 100 })]),
      BadArgumentsError,
      "ttlMs",
    );
    // A sequential TTL path is judged with its counter appended, as the server does.
    assert.equal(
      await client.create("/q/", "", { mode: "persistentSequentialWithTtl", ttlMs: 60_000 })
        .catch((error) => error.constructor.name),
      "NoNodeError",
    );
    assert.equal(await client.exists("/t"), null);
  });
});

Deno.test("Client.create() of a TTL node rejects with UnimplementedError when the server does not allow them", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    await assertRejects(
      client.create("/t", "", { mode: "persistentWithTtl", ttlMs: 1_000 }),
      UnimplementedError,
    );
    await assertRejects(
      client.create("/s-", "", { mode: "persistentSequentialWithTtl", ttlMs: 1_000 }),
      UnimplementedError,
    );
    assert.equal(await client.exists("/t"), null);
    // Containers need no opt-in.
    await client.create("/c", "", { mode: "container" });
    assert.equal((await client.exists("/c"))!.ephemeralOwner, -1);
  }, false);
});
