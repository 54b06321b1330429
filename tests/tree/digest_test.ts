import assert from "../assert.ts";
import { DataTree, type NodeImage } from "../../src/tree/data_tree.ts";
import { nodesDigest, treeDigest } from "../../src/tree/digest.ts";
import type { Txn } from "../../src/tree/txn.ts";
import { statFields } from "../../src/tree/types.ts";

const open = [{ perms: 31, scheme: "world", id: "anyone" }];
const bytes = (text: string) => new TextEncoder().encode(text);

function applyAll(tree: DataTree, txns: Txn[], firstZxid = tree.lastZxid + 1): DataTree {
  let zxid = firstZxid;
  for (const txn of txns) tree.apply({ zxid: zxid++, timeMs: 1000 + zxid, sessionId: 7, txn });
  return tree;
}

const create = (path: string, data = "", ephemeralOwner = 0, parentCversion = 1): Txn => ({
  type: "create",
  path,
  data: bytes(data),
  acl: open,
  ephemeralOwner,
  parentCversion,
});

/** A tree with a few levels, data, an ephemeral, an ACL change and a delete. */
function sample(): DataTree {
  return applyAll(new DataTree(), [
    create("/a", "one"),
    create("/b", "two", 0, 2),
    create("/a/x", "", 0, 1),
    { type: "setData", path: "/a", data: bytes("uno"), version: 1 },
    create("/c", "eph", 99, 3),
    { type: "setACL", path: "/b", acl: [{ perms: 1, scheme: "world", id: "anyone" }], aversion: 1 },
    { type: "delete", path: "/a/x" },
  ]);
}

Deno.test("treeDigest: equal trees give equal digests; it is 16 hex digits", () => {
  const a = sample();
  const b = sample();
  assert.equal(treeDigest(a), treeDigest(b));
  assert.match(treeDigest(a), /^[0-9a-f]{16}$/);
  assert.equal(treeDigest(new DataTree()), treeDigest(new DataTree()));
  assert.notEqual(treeDigest(a), treeDigest(new DataTree()));
});

Deno.test("treeDigest: a tree restored from a snapshot (another insertion order) has the same digest", () => {
  const tree = sample();
  const restored = DataTree.fromNodes(tree.exportNodes(), tree.lastZxid);
  assert.equal(treeDigest(restored), treeDigest(tree));
  // The node order does not matter at all.
  const reversed = [...tree.exportNodes()].reverse();
  assert.equal(nodesDigest(reversed), treeDigest(tree));
});

Deno.test("treeDigest: one more txn, or one skipped, changes it", () => {
  const full = sample();
  const more = applyAll(sample(), [{
    type: "setData",
    path: "/b",
    data: bytes("two"),
    version: 1,
  }]);
  assert.notEqual(treeDigest(more), treeDigest(full));
  // The same txns without the setData of /a: a skipped txn.
  const skipped = applyAll(new DataTree(), [
    create("/a", "one"),
    create("/b", "two", 0, 2),
    create("/a/x", "", 0, 1),
    create("/c", "eph", 99, 3),
    { type: "setACL", path: "/b", acl: [{ perms: 1, scheme: "world", id: "anyone" }], aversion: 1 },
    { type: "delete", path: "/a/x" },
  ]);
  assert.notEqual(treeDigest(skipped), treeDigest(full));
});

Deno.test("treeDigest: any single field of any node changes it", () => {
  const nodes = sample().exportNodes();
  const base = nodesDigest(nodes);
  const seen = new Set([base]);
  const changed = (index: number, change: (n: NodeImage) => NodeImage, what: string) => {
    const copy = nodes.map((n, i) => (i === index ? change(n) : n));
    const digest = nodesDigest(copy);
    assert.notEqual(digest, base, `changing ${what} of ${nodes[index].path} changes the digest`);
    seen.add(digest);
  };
  nodes.forEach((node, i) => {
    changed(i, (n) => ({ ...n, path: n.path + "z" }), "the path");
    changed(i, (n) => ({ ...n, data: new Uint8Array([...n.data, 0]) }), "the data length");
    if (node.data.byteLength > 0) {
      changed(i, (n) => {
        const data = n.data.slice();
        data[data.length - 1] ^= 1;
        return { ...n, data };
      }, "one data bit");
    }
    changed(
      i,
      (n) => ({ ...n, acl: [...n.acl, { perms: 1, scheme: "ip", id: "10.0.0.1" }] }),
      "the ACL",
    );
    changed(i, (n) => ({ ...n, acl: n.acl.map((a) => ({ ...a, perms: a.perms ^ 2 })) }), "a perm");
    changed(i, (n) => ({ ...n, acl: n.acl.map((a) => ({ ...a, id: a.id + "!" })) }), "an ACL id");
    changed(i, (n) => ({ ...n, acl: n.acl.map((a) => ({ ...a, scheme: "digest" })) }), "a scheme");
    for (const field of statFields) {
      changed(i, (n) => ({ ...n, stat: { ...n.stat, [field]: n.stat[field] + 1 } }), field);
      // Large values (zxids, times) count in full, not only their low 32 bits.
      changed(
        i,
        (n) => ({ ...n, stat: { ...n.stat, [field]: n.stat[field] + 2 ** 32 } }),
        `${field} + 2^32`,
      );
    }
  });
  // A missing node changes it too.
  assert.notEqual(nodesDigest(nodes.slice(1)), base);
  assert.ok(seen.size > nodes.length * 20, "the changes give distinct digests");
});

Deno.test("treeDigest: swapping the data of two nodes changes it", () => {
  const nodes = sample().exportNodes();
  const a = nodes.findIndex((n) => n.path === "/a");
  const b = nodes.findIndex((n) => n.path === "/b");
  const swapped = nodes.map((n, i) =>
    i === a ? { ...n, data: nodes[b].data } : i === b ? { ...n, data: nodes[a].data } : n
  );
  assert.notEqual(nodesDigest(swapped), nodesDigest(nodes));
});
