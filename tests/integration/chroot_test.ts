/**
 * Chroot over real TCP (REFERENCE §5): a client connected with `host:port/app` sees `/app` as
 * its root in requests, responses and events.
 * @module
 */
import assert from "../assert.ts";
import { assertRejects } from "../client/_assert_throws.ts";
import { op } from "../../src/client/mod.ts";
import { NoNodeError } from "../../src/client/errors.ts";
import { EventLog, withServer } from "./_helpers.ts";

Deno.test("A chrooted client reads and writes under its chroot with paths relative to it", async () => {
  await withServer(async ({ open }) => {
    const root = await open();
    await root.create("/app", "root of app");
    const app = await open({}, "/app");
    assert.equal(app.chroot, "/app");
    assert.equal(await app.create("/x", "1"), "/x");
    assert.equal(new TextDecoder().decode((await root.getData("/app/x")).data), "1");
    assert.equal(new TextDecoder().decode((await app.getData("/")).data), "root of app");
    assert.deepEqual(await app.getChildren("/"), ["x"]);
    assert.equal((await app.exists("/"))!.numChildren, 1);
    const seq = await app.create("/x/job-", "", { mode: "persistentSequential" });
    assert.equal(seq, "/x/job-0000000000");
    const results = await app.multi([
      op.create("/y"),
      op.create("/y/s-", "", { mode: "persistentSequential" }),
    ]);
    assert.deepEqual(results.map((r) => r.op === "create" ? r.path : r.op), [
      "/y",
      "/y/s-0000000000",
    ]);
    await root.create("/outside");
    const error = await assertRejects(app.getData("/outside"), NoNodeError);
    assert.equal((error as NoNodeError).path, "/outside");
  });
});

Deno.test("A chrooted client's watch events carry paths relative to the chroot", async () => {
  await withServer(async ({ open }) => {
    const root = await open();
    await root.create("/app");
    await root.create("/app/node", "0");
    const app = await open({}, "/app");
    const log = new EventLog();
    await app.getData("/node", { watch: log.watcher });
    await app.getChildren("/", { watch: log.watcher });
    await root.setData("/app/node", "1");
    await root.create("/app/other");
    const events = await log.waitFor(2);
    assert.deepEqual(events, [
      { type: "NodeDataChanged", path: "/node" },
      { type: "NodeChildrenChanged", path: "/" },
    ]);
  });
});

Deno.test("A client may connect under a chroot that does not exist yet; operations then fail with NoNode", async () => {
  await withServer(async ({ open }) => {
    const app = await open({}, "/not-yet");
    await assertRejects(app.create("/x"), NoNodeError);
    const root = await open();
    await root.create("/not-yet");
    assert.equal(await app.create("/x"), "/x");
  });
});
