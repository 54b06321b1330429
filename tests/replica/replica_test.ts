import assert from "../assert.ts";
import { digestId } from "../../src/tree/acl.ts";
import { bytes, Harness, open } from "./_harness.ts";

Deno.test("Replica clamps the session timeout to [2, 20] ticks", () => {
  const h = new Harness();
  const low = h.connect(1, 10);
  const high = h.connect(2, 999_999);
  assert.equal(low.t === "connected" && low.timeoutMs, 200);
  assert.equal(high.t === "connected" && high.timeoutMs, 2000);
  assert.notEqual(low.t === "connected" && low.sessionId, high.t === "connected" && high.sessionId);
});

Deno.test("Replica answers a connection's requests in send order while writes wait for storage", () => {
  const h = new Harness();
  h.connect(1);
  h.holdDurable = true;
  h.send(1, { op: "create", path: "/a", data: bytes("1"), acl: open, mode: "persistent" });
  h.send(1, { op: "getData", path: "/a", watch: false });
  assert.deepEqual(h.take(1), [], "the read waits behind the unsynced write");
  h.sync();
  const [create, read] = h.take(1);
  assert.equal(create.t === "res" && create.xid, 1);
  assert.equal(
    read.t === "res" && new TextDecoder().decode(read.data),
    "1",
    "the read sees its own write",
  );
});

Deno.test("Replica: a read queued between two writes sees the first write and not the second", () => {
  const h = new Harness();
  h.connect(1);
  h.call(1, { op: "create", path: "/a", data: bytes("0"), acl: open, mode: "persistent" });
  h.holdDurable = true;
  h.send(1, { op: "setData", path: "/a", data: bytes("1"), version: -1 });
  h.send(1, { op: "getData", path: "/a", watch: false });
  h.send(1, { op: "setData", path: "/a", data: bytes("2"), version: -1 });
  h.sync(); // both writes become durable in one batch
  const messages = h.take(1);
  assert.deepEqual(messages.map((m) => m.t === "res" && m.xid), [2, 3, 4]);
  const read = messages[1];
  assert.equal(read.t === "res" && new TextDecoder().decode(read.data), "1");
});

Deno.test("Replica prepares against outstanding changes: duplicate creates and sequence numbers", () => {
  const h = new Harness();
  h.connect(1);
  h.holdDurable = true;
  h.send(1, { op: "create", path: "/q", data: bytes(""), acl: open, mode: "persistent" });
  h.send(1, { op: "create", path: "/q", data: bytes(""), acl: open, mode: "persistent" });
  for (let i = 0; i < 3; i++) {
    h.send(1, {
      op: "create",
      path: "/q/n-",
      data: bytes(""),
      acl: open,
      mode: "persistentSequential",
    });
  }
  h.sync();
  const results = h.take(1).map((m) => m.t === "res" ? (m.err ?? m.path) : m.t);
  assert.deepEqual(results, [
    "/q",
    "NodeExists",
    "/q/n-0000000000",
    "/q/n-0000000001",
    "/q/n-0000000002",
  ]);
});

Deno.test("Replica: a failed multi applies nothing and consumes no zxid", () => {
  const h = new Harness();
  h.connect(1);
  const before = h.replica.tree.lastZxid;
  const failed = h.call(1, {
    op: "multi",
    ops: [
      { op: "create", path: "/x", data: bytes(""), acl: open, mode: "persistent" },
      { op: "create", path: "/x", data: bytes(""), acl: open, mode: "persistent" },
    ],
  });
  assert.equal(failed.err, "NodeExists");
  assert.deepEqual(failed.results?.map((r) => r.op === "error" && r.err), [
    "RolledBack",
    "NodeExists",
  ]);
  assert.equal(h.replica.tree.lastZxid, before);
  assert.equal(
    h.call(1, { op: "create", path: "/x", data: bytes(""), acl: open, mode: "persistent" }).path,
    "/x",
  );
});

Deno.test("Replica sends a watch event before the response of the write that fired it", () => {
  const h = new Harness();
  h.connect(1);
  h.call(1, { op: "create", path: "/w", data: bytes(""), acl: open, mode: "persistent" });
  h.call(1, { op: "getData", path: "/w", watch: true });
  h.send(1, { op: "setData", path: "/w", data: bytes("x"), version: -1 });
  const messages = h.take(1);
  assert.deepEqual(messages.map((m) => m.t), ["event", "res"]);
  assert.equal(messages[0].t === "event" && messages[0].type, "NodeDataChanged");
  h.call(1, { op: "setData", path: "/w", data: bytes("y"), version: -1 });
  assert.deepEqual(h.take(1), [], "one-shot: nothing fires the second time");
});

Deno.test("Replica removes ephemerals in the close txn and fires the watches of others", () => {
  const h = new Harness();
  h.connect(1);
  h.connect(2);
  h.call(1, { op: "create", path: "/e", data: bytes(""), acl: open, mode: "ephemeral" });
  h.call(2, { op: "exists", path: "/e", watch: true });
  h.call(2, { op: "getChildren", path: "/", watch: true });
  const close = h.call(1, { op: "close" });
  assert.equal(close.err, undefined);
  assert.ok(h.closed.has(1), "the connection closes after the close response");
  const events = h.take(2).map((m) => m.t === "event" ? `${m.type} ${m.path}` : m.t);
  assert.deepEqual(events, ["NodeDeleted /e", "NodeChildrenChanged /"]);
  assert.equal(h.replica.tree.has("/e"), false);
});

Deno.test("Replica expires a silent session on ticks and tells its connection", () => {
  const h = new Harness();
  h.connect(1, 200);
  h.connect(2, 2000);
  h.call(1, { op: "create", path: "/e", data: bytes(""), acl: open, mode: "ephemeral" });
  h.call(2, { op: "exists", path: "/e", watch: true });
  h.tick(2); // 200 ms = 2 ticks after the last touch, plus one for the bucket's rounding
  assert.equal(h.replica.tree.has("/e"), true, "not yet");
  h.tick(1);
  assert.equal(h.replica.tree.has("/e"), false);
  const told = h.take(1);
  assert.equal(
    told.at(-1)?.t === "error" && told.at(-1)?.t === "error" &&
      (told.at(-1) as { err: string }).err,
    "SessionExpired",
  );
  assert.ok(h.closed.has(1));
  assert.deepEqual(h.take(2).map((m) => m.t === "event" && m.type), ["NodeDeleted"]);
});

Deno.test("Replica keeps a session alive across pings and resumes it on a new connection", () => {
  const h = new Harness();
  const first = h.connect(1, 200);
  assert.equal(first.t, "connected");
  if (first.t !== "connected") return;
  h.call(1, { op: "create", path: "/e", data: bytes(""), acl: open, mode: "ephemeral" });
  for (let i = 0; i < 10; i++) {
    h.tick(1);
    h.call(1, { op: "ping" });
  }
  assert.equal(h.replica.tree.has("/e"), true);
  const resumed = h.connect(2, 200, { sessionId: first.sessionId, password: first.password });
  assert.equal(resumed.t === "connected" && resumed.sessionId, first.sessionId);
  assert.ok(h.closed.has(1), "the old connection is closed");
  const wrong = h.connect(3, 200, { sessionId: first.sessionId, password: new Uint8Array(16) });
  assert.equal(wrong.t === "refused" && wrong.err, "SessionExpired");
  const ahead = h.connect(4, 200, {
    sessionId: first.sessionId,
    password: first.password,
    lastZxid: 1e9,
  });
  assert.equal(ahead.t, "refused", "a server behind the client refuses it");
});

Deno.test("Replica fires re-registered watches at once for changes missed while away", () => {
  const h = new Harness();
  h.connect(1);
  h.call(1, { op: "create", path: "/a", data: bytes(""), acl: open, mode: "persistent" });
  h.call(1, { op: "create", path: "/b", data: bytes(""), acl: open, mode: "persistent" });
  const seen = h.replica.tree.lastZxid;
  h.call(1, { op: "setData", path: "/a", data: bytes("changed"), version: -1 });
  h.call(1, { op: "delete", path: "/b", version: -1 });
  h.call(1, { op: "create", path: "/c", data: bytes(""), acl: open, mode: "persistent" });
  h.send(1, {
    op: "setWatches",
    relativeZxid: seen,
    dataWatches: ["/a", "/b", "/"],
    existWatches: ["/c", "/d"],
    childWatches: ["/"],
  });
  const events = h.take(1).filter((m) => m.t === "event").map((m) =>
    m.t === "event" && `${m.type} ${m.path}`
  );
  assert.deepEqual(events, [
    "NodeDataChanged /a",
    "NodeDeleted /b",
    "NodeCreated /c",
    "NodeChildrenChanged /",
  ]);
  h.send(1, { op: "create", path: "/d", data: bytes(""), acl: open, mode: "persistent" });
  assert.deepEqual(h.take(1).filter((m) => m.t === "event").map((m) => m.t === "event" && m.type), [
    "NodeCreated",
  ]);
});

Deno.test("Replica tells a re-registered data and child watch on a deleted node once", () => {
  // Found by the real-process nemesis (seed 1): both NodeDeleted events came, and the second
  // fired a watch the first had already consumed. A live delete tells such a watcher once too.
  const h = new Harness();
  h.connect(1);
  h.call(1, { op: "create", path: "/a", data: bytes(""), acl: open, mode: "persistent" });
  const seen = h.replica.tree.lastZxid;
  h.call(1, { op: "delete", path: "/a", version: -1 });
  h.send(1, {
    op: "setWatches",
    relativeZxid: seen,
    dataWatches: ["/a"],
    existWatches: [],
    childWatches: ["/a"],
  });
  const events = h.take(1).filter((m) => m.t === "event").map((m) =>
    m.t === "event" && `${m.type} ${m.path}`
  );
  assert.deepEqual(events, ["NodeDeleted /a"]);
});

Deno.test("Replica checks ACLs: digest identities, NoAuth and the super user", () => {
  const h = new Harness({ superDigest: digestId("super:pw") });
  h.connect(1);
  h.connect(2);
  h.connect(3);
  assert.equal(
    h.call(1, { op: "addAuth", scheme: "digest", auth: bytes("bob:secret") }).err,
    undefined,
  );
  h.call(1, {
    op: "create",
    path: "/s",
    data: bytes("x"),
    acl: [{ perms: 31, scheme: "auth", id: "" }],
    mode: "persistent",
  });
  assert.deepEqual(h.call(1, { op: "getACL", path: "/s" }).acl, [{
    perms: 31,
    scheme: "digest",
    id: digestId("bob:secret"),
  }]);
  assert.equal(h.call(2, { op: "getData", path: "/s", watch: false }).err, "NoAuth");
  assert.equal(
    h.call(2, { op: "setData", path: "/s", data: bytes("y"), version: -1 }).err,
    "NoAuth",
  );
  assert.equal(
    h.call(2, { op: "create", path: "/s/c", data: bytes(""), acl: open, mode: "persistent" }).err,
    "NoAuth",
  );
  assert.equal(h.call(2, { op: "setACL", path: "/s", acl: open, version: -1 }).err, "NoAuth");
  assert.ok(
    h.call(2, { op: "exists", path: "/s", watch: false }).stat,
    "exists needs no permission",
  );
  assert.equal(h.call(2, { op: "addAuth", scheme: "nope", auth: bytes("x") }).err, "AuthFailed");
  h.call(3, { op: "addAuth", scheme: "digest", auth: bytes("super:pw") });
  assert.equal(
    h.call(3, { op: "getData", path: "/s", watch: false }).err,
    undefined,
    "super bypasses ACLs",
  );
  assert.equal(h.call(1, { op: "setACL", path: "/s", acl: open, version: 5 }).err, "BadVersion");
  assert.equal(h.call(1, { op: "setACL", path: "/s", acl: open, version: 0 }).stat?.aversion, 1);
});

Deno.test("Replica refuses writes to the reserved /zookeeper subtree", () => {
  const h = new Harness();
  h.connect(1);
  assert.equal(h.call(1, { op: "delete", path: "/zookeeper", version: -1 }).err, "BadArguments");
  assert.equal(
    h.call(1, {
      op: "create",
      path: "/zookeeper/x",
      data: bytes(""),
      acl: open,
      mode: "persistent",
    }).err,
    "BadArguments",
  );
  assert.equal(h.call(1, { op: "delete", path: "/", version: -1 }).err, "BadArguments");
});

Deno.test("Replica enforces the data limit and the NotEmpty, NoChildrenForEphemerals rules", () => {
  const h = new Harness({ dataBytesMax: 10 });
  h.connect(1);
  assert.equal(
    h.call(1, {
      op: "create",
      path: "/big",
      data: new Uint8Array(11),
      acl: open,
      mode: "persistent",
    }).err,
    "BadArguments",
  );
  h.call(1, { op: "create", path: "/p", data: bytes(""), acl: open, mode: "persistent" });
  h.call(1, { op: "create", path: "/p/c", data: bytes(""), acl: open, mode: "persistent" });
  assert.equal(h.call(1, { op: "delete", path: "/p", version: -1 }).err, "NotEmpty");
  h.call(1, { op: "create", path: "/e", data: bytes(""), acl: open, mode: "ephemeral" });
  assert.equal(
    h.call(1, { op: "create", path: "/e/c", data: bytes(""), acl: open, mode: "persistent" }).err,
    "NoChildrenForEphemerals",
  );
  assert.equal(h.call(1, { op: "delete", path: "/p/c", version: 3 }).err, "BadVersion");
});

Deno.test("Replica closes a connection that exceeds the pending-request limit, saying why", () => {
  const h = new Harness({ pendingRequestsMax: 3 });
  h.connect(1);
  h.connect(2);
  h.holdDurable = true;
  for (let i = 0; i < 4; i++) {
    h.send(1, { op: "create", path: `/n${i}`, data: bytes(""), acl: open, mode: "persistent" });
  }
  const last = h.take(1).at(-1);
  assert.equal(last?.t === "error" && last.err, "Throttled");
  assert.ok(h.closed.has(1));
  h.sync();
  assert.equal(
    h.call(2, { op: "exists", path: "/n0", watch: false }).stat?.czxid !== undefined,
    true,
    "others go on",
  );
});

Deno.test("Replica answers an invalid-but-addressable request in order", () => {
  const h = new Harness();
  h.connect(1);
  h.holdDurable = true;
  h.send(1, { op: "create", path: "/a", data: bytes(""), acl: open, mode: "persistent" });
  h.step({
    type: "invalid",
    connId: 1,
    nowMs: h.nowMs,
    xid: 99,
    err: "BadArguments",
    message: "bad path",
  });
  assert.deepEqual(h.take(1), []);
  h.sync();
  assert.deepEqual(h.take(1).map((m) => m.t === "res" && [m.xid, m.err ?? "ok"]), [[1, "ok"], [
    99,
    "BadArguments",
  ]]);
});

Deno.test("Replica names a sequential child of a path ending in / by the counter alone", () => {
  const h = new Harness();
  h.connect(1);
  h.call(1, { op: "create", path: "/q", data: bytes(""), acl: open, mode: "persistent" });
  assert.equal(
    h.call(1, {
      op: "create",
      path: "/q/",
      data: bytes(""),
      acl: open,
      mode: "persistentSequential",
    }).path,
    "/q/0000000000",
  );
});
