/**
 * Four-letter words on the ZooKeeper port: the allow-list, and answers shaped like ZooKeeper's
 * (the line names monitoring scripts look for) that report what the server really holds.
 * @module
 */
import assert from "../assert.ts";
import { parseFourLetterAllowList } from "../../src/server/four_letter.ts";
import { startServer } from "../../src/server/server.ts";
import { FileStore } from "../../src/storage/file_store.ts";
import { fourLetterWord, ZkTestClient } from "./_zk_client.ts";

const open = [{ perms: 31, scheme: "world", id: "anyone" }];

/** Sends `word` to the ZooKeeper port and returns all the server wrote before closing. */
const ask = fourLetterWord;

Deno.test("parseFourLetterAllowList() reads ZooKeeper's list, * and rejects unknown words", () => {
  assert.deepEqual(parseFourLetterAllowList("stat, ruok,conf , isro"), [
    "stat",
    "ruok",
    "conf",
    "isro",
  ]);
  assert.ok(parseFourLetterAllowList("*").includes("wchp"));
  assert.throws(() => parseFourLetterAllowList("ruok,kill"), /unknown four-letter word "kill"/);
});

Deno.test("four-letter words: only srvr by default, as ZooKeeper", async () => {
  const server = await startServer({ port: 0, zkPort: 0, hostname: "127.0.0.1" });
  try {
    const srvr = await ask(server.zkPort!, "srvr");
    assert.match(srvr, /^Zookeeper version: dev\n/);
    assert.match(srvr, /\nMode: standalone\n/);
    assert.equal(
      await ask(server.zkPort!, "ruok"),
      "ruok is not executed because it is not in the whitelist.\n",
    );
  } finally {
    await server.close();
  }
});

Deno.test("four-letter words report the server's sessions, watches, nodes and settings", async () => {
  const server = await startServer({
    port: 0,
    zkPort: 0,
    hostname: "127.0.0.1",
    tickMs: 500,
    fourLetterWords: parseFourLetterAllowList("*"),
    version: "9.9.9",
  });
  const zk = await ZkTestClient.open(server.zkPort!);
  try {
    const session = `0x${zk.connected!.sessionId.toString(16)}`;
    await zk.call({ op: "create", path: "/e", data: null, acl: open, flags: 1 });
    await zk.call({ op: "getData", path: "/e", watch: true });
    await zk.call({ op: "getChildren", path: "/", watch: true });
    const port = server.zkPort!;

    assert.equal(await ask(port, "ruok"), "imok");
    assert.equal(await ask(port, "isro"), "rw");
    const srvr = await ask(port, "srvr");
    assert.match(srvr, /^Zookeeper version: 9\.9\.9\n/);
    assert.match(srvr, /\nNode count: 5\n/, "/, /zookeeper and its config and quota, and /e");
    assert.match(srvr, /\nConnections: 2\n/, "the client and this one");
    assert.match(srvr, /\nReceived: \d+\n/);
    const stat = await ask(port, "stat");
    assert.match(stat, /\nClients:\n \/127\.0\.0\.1:\d+\[1\]\(queued=0,recved=3,sent=4\)\n/);

    const mntr = Object.fromEntries(
      (await ask(port, "mntr")).trim().split("\n").map((line) => line.split("\t")),
    );
    assert.equal(mntr.zk_version, "9.9.9");
    assert.equal(mntr.zk_server_state, "standalone");
    assert.equal(mntr.zk_znode_count, "5");
    assert.equal(mntr.zk_watch_count, "2");
    assert.equal(mntr.zk_ephemerals_count, "1");
    assert.equal(mntr.zk_global_sessions, "1");
    assert.equal(mntr.zk_fsync_threshold_exceed_count, "0", "no txn log, no slow syncs");

    const conf = await ask(port, "conf");
    assert.match(conf, new RegExp(`(^|\\n)clientPort=${port}\\n`));
    assert.match(conf, /\ntickTime=500\n/);
    assert.match(conf, /\nmaxSessionTimeout=10000\n/);

    assert.match(await ask(port, "cons"), new RegExp(`sid=${session},lop=getChildren,`));
    assert.equal(await ask(port, "wchs"), "1 connections watching 2 paths\nTotal watches:2\n");
    assert.equal(await ask(port, "wchc"), `${session}\n\t/e\n\t/\n\n`);
    assert.equal(await ask(port, "wchp"), `/\n\t${session}\n/e\n\t${session}\n`);
    assert.match(
      await ask(port, "dump"),
      new RegExp(`Sessions with Ephemerals \\(1\\):\\n${session}:\\n\\t/e\\n`),
    );
    assert.match(await ask(port, "envi"), /^Environment:\nzookeeper\.version=corral 9\.9\.9\n/);
    assert.equal(await ask(port, "dirs"), "datadir_size: 0\nlogdir_size: 0\n");
    assert.equal(await ask(port, "wxyz"), "wxyz is not a known four-letter word.\n");
  } finally {
    zk.close();
    await server.close();
  }
});

Deno.test("mntr counts the txn log's slow syncs as zk_fsync_threshold_exceed_count", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "corral-4lw-" });
  // A clock that moves 1.5 s between two readings: every sync of the log measures as slow.
  let now = 0;
  const store = await FileStore.open({ dataDir, clock: () => now += 1500 });
  const server = await startServer({
    port: 0,
    zkPort: 0,
    hostname: "127.0.0.1",
    fourLetterWords: parseFourLetterAllowList("mntr"),
    store,
  });
  const zk = await ZkTestClient.open(server.zkPort!);
  try {
    const count = async () => {
      const lines = (await ask(server.zkPort!, "mntr")).trim().split("\n");
      return Number(new Map(lines.map((l) => l.split("\t") as [string, string]))
        .get("zk_fsync_threshold_exceed_count"));
    };
    const before = await count();
    await zk.call({ op: "create", path: "/slow", data: null, acl: open, flags: 0 });
    assert.ok(before >= 1, "opening the session synced the log too");
    assert.equal(await count(), before + 1);
  } finally {
    zk.close();
    await server.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
