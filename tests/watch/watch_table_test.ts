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
