import assert from "../assert.ts";
import { UsageError } from "../../src/cli/args.ts";
import {
  dataJson,
  formatAclLines,
  formatAclText,
  formatChildren,
  formatError,
  formatEvent,
  formatPerms,
  formatStat,
  formatTime,
  parseAclText,
  parsePerms,
  statJson,
} from "../../src/cli/format.ts";
import type { Stat } from "../../src/tree/types.ts";

const stat: Stat = {
  czxid: 2,
  mzxid: 0x11,
  pzxid: 2,
  ctime: 0,
  mtime: 86_400_000 + 3_723_000,
  version: 1,
  cversion: 0,
  aversion: 3,
  ephemeralOwner: 0x2000001,
  dataLength: 5,
  numChildren: 4,
};

Deno.test("parsePerms() and formatPerms() use zkCli's letters and order", () => {
  assert.equal(parsePerms("cdrwa"), 31);
  assert.equal(parsePerms("r"), 1);
  assert.equal(parsePerms("wr"), 3);
  assert.equal(formatPerms(31), "cdrwa");
  assert.equal(formatPerms(3), "rw");
  assert.equal(formatPerms(0), "");
  assert.throws(() => parsePerms("rx"), UsageError);
  assert.throws(() => parsePerms(""), UsageError);
});

Deno.test("parseAclText() reads zkCli ACL text, ids with colons included", () => {
  assert.deepEqual(parseAclText("world:anyone:cdrwa"), [{
    scheme: "world",
    id: "anyone",
    perms: 31,
  }]);
  assert.deepEqual(parseAclText("digest:bob:abc=:rw, ip:127.0.0.1:r"), [
    { scheme: "digest", id: "bob:abc=", perms: 3 },
    { scheme: "ip", id: "127.0.0.1", perms: 1 },
  ]);
  assert.deepEqual(parseAclText("auth::cdrwa"), [{ scheme: "auth", id: "", perms: 31 }]);
});

Deno.test("parseAclText() rejects entries that are not scheme:id:perms", () => {
  for (
    const text of ["", "world", "world:anyone", ":anyone:r", "world:anyone:q", "world:anyone:"]
  ) {
    assert.throws(() => parseAclText(text), UsageError, text);
  }
});

Deno.test("formatAclText() round-trips through parseAclText()", () => {
  const text = "digest:bob:abc=:rw,ip:10.0.0.0/8:cdrwa";
  assert.equal(formatAclText(parseAclText(text)), text);
});

Deno.test("formatAclLines() prints like zkCli's getAcl", () => {
  assert.equal(
    formatAclLines([{ scheme: "world", id: "anyone", perms: 31 }, {
      scheme: "ip",
      id: "1.2.3.4",
      perms: 1,
    }]),
    "'world,'anyone\n: cdrwa\n'ip,'1.2.3.4\n: r\n",
  );
});

Deno.test("formatTime() prints Java's Date.toString() layout in UTC", () => {
  assert.equal(formatTime(0), "Thu Jan 01 00:00:00 UTC 1970");
  assert.equal(formatTime(86_400_000 + 3_723_000), "Fri Jan 02 01:02:03 UTC 1970");
});

Deno.test("formatStat() prints every field like zkCli, in zkCli's order", () => {
  assert.equal(
    formatStat(stat),
    [
      "cZxid = 0x2",
      "ctime = Thu Jan 01 00:00:00 UTC 1970",
      "mZxid = 0x11",
      "mtime = Fri Jan 02 01:02:03 UTC 1970",
      "pZxid = 0x2",
      "cversion = 0",
      "dataVersion = 1",
      "aclVersion = 3",
      "ephemeralOwner = 0x2000001",
      "dataLength = 5",
      "numChildren = 4",
      "",
    ].join("\n"),
  );
});

Deno.test("statJson() keeps exactly the eleven protocol fields", () => {
  const json = statJson({ ...stat, extra: 1 } as Stat);
  assert.deepEqual(Object.keys(json), [
    "czxid",
    "mzxid",
    "pzxid",
    "ctime",
    "mtime",
    "version",
    "cversion",
    "aversion",
    "ephemeralOwner",
    "dataLength",
    "numChildren",
  ]);
});

Deno.test("dataJson() gives UTF-8 text as is and other bytes as base64", () => {
  assert.deepEqual(dataJson(new TextEncoder().encode("héllo")), { data: "héllo" });
  assert.deepEqual(dataJson(new Uint8Array()), { data: "" });
  assert.deepEqual(dataJson(new Uint8Array([0xff, 0x00, 0x80])), {
    data: "/wCA",
    encoding: "base64",
  });
});

Deno.test("formatChildren() prints like zkCli's ls", () => {
  assert.equal(formatChildren(["a", "zookeeper"]), "[a, zookeeper]\n");
  assert.equal(formatChildren([]), "[]\n");
});

Deno.test("formatEvent() prints one WATCHER line", () => {
  assert.equal(
    formatEvent({ type: "NodeDataChanged", path: "/a" }),
    "WATCHER:: WatchedEvent state:SyncConnected type:NodeDataChanged path:/a\n",
  );
  assert.equal(
    formatEvent({ state: "Disconnected", type: "None", path: null }),
    "WATCHER:: WatchedEvent state:Disconnected type:None path:null\n",
  );
});

Deno.test("formatError() prints code, colon, then the message or the path", () => {
  assert.equal(
    formatError({ code: "NoNode", message: "/a does not exist" }),
    "NoNode: /a does not exist\n",
  );
  assert.equal(
    formatError({ code: "NoNode", message: "NoNode: /a does not exist" }),
    "NoNode: /a does not exist\n",
  );
  assert.equal(formatError({ code: "NoNode", message: "" }, "/a"), "NoNode: /a\n");
  assert.equal(
    formatError({ code: "NoAuth", message: "not allowed" }, "/a"),
    "NoAuth: /a: not allowed\n",
  );
  assert.equal(
    formatError({ code: "NoAuth", message: "not allowed", path: "/b" }, "/a"),
    "NoAuth: /b: not allowed\n",
  );
  assert.equal(formatError({ code: "ConnectionLoss", message: "" }), "ConnectionLoss\n");
});
