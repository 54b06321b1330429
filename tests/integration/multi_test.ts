/**
 * multi over real TCP (REFERENCE §1): all or nothing, one zxid, results per op, and the failing
 * op's index and error.
 * @module
 */
import assert from "../assert.ts";
import { assertRejects } from "../client/_assert_throws.ts";
import { op } from "../../src/client/mod.ts";
import { MultiError } from "../../src/client/errors.ts";
import { withServer } from "./_helpers.ts";

Deno.test("Client.multi() applies every op atomically under one zxid and returns a result per op", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    await client.create("/m", "0");
    await client.create("/m/old");
    const results = await client.multi([
      op.check("/m", 0),
      op.create("/m/a", "a"),
      op.create("/m/seq-", "", { mode: "persistentSequential" }),
      op.setData("/m", "1", { version: 0 }),
      op.delete("/m/old"),
    ]);
    assert.deepEqual(results.map((r) => r.op), ["check", "create", "create", "setData", "delete"]);
    const [, a, seq, set] = results;
    assert.ok(a.op === "create" && seq.op === "create" && set.op === "setData");
    assert.equal(a.path, "/m/a");
    assert.equal(seq.path, "/m/seq-0000000002");
    assert.equal(a.stat.czxid, seq.stat.czxid, "every op of a multi shares one zxid");
    assert.equal(set.stat.version, 1);
    assert.equal(set.stat.mzxid, a.stat.czxid);
    assert.deepEqual((await client.getChildren("/m")).sort(), ["a", "seq-0000000002"]);
  });
});

Deno.test("A failing op makes Client.multi() apply nothing and reject with the failing index", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    await client.create("/m", "0");
    const before = client.lastZxid;
    const error = await assertRejects(
      client.multi([
        op.create("/m/new"),
        op.setData("/m", "1", { version: 0 }),
        op.check("/m", 5),
        op.delete("/m"),
      ]),
      MultiError,
    ) as MultiError;
    assert.equal(error.code, "BadVersion");
    assert.equal(error.failedIndex, 2);
    assert.equal(error.path, "/m");
    assert.deepEqual(error.results.map((r) => r.op === "error" ? r.err : r.op), [
      "RolledBack",
      "RolledBack",
      "BadVersion",
      "RuntimeInconsistency",
    ]);
    assert.equal(await client.exists("/m/new"), null);
    assert.equal((await client.getData("/m")).stat.version, 0);
    assert.ok((await client.exists("/m"))!.mzxid <= before);
  });
});

Deno.test("Client.multi() reports NoNode and NodeExists failures by index", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    await client.create("/exists");
    const noNode = await assertRejects(
      client.multi([op.delete("/missing")]),
      MultiError,
    ) as MultiError;
    assert.equal(noNode.code, "NoNode");
    assert.equal(noNode.failedIndex, 0);
    const nodeExists = await assertRejects(
      client.multi([op.create("/fresh"), op.create("/exists")]),
      MultiError,
    ) as MultiError;
    assert.equal(nodeExists.code, "NodeExists");
    assert.equal(nodeExists.failedIndex, 1);
    assert.equal(await client.exists("/fresh"), null);
  });
});

Deno.test("Client.multi() sees the effects of its own earlier ops", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    const results = await client.multi([
      op.create("/chain"),
      op.create("/chain/child", "x"),
      op.setData("/chain/child", "y", { version: 0 }),
      op.check("/chain/child", 1),
    ]);
    assert.equal(results.length, 4);
    assert.equal(new TextDecoder().decode((await client.getData("/chain/child")).data), "y");
    assert.deepEqual(await client.multi([]), []);
  });
});
