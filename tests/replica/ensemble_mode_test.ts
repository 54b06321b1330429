import assert from "../assert.ts";
import { makeZxid } from "../../src/tree/txn.ts";
import type { ResponseMessage, ServerMessage } from "../../src/wire/messages.ts";
import { Harness } from "./_harness.ts";
import {
  bytes,
  type Client,
  Ensemble,
  open,
  type RequestInput,
  sessionIdBaseOf,
  text,
} from "./_ensemble_harness.ts";

const E1 = makeZxid(1, 0);
const E2 = makeZxid(2, 0);

const persistent = (path: string, data = ""): RequestInput => ({
  op: "create",
  path,
  data: bytes(data),
  acl: open,
  mode: "persistent",
});

const ephemeral = (path: string): RequestInput => ({
  op: "create",
  path,
  data: bytes(""),
  acl: open,
  mode: "ephemeral",
});

/** Short labels of what a client received: "res 3", "res 3 NoNode", "event NodeDeleted /e". */
const labels = (messages: ServerMessage[]): string[] =>
  messages.map((m) => {
    if (m.t === "res") return `res ${m.xid}${m.err ? ` ${m.err}` : ""}`;
    if (m.t === "event") return `event ${m.type} ${m.path}`;
    return `${m.t}${"err" in m ? ` ${m.err}` : ""}`;
  });

const responses = (messages: ServerMessage[]): ResponseMessage[] =>
  messages.filter((m): m is ResponseMessage => m.t === "res");

/** A standalone replica that orders exactly like follower 2's first session would (epoch 1). */
function standaloneLikeFollower2(): Harness {
  return new Harness({ serverId: 9, epoch: 1, sessionIdBase: sessionIdBaseOf(2) });
}

// ---- 1. sessions through a follower ------------------------------------------------------------

Deno.test("Ensemble: a client connected to a follower gets its session once createSession commits, on every replica", () => {
  const ens = new Ensemble({ followers: [2], observers: [3] });
  ens.holdCommits = true;
  const c = ens.connect(2);
  assert.deepEqual(c.take(), [], "no session before the leader commits it");
  const early = c.send(persistent("/early"));
  assert.deepEqual(c.take(), [], "a request sent meanwhile waits for the session");
  const forwards = ens.trace.filter((t) => t.action.type === "forward");
  assert.equal(forwards.length, 1);
  const forward = forwards[0].action.type === "forward" && forwards[0].action.forward;
  assert.ok(forward && forward.op === "createSession");
  assert.equal(ens.proposed.length, 1, "the leader ordered the createSession");
  assert.equal(ens.proposed[0].txn.type, "createSession");
  assert.equal(ens.proposed[0].zxid, E1 + 1);

  ens.commit();
  ens.settle();
  const [connected] = c.take();
  assert.equal(connected.t, "connected");
  if (connected.t !== "connected" || !forward || forward.op !== "createSession") return;
  assert.equal(connected.sessionId, forward.sessionId);
  assert.equal(connected.serverId, 2);
  assert.equal(connected.zxid, E1 + 1);
  assert.deepEqual(connected.password, forward.password);
  for (const id of [1, 2, 3]) {
    const session = ens.replica(id).sessions.get(connected.sessionId);
    assert.ok(session, `server ${id} has the session`);
    assert.equal(session.timeoutMs, 1000);
    assert.deepEqual(session.password, connected.password);
  }
  ens.holdCommits = false;
  ens.settle();
  const earlyRes = c.take();
  assert.deepEqual(labels(earlyRes), [`res ${early}`], "the early request is answered after it");
  assert.equal(responses(earlyRes)[0].path, "/early");
  assert.equal(
    ens.replica(1).tree.stat("/early")?.czxid,
    E1 + 2,
    "forwarded after the createSession",
  );
  assert.equal(c.call({ op: "ping" }).err, undefined, "the session serves requests");

  const o = ens.connect(3);
  assert.equal(o.handshake?.t, "connected", "an observer opens sessions the same way");
  assert.ok(ens.replica(1).sessions.get(o.session.sessionId));
});

// ---- 2. writes through a follower ------------------------------------------------------------

Deno.test("Ensemble: writes through a follower get the same responses a standalone replica gives", () => {
  const ens = new Ensemble({ followers: [2, 3] });
  const c = ens.connect(2);
  const solo = standaloneLikeFollower2();
  solo.connect(1);
  assert.equal(c.session.sessionId, solo.replica.sessions.all()[0].id, "same session id");

  const script: RequestInput[] = [
    persistent("/a", "1"),
    { op: "create", path: "/a/s-", data: bytes("s"), acl: open, mode: "persistentSequential" },
    ephemeral("/a/e"),
    { op: "setData", path: "/a", data: bytes("2"), version: 0 },
    { op: "getData", path: "/a", watch: false },
    { op: "setACL", path: "/a", acl: open, version: 0 },
    { op: "check", path: "/a", version: 1 },
    {
      op: "multi",
      ops: [
        { op: "check", path: "/a", version: 1 },
        persistent("/b", "b") as Extract<RequestInput, { op: "create" }>,
        { op: "setData", path: "/a", data: bytes("3"), version: 1 },
        { op: "delete", path: "/a/s-0000000000", version: 0 },
      ],
    },
    { op: "getChildren", path: "/a", watch: false },
    { op: "delete", path: "/b", version: 0 },
    { op: "exists", path: "/b", watch: false },
    { op: "getACL", path: "/a" },
  ];
  for (const request of script) {
    const got = c.call(request);
    const want = solo.call(1, request);
    assert.deepEqual(got, want, `${request.op} answers like standalone`);
  }
  for (const id of [1, 2, 3]) {
    assert.deepEqual(
      ens.replica(id).tree.exportNodes(),
      solo.replica.tree.exportNodes(),
      `server ${id} holds the standalone tree`,
    );
  }
});

Deno.test("Ensemble: a write through a follower is answered only when its commit reaches that follower", () => {
  const ens = new Ensemble({ followers: [2, 3] });
  const c = ens.connect(2);
  ens.holdCommits = true;
  const xid = c.send(persistent("/a", "1"));
  assert.deepEqual(
    ens.replies().at(-1),
    { kind: "ordered", sessionId: c.session.sessionId, xid, zxid: E1 + 2 },
    "the leader ordered it and told the follower",
  );
  assert.deepEqual(c.take(), [], "ordered is not committed");
  assert.equal(ens.replica(2).tree.has("/a"), false);

  ens.hold(1, 2);
  ens.holdCommits = false;
  ens.settle();
  assert.equal(ens.replica(1).tree.has("/a"), true, "committed on the leader");
  assert.equal(ens.replica(3).tree.has("/a"), true, "and on the other follower");
  assert.deepEqual(c.take(), [], "but the follower has not applied it yet");

  ens.release(1, 2);
  const [response] = c.take();
  assert.equal(response.t === "res" && response.xid, xid);
  assert.equal(response.t === "res" && response.zxid, E1 + 2);
  assert.equal(response.t === "res" && response.path, "/a");
});

Deno.test("Ensemble: a follower answers writes and reads in send order; reads see earlier writes, not later ones", () => {
  const ens = new Ensemble({ followers: [2] });
  const c = ens.connect(2);
  const solo = standaloneLikeFollower2();
  solo.connect(1);
  const setup = persistent("/a", "0");
  assert.deepEqual(c.call(setup), solo.call(1, setup));

  const batch: RequestInput[] = [
    { op: "getData", path: "/a", watch: false }, // before any write: answered at once
    { op: "setData", path: "/a", data: bytes("1"), version: -1 },
    { op: "getData", path: "/a", watch: false }, // after write 1, before write 2
    { op: "setData", path: "/a", data: bytes("2"), version: 1 },
    { op: "exists", path: "/a", watch: false },
    { op: "create", path: "/a/c", data: bytes(""), acl: open, mode: "persistent" },
    { op: "getChildren", path: "/a", watch: false },
  ];
  ens.holdCommits = true;
  solo.holdDurable = true;
  const xids = batch.map((request) => c.send(request));
  for (const request of batch) solo.send(1, request);

  const early = c.take();
  assert.deepEqual(labels(early), [`res ${xids[0]}`], "only the first read, before any write");
  assert.equal(text(responses(early)[0].data), "0");

  ens.hold(1, 2);
  ens.commit();
  ens.settle();
  assert.deepEqual(c.take(), [], "nothing moves until the commits reach the follower");
  ens.release(1, 2);
  solo.sync();

  const got = [...early, ...c.take()];
  assert.deepEqual(labels(got), xids.map((x) => `res ${x}`), "answered in send order");
  assert.equal(text(responses(got)[2].data), "1", "the read between the writes sees write 1 only");
  assert.deepEqual(responses(got)[6].children, ["c"]);
  assert.deepEqual(got, solo.take(1), "the same responses as standalone");
});

// ---- 3. failing writes -----------------------------------------------------------------------

Deno.test("Ensemble: failing writes through a follower get the leader's error, in order behind pending writes", () => {
  const ens = new Ensemble({ followers: [2] });
  const c = ens.connect(2);
  const solo = standaloneLikeFollower2();
  solo.connect(1);
  for (const r of [persistent("/p"), persistent("/p/c")]) {
    assert.deepEqual(c.call(r), solo.call(1, r));
  }

  const batch: RequestInput[] = [
    persistent("/x", "x"), // succeeds: pending until committed
    persistent("/x"), // NodeExists (prepared against the pending create)
    { op: "setData", path: "/nope", data: bytes(""), version: -1 }, // NoNode
    { op: "setData", path: "/x", data: bytes("y"), version: 7 }, // BadVersion
    { op: "delete", path: "/p", version: -1 }, // NotEmpty
    { op: "check", path: "/x", version: 3 }, // BadVersion
    {
      op: "multi",
      ops: [
        persistent("/y") as Extract<RequestInput, { op: "create" }>,
        persistent("/x") as Extract<RequestInput, { op: "create" }>,
        { op: "delete", path: "/p/c", version: -1 },
      ],
    },
    { op: "setACL", path: "/nope", acl: open, version: -1 }, // NoNode
    { op: "setData", path: "/x", data: bytes("z"), version: 0 }, // succeeds
  ];
  ens.holdCommits = true;
  solo.holdDurable = true;
  const xids = batch.map((request) => c.send(request));
  for (const request of batch) solo.send(1, request);
  assert.deepEqual(c.take(), [], "errors wait behind the pending create");

  const answers = ens.replies().filter((r) => r.kind === "answer");
  assert.deepEqual(
    answers.map((r) => r.kind === "answer" && r.message.t === "res" && [r.xid, r.message.err]),
    [
      [xids[1], "NodeExists"],
      [xids[2], "NoNode"],
      [xids[3], "BadVersion"],
      [xids[4], "NotEmpty"],
      [xids[5], "BadVersion"],
      [xids[6], "NodeExists"],
      [xids[7], "NoNode"],
    ],
    "the leader decided each error",
  );

  ens.holdCommits = false;
  ens.settle();
  solo.sync();
  const got = c.take();
  assert.deepEqual(labels(got), [
    `res ${xids[0]}`,
    `res ${xids[1]} NodeExists`,
    `res ${xids[2]} NoNode`,
    `res ${xids[3]} BadVersion`,
    `res ${xids[4]} NotEmpty`,
    `res ${xids[5]} BadVersion`,
    `res ${xids[6]} NodeExists`,
    `res ${xids[7]} NoNode`,
    `res ${xids[8]}`,
  ]);
  const multi = responses(got)[6];
  assert.deepEqual(multi.results?.map((r) => r.op === "error" ? r.err : r.op), [
    "RolledBack",
    "NodeExists",
    "RuntimeInconsistency",
  ]);
  assert.deepEqual(got, solo.take(1), "the same responses (fields and zxids) as standalone");
  assert.equal(ens.replica(2).tree.has("/y"), false, "the failed multi applied nothing");
});

// ---- 4. sync --------------------------------------------------------------------------------

Deno.test("Ensemble: sync on a follower waits until the follower applied what the leader had ordered", () => {
  const ens = new Ensemble({ followers: [2, 3] });
  const a = ens.connect(1); // a client of the leader
  const b = ens.connect(2);
  a.call(persistent("/s", "0"));

  ens.holdCommits = true;
  const write = a.send({ op: "setData", path: "/s", data: bytes("1"), version: -1 });
  const ordered = ens.proposed.at(-1)!.zxid;
  const sync = b.send({ op: "sync", path: "/s" });
  const read = b.send({ op: "getData", path: "/s", watch: false });
  assert.deepEqual(
    ens.replies().at(-1),
    { kind: "sync", sessionId: b.session.sessionId, xid: sync, zxid: ordered },
    "the leader names the last txn it ordered",
  );
  assert.deepEqual(b.take(), [], "the write is not even committed");

  ens.hold(1, 2);
  ens.holdCommits = false;
  ens.settle();
  assert.deepEqual(labels(a.take()), [`res ${write}`], "the write is done on the leader");
  assert.deepEqual(b.take(), [], "the follower has not applied it: the sync waits");

  ens.release(1, 2);
  const got = b.take();
  assert.deepEqual(labels(got), [`res ${sync}`, `res ${read}`]);
  const [syncRes, readRes] = responses(got);
  assert.equal(syncRes.path, "/s");
  assert.ok(syncRes.zxid >= ordered);
  assert.equal(text(readRes.data), "1", "a read after the sync sees the write made before it");
});

Deno.test("Ensemble: sync on an up-to-date follower is answered as soon as the leader replies", () => {
  const ens = new Ensemble({ followers: [2], observers: [3] });
  for (const id of [2, 3]) {
    const c = ens.connect(id);
    c.call(persistent(`/n${id}`));
    const res = c.call({ op: "sync", path: "/" });
    assert.equal(res.err, undefined);
    assert.equal(res.path, "/");
    assert.equal(res.zxid, ens.replica(id).tree.lastZxid);
  }
});

/**
 * Epoch 1 history (a session on follower 2 wrote /a = "old"), then an election: server 1 leads
 * again in epoch 2 and nothing has been ordered in epoch 2 yet. Returns that session, resumed on
 * follower 2.
 */
function newEpochWithoutTxns(): { ens: Ensemble; c: Client } {
  const ens = new Ensemble({ followers: [2, 3] });
  const first = ens.connect(2);
  first.call(persistent("/a", "old"));
  const { sessionId, password } = first.session;
  for (const id of [1, 2, 3]) ens.setRole(id, "down", 1);
  ens.setRole(1, "leader", 2);
  ens.setRole(2, "follower", 2);
  ens.setRole(3, "follower", 2);
  const c = ens.connect(2, { sessionId, password, lastZxid: first.lastZxid });
  assert.equal(c.handshake?.t, "connected");
  assert.equal(ens.replica(2).tree.lastZxid, ens.replica(1).tree.lastZxid, "follower is current");
  return { ens, c };
}

Deno.test("Ensemble: sync on a current follower in a new epoch is answered before any txn of that epoch", () => {
  const { ens, c } = newEpochWithoutTxns();
  const sync = c.send({ op: "sync", path: "/" });
  const reply = ens.replies().at(-1);
  const named = reply?.kind === "sync" ? reply.zxid : NaN;
  const applied = ens.replica(2).tree.lastZxid;
  assert.deepEqual(
    labels(c.take()),
    [`res ${sync}`],
    `the follower has everything the leader ordered, so the sync must not wait (the leader's ` +
      `sync reply names zxid 0x${named.toString(16)}; the follower applied up to ` +
      `0x${applied.toString(16)})`,
  );
  assert.ok(named <= ens.replica(1).tree.lastZxid, "the leader names a txn it really ordered");
});

Deno.test("Ensemble: a read queued behind a sync in a new epoch does not see a write sent after it", () => {
  const { c } = newEpochWithoutTxns();
  const sync = c.send({ op: "sync", path: "/" });
  const read = c.send({ op: "getData", path: "/a", watch: false });
  const write = c.send({ op: "setData", path: "/a", data: bytes("new"), version: -1 });
  const got = c.take();
  assert.deepEqual(labels(got), [`res ${sync}`, `res ${read}`, `res ${write}`]);
  const readRes = responses(got).find((m) => m.xid === read);
  assert.equal(text(readRes?.data), "old", "a read sent before a write does not see it");
});

// ---- 5. watches -----------------------------------------------------------------------------

Deno.test("Ensemble: a watch set on a follower fires once when a leader-side write commits there", () => {
  const ens = new Ensemble({ followers: [2], observers: [3] });
  const writer = ens.connect(1);
  writer.call(persistent("/w", "0"));
  const f = ens.connect(2);
  const o = ens.connect(3);
  assert.equal(text(f.call({ op: "getData", path: "/w", watch: true }).data), "0");
  assert.deepEqual(o.call({ op: "getChildren", path: "/", watch: true }).err, undefined);

  ens.hold(1, 2);
  writer.call({ op: "setData", path: "/w", data: bytes("1"), version: -1 });
  writer.call(persistent("/w2"));
  assert.deepEqual(labels(o.take()), ["event NodeChildrenChanged /"], "the observer's child watch");
  const stale = f.call({ op: "getData", path: "/w", watch: false });
  assert.equal(text(stale.data), "0", "the follower has not applied the write yet");
  assert.equal(f.take().length, 0, "and fired nothing");

  ens.release(1, 2);
  const fired = f.take();
  assert.deepEqual(labels(fired), ["event NodeDataChanged /w"]);
  assert.equal(fired[0].t === "event" && fired[0].zxid, ens.replica(1).tree.lastZxid - 1);
  const next = f.send({ op: "getData", path: "/w", watch: false });
  assert.deepEqual(labels(f.take()), [`res ${next}`]);

  writer.call({ op: "setData", path: "/w", data: bytes("2"), version: -1 });
  writer.call(persistent("/w3"));
  assert.deepEqual(f.take(), [], "one-shot: the data watch does not fire again");
  assert.deepEqual(o.take(), [], "one-shot: the child watch does not fire again");
});

Deno.test("Ensemble: a follower sends a watch event before the response of any later request", () => {
  const ens = new Ensemble({ followers: [2] });
  const writer = ens.connect(1);
  writer.call(persistent("/w", "0"));
  writer.call(persistent("/other"));
  const f = ens.connect(2);
  f.call({ op: "getData", path: "/w", watch: true });

  // The leader-side write is ordered before the follower client's own write and read.
  ens.holdCommits = true;
  writer.send({ op: "setData", path: "/w", data: bytes("1"), version: -1 });
  const own = f.send({ op: "setData", path: "/other", data: bytes("x"), version: -1 });
  const read = f.send({ op: "getData", path: "/w", watch: true });
  ens.holdCommits = false;
  ens.settle();
  const got = f.take();
  assert.deepEqual(labels(got), ["event NodeDataChanged /w", `res ${own}`, `res ${read}`]);
  assert.equal(text(responses(got)[1].data), "1");

  // The follower client's write is ordered first: its read, queued behind it, does not see the
  // leader-side write and is answered before the event of that write.
  ens.holdCommits = true;
  const own2 = f.send({ op: "setData", path: "/other", data: bytes("y"), version: -1 });
  const read2 = f.send({ op: "getData", path: "/w", watch: false });
  writer.send({ op: "setData", path: "/w", data: bytes("2"), version: -1 });
  ens.holdCommits = false;
  ens.settle();
  const got2 = f.take();
  assert.deepEqual(labels(got2), [`res ${own2}`, `res ${read2}`, "event NodeDataChanged /w"]);
  assert.equal(text(responses(got2)[1].data), "1");
});

// ---- 6. global sessions ---------------------------------------------------------------------

Deno.test("Ensemble: a follower's touches keep its session alive on the leader; silence expires it everywhere", () => {
  const ens = new Ensemble({ followers: [2, 3] });
  const c = ens.connect(2, { timeoutMs: 200 }); // 2 ticks
  const { sessionId } = c.session;
  c.call(ephemeral("/e"));
  const watcher = ens.connect(3);
  watcher.call({ op: "exists", path: "/e", watch: true });

  for (let i = 0; i < 30; i++) {
    c.call({ op: "ping" });
    watcher.call({ op: "ping" });
    ens.tick();
  }
  const touches = ens.trace.filter((t) => t.server === 2 && t.action.type === "touch");
  assert.ok(touches.length >= 30, "the follower reports its session every tick");
  for (const id of [1, 2, 3]) {
    assert.ok(ens.replica(id).sessions.get(sessionId), `alive on server ${id} after 30 ticks`);
    assert.ok(ens.replica(id).tree.has("/e"));
  }
  assert.equal(c.closed, null);

  for (let i = 0; i < 5; i++) {
    watcher.send({ op: "ping" }); // the client of server 2 is silent
    ens.tick();
  }
  const closes = ens.committed.filter((r) => r.txn.type === "closeSession");
  assert.deepEqual(closes.map((r) => r.sessionId), [sessionId], "the leader ordered the expiry");
  for (const id of [1, 2, 3]) {
    assert.equal(ens.replica(id).sessions.get(sessionId), undefined, `gone from server ${id}`);
    assert.equal(ens.replica(id).tree.has("/e"), false, `ephemeral gone on server ${id}`);
  }
  const told = c.take().at(-1);
  assert.equal(told?.t === "error" && told.err, "SessionExpired");
  assert.ok(c.closed !== null, "the follower closed the connection");
  assert.deepEqual(watcher.take().filter((m) => m.t !== "res"), [
    { t: "event", type: "NodeDeleted", path: "/e", zxid: closes[0].zxid },
  ]);
  assert.equal(watcher.closed, null, "the other session lives on");
});

Deno.test("Ensemble: a client resumes its session on another follower, which then keeps it alive", () => {
  const ens = new Ensemble({ followers: [2, 3] });
  const c = ens.connect(2, { timeoutMs: 200 });
  const { sessionId, password } = c.session;
  c.call(ephemeral("/e"));
  c.disconnect(); // server 2 is gone for this client

  const wrong = ens.connect(3, { sessionId, password: new Uint8Array(16), lastZxid: c.lastZxid });
  assert.equal(wrong.handshake?.t === "refused" && wrong.handshake.err, "SessionExpired");

  const moved = ens.connect(3, { sessionId, password, lastZxid: c.lastZxid });
  assert.equal(moved.handshake?.t === "connected" && moved.handshake.sessionId, sessionId);
  for (let i = 0; i < 20; i++) {
    moved.call({ op: "ping" });
    ens.tick();
  }
  assert.ok(ens.replica(1).sessions.get(sessionId), "alive on the leader");
  assert.ok(ens.replica(1).tree.has("/e"));
  const res = moved.call({ op: "setData", path: "/e", data: bytes("moved"), version: -1 });
  assert.equal(res.err, undefined, "writes of the resumed session go through server 3");
  assert.equal(text(ens.replica(2).tree.getData("/e")?.data), "moved");
});

// ---- 7. close -------------------------------------------------------------------------------

Deno.test("Ensemble: close through a follower is answered, closes the connection and removes ephemerals everywhere", () => {
  const ens = new Ensemble({ followers: [2, 3] });
  const c = ens.connect(2);
  const { sessionId } = c.session;
  c.call(ephemeral("/e1"));
  c.call(ephemeral("/e2"));
  const watcher = ens.connect(3);
  watcher.call({ op: "exists", path: "/e1", watch: true });

  ens.holdCommits = true;
  const close = c.send({ op: "close" });
  assert.deepEqual(c.take(), [], "answered only when the close commits");
  assert.equal(c.closed, null);
  ens.holdCommits = false;
  ens.settle();

  const got = c.take();
  assert.deepEqual(labels(got), [`res ${close}`]);
  assert.ok(c.closed !== null, "the connection is closed after the answer");
  for (const id of [1, 2, 3]) {
    assert.equal(ens.replica(id).sessions.get(sessionId), undefined, `no session on ${id}`);
    assert.equal(ens.replica(id).tree.has("/e1"), false, `no /e1 on ${id}`);
    assert.equal(ens.replica(id).tree.has("/e2"), false, `no /e2 on ${id}`);
  }
  assert.deepEqual(labels(watcher.take()), ["event NodeDeleted /e1"]);
  const resumed = ens.connect(3, { sessionId, password: c.session.password });
  assert.equal(resumed.handshake?.t === "refused" && resumed.handshake.err, "SessionExpired");
});

// ---- 8. role changes ------------------------------------------------------------------------

Deno.test("Ensemble: a replica going down closes its connections and refuses new ones with ConnectionLoss", () => {
  const ens = new Ensemble({ followers: [2, 3] });
  const onLeader = ens.connect(1);
  const onFollower = [ens.connect(2), ens.connect(2)];
  const other = ens.connect(3);
  onFollower[0].call(ephemeral("/e"));

  ens.setRole(2, "down", 1);
  for (const c of onFollower) assert.ok(c.closed !== null, `connection ${c.connId} is closed`);
  const refused = ens.connect(2);
  assert.equal(refused.handshake?.t === "refused" && refused.handshake.err, "ConnectionLoss");
  assert.ok(refused.closed !== null);
  assert.equal(ens.replica(2).connectionCount, 0);
  assert.equal(onLeader.closed, null, "other servers keep their clients");
  assert.equal(other.call({ op: "ping" }).err, undefined);
  assert.ok(ens.replica(1).tree.has("/e"), "a follower going down ends no session");

  ens.setRole(1, "down", 1);
  assert.ok(onLeader.closed !== null, "a leader going down closes its connections too");
  const refusedByLeader = ens.connect(1);
  assert.equal(
    refusedByLeader.handshake?.t === "refused" && refusedByLeader.handshake.err,
    "ConnectionLoss",
  );
});

Deno.test("Ensemble: a leader of epoch 2 orders epoch-2 zxids after the history of epoch 1", () => {
  const ens = new Ensemble({ followers: [2, 3] });
  const c = ens.connect(2);
  c.call(persistent("/a"));
  c.call(persistent("/b"));
  const history = ens.replica(2).tree.lastZxid;
  assert.equal(history, E1 + 3);
  const { sessionId, password } = c.session;

  for (const id of [1, 2, 3]) ens.setRole(id, "down", 1);
  ens.setRole(2, "leader", 2);
  ens.setRole(1, "follower", 2);
  ens.setRole(3, "follower", 2);
  assert.equal(c.closed !== null, true, "the role change closed the connection");

  const resumed = ens.connect(1, { sessionId, password, lastZxid: c.lastZxid });
  assert.equal(resumed.handshake?.t, "connected", "epoch-1 sessions survive the election");
  const res = resumed.call(persistent("/c"));
  assert.equal(res.zxid, E2 + 1);
  assert.equal(res.stat?.czxid, 2 * 2 ** 32 + 1);
  const onLeader = ens.connect(2);
  assert.equal(ens.committed.at(-1)?.zxid, E2 + 2, "the next txn is the epoch's second");
  assert.equal(onLeader.call(persistent("/d")).zxid, E2 + 3);
  for (const id of [1, 2, 3]) {
    const tree = ens.replica(id).tree;
    assert.equal(tree.lastZxid, E2 + 3);
    assert.equal(tree.stat("/a")?.czxid, E1 + 2, "history of epoch 1 kept");
    assert.equal(tree.stat("/c")?.czxid, E2 + 1);
  }
});

Deno.test("Ensemble: a leader's ordered-but-uncommitted writes are dropped when it goes down", () => {
  const ens = new Ensemble({ followers: [2, 3] });
  const onLeader = ens.connect(1);
  const onFollower = ens.connect(2);
  ens.holdCommits = true;
  const lost1 = onLeader.send(persistent("/lost1"));
  const lost2 = onFollower.send(persistent("/lost2"));
  const lostClose = onLeader.send({ op: "close" });
  assert.equal(ens.proposed.length, 3, "ordered");
  assert.equal(ens.replica(1).outstandingCount, 3);

  ens.setRole(1, "down", 1);
  assert.equal(ens.replica(1).outstandingCount, 0, "the leader forgot them");
  assert.ok(onLeader.closed !== null);
  for (const id of [2, 3]) ens.setRole(id, "down", 1);
  assert.ok(onFollower.closed !== null);
  ens.holdCommits = false;
  ens.setRole(1, "leader", 2);
  for (const id of [2, 3]) ens.setRole(id, "follower", 2);
  ens.settle();

  for (const c of [onLeader, onFollower]) {
    assert.deepEqual(
      responses(c.transcript).filter((m) => [lost1, lost2, lostClose].includes(m.xid)),
      [],
    );
  }
  const { sessionId, password } = onLeader.session;
  const back = ens.connect(1, { sessionId, password });
  assert.equal(back.handshake?.t, "connected", "its close never happened");
  const res = back.call({ op: "exists", path: "/lost1", watch: false });
  assert.equal(res.stat, null);
  for (const id of [1, 2, 3]) {
    assert.equal(ens.replica(id).tree.has("/lost1"), false);
    assert.equal(ens.replica(id).tree.has("/lost2"), false);
  }
  assert.equal(back.call(persistent("/new")).zxid, E2 + 1, "epoch 2 starts at its first zxid");
});

// ---- 9. connect ahead of the follower -------------------------------------------------------

Deno.test("Ensemble: a follower refuses a client that has seen a newer zxid than its tree", () => {
  const ens = new Ensemble({ followers: [2] });
  const c = ens.connect(1);
  const { sessionId, password } = c.session;
  ens.hold(1, 2);
  c.call(persistent("/x"));
  assert.ok(c.lastZxid > ens.replica(2).tree.lastZxid);

  const ahead = ens.connect(2, { sessionId, password, lastZxid: c.lastZxid });
  assert.equal(ahead.handshake?.t, "refused");
  assert.ok(ahead.closed !== null);
  const fresh = ens.connect(2, { lastZxid: c.lastZxid });
  assert.equal(fresh.handshake?.t, "refused", "a new session from such a client too");
  assert.equal(c.closed, null, "the refused resume did not move the session");

  ens.release(1, 2);
  const caughtUp = ens.connect(2, { sessionId, password, lastZxid: c.lastZxid });
  assert.equal(caughtUp.handshake?.t, "connected");
  assert.ok(caughtUp.call({ op: "exists", path: "/x", watch: false }).stat);
});

// ---- 10. reload -----------------------------------------------------------------------------

Deno.test("Ensemble: reload() replaces a connection-less replica's state with a snapshot and records", () => {
  const ens = new Ensemble({ followers: [2, 3] });
  const c = ens.connect(2);
  c.call(persistent("/a", "1"));
  c.call(ephemeral("/e"));
  const image = ens.replica(1).captureImage();
  const cut = ens.committed.length;
  c.call({ op: "setData", path: "/a", data: bytes("2"), version: -1 });
  c.call(persistent("/b"));
  const later = ens.committed.slice(cut);

  assert.throws(
    () => ens.replica(2).reload(null, []),
    /no client is connected/,
    "reload with clients connected is refused",
  );

  // Server 3 diverged: it applied a txn the leader never had (as after a leader change), and
  // recovery tells it to take the leader's snapshot and log instead (SNAP).
  ens.step(3, {
    type: "commit",
    records: [{
      zxid: E1 + 100,
      timeMs: 0,
      sessionId: 0,
      txn: {
        type: "create",
        path: "/ghost",
        data: bytes(""),
        acl: open,
        ephemeralOwner: 0,
        parentCversion: 100,
      },
    }],
  });
  assert.ok(ens.replica(3).tree.has("/ghost"));
  ens.setRole(3, "down", 1);
  const r3 = ens.replica(3);
  r3.reload(image, later);
  assert.equal(r3.tree.has("/ghost"), false);
  assert.deepEqual(r3.captureImage(), ens.replica(1).captureImage(), "the leader's state exactly");

  const stale = new Ensemble({ followers: [2] });
  stale.connect(1).call(persistent("/junk"));
  const replaced = stale.replica(2);
  stale.setRole(2, "down", 1);
  replaced.reload(null, ens.committed);
  assert.equal(replaced.tree.has("/junk"), false, "what it held is gone");
  assert.deepEqual(replaced.captureImage(), ens.replica(1).captureImage());

  // The reloaded replica follows on from there.
  ens.setRole(3, "follower", 1);
  const d = ens.connect(3);
  assert.equal(d.handshake?.t, "connected");
  assert.equal(text(d.call({ op: "getData", path: "/a", watch: false }).data), "2");
  assert.deepEqual(r3.captureImage(), ens.replica(1).captureImage());
});
