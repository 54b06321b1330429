/**
 * Create, read, update and delete over real TCP (REFERENCE §1, §2): stats, create modes,
 * sequential suffixes and the errors a caller must be able to tell apart.
 * @module
 */
import assert from "../assert.ts";
import { assertRejects } from "../client/_assert_throws.ts";
import {
  BadArgumentsError,
  BadVersionError,
  NoChildrenForEphemeralsError,
  NodeExistsError,
  NoNodeError,
  NotEmptyError,
} from "../../src/client/errors.ts";
import { openAcl } from "../../src/tree/types.ts";
import { EventLog, text, withServer } from "./_helpers.ts";

Deno.test("Client.create() then getData() returns the data and the stat of a new node", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    assert.equal(await client.create("/a", "hello"), "/a");
    const { data, stat } = await client.getData("/a");
    assert.equal(text(data), "hello");
    assert.ok(stat.czxid > 0);
    assert.equal(stat.mzxid, stat.czxid);
    assert.equal(stat.pzxid, stat.czxid);
    assert.equal(stat.mtime, stat.ctime);
    assert.ok(Math.abs(stat.ctime - Date.now()) < 60_000, "ctime is wall-clock ms");
    assert.equal(stat.version, 0);
    assert.equal(stat.cversion, 0);
    assert.equal(stat.aversion, 0);
    assert.equal(stat.ephemeralOwner, 0);
    assert.equal(stat.dataLength, 5);
    assert.equal(stat.numChildren, 0);
    assert.deepEqual(await client.exists("/a"), stat);
    assert.ok(client.lastZxid >= stat.czxid);
  });
});

Deno.test("Client.create() stores bytes as given and defaults to empty data", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    await client.create("/bytes", new Uint8Array([0, 255, 7]));
    await client.create("/empty");
    assert.deepEqual((await client.getData("/bytes")).data, new Uint8Array([0, 255, 7]));
    const empty = await client.getData("/empty");
    assert.equal(empty.data.byteLength, 0);
    assert.equal(empty.stat.dataLength, 0);
  });
});

Deno.test("Client.setData() bumps version and mzxid, keeps czxid, and checks the expected version", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    await client.create("/a", "v0");
    const created = (await client.getData("/a")).stat;
    const first = await client.setData("/a", "v1-longer", { version: 0 });
    assert.equal(first.version, 1);
    assert.equal(first.czxid, created.czxid);
    assert.ok(first.mzxid > created.mzxid);
    assert.equal(first.dataLength, 9);
    assert.ok(first.mtime >= first.ctime);
    const second = await client.setData("/a", "v2");
    assert.equal(second.version, 2);
    const error = await assertRejects(
      client.setData("/a", "stale", { version: 1 }),
      BadVersionError,
    );
    assert.equal((error as BadVersionError).code, "BadVersion");
    assert.equal((error as BadVersionError).path, "/a");
    const { data, stat } = await client.getData("/a");
    assert.equal(text(data), "v2");
    assert.deepEqual(stat, second);
  });
});

Deno.test("Creating and deleting children updates the parent's cversion, pzxid and numChildren only", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    await client.create("/p", "parent");
    const before = (await client.exists("/p"))!;
    await client.create("/p/a");
    await client.create("/p/b");
    const bStat = (await client.exists("/p/b"))!;
    const after = await client.getChildren("/p", { stat: true });
    assert.deepEqual(after.children.sort(), ["a", "b"]);
    assert.equal(after.stat.cversion, 2);
    assert.equal(after.stat.numChildren, 2);
    assert.equal(after.stat.pzxid, bStat.czxid);
    assert.equal(after.stat.version, before.version);
    assert.equal(after.stat.mzxid, before.mzxid);
    await client.delete("/p/a");
    const deleted = (await client.exists("/p"))!;
    assert.equal(deleted.cversion, 3);
    assert.equal(deleted.numChildren, 1);
    assert.ok(deleted.pzxid > bStat.czxid);
    assert.deepEqual(await client.getChildren("/p"), ["b"]);
  });
});

Deno.test("Client.delete() honours the expected version and removes the node", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    await client.create("/d");
    await client.setData("/d", "x");
    await assertRejects(client.delete("/d", { version: 0 }), BadVersionError);
    await client.delete("/d", { version: 1 });
    assert.equal(await client.exists("/d"), null);
    await assertRejects(client.delete("/d"), NoNodeError);
  });
});

Deno.test("Client.create() appends a 10-digit sequence to sequential nodes: the children ever created", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    await client.create("/q");
    assert.equal(
      await client.create("/q/item-", "", { mode: "persistentSequential" }),
      "/q/item-0000000000",
    );
    assert.equal(
      await client.create("/q/item-", "", { mode: "persistentSequential" }),
      "/q/item-0000000001",
    );
    await client.create("/q/plain");
    await client.delete("/q/plain");
    // As ZooKeeper 3.8 does: a delete changes cversion but does not advance the sequence.
    assert.equal((await client.exists("/q"))!.cversion, 4);
    assert.equal(
      await client.create("/q/item-", "", { mode: "persistentSequential" }),
      "/q/item-0000000003",
    );
    const lock = await client.create("/q/lock-", "", { mode: "ephemeralSequential" });
    assert.match(lock, /^\/q\/lock-\d{10}$/);
    assert.equal(lock, "/q/lock-0000000004");
    assert.equal((await client.exists(lock))!.ephemeralOwner, client.sessionId);
    assert.equal((await client.exists("/q"))!.cversion, 6);
  });
});

Deno.test("Client.create() supports the four create modes", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    const persistent = await client.create("/persistent", "", { mode: "persistent" });
    const ephemeral = await client.create("/ephemeral", "", { mode: "ephemeral" });
    const persistentSeq = await client.create("/ps-", "", { mode: "persistentSequential" });
    const ephemeralSeq = await client.create("/es-", "", { mode: "ephemeralSequential" });
    assert.equal((await client.exists(persistent))!.ephemeralOwner, 0);
    assert.equal((await client.exists(persistentSeq))!.ephemeralOwner, 0);
    assert.equal((await client.exists(ephemeral))!.ephemeralOwner, client.sessionId);
    assert.equal((await client.exists(ephemeralSeq))!.ephemeralOwner, client.sessionId);
    assert.match(persistentSeq, /^\/ps-\d{10}$/);
    assert.match(ephemeralSeq, /^\/es-\d{10}$/);
    assert.deepEqual((await client.getACL(persistent)).acl, [...openAcl]);
  });
});

Deno.test("Client operations reject with NodeExists, NoNode, NotEmpty and NoChildrenForEphemerals errors", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    await client.create("/a");
    const exists = await assertRejects(client.create("/a"), NodeExistsError);
    assert.equal((exists as NodeExistsError).path, "/a");
    await assertRejects(client.create("/missing/child"), NoNodeError);
    await assertRejects(client.getData("/missing"), NoNodeError);
    await assertRejects(client.setData("/missing", "x"), NoNodeError);
    await assertRejects(client.getChildren("/missing"), NoNodeError);
    await assertRejects(client.getACL("/missing"), NoNodeError);
    await assertRejects(client.delete("/missing"), NoNodeError);
    assert.equal(await client.exists("/missing"), null);
    await client.create("/a/child");
    await assertRejects(client.delete("/a"), NotEmptyError);
    await client.create("/eph", "", { mode: "ephemeral" });
    await assertRejects(client.create("/eph/child"), NoChildrenForEphemeralsError);
    await assertRejects(
      client.create("/eph/seq-", "", { mode: "persistentSequential" }),
      NoChildrenForEphemeralsError,
    );
    // The root always exists and cannot be deleted.
    await assertRejects(client.create("/"), NodeExistsError);
    await assertRejects(client.delete("/"), BadArgumentsError);
    await assertRejects(client.delete("/zookeeper"), BadArgumentsError);
  });
});

Deno.test("Ephemeral nodes vanish when their session closes, as another session sees", async () => {
  await withServer(async ({ open }) => {
    const owner = await open();
    const observer = await open();
    await owner.create("/e", "", { mode: "ephemeral" });
    await owner.create("/kept", "", { mode: "persistent" });
    const log = new EventLog();
    const stat = await observer.exists("/e", { watch: log.watcher });
    assert.equal(stat!.ephemeralOwner, owner.sessionId);
    await owner.close();
    assert.deepEqual(await log.waitFor(1), [{ type: "NodeDeleted", path: "/e" }]);
    assert.equal(await observer.exists("/e"), null);
    assert.notEqual(await observer.exists("/kept"), null);
  });
});

Deno.test("Client.sync() resolves, and getChildren() lists every child of the root", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    await client.create("/x");
    await client.create("/y");
    await client.sync("/x");
    const children = await client.getChildren("/");
    assert.ok(children.includes("x") && children.includes("y"));
  });
});

Deno.test("Client.create() of a sequential path ending in / names the child by its counter", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    await client.create("/q");
    assert.equal(await client.create("/q/", "", { mode: "persistentSequential" }), "/q/0000000000");
    assert.equal(await client.create("/q/", "", { mode: "ephemeralSequential" }), "/q/0000000001");
  });
});
