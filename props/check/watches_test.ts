/**
 * The watch checker (REFERENCE §4, one-shot watches): hand-written histories that must pass or
 * fail, and seeded-bug twins on random runs of the real replica.
 * @module
 */
import fc from "fast-check";
import assert from "../../tests/assert.ts";
import { assertFindsBug } from "../_props.ts";
import {
  dropEvent,
  duplicateEvent,
  type HistoryBug,
  HistoryBuilder,
  runArb,
  simulate,
} from "./_fixtures.ts";
import type { History } from "./history.ts";
import { checkWatches } from "./watches.ts";

function messages(history: History): string[] {
  return checkWatches(history).violations.map((v) => v.message);
}

/** Client 1 watches /a's data; client 2 changes it; the event reaches client 1. */
function dataWatchFired() {
  const b = new HistoryBuilder();
  const watcher = b.open(1);
  const writer = b.open(2);
  b.create(writer, "/a");
  b.read(watcher, "getData", "/a", { watch: true });
  const set = b.setData(writer, "/a", "x");
  return { b, watcher, writer, zxid: set.response!.zxid };
}

Deno.test("checkWatches() accepts data, exists and child watches each fired once by their change", () => {
  const { b, watcher, writer, zxid } = dataWatchFired();
  b.event(watcher, "NodeDataChanged", "/a", zxid);
  b.read(watcher, "getData", "/a");
  // An exists-watch on a missing node, fired by its creation; a child watch on /a by the same.
  b.read(watcher, "exists", "/a/b", { watch: true });
  b.read(watcher, "getChildren", "/a", { watch: true });
  const created = b.create(writer, "/a/b").response!.zxid;
  b.event(watcher, "NodeCreated", "/a/b", created);
  b.event(watcher, "NodeChildrenChanged", "/a", created);
  // Registered twice before it fires: fires once.
  b.read(watcher, "getData", "/a/b", { watch: true });
  b.read(watcher, "getChildren", "/a/b", { watch: true });
  b.read(watcher, "exists", "/a/b", { watch: true });
  const deleted = b.delete(writer, "/a/b").response!.zxid;
  b.event(watcher, "NodeDeleted", "/a/b", deleted); // one event for both tables
  b.read(watcher, "exists", "/a/b");
  const result = checkWatches(b.history);
  assert.deepEqual(result.violations, []);
  assert.equal(result.checked, 6 + 4);
});

Deno.test("checkWatches() accepts a watch that fires on reconnect through setWatches", () => {
  const { b, watcher, writer } = dataWatchFired();
  b.setData(writer, "/a", "y");
  // The connection broke before the event came; the new server is at the latest zxid and fires
  // the re-sent watch at once with its own last zxid.
  b.reconnect(watcher, 2);
  b.event(watcher, "NodeDataChanged", "/a", b.lastZxid);
  b.read(watcher, "getData", "/a");
  assert.deepEqual(messages(b.history), []);
});

Deno.test("checkWatches() accepts an exists-watch that missed a create and delete while disconnected", () => {
  const b = new HistoryBuilder();
  const watcher = b.open(1);
  const writer = b.open(2);
  b.read(watcher, "exists", "/a", { watch: true });
  b.create(writer, "/a");
  b.delete(writer, "/a");
  b.reconnect(watcher, 2);
  b.read(watcher, "exists", "/a"); // setWatches found /a missing and re-registered, as ZooKeeper does
  assert.deepEqual(messages(b.history), []);
});

Deno.test("checkWatches() rejects an event fired twice", () => {
  const { b, watcher, zxid } = dataWatchFired();
  b.event(watcher, "NodeDataChanged", "/a", zxid);
  b.event(watcher, "NodeDataChanged", "/a", zxid);
  const found = messages(b.history);
  assert.equal(found.length, 1, found.join("\n"));
  assert.match(found[0], /got NodeDataChanged \/a at zxid 0x100000004 .*: fired twice/);
});

Deno.test("checkWatches() rejects a lost event before a later response", () => {
  const { b, watcher } = dataWatchFired();
  b.read(watcher, "exists", "/b");
  const found = messages(b.history);
  assert.equal(found.length, 1, found.join("\n"));
  assert.match(
    found[0],
    /the data watch on \/a set by client 1 getData \/a .* was not told of NodeDataChanged at zxid 0x100000004 before the response to client 1 exists \/b/,
  );
});

Deno.test("checkWatches() rejects an event after the response that reflects the change", () => {
  const { b, watcher, zxid } = dataWatchFired();
  b.read(watcher, "getData", "/a");
  b.event(watcher, "NodeDataChanged", "/a", zxid);
  const found = messages(b.history);
  assert.equal(found.length, 1, found.join("\n"));
  assert.match(found[0], /lost or late event/);
});

Deno.test("checkWatches() rejects a wrong event type for the change that fired", () => {
  const { b, watcher, zxid } = dataWatchFired();
  b.event(watcher, "NodeDeleted", "/a", zxid);
  const found = messages(b.history);
  assert.equal(found.length, 1, found.join("\n"));
  assert.match(found[0], /got NodeDeleted \/a .* expected NodeDataChanged at zxid 0x100000004/);
});

Deno.test("checkWatches() rejects an event without registration", () => {
  const { b, watcher, zxid } = dataWatchFired();
  b.event(watcher, "NodeDataChanged", "/a", zxid);
  b.event(watcher, "NodeChildrenChanged", "/a", zxid);
  const found = messages(b.history);
  assert.equal(found.length, 1, found.join("\n"));
  assert.match(found[0], /NodeChildrenChanged \/a .*: fired without registration/);
});

Deno.test("checkWatches() rejects an event after the session ended", () => {
  const b = new HistoryBuilder();
  const watcher = b.open(1);
  const writer = b.open(2);
  b.create(writer, "/a");
  b.read(watcher, "getData", "/a", { watch: true });
  b.close(watcher);
  const zxid = b.setData(writer, "/a", "x").response!.zxid;
  b.event(watcher, "NodeDataChanged", "/a", zxid);
  const found = messages(b.history);
  assert.equal(found.length, 2, found.join("\n"));
  assert.match(found[0], /after the session ended at zxid 0x100000004/);
  assert.match(found[1], /no committed change after the watch was set fires it/);
});

Deno.test("checkWatches() rejects a catch-up event that the state at its zxid does not explain", () => {
  const { b, watcher } = dataWatchFired();
  b.reconnect(watcher, 2);
  // /a still exists at the event's zxid: setWatches would say NodeDataChanged, not NodeDeleted.
  b.event(watcher, "NodeDeleted", "/a", b.lastZxid);
  const found = messages(b.history);
  assert.equal(found.length, 1, found.join("\n"));
  assert.match(found[0], /a data watch fires NodeDataChanged when mzxid/);
});

const twins: [string, HistoryBug][] = [
  ["checkWatches() catches a dropped event in random runs", dropEvent],
  ["checkWatches() catches a duplicated event in random runs", duplicateEvent],
];
for (const [name, bug] of twins) {
  Deno.test(name, () => {
    assertFindsBug(
      { url: import.meta.url, testName: name },
      fc.property(runArb, fc.nat(), (plan, pick) => {
        const damaged = bug(simulate(plan), pick);
        if (damaged === null) return;
        assert.deepEqual(messages(damaged), []);
      }),
      { runs: 200 },
    );
  });
}
