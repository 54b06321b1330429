/**
 * Transcripts of the replica for ZooKeeper 3.6+'s additions: container and TTL nodes, persistent
 * and recursive watches, removeWatches/checkWatches, getEphemerals, getAllChildrenNumber, whoAmI
 * and multiRead.
 * @module
 */
import assert from "../assert.ts";
import type { CreateMode } from "../../src/tree/types.ts";
import type { ServerMessage } from "../../src/wire/messages.ts";
import { bytes, Harness, open } from "./_harness.ts";

const node = (path: string, mode: CreateMode = "persistent", ttlMs?: number) => ({
  op: "create" as const,
  path,
  data: bytes(""),
  acl: open,
  mode,
  ...(ttlMs === undefined ? {} : { ttlMs }),
});

const events = (messages: ServerMessage[]) =>
  messages.filter((m) => m.t === "event").map((m) => m.t === "event" && `${m.type} ${m.path}`);

Deno.test("Replica removes a container once its last child is gone, and not before", () => {
  const h = new Harness({ extendedCheckIntervalMs: 100 });
  h.connect(1);
  const created = h.call(1, node("/c", "container"));
  assert.equal(created.stat?.ephemeralOwner, -1, "a container's owner field marks it");
  h.call(1, node("/never", "container"));
  h.call(1, node("/c/a"));
  h.call(1, node("/c/b"));
  h.call(1, { op: "delete", path: "/c/a", version: -1 });
  h.tick(3);
  assert.equal(h.replica.tree.has("/c"), true, "one child left");
  h.call(1, { op: "exists", path: "/c", watch: true });
  h.call(1, { op: "delete", path: "/c/b", version: -1 });
  h.tick(1);
  assert.equal(h.replica.tree.has("/c"), false, "removed once empty");
  assert.deepEqual(events(h.take(1)), ["NodeDeleted /c"], "watchers see it go");
  h.tick(5);
  assert.equal(h.replica.tree.has("/never"), true, "a container that never had children stays");
});

Deno.test("Replica refuses TTL nodes unless enabled, then removes them when idle and childless", () => {
  const off = new Harness();
  off.connect(1);
  assert.equal(off.call(1, node("/t", "persistentWithTtl", 500)).err, "Unimplemented");

  const h = new Harness({ ttlEnabled: true, extendedCheckIntervalMs: 100 });
  h.connect(1);
  const created = h.call(1, node("/t", "persistentWithTtl", 500));
  assert.equal(created.err, undefined);
  assert.equal(created.stat?.ephemeralOwner, -501, "the TTL lives in the owner field");
  const seq = h.call(1, node("/s-", "persistentSequentialWithTtl", 300));
  assert.equal(seq.path, "/s-0000000001", "numbered by the root's cversion, 1 after /t");
  h.call(1, node("/t/kid"));
  h.tick(3);
  h.call(1, { op: "setData", path: seq.path!, data: bytes("x"), version: -1 });
  h.tick(3);
  assert.equal(h.replica.tree.has(seq.path!), true, "a change restarts its TTL");
  h.tick(2);
  assert.equal(h.replica.tree.has(seq.path!), false);
  h.tick(5);
  assert.equal(h.replica.tree.has("/t"), true, "a TTL node with a child stays");
  h.call(1, { op: "delete", path: "/t/kid", version: -1 });
  h.tick(1);
  assert.equal(h.replica.tree.has("/t"), false, "and goes once childless past its TTL");
});

Deno.test("Replica deleteContainer removes only an empty container or TTL node", () => {
  const h = new Harness();
  h.connect(1);
  h.call(1, node("/p"));
  h.call(1, node("/c", "container"));
  h.call(1, node("/c/a"));
  assert.equal(h.call(1, { op: "deleteContainer", path: "/p" }).err, "BadArguments");
  assert.equal(h.call(1, { op: "deleteContainer", path: "/c" }).err, "NotEmpty");
  assert.equal(h.call(1, { op: "deleteContainer", path: "/nope" }).err, "NoNode");
  h.call(1, { op: "delete", path: "/c/a", version: -1 });
  assert.equal(h.call(1, { op: "deleteContainer", path: "/c" }).err, undefined);
  assert.equal(h.replica.tree.has("/c"), false);
});

Deno.test("Replica persistent watches stay; recursive ones see the subtree", () => {
  const h = new Harness();
  h.connect(1);
  h.connect(2);
  h.call(1, { op: "addWatch", path: "/a", mode: "persistent" });
  h.call(1, { op: "addWatch", path: "/r", mode: "persistentRecursive" });
  h.call(2, node("/a"));
  h.call(2, { op: "setData", path: "/a", data: bytes("1"), version: -1 });
  h.call(2, { op: "setData", path: "/a", data: bytes("2"), version: -1 });
  h.call(2, node("/a/kid"));
  h.call(2, node("/r"));
  h.call(2, node("/r/x"));
  h.call(2, node("/r/x/y"));
  h.call(2, { op: "delete", path: "/r/x/y", version: -1 });
  assert.deepEqual(events(h.take(1)), [
    "NodeCreated /a",
    "NodeDataChanged /a",
    "NodeDataChanged /a",
    "NodeChildrenChanged /a",
    "NodeCreated /r",
    "NodeCreated /r/x",
    "NodeCreated /r/x/y",
    "NodeDeleted /r/x/y",
  ]);
  assert.equal(h.call(1, { op: "checkWatches", path: "/a", type: "persistent" }).err, undefined);
  assert.equal(h.call(1, { op: "checkWatches", path: "/a", type: "data" }).err, "NoWatcher");
  assert.equal(h.call(1, { op: "removeWatches", path: "/a", type: "any" }).err, undefined);
  assert.equal(h.call(1, { op: "removeWatches", path: "/a", type: "any" }).err, "NoWatcher");
  assert.equal(
    h.call(1, { op: "removeWatches", path: "/r", type: "persistent" }).err,
    "NoWatcher",
    "a recursive watch is not a persistent one",
  );
  h.call(2, { op: "setData", path: "/a", data: bytes("3"), version: -1 });
  h.call(2, { op: "setData", path: "/r/x", data: bytes("3"), version: -1 });
  assert.deepEqual(events(h.take(1)), ["NodeDataChanged /r/x"]);
});

Deno.test("Replica re-registers persistent watches from setWatches without firing", () => {
  const h = new Harness();
  h.connect(1);
  h.connect(2);
  h.call(2, node("/a"));
  h.call(1, {
    op: "setWatches",
    relativeZxid: 0,
    dataWatches: [],
    existWatches: [],
    childWatches: [],
    persistentWatches: ["/a"],
    persistentRecursiveWatches: ["/"],
  });
  assert.deepEqual(events(h.take(1)), [], "nothing fires for what was missed");
  h.call(2, { op: "setData", path: "/a", data: bytes("1"), version: -1 });
  h.call(2, node("/b"));
  assert.deepEqual(events(h.take(1)), ["NodeDataChanged /a", "NodeCreated /b"], "each told once");
});

Deno.test("Replica answers getEphemerals, getAllChildrenNumber, whoAmI and multiRead", () => {
  const h = new Harness();
  h.connect(1);
  h.connect(2);
  h.call(1, node("/app"));
  h.call(1, node("/app/e1", "ephemeral"));
  h.call(1, node("/app/p"));
  h.call(1, node("/app/p/e2", "ephemeral"));
  h.call(1, node("/other", "ephemeral"));
  h.call(2, node("/app/theirs", "ephemeral"));
  assert.deepEqual(h.call(1, { op: "getEphemerals", prefix: "/app" }).ephemerals, [
    "/app/e1",
    "/app/p/e2",
  ]);
  assert.deepEqual(h.call(1, { op: "getEphemerals", prefix: "/" }).ephemerals?.length, 3);
  assert.equal(h.call(1, { op: "getAllChildrenNumber", path: "/app" }).count, 4);
  assert.equal(h.call(1, { op: "getAllChildrenNumber", path: "/app/e1" }).count, 0);
  assert.equal(h.call(1, { op: "getAllChildrenNumber", path: "/x" }).err, "NoNode");

  h.call(1, { op: "addAuth", scheme: "digest", auth: bytes("alice:secret") });
  assert.deepEqual(h.call(1, { op: "whoAmI" }).clientInfo, [
    { scheme: "ip", user: "127.0.0.1" },
    { scheme: "digest", user: "alice" },
  ]);

  h.call(1, { op: "setData", path: "/app/p", data: bytes("v"), version: -1 });
  const read = h.call(1, {
    op: "multiRead",
    ops: [
      { op: "getData", path: "/app/p" },
      { op: "getChildren", path: "/app" },
      { op: "getData", path: "/missing" },
    ],
  }).readResults!;
  assert.equal(read[0].op === "getData" && new TextDecoder().decode(read[0].data), "v");
  assert.deepEqual(read[1].op === "getChildren" && read[1].children, ["e1", "p", "theirs"]);
  assert.equal(read[2].op === "error" && read[2].err, "NoNode");
});

Deno.test("Replica hides from a recursive watch the nodes its session cannot read", () => {
  const h = new Harness();
  h.connect(1);
  h.connect(2);
  h.call(1, { op: "addWatch", path: "/", mode: "persistentRecursive" });
  h.call(2, { op: "addAuth", scheme: "digest", auth: bytes("owner:pw") });
  h.call(2, {
    op: "create",
    path: "/secret",
    data: bytes(""),
    acl: [{ perms: 31, scheme: "auth", id: "" }],
    mode: "persistent",
  });
  h.call(2, node("/public"));
  h.call(2, { op: "setData", path: "/secret", data: bytes("x"), version: -1 });
  h.call(2, { op: "delete", path: "/secret", version: -1 });
  assert.deepEqual(events(h.take(1)), ["NodeCreated /public"]);
});

Deno.test("Replica getACL hides digests from a reader without ADMIN, as ZooKeeper", () => {
  const h = new Harness();
  h.connect(1);
  h.connect(2);
  const acl = [
    { perms: 31, scheme: "digest", id: "admin:SECRETHASH=" },
    { perms: 1, scheme: "world", id: "anyone" },
  ];
  h.call(1, { op: "create", path: "/p", data: bytes(""), acl, mode: "persistent" });
  assert.deepEqual(h.call(2, { op: "getACL", path: "/p" }).acl, [
    { perms: 31, scheme: "digest", id: "admin:x" },
    { perms: 1, scheme: "world", id: "anyone" },
  ]);
  const withAdmin = [acl[0], { perms: 17, scheme: "world", id: "anyone" }];
  h.call(1, { op: "create", path: "/q", data: bytes(""), acl: withAdmin, mode: "persistent" });
  assert.equal(
    h.call(2, { op: "getACL", path: "/q" }).acl?.[0].id,
    "admin:SECRETHASH=",
    "ADMIN sees all",
  );
});

Deno.test("Replica keeps ZooKeeper's null data apart from empty data, through snapshots too", () => {
  const h = new Harness();
  h.connect(1);
  h.call(1, {
    op: "create",
    path: "/n",
    data: bytes(""),
    acl: open,
    mode: "persistent",
    dataNull: true,
  });
  h.call(1, node("/e"));
  const isNull = (path: string) =>
    h.call(1, { op: "getData", path, watch: false }).dataNull === true;
  assert.deepEqual([isNull("/n"), isNull("/e")], [true, false]);
  h.call(1, { op: "setData", path: "/n", data: bytes(""), version: -1 });
  h.call(1, { op: "setData", path: "/e", data: bytes(""), version: -1, dataNull: true });
  assert.deepEqual([isNull("/n"), isNull("/e")], [false, true], "setData decides it again");
  const read = h.call(1, { op: "multiRead", ops: [{ op: "getData", path: "/e" }] }).readResults!;
  assert.equal(read[0].op === "getData" && read[0].dataNull, true);
});
