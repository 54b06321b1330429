/**
 * One-shot watches over real TCP (REFERENCE §4): every trigger, one-shot removal, de-duplication
 * and the ordering guarantee (an event arrives before any response that reflects its change).
 * @module
 */
import assert from "../assert.ts";
import type { WatchEvent } from "../../src/client/mod.ts";
import { EventLog, withServer } from "./_helpers.ts";

Deno.test("setData fires NodeDataChanged on getData and exists watches of the path", async () => {
  await withServer(async ({ open }) => {
    const watcher = await open();
    const writer = await open();
    await writer.create("/w", "0");
    const fromGetData = new EventLog();
    const fromExists = new EventLog();
    await watcher.getData("/w", { watch: fromGetData.watcher });
    await watcher.exists("/w", { watch: fromExists.watcher });
    await writer.setData("/w", "1");
    assert.deepEqual(await fromGetData.waitFor(1), [{ type: "NodeDataChanged", path: "/w" }]);
    assert.deepEqual(await fromExists.waitFor(1), [{ type: "NodeDataChanged", path: "/w" }]);
  });
});

Deno.test("create fires NodeCreated on exists watches of the path and NodeChildrenChanged on the parent's child watches", async () => {
  await withServer(async ({ open }) => {
    const watcher = await open();
    const writer = await open();
    await writer.create("/p");
    const created = new EventLog();
    const children = new EventLog();
    assert.equal(await watcher.exists("/p/new", { watch: created.watcher }), null);
    await watcher.getChildren("/p", { watch: children.watcher });
    await writer.create("/p/new");
    assert.deepEqual(await created.waitFor(1), [{ type: "NodeCreated", path: "/p/new" }]);
    assert.deepEqual(await children.waitFor(1), [{ type: "NodeChildrenChanged", path: "/p" }]);
  });
});

Deno.test("delete fires NodeDeleted on data, exists and child watches of the path and NodeChildrenChanged on the parent", async () => {
  await withServer(async ({ open }) => {
    const watcher = await open();
    const writer = await open();
    await writer.create("/p");
    await writer.create("/p/gone");
    const data = new EventLog();
    const exists = new EventLog();
    const ownChildren = new EventLog();
    const parentChildren = new EventLog();
    await watcher.getData("/p/gone", { watch: data.watcher });
    await watcher.exists("/p/gone", { watch: exists.watcher });
    await watcher.getChildren("/p/gone", { watch: ownChildren.watcher });
    await watcher.getChildren("/p", { watch: parentChildren.watcher });
    await writer.delete("/p/gone");
    const deleted = [{ type: "NodeDeleted", path: "/p/gone" }];
    assert.deepEqual(await data.waitFor(1), deleted);
    assert.deepEqual(await exists.waitFor(1), deleted);
    assert.deepEqual(await ownChildren.waitFor(1), deleted);
    assert.deepEqual(await parentChildren.waitFor(1), [{
      type: "NodeChildrenChanged",
      path: "/p",
    }]);
  });
});

Deno.test("A child's data change does not fire the parent's child watch", async () => {
  await withServer(async ({ open }) => {
    const watcher = await open();
    const writer = await open();
    await writer.create("/p");
    await writer.create("/p/c");
    const log = new EventLog();
    await watcher.getChildren("/p", { watch: log.watcher });
    await writer.setData("/p/c", "changed");
    // A round trip on the watcher's connection: any event for the setData would be ahead of it.
    await watcher.sync("/");
    await watcher.exists("/p");
    assert.deepEqual(log.events, []);
    await writer.create("/p/d");
    assert.deepEqual(await log.waitFor(1), [{ type: "NodeChildrenChanged", path: "/p" }]);
  });
});

Deno.test("Watches are one-shot: a second change fires nothing until a read re-registers", async () => {
  await withServer(async ({ open }) => {
    const watcher = await open();
    const writer = await open();
    await writer.create("/once", "0");
    const log = new EventLog();
    await watcher.getData("/once", { watch: log.watcher });
    await writer.setData("/once", "1");
    await log.waitFor(1);
    await writer.setData("/once", "2");
    await watcher.exists("/once");
    assert.equal(log.events.length, 1);
    await watcher.getData("/once", { watch: log.watcher });
    await writer.setData("/once", "3");
    assert.equal((await log.waitFor(2)).length, 2);
  });
});

Deno.test("A watcher registered twice on one path fires once, and true watches use the default watcher", async () => {
  await withServer(async ({ open }) => {
    const defaults = new EventLog();
    const watcher = await open({ watcher: defaults.watcher });
    const writer = await open();
    await writer.create("/twice");
    const log = new EventLog();
    await watcher.getData("/twice", { watch: log.watcher });
    await watcher.getData("/twice", { watch: log.watcher });
    await watcher.exists("/twice", { watch: log.watcher });
    await watcher.getData("/twice", { watch: true });
    await watcher.exists("/twice", { watch: true });
    await writer.delete("/twice");
    await log.waitFor(1);
    await defaults.waitFor(1);
    await watcher.sync("/");
    assert.deepEqual(log.events, [{ type: "NodeDeleted", path: "/twice" }]);
    assert.deepEqual(defaults.events, [{ type: "NodeDeleted", path: "/twice" }]);
  });
});

Deno.test("An event arrives before the response of a read issued after the triggering write", async () => {
  await withServer(async ({ open }) => {
    const watcher = await open();
    const writer = await open();
    await writer.create("/order", "0");
    const seen: string[] = [];
    await watcher.getData("/order", { watch: (event) => seen.push(`event ${event.type}`) });
    await writer.setData("/order", "1");
    const { data } = await watcher.getData("/order");
    seen.push(`response ${new TextDecoder().decode(data)}`);
    assert.deepEqual(seen, ["event NodeDataChanged", "response 1"]);
  });
});

Deno.test("A client's own write fires its watch before the write's own response", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    await client.create("/self", "0");
    const seen: string[] = [];
    await client.exists("/self", { watch: (event: WatchEvent) => seen.push(event.type) });
    await client.setData("/self", "1").then(() => seen.push("response"));
    assert.deepEqual(seen, ["NodeDataChanged", "response"]);
  });
});
