import assert from "../assert.ts";
import { DataTree } from "../../src/tree/data_tree.ts";
import type { Txn } from "../../src/tree/txn.ts";
import { makeZxid, zxidCounter, zxidEpoch } from "../../src/tree/txn.ts";

const open = [{ perms: 31, scheme: "world", id: "anyone" }];
const bytes = (text: string) => new TextEncoder().encode(text);

function applier(tree: DataTree) {
  let zxid = tree.lastZxid;
  return (txn: Txn, timeMs = 5) => tree.apply({ zxid: ++zxid, timeMs, sessionId: 0, txn });
}

Deno.test("DataTree starts with / and the reserved /zookeeper nodes", () => {
  const tree = new DataTree();
  assert.deepEqual(tree.getChildren("/")?.children, ["zookeeper"]);
  assert.deepEqual(tree.getChildren("/zookeeper")?.children, ["config", "quota"]);
  // ZooKeeper reports cversion as 2 * children created - numChildren: the system nodes start below
  // zero, so the first sequential child of "/" is numbered 0.
  assert.deepEqual(
    ["/", "/zookeeper", "/zookeeper/config"].map((p) => tree.stat(p)?.cversion),
    [-1, -2, 0],
  );
  assert.equal(tree.stat("/zookeeper/config")?.aversion, -1);
  assert.deepEqual(tree.getAcl("/zookeeper/config")?.acl, [
    { perms: 1, scheme: "world", id: "anyone" },
  ]);
});

Deno.test("DataTree.apply() of a create sets every stat field and fires NodeCreated + NodeChildrenChanged", () => {
  const tree = new DataTree();
  const apply = applier(tree);
  const result = apply({
    type: "create",
    path: "/a",
    data: bytes("hi"),
    acl: open,
    ephemeralOwner: 0,
    parentCversion: 1,
  }, 42);
  const stat = tree.stat("/a")!;
  assert.deepEqual(stat, {
    czxid: 1,
    mzxid: 1,
    pzxid: 1,
    ctime: 42,
    mtime: 42,
    version: 0,
    cversion: 0,
    aversion: 0,
    ephemeralOwner: 0,
    dataLength: 2,
    numChildren: 0,
  });
  assert.equal(tree.stat("/")!.pzxid, 1);
  assert.equal(tree.stat("/")!.cversion, 1);
  assert.deepEqual(result.triggers.map(({ type, path }) => ({ type, path })), [{
    type: "NodeCreated",
    path: "/a",
  }, {
    type: "NodeChildrenChanged",
    path: "/",
  }]);
});

Deno.test("DataTree.apply() of setData bumps version and mzxid, not pzxid", () => {
  const tree = new DataTree();
  const apply = applier(tree);
  apply({
    type: "create",
    path: "/a",
    data: bytes(""),
    acl: open,
    ephemeralOwner: 0,
    parentCversion: 1,
  });
  const result = apply({ type: "setData", path: "/a", data: bytes("xyz"), version: 1 }, 9);
  const stat = tree.stat("/a")!;
  assert.equal(stat.version, 1);
  assert.equal(stat.mzxid, 2);
  assert.equal(stat.pzxid, 1);
  assert.equal(stat.mtime, 9);
  assert.equal(stat.dataLength, 3);
  assert.deepEqual(result.triggers.map(({ type, path }) => ({ type, path })), [{
    type: "NodeDataChanged",
    path: "/a",
  }]);
});

Deno.test("DataTree.apply() of closeSession deletes exactly that session's ephemerals", () => {
  const tree = new DataTree();
  const apply = applier(tree);
  apply({
    type: "create",
    path: "/e1",
    data: bytes(""),
    acl: open,
    ephemeralOwner: 7,
    parentCversion: 1,
  });
  apply({
    type: "create",
    path: "/e2",
    data: bytes(""),
    acl: open,
    ephemeralOwner: 8,
    parentCversion: 2,
  });
  assert.deepEqual(tree.ephemeralsOf(7), ["/e1"]);
  const result = apply({ type: "closeSession", sessionId: 7 });
  assert.equal(tree.has("/e1"), false);
  assert.equal(tree.has("/e2"), true);
  assert.deepEqual(result.results, [{ type: "closeSession", deleted: ["/e1"] }]);
  assert.deepEqual(result.triggers.map(({ type, path }) => ({ type, path })), [{
    type: "NodeDeleted",
    path: "/e1",
  }, {
    type: "NodeChildrenChanged",
    path: "/",
  }]);
  assert.deepEqual(tree.ephemeralOwners(), [8]);
});

Deno.test("DataTree.apply() of a multi applies every op under one zxid", () => {
  const tree = new DataTree();
  const apply = applier(tree);
  const result = apply({
    type: "multi",
    txns: [
      {
        type: "create",
        path: "/m",
        data: bytes(""),
        acl: open,
        ephemeralOwner: 0,
        parentCversion: 1,
      },
      { type: "setData", path: "/m", data: bytes("v"), version: 1 },
    ],
  });
  assert.equal(result.results.length, 2);
  assert.equal(tree.stat("/m")!.czxid, 1);
  assert.equal(tree.stat("/m")!.mzxid, 1);
  assert.equal(tree.lastZxid, 1);
});

Deno.test("DataTree.apply() refuses a zxid that does not grow (invariant)", () => {
  const tree = new DataTree();
  tree.apply({ zxid: 5, timeMs: 0, sessionId: 0, txn: { type: "check", path: "/", version: -1 } });
  assert.throws(
    () =>
      tree.apply({
        zxid: 5,
        timeMs: 0,
        sessionId: 0,
        txn: { type: "check", path: "/", version: -1 },
      }),
    /invariant/,
  );
});

Deno.test("DataTree.paths() lists parents before children", () => {
  const tree = new DataTree();
  const apply = applier(tree);
  apply({
    type: "create",
    path: "/b",
    data: bytes(""),
    acl: open,
    ephemeralOwner: 0,
    parentCversion: 1,
  });
  apply({
    type: "create",
    path: "/b/c",
    data: bytes(""),
    acl: open,
    ephemeralOwner: 0,
    parentCversion: 1,
  });
  apply({
    type: "create",
    path: "/a",
    data: bytes(""),
    acl: open,
    ephemeralOwner: 0,
    parentCversion: 2,
  });
  assert.deepEqual([...tree.paths()], [
    "/",
    "/a",
    "/b",
    "/b/c",
    "/zookeeper",
    "/zookeeper/config",
    "/zookeeper/quota",
  ]);
});

Deno.test("makeZxid() packs epoch and counter and checks their bounds", () => {
  const zxid = makeZxid(3, 17);
  assert.equal(zxidEpoch(zxid), 3);
  assert.equal(zxidCounter(zxid), 17);
  assert.throws(() => makeZxid(2 ** 21, 0), RangeError);
  assert.throws(() => makeZxid(1, 2 ** 32), RangeError);
});

Deno.test("DataTree.exportNodes() stays exact while the tree changes, and lists parents first", () => {
  const tree = new DataTree();
  const apply = applier(tree);
  const create = (path: string, parentCversion: number) =>
    apply({
      type: "create",
      path,
      data: bytes(path),
      acl: open,
      ephemeralOwner: 0,
      parentCversion,
    });
  create("/p", 1);
  create("/p/c", 1);
  const image = tree.exportNodes();
  const before = JSON.stringify(image);
  apply({ type: "setData", path: "/p", data: bytes("new"), version: 1 });
  apply({
    type: "setACL",
    path: "/p",
    acl: [{ perms: 1, scheme: "world", id: "anyone" }],
    aversion: 1,
  });
  create("/p/d", 2);
  assert.equal(JSON.stringify(image), before, "later changes do not leak into an earlier image");
  // Delete and re-create a parent: the map's order must still put it before its new children.
  apply({ type: "delete", path: "/p/c" });
  apply({ type: "delete", path: "/p/d" });
  apply({ type: "delete", path: "/p" });
  create("/a", 3);
  create("/p", 4);
  create("/p/x", 1);
  const paths = tree.exportNodes().map((n) => n.path);
  for (const path of paths.slice(1)) {
    const parent = path.slice(0, path.lastIndexOf("/")) || "/";
    assert.ok(paths.indexOf(parent) < paths.indexOf(path), `${parent} comes before ${path}`);
  }
  const copy = DataTree.fromNodes(tree.exportNodes(), tree.lastZxid);
  assert.deepEqual(copy.exportNodes(), tree.exportNodes());
});

Deno.test("DataTree triggers carry the changed node's ACL, as it was for a delete", () => {
  const tree = new DataTree();
  const acl = [{ perms: 1, scheme: "digest", id: "u:x" }];
  const created = tree.apply({
    zxid: 1,
    timeMs: 0,
    sessionId: 0,
    txn: {
      type: "create",
      path: "/a",
      data: new Uint8Array(),
      acl,
      ephemeralOwner: 0,
      parentCversion: 1,
    },
  });
  assert.deepEqual(created.triggers.map((t) => t.acl), [acl, undefined]);
  const deleted = tree.apply({
    zxid: 2,
    timeMs: 0,
    sessionId: 0,
    txn: { type: "delete", path: "/a" },
  });
  assert.deepEqual(deleted.triggers.map((t) => t.acl), [acl, undefined]);
});

Deno.test("DataTree: leaves share no children, and ACLs shared between nodes stay each node's own", () => {
  const tree = new DataTree();
  const apply = applier(tree);
  const create = (path: string, acl = open) =>
    apply({ type: "create", path, data: bytes(""), acl, ephemeralOwner: 0, parentCversion: 1 });
  create("/a");
  create("/b");
  create("/a/x");
  assert.deepEqual(tree.getChildren("/b")?.children, [], "a leaf gains no child of another");
  apply({ type: "delete", path: "/a/x" });
  create("/b/y");
  assert.deepEqual(tree.getChildren("/a")?.children, []);
  assert.deepEqual(tree.getChildren("/b")?.children, ["y"]);
  assert.equal(tree.descendantCount("/"), 6, "/zookeeper, its two children, /a, /b and /b/y");
  // /a and /b hold the same ACL; changing one (or a copy read out) leaves the other as it was.
  apply({
    type: "setACL",
    path: "/a",
    acl: [{ perms: 1, scheme: "world", id: "anyone" }],
    aversion: 1,
  });
  tree.getAcl("/b")!.acl[0].perms = 0;
  assert.deepEqual(tree.getAcl("/a")?.acl, [{ perms: 1, scheme: "world", id: "anyone" }]);
  assert.deepEqual(tree.getAcl("/b")?.acl, open);
  assert.deepEqual(DataTree.fromNodes(tree.exportNodes(), tree.lastZxid).getAcl("/a")?.acl, [
    { perms: 1, scheme: "world", id: "anyone" },
  ]);
});

Deno.test("DataTree hands out stats that stay as they were read while the node changes", () => {
  // Reads answer with the node's own stat object, uncopied: that is safe only while no change
  // edits a stat in place.
  const tree = new DataTree();
  const apply = applier(tree);
  const create = (path: string) =>
    apply({
      type: "create",
      path,
      data: bytes("a"),
      acl: open,
      ephemeralOwner: 0,
      parentCversion: 1,
    });
  create("/p");
  const child = tree.stat("/p")!;
  const data = tree.getData("/p")!.stat;
  const before = { ...child };
  apply({ type: "setData", path: "/p", data: bytes("bb"), version: 1 });
  apply({ type: "setACL", path: "/p", acl: open, aversion: 1 });
  create("/p/c");
  apply({ type: "delete", path: "/p/c" });
  assert.deepEqual(child, before, "a stat read before four changes");
  assert.deepEqual(data, before);
  const after = tree.stat("/p")!;
  assert.deepEqual(
    [after.version, after.aversion, after.cversion, after.dataLength],
    [1, 1, 2, 2],
    "the changes are in the node's new stat",
  );
});

Deno.test("DataTree keeps its own copy of every value a txn brings", () => {
  // A value as received is a view into a network buffer (or one a serializer has wrapped in an
  // ArrayBuffer of its own): the tree copies it, so its values stay small typed arrays.
  const tree = new DataTree();
  const apply = applier(tree);
  const created = bytes("created");
  const set = bytes("set");
  apply({
    type: "create",
    path: "/a",
    data: created,
    acl: open,
    ephemeralOwner: 0,
    parentCversion: 1,
  });
  apply({
    type: "create",
    path: "/b",
    data: bytes("b"),
    acl: open,
    ephemeralOwner: 0,
    parentCversion: 2,
  });
  apply({ type: "setData", path: "/b", data: set, version: 1 });
  created.fill(0);
  set.fill(0);
  assert.equal(new TextDecoder().decode(tree.getData("/a")!.data), "created");
  assert.equal(new TextDecoder().decode(tree.getData("/b")!.data), "set");
});
