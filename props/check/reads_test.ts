/**
 * The read checker and the committed-order model under it (REFERENCE §1, §6 "Reads"): hand-written
 * histories that must pass or fail, and random runs of the real replica that all three
 * history checkers must accept, with seeded-bug twins for reads.
 * @module
 */
import fc from "fast-check";
import assert from "../../tests/assert.ts";
import { assertFindsBug, assertProperty } from "../_props.ts";
import { bytes, HistoryBuilder, keepEphemeral, runArb, simulate, staleRead } from "./_fixtures.ts";
import { replayCommitted } from "./committed.ts";
import { checkFifo } from "./fifo.ts";
import type { History } from "./history.ts";
import { checkLinearizable } from "./linearizable.ts";
import { checkReads } from "./reads.ts";
import { checkWatches } from "./watches.ts";

const openAcl = [{ perms: 31, scheme: "world", id: "anyone" }];

function messages(result: { violations: { message: string }[] }): string[] {
  return result.violations.map((v) => v.message);
}

Deno.test("replayCommitted() follows ZooKeeper's stat rules for create, setData, delete and close", () => {
  const records = [
    { type: "createSession", sessionId: 7, timeoutMs: 1000, password: bytes("") },
    {
      type: "create",
      path: "/a",
      data: bytes("x"),
      acl: openAcl,
      ephemeralOwner: 0,
      // "/" starts at cversion -1: /zookeeper is its child, never created (ZooKeeper's rule).
      parentCversion: 0,
    },
    {
      type: "create",
      path: "/a/e",
      data: bytes(""),
      acl: openAcl,
      ephemeralOwner: 7,
      parentCversion: 1,
    },
    { type: "setData", path: "/a", data: bytes("hello"), version: 1 },
    { type: "closeSession", sessionId: 7 },
  ] as const;
  const committed = records.map((txn, i) => ({
    zxid: 10 + i,
    timeMs: 100 * i,
    sessionId: 7,
    txn: structuredClone(txn) as never,
  }));
  const replay = replayCommitted(committed, [
    { zxid: 12, path: "/a/e" },
    { zxid: 13, path: "/a" },
    { zxid: 14, path: "/a" },
    { zxid: 14, path: "/a/e" },
    { zxid: 9, path: "/" },
    { zxid: 11, path: "/" },
  ]);
  assert.deepEqual(replay.violations, []);
  const [ephemeral, afterSet, afterClose, gone, rootBefore, rootAfter] = replay.answers;
  assert.deepEqual(ephemeral!.stat, {
    czxid: 12,
    mzxid: 12,
    pzxid: 12,
    ctime: 200,
    mtime: 200,
    version: 0,
    cversion: 0,
    aversion: 0,
    ephemeralOwner: 7,
    dataLength: 0,
    numChildren: 0,
  });
  assert.deepEqual(afterSet!.stat, {
    czxid: 11,
    mzxid: 13,
    pzxid: 12,
    ctime: 100,
    mtime: 300,
    version: 1,
    cversion: 1,
    aversion: 0,
    ephemeralOwner: 0,
    dataLength: 5,
    numChildren: 1,
  });
  assert.deepEqual(afterSet!.children, ["e"]);
  assert.deepEqual(
    {
      pzxid: afterClose!.stat.pzxid,
      cversion: afterClose!.stat.cversion,
      children: afterClose!.children,
    },
    { pzxid: 14, cversion: 2, children: [] },
  );
  assert.equal(gone, null);
  assert.deepEqual(rootBefore!.children, ["zookeeper"], "the server's tree starts with /zookeeper");
  assert.deepEqual(rootAfter!.children, ["a", "zookeeper"]);
  assert.deepEqual([rootBefore!.stat.cversion, rootAfter!.stat.cversion], [-1, 0]);
  assert.deepEqual(
    replay.applied.at(-1)!.triggers,
    [{ type: "NodeDeleted", path: "/a/e" }, { type: "NodeChildrenChanged", path: "/a" }],
  );
  assert.equal(replay.sessionEnds.get(7), 14);
});

Deno.test("replayCommitted() reports a committed txn that cannot apply, and zxids that do not grow", () => {
  const b = new HistoryBuilder();
  const c = b.open(1);
  b.commit(c.sessionId, { type: "setData", path: "/missing", data: bytes(""), version: 1 });
  b.history.committed.push({ ...b.history.committed[0], zxid: 1 });
  const found = messages(checkReads(b.history));
  assert.equal(found.length, 2, found.join("\n"));
  assert.match(found[0], /setData of \/missing, which does not exist/);
  assert.match(found[1], /zxids must grow/);
});

Deno.test("checkReads() accepts reads, writes, a sequential create and a close that match the committed order", () => {
  const b = new HistoryBuilder();
  const c1 = b.open(1);
  const c2 = b.open(2, 2);
  b.create(c1, "/a", "one");
  b.create(c1, "/a/e", "", true);
  const lagging = b.lastZxid;
  b.setData(c1, "/a", "two");
  // A sequential create: the committed path carries the suffix the client was told.
  b.write(
    c2,
    { op: "create", path: "/a/s-", data: bytes(""), acl: openAcl, mode: "persistentSequential" },
    {
      type: "create",
      path: "/a/s-0000000001",
      data: bytes(""),
      acl: openAcl,
      ephemeralOwner: 0,
      parentCversion: 2,
    },
    "/a/s-0000000001",
  );
  b.read(c1, "getData", "/a");
  b.read(c1, "getChildren", "/a");
  // Client 2 reads from a server that is behind: stale but consistent, and its own view grows.
  const c3 = b.open(3, 3);
  b.read(c3, "exists", "/a", { zxid: lagging });
  b.read(c3, "getData", "/a", { zxid: lagging });
  b.read(c3, "getData", "/nope");
  b.close(c1);
  b.read(c2, "exists", "/a/e");
  const result = checkReads(b.history);
  assert.deepEqual(messages(result), []);
  assert.equal(result.checked, b.history.ops.length);
});

Deno.test("checkReads() rejects a stale read after the client's own write", () => {
  const b = new HistoryBuilder();
  const c = b.open(3);
  b.create(c, "/k1", "v1");
  const before = b.lastZxid;
  b.setData(c, "/k1", "v2");
  b.read(c, "getData", "/k1", { zxid: before });
  const found = messages(checkReads(b.history));
  assert.equal(found.length, 1, found.join("\n"));
  assert.match(
    found[0],
    /client 3 read \/k1 at zxid 0x100000002 after its own write at 0x100000003 completed/,
  );
});

Deno.test("checkReads() rejects a read that does not match the state at its zxid", () => {
  const b = new HistoryBuilder();
  const c = b.open(1);
  b.create(c, "/a", "old");
  b.setData(c, "/a", "new");
  const op = b.read(c, "getData", "/a");
  op.response!.data = bytes("old");
  const found = messages(checkReads(b.history));
  assert.equal(found.length, 1, found.join("\n"));
  assert.match(found[0], /data "old", but the node held "new" then/);
});

Deno.test("checkReads() rejects a stat field that differs, and NoNode for a node that existed", () => {
  const b = new HistoryBuilder();
  const c = b.open(1);
  b.create(c, "/a");
  const op = b.read(c, "exists", "/a");
  op.response!.stat = { ...op.response!.stat!, cversion: 3 };
  b.answer(b.send(c, { op: "getChildren", path: "/a", watch: false }), { err: "NoNode" });
  const found = messages(checkReads(b.history));
  assert.equal(found.length, 2, found.join("\n"));
  assert.match(found[0], /cversion 3, expected 0/);
  assert.match(found[1], /answered NoNode at zxid .*, but the node existed then/);
});

Deno.test("checkReads() rejects a zxid going backwards after a reconnect to another server", () => {
  const b = new HistoryBuilder();
  const c = b.open(1);
  b.create(c, "/a");
  const early = b.lastZxid;
  const other = b.open(2);
  b.create(other, "/b");
  b.read(c, "exists", "/b");
  b.reconnect(c, 2);
  b.read(c, "exists", "/b", { zxid: early });
  const found = messages(checkReads(b.history));
  assert.equal(found.length, 1, found.join("\n"));
  assert.match(
    found[0],
    /client 1 read \/b at zxid 0x100000002 after it had seen zxid 0x100000004/,
  );
  assert.match(found[0], /connection 2 to server 2/);
});

Deno.test("checkReads() rejects an ephemeral still seen after its session's closeSession", () => {
  const b = new HistoryBuilder();
  const owner = b.open(1);
  const reader = b.open(2);
  b.create(owner, "/lock", "", true);
  const held = b.read(reader, "exists", "/lock");
  b.close(owner);
  const after = b.read(reader, "exists", "/lock");
  after.response!.stat = held.response!.stat;
  const found = messages(checkReads(b.history));
  assert.equal(found.length, 1, found.join("\n"));
  assert.match(found[0], /exists \/lock .* it says the node exists, but it did not then/);
});

Deno.test("checkReads() rejects a read answered beyond the last committed zxid", () => {
  const b = new HistoryBuilder();
  const c = b.open(1);
  b.read(c, "exists", "/a", { zxid: b.lastZxid + 5 });
  assert.match(messages(checkReads(b.history))[0], /beyond the last committed zxid/);
});

Deno.test("checkReads() rejects acknowledged writes that no committed txn of theirs matches", () => {
  const b = new HistoryBuilder();
  const c = b.open(1);
  const other = b.open(2);
  b.create(c, "/a");
  // A setData acknowledged at the zxid of another session's txn.
  const foreign = b.create(other, "/b");
  b.answer(b.send(c, { op: "setData", path: "/b", data: bytes(""), version: -1 }), {
    zxid: foreign.response!.zxid,
  });
  // A setData whose committed txn holds other data, and one claiming a txn twice.
  const set = b.write(
    c,
    { op: "setData", path: "/a", data: bytes("mine"), version: 0 },
    { type: "setData", path: "/a", data: bytes("theirs"), version: 1 },
  );
  b.answer(b.send(c, { op: "setData", path: "/a", data: bytes("theirs"), version: -1 }), {
    zxid: set.response!.zxid,
  });
  const found = messages(checkReads(b.history));
  assert.equal(found.length, 3, found.join("\n"));
  assert.match(found[0], /that txn came from session 0x1001/);
  assert.match(found[1], /holds data "theirs", not "mine"/);
  assert.match(found[2], /claims txn .* which client 1 setData \/a \(xid 3/);
});

Deno.test("checkReads() rejects a versioned write whose committed version does not follow", () => {
  const b = new HistoryBuilder();
  const c = b.open(1);
  b.create(c, "/a");
  b.setData(c, "/a", "1");
  b.write(c, { op: "delete", path: "/a", version: 0 }, { type: "delete", path: "/a" });
  const found = messages(checkReads(b.history));
  assert.equal(found.length, 1, found.join("\n"));
  assert.match(found[0], /delete expected version 0, but the node was at 1/);
});

const acceptName = "random runs of the replica pass every checker, with and without the witness";
Deno.test(acceptName, () => {
  assertProperty(
    { url: import.meta.url, testName: acceptName },
    fc.property(runArb, (plan) => {
      const history = simulate(plan);
      const searchOnly = (h: History) => checkLinearizable(h, { witness: false });
      const found = [checkReads, checkFifo, checkWatches, checkLinearizable, searchOnly].flatMap((
        check,
      ) => check(history).violations.map((v) => `[${v.check}] ${v.message}`));
      assert.deepEqual(found, []);
    }),
    { runs: 150 },
  );
});

for (
  const [name, bug] of [
    ["checkReads() catches a stale read in random runs", staleRead],
    [
      "checkReads() catches an ephemeral kept after its session closed in random runs",
      keepEphemeral,
    ],
  ] as const
) {
  Deno.test(name, () => {
    assertFindsBug(
      { url: import.meta.url, testName: name },
      fc.property(runArb, fc.nat(), (plan, pick) => {
        const damaged = bug(simulate(plan), pick);
        if (damaged === null) return;
        assert.deepEqual(messages(checkReads(damaged)), []);
      }),
      { runs: 200 },
    );
  });
}
