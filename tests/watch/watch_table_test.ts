import assert from "../assert.ts";
import { WatchTable } from "../../src/watch/watch_table.ts";

Deno.test("WatchTable fires a watch once, then forgets it", () => {
  const watches = new WatchTable();
  watches.add("data", "/a", 1);
  watches.add("data", "/a", 1); // the same registration twice is one watch
  assert.deepEqual(watches.trigger("NodeDataChanged", "/a"), [1]);
  assert.deepEqual(watches.trigger("NodeDataChanged", "/a"), []);
  assert.equal(watches.size, 0);
});

Deno.test("WatchTable routes each event type to ZooKeeper's tables", () => {
  const watches = new WatchTable();
  watches.add("data", "/a", 1);
  watches.add("child", "/a", 2);
  assert.deepEqual(watches.trigger("NodeChildrenChanged", "/a"), [2]);
  assert.deepEqual(watches.trigger("NodeCreated", "/a"), [1]);
  watches.add("data", "/b", 3);
  watches.add("child", "/b", 3);
  watches.add("child", "/b", 4);
  assert.deepEqual(
    watches.trigger("NodeDeleted", "/b").sort(),
    [3, 4],
    "a watcher in both tables is told once",
  );
  assert.equal(watches.size, 0);
});

Deno.test("WatchTable.removeWatcher() drops every watch of a session", () => {
  const watches = new WatchTable();
  watches.add("data", "/a", 1);
  watches.add("child", "/b", 1);
  watches.add("data", "/a", 2);
  assert.equal(watches.countFor(1), 2);
  watches.removeWatcher(1);
  assert.equal(watches.countFor(1), 0);
  assert.deepEqual(watches.trigger("NodeDataChanged", "/a"), [2]);
  assert.deepEqual(watches.trigger("NodeChildrenChanged", "/b"), []);
});

Deno.test("WatchTable: a persistent watch sees every change of its node and its children, and stays", () => {
  const watches = new WatchTable();
  watches.add("persistent", "/a", 1);
  watches.add("data", "/a", 2);
  for (const type of ["NodeCreated", "NodeDataChanged", "NodeChildrenChanged"] as const) {
    assert.deepEqual(watches.trigger(type, "/a").sort(), type === "NodeCreated" ? [1, 2] : [1]);
  }
  assert.deepEqual(watches.trigger("NodeDeleted", "/a"), [1], "it outlives the node");
  assert.deepEqual(watches.trigger("NodeDataChanged", "/a/b"), [], "not for children's data");
  assert.deepEqual(watches.trigger("NodeCreated", "/b"), []);
  assert.equal(watches.countFor(1), 1);
});

Deno.test("WatchTable: a recursive watch sees its subtree but not child-list events", () => {
  const watches = new WatchTable();
  watches.add("recursive", "/a", 1);
  watches.add("recursive", "/", 2);
  watches.add("persistent", "/a/b", 1);
  assert.deepEqual(watches.trigger("NodeCreated", "/a/b/c").sort(), [1, 2]);
  assert.deepEqual(watches.trigger("NodeDataChanged", "/a").sort(), [1, 2]);
  assert.deepEqual(
    watches.trigger("NodeDeleted", "/a/b").sort(),
    [1, 2],
    "a watcher with a recursive and a persistent watch is told once",
  );
  assert.deepEqual(watches.trigger("NodeChildrenChanged", "/a/b"), [1], "only the persistent one");
  assert.deepEqual(watches.trigger("NodeChildrenChanged", "/a"), []);
  assert.deepEqual(watches.trigger("NodeCreated", "/ab"), [2], "/ab is not under /a");
});

Deno.test("WatchTable.remove() drops one registration of one table", () => {
  const watches = new WatchTable();
  watches.add("data", "/a", 1);
  watches.add("child", "/a", 1);
  watches.add("recursive", "/a", 1);
  assert.equal(watches.remove("child", "/a", 1), true);
  assert.equal(watches.remove("child", "/a", 1), false, "already gone");
  assert.equal(watches.remove("persistent", "/a", 1), false, "never there");
  assert.deepEqual(watches.pathsOf(1), {
    data: ["/a"],
    child: [],
    persistent: [],
    recursive: ["/a"],
  });
  assert.equal(watches.remove("recursive", "/a", 1), true);
  assert.deepEqual(watches.trigger("NodeChildrenChanged", "/a"), []);
  assert.deepEqual(watches.trigger("NodeDeleted", "/a"), [1]);
  assert.equal(watches.size, 0);
  assert.deepEqual(watches.watchers(), []);
});

Deno.test("WatchTable: a recursive watch on an ancestor tells only watchers that may read the node", () => {
  const watches = new WatchTable();
  watches.add("recursive", "/", 1);
  watches.add("recursive", "/", 2);
  watches.add("recursive", "/a", 3);
  const mayRead = (watcher: number) => watcher !== 2;
  assert.deepEqual(watches.trigger("NodeCreated", "/a/b", mayRead).sort(), [1, 3]);
  assert.deepEqual(
    watches.trigger("NodeCreated", "/", () => false).sort(),
    [1, 2],
    "a recursive watch on the node itself needs no check, as a data watch",
  );
});
