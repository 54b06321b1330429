/**
 * Quota bookkeeping in the tree: the stats node under /zookeeper/quota follows the count and bytes
 * of its subtree as txns apply, as ZooKeeper's servers keep it.
 * @module
 */
import assert from "../assert.ts";
import { DataTree } from "../../src/tree/data_tree.ts";
import type { Txn } from "../../src/tree/txn.ts";
import { parseQuotaUsage, quotaTarget } from "../../src/tree/quota.ts";

function applier(tree: DataTree) {
  let zxid = tree.lastZxid;
  return (txn: Txn) => tree.apply({ zxid: ++zxid, timeMs: 5, sessionId: 0, txn });
}

const text = (s: string) => new TextEncoder().encode(s);

function create(path: string, data = ""): Txn {
  return { type: "create", path, data: text(data), acl: [], ephemeralOwner: 0, parentCversion: 0 };
}

const usage = (tree: DataTree, path: string) =>
  parseQuotaUsage(
    new TextDecoder().decode(tree.getData(`/zookeeper/quota${path}/zookeeper_stats`)!.data),
  );

Deno.test("quotaTarget() names the quota'd path of a limits or stats node only", () => {
  assert.equal(quotaTarget("/zookeeper/quota/a/b/zookeeper_limits", "zookeeper_limits"), "/a/b");
  assert.equal(quotaTarget("/zookeeper/quota/zookeeper_limits", "zookeeper_limits"), null);
  assert.equal(quotaTarget("/a/zookeeper_limits", "zookeeper_limits"), null);
  assert.deepEqual(parseQuotaUsage("count=3,bytes=-1"), { count: 3, bytes: -1 });
});

Deno.test("DataTree keeps a quota's stats node at its subtree's count and bytes", () => {
  const tree = new DataTree();
  const apply = applier(tree);
  apply(create("/q", "ab"));
  apply(create("/q/old", "xyz"));
  apply(create("/zookeeper/quota/q"));
  apply(create("/zookeeper/quota/q/zookeeper_limits", "count=2,bytes=-1"));
  apply(create("/zookeeper/quota/q/zookeeper_stats", "count=0,bytes=0"));
  assert.deepEqual(usage(tree, "/q"), { count: 2, bytes: 5 }, "filled in when created");
  apply(create("/q/a", "1234"));
  apply({ type: "setData", path: "/q/old", data: text("x"), version: 1 });
  assert.deepEqual(usage(tree, "/q"), { count: 3, bytes: 7 });
  apply({ type: "delete", path: "/q/a" });
  assert.deepEqual(usage(tree, "/q"), { count: 2, bytes: 3 });
  apply(create("/other", "zzz"));
  assert.deepEqual(usage(tree, "/q"), { count: 2, bytes: 3 }, "outside the subtree");
  const stats = tree.stat("/zookeeper/quota/q/zookeeper_stats")!;
  assert.equal(stats.version, 0, "kept without a data version, as ZooKeeper does");
  assert.equal(stats.dataLength, "count=2,bytes=3".length);

  const restored = DataTree.fromNodes(tree.exportNodes(), tree.lastZxid);
  applier(restored)(create("/q/b", "1"));
  assert.deepEqual(usage(restored, "/q"), { count: 3, bytes: 4 }, "a restored tree keeps counting");

  apply({ type: "delete", path: "/zookeeper/quota/q/zookeeper_limits" });
  apply(create("/q/c", "1"));
  assert.deepEqual(usage(tree, "/q"), { count: 2, bytes: 3 }, "no limits node, no counting");
});
