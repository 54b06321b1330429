/**
 * The ZooKeeper-protocol listener, spoken to byte by byte: handshake, replies and their records,
 * special xids, errors that keep the connection usable, notifications, and one tree shared with
 * the CBOR listener.
 * @module
 */
import assert from "../assert.ts";
import { connect } from "../../src/client/mod.ts";
import { type CorralServer, startServer } from "../../src/server/server.ts";
import { CreateFlag, EventType, KeeperCode, KeeperState, Xid } from "../../src/zk/codes.ts";
import { decodeConnectResponse, encodeConnectRequest, FrameReader } from "../../src/zk/records.ts";
import { defaultAdapter } from "../../src/net/mod.ts";
import { ZkTestClient } from "./_zk_client.ts";

const open = [{ perms: 31, scheme: "world", id: "anyone" }];
const text = (s: string) => new TextEncoder().encode(s);

async function withServer(
  run: (server: CorralServer) => Promise<void>,
  options: { ttlEnabled?: boolean } = {},
): Promise<void> {
  const server = await startServer({
    port: 0,
    zkPort: 0,
    hostname: "127.0.0.1",
    tickMs: 500,
    ...options,
  });
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

Deno.test("ZooKeeper listener: handshake, create/create2 and the records each reply carries", async () => {
  await withServer(async (server) => {
    const zk = await ZkTestClient.open(server.zkPort!);
    try {
      const hello = zk.connected!;
      assert.equal(hello.protocolVersion, 0);
      assert.ok(hello.sessionId > 0);
      assert.equal(hello.passwd.byteLength, 16);
      assert.equal(hello.timeOut, 10_000, "within [2, 20] ticks of 500 ms");
      assert.equal(hello.readOnly, false, "told back because the client sent it");

      const created = await zk.call({
        op: "create",
        path: "/a",
        data: text("x"),
        acl: open,
        flags: CreateFlag.persistent,
      });
      assert.deepEqual(created.response, { record: "CreateResponse", path: "/a" });
      assert.ok(created.header.zxid > 0);

      const seq = await zk.call({
        op: "create2",
        path: "/a/s-",
        data: null,
        acl: open,
        flags: CreateFlag.ephemeralSequential,
      });
      assert.equal(seq.response?.record, "Create2Response");
      if (seq.response?.record !== "Create2Response") return;
      assert.equal(seq.response.path, "/a/s-0000000000");
      assert.equal(seq.response.stat.ephemeralOwner, hello.sessionId);
      assert.equal(seq.response.stat.czxid, seq.header.zxid);

      const data = await zk.call({ op: "getData", path: "/a", watch: false });
      assert.equal(data.response?.record, "GetDataResponse");
      if (data.response?.record !== "GetDataResponse") return;
      assert.deepEqual(data.response.data, text("x"));
      assert.equal(data.response.stat.numChildren, 1);
      assert.equal(data.response.stat.pzxid, seq.header.zxid);

      const kids = await zk.call({ op: "getChildren2", path: "/a", watch: false });
      assert.equal(kids.response?.record, "GetChildren2Response");
      if (kids.response?.record !== "GetChildren2Response") return;
      assert.deepEqual(kids.response.children, ["s-0000000000"]);
      assert.equal(kids.response.stat.cversion, 1);

      const missing = await zk.call({ op: "exists", path: "/nope", watch: false });
      assert.equal(missing.header.err, KeeperCode.NoNode, "exists on a missing node is NoNode");
      assert.equal(missing.response, null);

      const set = await zk.call({ op: "setData", path: "/a", data: text("y"), version: 0 });
      assert.equal(set.response?.record === "StatResponse" && set.response.stat.version, 1);
      const stale = await zk.call({ op: "setData", path: "/a", data: text("z"), version: 0 });
      assert.equal(stale.header.err, KeeperCode.BadVersion);
    } finally {
      zk.close();
    }
  });
});

Deno.test("ZooKeeper listener: a notification names the change, before the reply that shows it", async () => {
  await withServer(async (server) => {
    const watcher = await ZkTestClient.open(server.zkPort!);
    const writer = await ZkTestClient.open(server.zkPort!);
    try {
      await writer.call({ op: "create", path: "/w", data: null, acl: open, flags: 0 });
      await watcher.call({ op: "getData", path: "/w", watch: true });
      await watcher.call({ op: "exists", path: "/w/new", watch: true });
      await writer.call({ op: "setData", path: "/w", data: text("1"), version: -1 });
      await writer.call({ op: "create", path: "/w/new", data: null, acl: open, flags: 0 });
      const events = await watcher.events(2);
      assert.deepEqual(
        events.map((e) => e.response),
        [
          {
            record: "WatcherEvent",
            type: EventType.NodeDataChanged,
            state: KeeperState.SyncConnected,
            path: "/w",
          },
          {
            record: "WatcherEvent",
            type: EventType.NodeCreated,
            state: KeeperState.SyncConnected,
            path: "/w/new",
          },
        ],
      );
      const read = await watcher.call({ op: "getData", path: "/w", watch: false });
      const order = watcher.received.map((r) => r.header.xid);
      assert.ok(
        order.lastIndexOf(Xid.notification) < order.indexOf(read.header.xid),
        "events come before the read that sees their change",
      );
    } finally {
      watcher.close();
      writer.close();
    }
  });
});

Deno.test("ZooKeeper listener: unknown opcodes, reconfig and SASL get errors and the connection stays usable", async () => {
  await withServer(async (server) => {
    const zk = await ZkTestClient.open(server.zkPort!);
    try {
      assert.equal(
        (await zk.call({ op: "unknown", type: 999 })).header.err,
        KeeperCode.Unimplemented,
      );
      const reconfig = await zk.call({
        op: "reconfig",
        joiningServers: null,
        leavingServers: null,
        newMembers: null,
        curConfigId: -1,
      });
      assert.equal(reconfig.header.err, KeeperCode.ReconfigDisabled);
      const sasl = await zk.call({ op: "sasl", token: new Uint8Array(4) });
      assert.equal(sasl.header.err, KeeperCode.Unimplemented);
      const bad = await zk.call({
        op: "create",
        path: "no-slash",
        data: null,
        acl: open,
        flags: 0,
      });
      assert.equal(bad.header.err, KeeperCode.BadArguments);
      const flagged = await zk.call({
        op: "create",
        path: "/c",
        data: null,
        acl: open,
        flags: CreateFlag.container,
      });
      assert.equal(flagged.header.err, KeeperCode.BadArguments, "containers need createContainer");
      const ttl = await zk.call({
        op: "createTTL",
        path: "/t",
        data: null,
        acl: open,
        flags: CreateFlag.persistentWithTtl,
        ttl: 1000,
      });
      assert.equal(ttl.header.err, KeeperCode.Unimplemented, "TTL nodes are off by default");
      const ping = await zk.call({ op: "ping" }, Xid.ping);
      assert.equal(ping.header.err, 0);
      assert.equal(ping.header.xid, Xid.ping);
      assert.equal(zk.closed, false);
    } finally {
      zk.close();
    }
  });
});

Deno.test("ZooKeeper listener: a failed multi reports every op, rolled-back ones as 0", async () => {
  await withServer(async (server) => {
    const zk = await ZkTestClient.open(server.zkPort!);
    try {
      const failed = await zk.call({
        op: "multi",
        ops: [
          { op: "create", path: "/m1", data: null, acl: open, flags: 0 },
          { op: "check", path: "/missing", version: 0 },
          { op: "delete", path: "/m1", version: -1 },
        ],
      });
      assert.equal(failed.header.err, 0, "the header of a failed multi says ok");
      assert.deepEqual(failed.response, {
        record: "MultiResponse",
        results: [
          { op: "error", err: KeeperCode.Ok },
          { op: "error", err: KeeperCode.NoNode },
          { op: "error", err: KeeperCode.RuntimeInconsistency },
        ],
      });
      const done = await zk.call({
        op: "multi",
        ops: [
          { op: "create", path: "/m1", data: null, acl: open, flags: 0 },
          { op: "create2", path: "/m2", data: null, acl: open, flags: 0 },
          { op: "setData", path: "/m1", data: text("v"), version: 0 },
          { op: "check", path: "/m1", version: 1 },
          { op: "delete", path: "/m2", version: 0 },
        ],
      });
      assert.equal(done.response?.record, "MultiResponse");
      if (done.response?.record !== "MultiResponse") return;
      assert.deepEqual(done.response.results.map((r) => r.op), [
        "create",
        "create2",
        "setData",
        "check",
        "delete",
      ]);
      const read = await zk.call({
        op: "multiRead",
        ops: [
          { op: "getData", path: "/m1", watch: false },
          { op: "getChildren", path: "/nope", watch: false },
        ],
      });
      assert.equal(read.response?.record, "MultiResponse");
      if (read.response?.record !== "MultiResponse") return;
      assert.equal(read.response.results[0].op, "getData");
      assert.deepEqual(read.response.results[1], { op: "error", err: KeeperCode.NoNode });
    } finally {
      zk.close();
    }
  });
});

Deno.test("ZooKeeper listener: auth, whoAmI, persistent watches and closeSession", async () => {
  await withServer(async (server) => {
    const zk = await ZkTestClient.open(server.zkPort!);
    const other = await ZkTestClient.open(server.zkPort!);
    try {
      const auth = await zk.call(
        { op: "auth", type: 0, scheme: "digest", auth: text("bob:pw") },
        Xid.auth,
      );
      assert.equal(auth.header.err, 0);
      const who = await zk.call({ op: "whoAmI" });
      assert.deepEqual(who.response, {
        record: "WhoAmIResponse",
        clientInfo: [{ authScheme: "ip", user: "127.0.0.1" }, {
          authScheme: "digest",
          user: "bob",
        }],
      });
      const added = await zk.call({ op: "addWatch", path: "/p", mode: 1 });
      assert.deepEqual(added.response, { record: "ErrorResponse", err: 0 });
      await other.call({ op: "create", path: "/p", data: null, acl: open, flags: 0 });
      await other.call({ op: "create", path: "/p/q", data: null, acl: open, flags: 0 });
      const events = await zk.events(2);
      assert.deepEqual(
        events.map((e) => e.response?.record === "WatcherEvent" && e.response.path),
        [
          "/p",
          "/p/q",
        ],
      );
      const check = await zk.call({ op: "checkWatches", path: "/p", type: 2 });
      assert.equal(check.header.err, KeeperCode.NoWatcher, "a recursive watch is not a data watch");
      const removed = await zk.call({ op: "removeWatches", path: "/p", type: 3 });
      assert.equal(removed.header.err, 0);

      const bye = await zk.call({ op: "closeSession" });
      assert.equal(bye.header.err, 0);
      await zk.untilClosed();
      const resumed = await ZkTestClient.open(server.zkPort!, {
        sessionId: zk.connected!.sessionId,
        passwd: zk.connected!.passwd,
      });
      assert.equal(resumed.connected?.timeOut, 0, "a closed session is told as expired");
      assert.equal(resumed.connected?.sessionId, 0);
      await resumed.untilClosed();
    } finally {
      zk.close();
      other.close();
    }
  });
});

Deno.test("ZooKeeper listener: one tree and one session table with the CBOR listener", async () => {
  await withServer(async (server) => {
    const cbor = await connect(`127.0.0.1:${server.port}`);
    const zk = await ZkTestClient.open(server.zkPort!);
    try {
      await cbor.create("/shared", text("from cbor"), { mode: "ephemeral" });
      const read = await zk.call({ op: "getData", path: "/shared", watch: true });
      assert.equal(read.response?.record, "GetDataResponse");
      if (read.response?.record !== "GetDataResponse") return;
      assert.deepEqual(read.response.data, text("from cbor"));
      assert.ok(read.response.stat.ephemeralOwner > 0);
      await cbor.close();
      const [gone] = await zk.events(1);
      assert.deepEqual(gone.response, {
        record: "WatcherEvent",
        type: EventType.NodeDeleted,
        state: KeeperState.SyncConnected,
        path: "/shared",
      });
    } finally {
      zk.close();
      await cbor.close();
    }
  });
});

Deno.test("ZooKeeper listener: null data reads back as null, empty data as empty", async () => {
  await withServer(async (server) => {
    const zk = await ZkTestClient.open(server.zkPort!);
    try {
      await zk.call({ op: "create", path: "/null", data: null, acl: open, flags: 0 });
      await zk.call({ op: "create", path: "/empty", data: new Uint8Array(0), acl: open, flags: 0 });
      const read = async (path: string) => {
        const reply = await zk.call({ op: "getData", path, watch: false });
        return reply.response?.record === "GetDataResponse" ? reply.response.data : "no data";
      };
      assert.equal(await read("/null"), null);
      assert.deepEqual(await read("/empty"), new Uint8Array(0));
      await zk.call({ op: "setData", path: "/empty", data: null, version: -1 });
      assert.equal(await read("/empty"), null, "setData with null makes it null");
    } finally {
      zk.close();
    }
  });
});

Deno.test("ZooKeeper listener: a client that would take a read-only server gets a read-write one", async () => {
  await withServer(async (server) => {
    const adapter = await defaultAdapter();
    const frames = new FrameReader(1 << 20);
    let reply: ReturnType<typeof decodeConnectResponse> | null = null;
    let done!: () => void;
    const answered = new Promise<void>((resolve) => done = resolve);
    const socket = await adapter.connect({ hostname: "127.0.0.1", port: server.zkPort! }, () => ({
      data: (chunk) => {
        for (const frame of frames.push(chunk)) {
          if (frame.ok) reply = decodeConnectResponse(frame.payload);
          done();
        }
      },
      close: () => done(),
    }));
    socket.write(encodeConnectRequest({
      protocolVersion: 0,
      lastZxidSeen: 0,
      timeOut: 10_000,
      sessionId: 0,
      passwd: new Uint8Array(16),
      readOnly: true,
    }));
    await answered;
    socket.close();
    const got = reply as ReturnType<typeof decodeConnectResponse> | null;
    assert.ok(got?.ok, "a ConnectResponse came");
    if (!got?.ok) return;
    assert.ok(got.value.sessionId > 0);
    assert.equal(got.value.readOnly, false);
  });
});
