/**
 * Transcripts of the replica when storage fails (REFERENCE §8; the `storageFailed` event): a
 * write that never became durable must never apply, its client learns why, and the replica
 * keeps serving, so writes resume once the disk has room again.
 * @module
 */
import assert from "../assert.ts";
import type { ServerMessage } from "../../src/wire/messages.ts";
import { bytes, Harness, open } from "./_harness.ts";

const enospc = "ENOSPC: no space left on device";

/**
 * Reports every record not yet durable as failed, as a store that hit a full disk does: it
 * forgets them (so the harness must too) and names the first one. Returns that zxid.
 */
function failStorage(h: Harness, message = enospc): number {
  assert.ok(h.unsynced.length > 0, "something is waiting for storage");
  const zxid = h.unsynced[0].zxid;
  h.unsynced.length = 0;
  h.step({ type: "storageFailed", zxid, message });
  return zxid;
}

/** Reports the oldest `count` unsynced records durable, the rest still waiting. */
function syncSome(h: Harness, count: number): void {
  const synced = h.unsynced.splice(0, count);
  h.step({ type: "durable", zxid: synced.at(-1)!.zxid });
}

/** The tree as plain data, to show that nothing changed. */
function treeOf(h: Harness): string {
  return JSON.stringify(
    h.replica.tree.exportNodes(),
    (_, v) => v instanceof Uint8Array ? [...v] : v,
  );
}

/** Responses to a connection as `xid err-or-result`, in the order they arrived. */
function answers(messages: ServerMessage[]): string[] {
  return messages.map((m) => {
    if (m.t !== "res") return m.t;
    if (m.err) return `${m.xid} ${m.err}`;
    if (m.data) return `${m.xid} data=${new TextDecoder().decode(m.data)}`;
    return `${m.xid} ok`;
  });
}

Deno.test("Replica answers every write that storage failed with SystemError and applies none", () => {
  const h = new Harness();
  h.connect(1);
  h.connect(2);
  h.call(1, { op: "create", path: "/base", data: bytes("v0"), acl: open, mode: "persistent" });
  const before = treeOf(h);
  const lastApplied = h.replica.tree.lastZxid;

  h.holdDurable = true;
  h.send(1, { op: "create", path: "/a", data: bytes(""), acl: open, mode: "persistent" });
  h.send(2, { op: "setData", path: "/base", data: bytes("v1"), version: -1 });
  h.send(1, { op: "getData", path: "/base", watch: false }); // waits behind the create
  // Prepared against the outstanding /a, so it can only fail with it.
  h.send(1, { op: "create", path: "/a/child", data: bytes(""), acl: open, mode: "persistent" });
  h.send(2, {
    op: "multi",
    ops: [{ op: "create", path: "/m", data: bytes(""), acl: open, mode: "persistent" }],
  });
  assert.equal(h.unsynced.length, 4);
  assert.deepEqual(h.take(1), [], "nothing is answered before storage reports");

  const failedZxid = failStorage(h);
  assert.equal(failedZxid, lastApplied + 1);
  const first = h.take(1);
  const second = h.take(2);
  assert.deepEqual(answers(first), ["2 SystemError", "3 data=v0", "4 SystemError"]);
  assert.deepEqual(answers(second), ["1 SystemError", "2 SystemError"]);
  for (const m of [...first, ...second]) {
    if (m.t === "res" && m.err) assert.ok(m.message?.includes(enospc), String(m.message));
  }
  assert.equal(treeOf(h), before, "the tree is as it was before the failed writes");
  assert.equal(h.replica.tree.lastZxid, lastApplied);
  assert.equal(h.replica.outstandingCount, 0);
  assert.deepEqual(h.closed, new Map(), "no connection is closed for it");

  h.holdDurable = false;
  assert.equal(h.call(2, { op: "exists", path: "/a", watch: false }).stat ?? null, null);
  assert.equal(h.call(2, { op: "exists", path: "/m", watch: false }).stat ?? null, null);
  const read = h.call(2, { op: "getData", path: "/base", watch: false });
  assert.equal(read.data && new TextDecoder().decode(read.data), "v0");

  const retry = h.call(1, {
    op: "create",
    path: "/a",
    data: bytes(""),
    acl: open,
    mode: "persistent",
  });
  assert.equal(retry.err, undefined);
  assert.equal(retry.zxid, lastApplied + 1, "zxids resume right after the last applied one");
  assert.equal(retry.stat?.czxid, lastApplied + 1);
  assert.equal(h.replica.tree.has("/a"), true);
});

Deno.test("Replica applies the records made durable before a failure and fails only the rest", () => {
  const h = new Harness();
  h.connect(1);
  h.connect(2);
  const lastApplied = h.replica.tree.lastZxid;
  h.holdDurable = true;
  h.send(1, { op: "create", path: "/kept", data: bytes(""), acl: open, mode: "persistent" });
  h.send(2, { op: "create", path: "/lost", data: bytes(""), acl: open, mode: "persistent" });
  h.send(1, { op: "create", path: "/lost2", data: bytes(""), acl: open, mode: "persistent" });
  syncSome(h, 1);
  assert.deepEqual(answers(h.take(1)), ["1 ok"]);
  assert.equal(failStorage(h), lastApplied + 2);
  assert.deepEqual(answers(h.take(1)), ["2 SystemError"]);
  assert.deepEqual(answers(h.take(2)), ["1 SystemError"]);
  assert.equal(h.replica.tree.has("/kept"), true);
  assert.equal(h.replica.tree.has("/lost"), false);
  assert.equal(h.replica.tree.has("/lost2"), false);
  h.holdDurable = false;
  assert.equal(
    h.call(2, { op: "create", path: "/lost", data: bytes(""), acl: open, mode: "persistent" })
      .zxid,
    lastApplied + 2,
  );
});

Deno.test("Replica keeps a session alive when storing its close failed", () => {
  const h = new Harness();
  const connected = h.connect(1);
  assert.equal(connected.t, "connected");
  const sessionId = connected.t === "connected" ? connected.sessionId : 0;
  h.connect(2);
  h.call(1, { op: "create", path: "/e", data: bytes(""), acl: open, mode: "ephemeral" });
  h.call(2, { op: "exists", path: "/e", watch: true });

  h.holdDurable = true;
  h.send(1, { op: "close" });
  failStorage(h);
  const told = h.take(1);
  assert.deepEqual(answers(told), ["2 SystemError"]);
  assert.equal(h.closed.has(1), false, "the connection stays open");
  assert.equal(h.replica.sessions.get(sessionId)?.closing, false, "the session is live again");
  assert.equal(h.replica.tree.has("/e"), true, "its ephemeral stays");
  assert.deepEqual(h.take(2), [], "no watch fired");

  h.holdDurable = false;
  assert.equal(h.call(1, { op: "ping" }).err, undefined, "the session accepts requests again");
  assert.equal(h.call(1, { op: "close" }).err, undefined);
  assert.ok(h.closed.has(1));
  assert.equal(h.replica.sessions.get(sessionId), undefined);
  assert.equal(h.replica.tree.has("/e"), false);
  assert.deepEqual(h.take(2).map((m) => m.t === "event" && m.type), ["NodeDeleted"]);
});

Deno.test("Replica retries on a later tick an expiry that storage failed", () => {
  const h = new Harness();
  const connected = h.connect(1, 200); // 2 ticks
  const sessionId = connected.t === "connected" ? connected.sessionId : 0;
  h.connect(2, 2000);
  h.call(1, { op: "create", path: "/e", data: bytes(""), acl: open, mode: "ephemeral" });

  h.holdDurable = true;
  h.tick(3);
  assert.deepEqual(h.unsynced.map((r) => r.txn.type), ["closeSession"], "the expiry is ordered");
  failStorage(h);
  assert.equal(h.replica.tree.has("/e"), true);
  assert.equal(h.replica.sessions.get(sessionId)?.closing, false);
  assert.equal(h.closed.has(1), false);

  h.holdDurable = false;
  h.tick(1);
  assert.equal(h.replica.tree.has("/e"), true, "the session got a fresh timeout, not a reprieve");
  h.tick(2);
  assert.equal(h.replica.tree.has("/e"), false, "the expiry was ordered again, and stored");
  assert.equal(h.replica.sessions.get(sessionId), undefined);
  assert.ok(h.closed.has(1));
  const last = h.take(1).at(-1);
  assert.equal(last?.t === "error" && last.err, "SessionExpired");
});

Deno.test("Replica refuses a new session whose creation storage failed", () => {
  const h = new Harness();
  h.holdDurable = true;
  assert.equal(h.connect(1), undefined, "no answer before storage reports");
  failStorage(h);
  const [refused] = h.take(1);
  assert.equal(refused?.t === "refused" && refused.err, "SystemError");
  assert.ok(refused?.t === "refused" && refused.message.includes(enospc));
  assert.ok(h.closed.has(1));
  assert.equal(h.replica.sessions.size, 0);
  h.holdDurable = false;
  assert.equal(h.connect(2).t, "connected", "the next session is created");
});

Deno.test("Replica answers a resume of a closing session only once the close is decided", () => {
  const h = new Harness();
  const connected = h.connect(1);
  assert.equal(connected.t, "connected");
  if (connected.t !== "connected") return;
  const resume = { sessionId: connected.sessionId, password: connected.password };
  h.call(1, { op: "create", path: "/e", data: bytes(""), acl: open, mode: "ephemeral" });

  // The close is ordered but storage fails it: the session lives on, so the resume succeeds.
  h.holdDurable = true;
  h.send(1, { op: "close" });
  assert.equal(h.connect(2, 1000, resume), undefined, "no answer while the close is undecided");
  failStorage(h);
  const resumed = h.take(2);
  assert.deepEqual(resumed.map((m) => m.t), ["connected"]);
  assert.equal(resumed[0].t === "connected" && resumed[0].sessionId, connected.sessionId);
  assert.equal(h.replica.tree.has("/e"), true);

  // The close is ordered again and this time it applies: the resume is refused as expired.
  h.send(2, { op: "close" });
  assert.equal(h.connect(3, 1000, resume), undefined);
  h.sync();
  const refused = h.take(3);
  assert.deepEqual(refused.map((m) => m.t === "refused" && m.err), ["SessionExpired"]);
  assert.ok(h.closed.has(3));
  assert.equal(h.replica.tree.has("/e"), false);

  // A connection that gives up while it waits is forgotten, and nothing is sent to it.
  h.holdDurable = false;
  const other = h.connect(4);
  assert.equal(other.t, "connected");
  if (other.t !== "connected") return;
  h.holdDurable = true;
  h.send(4, { op: "close" });
  assert.equal(
    h.connect(5, 1000, { sessionId: other.sessionId, password: other.password }),
    undefined,
  );
  h.step({ type: "disconnect", connId: 5 });
  h.sync();
  assert.deepEqual(h.take(5), []);
});
