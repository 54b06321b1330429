import assert from "../assert.ts";
import { PendingChanges } from "../../src/replica/prepare.ts";
import { DataTree } from "../../src/tree/data_tree.ts";
import { zeroStat } from "../../src/tree/types.ts";

const open = [{ perms: 31, scheme: "world", id: "anyone" }];
const view = (version: number) => ({ acl: open, stat: { ...zeroStat(), version } });

Deno.test("PendingChanges.forgetApplied() forgets exactly the changes the tree has caught up with", () => {
  // /a changes first, then /b, then /a again: once the txn of /b is applied, /b's change goes and
  // /a's (newer than it) stays, whatever order the paths were first changed in.
  const tree = new DataTree();
  const changes = new PendingChanges(tree);
  changes.set("/a", 1, view(1));
  changes.set("/b", 2, view(2));
  changes.set("/a", 3, view(3));
  changes.set("/c", 4, null);
  changes.forgetApplied(2);
  assert.equal(changes.size, 2);
  assert.equal(changes.view("/b"), null, "/b comes from the tree again, which lacks it");
  assert.equal(changes.view("/a")?.stat.version, 3);
  changes.forgetApplied(3);
  assert.equal(changes.view("/a"), null);
  assert.equal(changes.size, 1, "/c, deleted by txn 4, is still pending");
  changes.forgetApplied(4);
  assert.equal(changes.size, 0);
});

Deno.test("PendingChanges: a multi's layer merged into its parent keeps the changes in zxid order", () => {
  const tree = new DataTree();
  const changes = new PendingChanges(tree);
  changes.set("/x", 1, view(1));
  changes.set("/y", 2, view(2));
  const multi = new PendingChanges(tree, changes);
  multi.set("/x", 3, view(3));
  multi.set("/z", 3, view(3));
  multi.mergeIntoParent();
  changes.forgetApplied(2);
  assert.equal(changes.size, 2);
  assert.equal(changes.view("/x")?.stat.version, 3);
  assert.equal(changes.view("/y"), null);
});
