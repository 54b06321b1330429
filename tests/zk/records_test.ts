import assert from "../assert.ts";
import fc from "fast-check";
import { assertProperty } from "../../props/_props.ts";
import { type Acl, errorCodes, type Stat } from "../../src/tree/types.ts";
import {
  AddWatchMode,
  CreateFlag,
  errorCodeOfZk,
  EventType,
  KeeperCode,
  keeperCodeNameOf,
  KeeperState,
  OpCode,
  opNameOf,
  WatcherType,
  Xid,
  zkCodeOf,
} from "../../src/zk/codes.ts";
import { JuteReader, JuteWriter } from "../../src/zk/jute.ts";
import {
  type ConnectRequest,
  type ConnectResponse,
  decodeConnectRequest,
  decodeConnectResponse,
  decodeReply,
  decodeRequest,
  encodeConnectRequest,
  encodeConnectResponse,
  encodeFrame,
  encodeReply,
  encodeRequest,
  FrameReader,
  type MultiResult,
  readAcl,
  readStat,
  type RequestOp,
  type ResponseRecord,
  responseRecordOf,
  statBytes,
  writeStat,
  type ZkRequest,
  type ZkResponse,
} from "../../src/zk/records.ts";

// ---------------------------------------------------------------------------------------------
// Helpers

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, "");
  return Uint8Array.from(digits.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

/** The one payload a complete frame holds, through a real FrameReader. */
function payloadOf(frame: Uint8Array): Uint8Array {
  const results = new FrameReader(1 << 20).push(frame);
  assert.equal(results.length, 1, "one frame");
  const [result] = results;
  assert.ok(result.ok, "the frame is well formed");
  return result.payload;
}

const utf8 = new TextEncoder();

const stat: Stat = {
  czxid: 1,
  mzxid: 2,
  pzxid: 11,
  ctime: 3,
  mtime: 4,
  version: 5,
  cversion: 6,
  aversion: 7,
  ephemeralOwner: 8,
  dataLength: 9,
  numChildren: 10,
};

const openAcl: Acl[] = [{ perms: 31, scheme: "world", id: "anyone" }];

// ---------------------------------------------------------------------------------------------
// Codes

Deno.test("codes: every name table maps distinct numbers, so each inverse map is complete", () => {
  const tables = {
    OpCode,
    Xid,
    KeeperCode,
    EventType,
    KeeperState,
    CreateFlag,
    AddWatchMode,
    WatcherType,
  };
  for (const [name, table] of Object.entries(tables)) {
    const values = Object.values(table);
    assert.equal(new Set(values).size, values.length, `${name} has a duplicate number`);
  }
  assert.equal(opNameOf.size, Object.keys(OpCode).length);
  assert.equal(opNameOf.get(107), "whoAmI");
  assert.equal(opNameOf.get(-11), "closeSession");
  assert.equal(keeperCodeNameOf.get(-127), "Throttled");
});

Deno.test("zkCodeOf() gives every Corral ErrorCode a ZooKeeper number", () => {
  for (const code of errorCodes) {
    const zk = zkCodeOf(code);
    assert.ok(keeperCodeNameOf.has(zk), `${code} -> ${zk} is a ZooKeeper code`);
  }
  assert.equal(zkCodeOf("NoNode"), -101);
  assert.equal(zkCodeOf("NodeExists"), -110);
  assert.equal(zkCodeOf("SessionMoved"), -118);
  assert.equal(zkCodeOf("NoWatcher"), -121);
  // ZooKeeper's DataTree reports the ops before a multi's failing op as ErrorResult(Ok).
  assert.equal(zkCodeOf("RolledBack"), 0);
  assert.equal(zkCodeOf("RuntimeInconsistency"), -2);
  assert.equal(zkCodeOf("ProtocolError"), KeeperCode.MarshallingError);
});

Deno.test("errorCodeOfZk() inverts zkCodeOf() except for Ok and codes Corral lacks", () => {
  for (const code of errorCodes) {
    if (code === "RolledBack" || code === "ProtocolError") continue;
    assert.equal(errorCodeOfZk(zkCodeOf(code)), code);
  }
  assert.equal(errorCodeOfZk(0), undefined);
  assert.equal(errorCodeOfZk(KeeperCode.QuotaExceeded), undefined);
  assert.equal(errorCodeOfZk(-9999), undefined);
});

// ---------------------------------------------------------------------------------------------
// Frames

Deno.test("FrameReader reassembles frames split at every byte boundary", () => {
  const stream = fromHex("00000002 0102 00000000 00000001 ff");
  for (let cut = 0; cut <= stream.byteLength; cut++) {
    const reader = new FrameReader(16);
    const results = [...reader.push(stream.subarray(0, cut)), ...reader.push(stream.subarray(cut))];
    assert.deepEqual(results, [
      { ok: true, payload: fromHex("0102") },
      { ok: true, payload: new Uint8Array(0) },
      { ok: true, payload: fromHex("ff") },
    ]);
    assert.equal(reader.bufferedBytes, 0);
  }
});

Deno.test("FrameReader copies what it keeps, so the caller may reuse its chunks", () => {
  const reader = new FrameReader(16);
  const chunk = fromHex("00000002 0a0b 000000");
  const [pushed] = reader.push(chunk);
  // A payload may be a view of the chunk just pushed: it is read before the chunk is reused.
  const first = pushed.ok ? { ok: true, payload: pushed.payload.slice() } : pushed;
  chunk.fill(0xee);
  assert.deepEqual(reader.push(new Uint8Array(0)), []);
  assert.equal(reader.bufferedBytes, 3);
  const partial = fromHex("01 0c");
  assert.deepEqual(reader.push(partial.subarray(0, 1)), []);
  partial.fill(0xee, 0, 1);
  const [second] = reader.push(partial.subarray(1));
  assert.deepEqual([first, second], [
    { ok: true, payload: fromHex("0a0b") },
    { ok: true, payload: fromHex("0c") },
  ]);
});

Deno.test("FrameReader reports a length over the limit once, as a value, then ignores the stream", () => {
  const reader = new FrameReader(4);
  const results = reader.push(fromHex("00000001 aa 00000005 0102030405"));
  assert.equal(results.length, 2);
  assert.deepEqual(results[0], { ok: true, payload: fromHex("aa") });
  assert.ok(!results[1].ok && /length 5 is outside \[0, 4\]/.test(results[1].reason));
  assert.ok(reader.failed);
  assert.deepEqual(reader.push(encodeFrame(fromHex("01"))), []);
});

Deno.test("FrameReader treats a negative length as oversized", () => {
  const [result] = new FrameReader(1 << 20).push(fromHex("80000000"));
  assert.ok(!result.ok && /-2147483648/.test(result.reason));
});

Deno.test("encodeFrame() prefixes the payload length big-endian", () => {
  assert.equal(hex(encodeFrame(new Uint8Array(258))), "00000102" + "00".repeat(258));
});

// ---------------------------------------------------------------------------------------------
// Byte-exact encodings

Deno.test("encodeConnectRequest() matches a hand-computed frame", () => {
  const frame = encodeConnectRequest({
    protocolVersion: 0,
    lastZxidSeen: 0x1_0000_0002,
    timeOut: 30_000,
    sessionId: 0x01_0203_0405,
    passwd: fromHex("aabb"),
    readOnly: true,
  });
  assert.equal(
    hex(frame),
    "0000001f" + "00000000" + "0000000100000002" + "00007530" + "0000000102030405" +
      "00000002aabb" + "01",
  );
});

Deno.test("encodeReply() of a bare header matches a hand-computed frame", () => {
  const frame = encodeReply({ xid: 7, zxid: 0x1_0000_0005, err: KeeperCode.NoNode });
  assert.equal(hex(frame), "00000010" + "00000007" + "0000000100000005" + "ffffff9b");
});

Deno.test("writeStat() follows jute's field order, with pzxid last", () => {
  const writer = new JuteWriter();
  writeStat(writer, stat);
  const bytes = writer.finish();
  assert.equal(bytes.byteLength, statBytes);
  assert.equal(
    hex(bytes),
    "0000000000000001" + "0000000000000002" + "0000000000000003" + "0000000000000004" +
      "00000005" + "00000006" + "00000007" + "0000000000000008" + "00000009" + "0000000a" +
      "000000000000000b",
  );
  assert.deepEqual(readStat(new JuteReader(bytes)), stat);
});

Deno.test("encodeReply() of a failed multi matches a hand-computed frame", () => {
  const results: MultiResult[] = [
    { op: "error", err: KeeperCode.Ok }, // rolled back
    { op: "error", err: KeeperCode.NoNode }, // the op that failed
    { op: "error", err: KeeperCode.RuntimeInconsistency }, // not attempted
  ];
  const frame = encodeReply({ xid: 3, zxid: 9, err: 0 }, { record: "MultiResponse", results });
  assert.equal(
    hex(frame),
    "00000040" + "00000003" + "0000000000000009" + "00000000" +
      "ffffffff" + "00" + "00000000" + "00000000" +
      "ffffffff" + "00" + "ffffff9b" + "ffffff9b" +
      "ffffffff" + "00" + "fffffffe" + "fffffffe" +
      "ffffffff" + "01" + "ffffffff",
  );
});

Deno.test("encodeRequest() of a multi matches a hand-computed frame", () => {
  const frame = encodeRequest(5, {
    op: "multi",
    ops: [
      { op: "create", path: "/a", data: fromHex("01"), acl: openAcl, flags: 0 },
      { op: "delete", path: "/b", version: -1 },
    ],
  });
  assert.equal(
    hex(frame),
    "00000057" + "00000005" + "0000000e" +
      "00000001" + "00" + "ffffffff" +
      "00000002" + hex(utf8.encode("/a")) + "00000001" + "01" +
      "00000001" + "0000001f" + "00000005" + hex(utf8.encode("world")) + "00000006" +
      hex(utf8.encode("anyone")) + "00000000" +
      "00000002" + "00" + "ffffffff" +
      "00000002" + hex(utf8.encode("/b")) + "ffffffff" +
      "ffffffff" + "01" + "ffffffff",
  );
});

Deno.test("writeStat() shows a container or TTL node with owner 0, as ZooKeeper shows clients", () => {
  for (const [owner, shown] of [[0, 0], [42, 42], [-1, 0], [-(1 + 1000), 0]]) {
    const writer = new JuteWriter();
    writeStat(writer, { ...stat, ephemeralOwner: owner });
    assert.equal(readStat(new JuteReader(writer.finish())).ephemeralOwner, shown);
  }
});

Deno.test("readAcl() reads a null scheme or id as empty, as kazoo sends an empty string", () => {
  const writer = new JuteWriter().writeInt(31).writeString("auth").writeString(null);
  assert.deepEqual(readAcl(new JuteReader(writer.finish())), { perms: 31, scheme: "auth", id: "" });
});

// ---------------------------------------------------------------------------------------------
// Connect

const connectRequest: ConnectRequest = {
  protocolVersion: 0,
  lastZxidSeen: 0x5_0000_0001,
  timeOut: 10_000,
  sessionId: 77,
  passwd: new Uint8Array(16).fill(3),
  readOnly: false,
};

Deno.test("decodeConnectRequest() reads back encodeConnectRequest(), with and without readOnly", () => {
  for (const readOnly of [true, false, undefined]) {
    const request = { ...connectRequest, readOnly };
    if (readOnly === undefined) delete request.readOnly;
    const decoded = decodeConnectRequest(payloadOf(encodeConnectRequest(request)));
    assert.deepEqual(decoded, { ok: true, value: request });
  }
});

Deno.test("decodeConnectRequest() accepts an old client's request that lacks readOnly", () => {
  const old = { ...connectRequest };
  delete old.readOnly;
  const payload = payloadOf(encodeConnectRequest(old));
  assert.equal(payload.byteLength, 4 + 8 + 4 + 8 + 4 + 16);
  const decoded = decodeConnectRequest(payload);
  assert.ok(decoded.ok);
  assert.equal(decoded.value.readOnly, undefined);
  assert.equal("readOnly" in decoded.value, false);
});

Deno.test("decodeConnectRequest() rejects every cut that ends inside a field", () => {
  const payload = payloadOf(encodeConnectRequest(connectRequest));
  const withoutReadOnly = payload.byteLength - 1;
  for (let cut = 0; cut < payload.byteLength; cut++) {
    const decoded = decodeConnectRequest(payload.subarray(0, cut));
    assert.equal(decoded.ok, cut === withoutReadOnly, `cut at ${cut}`);
  }
});

Deno.test("decodeConnectResponse() reads back encodeConnectResponse(), readOnly optional", () => {
  const response: ConnectResponse = {
    protocolVersion: 0,
    timeOut: 4000,
    sessionId: 0x1_0000_0000,
    passwd: fromHex("00112233"),
  };
  assert.deepEqual(decodeConnectResponse(payloadOf(encodeConnectResponse(response))), {
    ok: true,
    value: response,
  });
  const readOnly = { ...response, readOnly: true };
  assert.deepEqual(decodeConnectResponse(payloadOf(encodeConnectResponse(readOnly))), {
    ok: true,
    value: readOnly,
  });
  assert.equal(
    hex(encodeConnectResponse(response)),
    "00000018" + "00000000" + "00000fa0" + "0000000100000000" + "00000004" + "00112233",
  );
});

// ---------------------------------------------------------------------------------------------
// Requests: one example of every client opcode

const requestExamples: { readonly [K in RequestOp]: Extract<ZkRequest, { op: K }> } = {
  create: { op: "create", path: "/a", data: utf8.encode("x"), acl: openAcl, flags: 0 },
  create2: {
    op: "create2",
    path: "/b-",
    data: null,
    acl: openAcl,
    flags: CreateFlag.ephemeralSequential,
  },
  createContainer: {
    op: "createContainer",
    path: "/c",
    data: new Uint8Array(0),
    acl: [],
    flags: 4,
  },
  createTTL: {
    op: "createTTL",
    path: "/t",
    data: utf8.encode("ttl"),
    acl: [{ perms: 1, scheme: "digest", id: "u:h" }, ...openAcl],
    flags: CreateFlag.persistentWithTtl,
    ttl: 60_000,
  },
  delete: { op: "delete", path: "/a", version: -1 },
  deleteContainer: { op: "deleteContainer", path: "/c" },
  exists: { op: "exists", path: "/a", watch: true },
  getData: { op: "getData", path: "/a", watch: false },
  setData: { op: "setData", path: "/a", data: utf8.encode("y"), version: 3 },
  getACL: { op: "getACL", path: "/a" },
  setACL: { op: "setACL", path: "/a", acl: openAcl, version: 0 },
  getChildren: { op: "getChildren", path: "/", watch: true },
  getChildren2: { op: "getChildren2", path: "/", watch: false },
  sync: { op: "sync", path: "/" },
  check: { op: "check", path: "/a", version: 2 },
  multi: {
    op: "multi",
    ops: [
      { op: "create", path: "/m", data: null, acl: openAcl, flags: 0 },
      { op: "create2", path: "/m2", data: null, acl: openAcl, flags: 2 },
      { op: "createContainer", path: "/mc", data: null, acl: openAcl, flags: 4 },
      { op: "createTTL", path: "/mt", data: null, acl: openAcl, flags: 5, ttl: 10 },
      { op: "check", path: "/m", version: 0 },
      { op: "setData", path: "/m", data: utf8.encode("z"), version: -1 },
      { op: "delete", path: "/m", version: -1 },
    ],
  },
  multiRead: {
    op: "multiRead",
    ops: [{ op: "getData", path: "/a", watch: false }, {
      op: "getChildren",
      path: "/",
      watch: false,
    }],
  },
  reconfig: {
    op: "reconfig",
    joiningServers: "server.4=h:2888:3888",
    leavingServers: null,
    newMembers: null,
    curConfigId: -1,
  },
  checkWatches: { op: "checkWatches", path: "/a", type: WatcherType.data },
  removeWatches: { op: "removeWatches", path: "/a", type: WatcherType.any },
  addWatch: { op: "addWatch", path: "/a", mode: AddWatchMode.persistentRecursive },
  getEphemerals: { op: "getEphemerals", prefixPath: "/" },
  getAllChildrenNumber: { op: "getAllChildrenNumber", path: "/" },
  auth: { op: "auth", type: 0, scheme: "digest", auth: utf8.encode("user:pw") },
  setWatches: {
    op: "setWatches",
    relativeZxid: 0x2_0000_0010,
    dataWatches: ["/a", "/b"],
    existWatches: [],
    childWatches: ["/"],
  },
  setWatches2: {
    op: "setWatches2",
    relativeZxid: 5,
    dataWatches: [],
    existWatches: ["/x"],
    childWatches: [],
    persistentWatches: ["/p"],
    persistentRecursiveWatches: ["/r", "/s"],
  },
  sasl: { op: "sasl", token: fromHex("60 81") },
  ping: { op: "ping" },
  closeSession: { op: "closeSession" },
  whoAmI: { op: "whoAmI" },
};

const requestList: ZkRequest[] = Object.values(requestExamples);

/** The xid a client would use: the special one where the protocol fixes it. */
function xidFor(request: ZkRequest, i: number): number {
  if (request.op === "ping") return Xid.ping;
  if (request.op === "auth") return Xid.auth;
  if (request.op === "setWatches" || request.op === "setWatches2") return Xid.setWatches;
  return i + 1;
}

Deno.test("decodeRequest() reads back encodeRequest() for every client opcode", () => {
  requestList.forEach((request, i) => {
    const xid = xidFor(request, i);
    const decoded = decodeRequest(payloadOf(encodeRequest(xid, request)));
    const type = OpCode[request.op as RequestOp];
    assert.deepEqual(decoded, { ok: true, header: { xid, type }, request }, request.op);
  });
});

Deno.test("decodeRequest() keeps null data apart from empty data", () => {
  const decode = (data: Uint8Array | null) => {
    const decoded = decodeRequest(
      payloadOf(encodeRequest(1, { op: "setData", path: "/a", data, version: 0 })),
    );
    assert.ok(decoded.ok && decoded.request.op === "setData");
    return decoded.request.data;
  };
  assert.equal(decode(null), null);
  assert.deepEqual(decode(new Uint8Array(0)), new Uint8Array(0));
});

Deno.test("decodeRequest() never throws on a request cut at any byte, and names the xid it read", () => {
  requestList.forEach((request, i) => {
    const xid = xidFor(request, i);
    const payload = payloadOf(encodeRequest(xid, request));
    for (let cut = 0; cut < payload.byteLength; cut++) {
      const decoded = decodeRequest(payload.subarray(0, cut));
      assert.ok(!decoded.ok, `${request.op} cut at ${cut} of ${payload.byteLength} must fail`);
      assert.equal(decoded.xid, cut >= 4 ? xid : null, `${request.op} cut at ${cut}`);
      assert.equal(decoded.type, cut >= 8 ? OpCode[request.op as RequestOp] : null);
      assert.ok(decoded.reason.length > 0);
    }
  });
});

Deno.test("decodeRequest() decodes an unknown opcode as { op: 'unknown' }, not as an error", () => {
  for (const type of [999, 10, OpCode.notification, OpCode.createSession, OpCode.error]) {
    const bytes = new JuteWriter().writeInt(42).writeInt(type).writeInt(12345).finish();
    assert.deepEqual(decodeRequest(bytes), {
      ok: true,
      header: { xid: 42, type },
      request: { op: "unknown", type },
    });
  }
  assert.deepEqual(decodeRequest(payloadOf(encodeRequest(9, { op: "unknown", type: 999 }))), {
    ok: true,
    header: { xid: 9, type: 999 },
    request: { op: "unknown", type: 999 },
  });
});

/** A getData request whose path field is `pathField`, raw. */
function getDataWithPath(pathField: string): Uint8Array {
  return fromHex("00000011" + "00000004" + pathField);
}

Deno.test("decodeRequest() rejects negative and oversized lengths with the xid", () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ["negative path length", getDataWithPath("fffffffe 00"), /negative/],
    ["path longer than the payload", getDataWithPath("000003e8 2f61 00"), /exceeds/],
    ["null path", getDataWithPath("ffffffff 00"), /path at offset 8 is null/],
    [
      "forged ACL count",
      fromHex("00000011 00000001 00000002 2f61 ffffffff 7fffffff"),
      /vector length 2147483647/,
    ],
    [
      "negative watch count",
      fromHex("00000011 00000065 0000000000000000 fffffffd"),
      /vector length -3/,
    ],
    ["long beyond 2^53", fromHex("00000011 00000065 7fffffffffffffff"), /not a safe integer/],
  ];
  for (const [name, payload, reason] of cases) {
    const decoded = decodeRequest(payload);
    assert.ok(!decoded.ok, name);
    assert.equal(decoded.xid, 0x11, name);
    assert.match(decoded.reason, reason, name);
  }
});

Deno.test("decodeRequest() rejects a read op in a multi and a write op in a multiRead", () => {
  const mixed = (op: "multi" | "multiRead", inner: Uint8Array) => {
    const bytes = new JuteWriter().writeInt(4).writeInt(OpCode[op]).writeRaw(inner).finish();
    return decodeRequest(bytes);
  };
  const getData = new JuteWriter().writeInt(OpCode.getData).writeBool(false).writeInt(-1)
    .writeString("/a").writeBool(false).writeInt(-1).writeBool(true).writeInt(-1).finish();
  const decodedMulti = mixed("multi", getData);
  assert.ok(!decodedMulti.ok && /getData\) is not allowed in a multi/.test(decodedMulti.reason));
  const del = new JuteWriter().writeInt(OpCode.delete).writeBool(false).writeInt(-1)
    .writeString("/a").writeInt(-1).writeInt(-1).writeBool(true).writeInt(-1).finish();
  const decodedRead = mixed("multiRead", del);
  assert.ok(!decodedRead.ok && /delete\) is not allowed in a multiRead/.test(decodedRead.reason));
  const sync = new JuteWriter().writeInt(OpCode.sync).writeBool(false).writeInt(-1).finish();
  assert.ok(!mixed("multi", sync).ok);
});

Deno.test("decodeRequest() ends a multi at the first header marked done, as ZooKeeper does", () => {
  const bytes = new JuteWriter().writeInt(8).writeInt(OpCode.multi)
    .writeInt(OpCode.check).writeBool(false).writeInt(-1).writeString("/a").writeInt(3)
    .writeInt(0).writeBool(true).writeInt(0) // done, whatever type and err say
    .finish();
  assert.deepEqual(decodeRequest(bytes), {
    ok: true,
    header: { xid: 8, type: OpCode.multi },
    request: { op: "multi", ops: [{ op: "check", path: "/a", version: 3 }] },
  });
  assert.deepEqual(decodeRequest(payloadOf(encodeRequest(1, { op: "multi", ops: [] }))), {
    ok: true,
    header: { xid: 1, type: OpCode.multi },
    request: { op: "multi", ops: [] },
  });
});

Deno.test("decodeRequest() reads a null ACL or watch vector as empty", () => {
  const create = fromHex("00000001 00000001 00000002 2f61 ffffffff ffffffff 00000000");
  assert.deepEqual(decodeRequest(create), {
    ok: true,
    header: { xid: 1, type: OpCode.create },
    request: { op: "create", path: "/a", data: null, acl: [], flags: 0 },
  });
});

// ---------------------------------------------------------------------------------------------
// Replies: one example of every reply record

const responseExamples: { readonly [K in ResponseRecord]: Extract<ZkResponse, { record: K }> } = {
  CreateResponse: { record: "CreateResponse", path: "/a" },
  Create2Response: { record: "Create2Response", path: "/b-0000000001", stat },
  StatResponse: { record: "StatResponse", stat: { ...stat, ephemeralOwner: 0 } },
  GetDataResponse: { record: "GetDataResponse", data: null, stat },
  GetACLResponse: { record: "GetACLResponse", acl: openAcl, stat },
  GetChildrenResponse: { record: "GetChildrenResponse", children: ["a", "b", "é"] },
  GetChildren2Response: { record: "GetChildren2Response", children: [], stat },
  SyncResponse: { record: "SyncResponse", path: "/" },
  GetEphemeralsResponse: { record: "GetEphemeralsResponse", ephemerals: ["/e1", "/e2"] },
  GetAllChildrenNumberResponse: { record: "GetAllChildrenNumberResponse", totalNumber: 12 },
  WhoAmIResponse: {
    record: "WhoAmIResponse",
    clientInfo: [{ authScheme: "ip", user: "127.0.0.1" }, { authScheme: "digest", user: "u" }],
  },
  ErrorResponse: { record: "ErrorResponse", err: 0 },
  SetSASLResponse: { record: "SetSASLResponse", token: fromHex("0102") },
  MultiResponse: {
    record: "MultiResponse",
    results: [
      { op: "create", path: "/m" },
      { op: "create2", path: "/m2", stat },
      { op: "delete" },
      { op: "setData", stat },
      { op: "check" },
      { op: "getChildren", children: ["x"] },
      { op: "getData", data: utf8.encode("d"), stat },
      { op: "error", err: KeeperCode.BadVersion },
    ],
  },
  WatcherEvent: {
    record: "WatcherEvent",
    type: EventType.NodeDataChanged,
    state: KeeperState.SyncConnected,
    path: "/a",
  },
};

/** An opcode whose reply carries each record. */
const opcodeForRecord: Record<ResponseRecord, number> = {
  CreateResponse: OpCode.create,
  Create2Response: OpCode.create2,
  StatResponse: OpCode.exists,
  GetDataResponse: OpCode.getData,
  GetACLResponse: OpCode.getACL,
  GetChildrenResponse: OpCode.getChildren,
  GetChildren2Response: OpCode.getChildren2,
  SyncResponse: OpCode.sync,
  GetEphemeralsResponse: OpCode.getEphemerals,
  GetAllChildrenNumberResponse: OpCode.getAllChildrenNumber,
  WhoAmIResponse: OpCode.whoAmI,
  ErrorResponse: OpCode.addWatch,
  SetSASLResponse: OpCode.sasl,
  MultiResponse: OpCode.multi,
  WatcherEvent: OpCode.notification,
};

const responseList: ZkResponse[] = Object.values(responseExamples);

function replyHeaderFor(response: ZkResponse, i: number) {
  const xid = response.record === "WatcherEvent" ? Xid.notification : 100 + i;
  return { xid, zxid: 0x3_0000_0000 + i, err: 0 };
}

Deno.test("responseRecordOf() names the record ZooKeeper's FinalRequestProcessor sends", () => {
  for (const [record, type] of Object.entries(opcodeForRecord)) {
    assert.equal(responseRecordOf(type), record);
  }
  assert.equal(responseRecordOf(OpCode.createTTL), "Create2Response");
  assert.equal(responseRecordOf(OpCode.createContainer), "Create2Response");
  assert.equal(responseRecordOf(OpCode.setData), "StatResponse");
  assert.equal(responseRecordOf(OpCode.setACL), "StatResponse");
  assert.equal(responseRecordOf(OpCode.reconfig), "GetDataResponse");
  assert.equal(responseRecordOf(OpCode.multiRead), "MultiResponse");
  for (
    const none of [
      "delete",
      "deleteContainer",
      "ping",
      "closeSession",
      "auth",
      "setWatches",
      "checkWatches",
      "removeWatches",
    ] as const
  ) {
    assert.equal(responseRecordOf(OpCode[none]), null, none);
  }
  assert.equal(responseRecordOf(999), null);
});

Deno.test("decodeReply() reads back encodeReply() for every reply record", () => {
  responseList.forEach((response, i) => {
    const header = replyHeaderFor(response, i);
    const typeOf = (
      xid: number,
    ) => (xid === header.xid ? opcodeForRecord[response.record] : undefined);
    const decoded = decodeReply(payloadOf(encodeReply(header, response)), typeOf);
    assert.deepEqual(decoded, { ok: true, header, response }, response.record);
  });
});

Deno.test("decodeReply() expects no record after an error, a ping, an auth or a setWatches", () => {
  const typeOf = () => OpCode.getData;
  const cases = [
    { xid: 1, zxid: 5, err: KeeperCode.NoNode },
    { xid: Xid.ping, zxid: 5, err: 0 },
    { xid: Xid.auth, zxid: 0, err: KeeperCode.AuthFailed },
    { xid: Xid.auth, zxid: 0, err: 0 },
    { xid: Xid.setWatches, zxid: 0, err: 0 },
  ];
  for (const header of cases) {
    assert.deepEqual(decodeReply(payloadOf(encodeReply(header)), typeOf), {
      ok: true,
      header,
      response: null,
    });
  }
  const deleted = decodeReply(
    payloadOf(encodeReply({ xid: 2, zxid: 6, err: 0 })),
    () => OpCode.delete,
  );
  assert.deepEqual(deleted, { ok: true, header: { xid: 2, zxid: 6, err: 0 }, response: null });
});

Deno.test("decodeReply() reports a reply to an xid nobody is waiting for", () => {
  const decoded = decodeReply(payloadOf(encodeReply({ xid: 9, zxid: 1, err: 0 })), () => undefined);
  assert.deepEqual(decoded, { ok: false, xid: 9, reason: "no request is waiting for xid 9" });
});

Deno.test("decodeReply() never throws on a reply cut at any byte", () => {
  responseList.forEach((response, i) => {
    const header = replyHeaderFor(response, i);
    const payload = payloadOf(encodeReply(header, response));
    const typeOf = () => opcodeForRecord[response.record];
    for (let cut = 0; cut < payload.byteLength; cut++) {
      const decoded = decodeReply(payload.subarray(0, cut), typeOf);
      assert.ok(!decoded.ok, `${response.record} cut at ${cut}`);
      assert.equal(decoded.xid, cut >= 4 ? header.xid : null);
    }
  });
});

Deno.test("decodeReply() rejects a MultiResponse result of a type ZooKeeper never sends", () => {
  const bytes = new JuteWriter().writeInt(1).writeLong(0).writeInt(0)
    .writeInt(OpCode.sync).writeBool(false).writeInt(0).writeString("/").finish();
  const decoded = decodeReply(bytes, () => OpCode.multi);
  assert.ok(!decoded.ok && /result type 9/.test(decoded.reason));
});

// ---------------------------------------------------------------------------------------------
// Properties

/** `fc.record` minus null-prototype objects, which strict deepEqual tells apart from decoded ones. */
function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<T>;
}

const int32Arb = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const longArb = fc.maxSafeInteger();
const stringArb = fc.string({ unit: "grapheme", maxLength: 12 });
const pathArb = stringArb.map((s) => "/" + s);
const bytesArb = fc.uint8Array({ maxLength: 24 });
const dataArb = fc.option(bytesArb, { nil: null });
const aclArb: fc.Arbitrary<Acl[]> = fc.array(
  rec({ perms: int32Arb, scheme: stringArb, id: stringArb }),
  { maxLength: 3 },
);
const stringsArb = fc.array(stringArb, { maxLength: 4 });
/** Owners as clients see them: 0 or a session id (extended types are shown as 0). */
const ownerArb = fc.nat({ max: Number.MAX_SAFE_INTEGER });
const statArb: fc.Arbitrary<Stat> = rec({
  czxid: longArb,
  mzxid: longArb,
  pzxid: longArb,
  ctime: longArb,
  mtime: longArb,
  version: int32Arb,
  cversion: int32Arb,
  aversion: int32Arb,
  ephemeralOwner: ownerArb,
  dataLength: int32Arb,
  numChildren: int32Arb,
});

const createArb = <K extends "create" | "create2" | "createContainer">(op: K) =>
  rec({ op: fc.constant(op), path: pathArb, data: dataArb, acl: aclArb, flags: int32Arb });
const createTTLArb = rec({
  op: fc.constant("createTTL" as const),
  path: pathArb,
  data: dataArb,
  acl: aclArb,
  flags: int32Arb,
  ttl: longArb,
});
const pathVersionArb = <K extends "delete" | "check">(op: K) =>
  rec({ op: fc.constant(op), path: pathArb, version: int32Arb });
const pathWatchArb = <K extends "exists" | "getData" | "getChildren" | "getChildren2">(op: K) =>
  rec({ op: fc.constant(op), path: pathArb, watch: fc.boolean() });
const pathOnlyArb = <K extends "deleteContainer" | "getACL" | "sync" | "getAllChildrenNumber">(
  op: K,
) => rec({ op: fc.constant(op), path: pathArb });
const setDataArb = rec({
  op: fc.constant("setData" as const),
  path: pathArb,
  data: dataArb,
  version: int32Arb,
});
const setWatchesFields = {
  relativeZxid: longArb,
  dataWatches: stringsArb,
  existWatches: stringsArb,
  childWatches: stringsArb,
};

const requestArbs: { readonly [K in RequestOp]: fc.Arbitrary<Extract<ZkRequest, { op: K }>> } = {
  create: createArb("create"),
  create2: createArb("create2"),
  createContainer: createArb("createContainer"),
  createTTL: createTTLArb,
  delete: pathVersionArb("delete"),
  deleteContainer: pathOnlyArb("deleteContainer"),
  exists: pathWatchArb("exists"),
  getData: pathWatchArb("getData"),
  setData: setDataArb,
  getACL: pathOnlyArb("getACL"),
  setACL: rec({
    op: fc.constant("setACL" as const),
    path: pathArb,
    acl: aclArb,
    version: int32Arb,
  }),
  getChildren: pathWatchArb("getChildren"),
  getChildren2: pathWatchArb("getChildren2"),
  sync: pathOnlyArb("sync"),
  check: pathVersionArb("check"),
  multi: rec({
    op: fc.constant("multi" as const),
    ops: fc.array(
      fc.oneof(
        createArb("create"),
        createArb("create2"),
        createArb("createContainer"),
        createTTLArb,
        pathVersionArb("delete"),
        pathVersionArb("check"),
        setDataArb,
      ),
      { maxLength: 4 },
    ),
  }),
  multiRead: rec({
    op: fc.constant("multiRead" as const),
    ops: fc.array(fc.oneof(pathWatchArb("getData"), pathWatchArb("getChildren")), { maxLength: 4 }),
  }),
  reconfig: rec({
    op: fc.constant("reconfig" as const),
    joiningServers: fc.option(stringArb, { nil: null }),
    leavingServers: fc.option(stringArb, { nil: null }),
    newMembers: fc.option(stringArb, { nil: null }),
    curConfigId: longArb,
  }),
  checkWatches: rec({
    op: fc.constant("checkWatches" as const),
    path: pathArb,
    type: int32Arb,
  }),
  removeWatches: rec({
    op: fc.constant("removeWatches" as const),
    path: pathArb,
    type: int32Arb,
  }),
  addWatch: rec({ op: fc.constant("addWatch" as const), path: pathArb, mode: int32Arb }),
  getEphemerals: rec({
    op: fc.constant("getEphemerals" as const),
    prefixPath: fc.option(pathArb, { nil: null }),
  }),
  getAllChildrenNumber: pathOnlyArb("getAllChildrenNumber"),
  auth: rec({
    op: fc.constant("auth" as const),
    type: int32Arb,
    scheme: stringArb,
    auth: bytesArb,
  }),
  setWatches: rec({ op: fc.constant("setWatches" as const), ...setWatchesFields }),
  setWatches2: rec({
    op: fc.constant("setWatches2" as const),
    ...setWatchesFields,
    persistentWatches: stringsArb,
    persistentRecursiveWatches: stringsArb,
  }),
  sasl: rec({ op: fc.constant("sasl" as const), token: bytesArb }),
  ping: fc.constant({ op: "ping" as const }),
  closeSession: fc.constant({ op: "closeSession" as const }),
  whoAmI: fc.constant({ op: "whoAmI" as const }),
};

const requestArb: fc.Arbitrary<ZkRequest> = fc.oneof(
  ...Object.values(requestArbs) as fc.Arbitrary<ZkRequest>[],
);

const multiResultArb: fc.Arbitrary<MultiResult> = fc.oneof(
  rec({ op: fc.constant("create" as const), path: pathArb }),
  rec({ op: fc.constant("create2" as const), path: pathArb, stat: statArb }),
  fc.constant({ op: "delete" as const }),
  rec({ op: fc.constant("setData" as const), stat: statArb }),
  fc.constant({ op: "check" as const }),
  rec({ op: fc.constant("getChildren" as const), children: stringsArb }),
  rec({ op: fc.constant("getData" as const), data: dataArb, stat: statArb }),
  rec({ op: fc.constant("error" as const), err: int32Arb }),
);

const responseArbs: {
  readonly [K in ResponseRecord]: fc.Arbitrary<Extract<ZkResponse, { record: K }>>;
} = {
  CreateResponse: rec({ record: fc.constant("CreateResponse" as const), path: pathArb }),
  Create2Response: rec({
    record: fc.constant("Create2Response" as const),
    path: pathArb,
    stat: statArb,
  }),
  StatResponse: rec({ record: fc.constant("StatResponse" as const), stat: statArb }),
  GetDataResponse: rec({
    record: fc.constant("GetDataResponse" as const),
    data: dataArb,
    stat: statArb,
  }),
  GetACLResponse: rec({
    record: fc.constant("GetACLResponse" as const),
    acl: aclArb,
    stat: statArb,
  }),
  GetChildrenResponse: rec({
    record: fc.constant("GetChildrenResponse" as const),
    children: stringsArb,
  }),
  GetChildren2Response: rec({
    record: fc.constant("GetChildren2Response" as const),
    children: stringsArb,
    stat: statArb,
  }),
  SyncResponse: rec({ record: fc.constant("SyncResponse" as const), path: pathArb }),
  GetEphemeralsResponse: rec({
    record: fc.constant("GetEphemeralsResponse" as const),
    ephemerals: stringsArb,
  }),
  GetAllChildrenNumberResponse: rec({
    record: fc.constant("GetAllChildrenNumberResponse" as const),
    totalNumber: int32Arb,
  }),
  WhoAmIResponse: rec({
    record: fc.constant("WhoAmIResponse" as const),
    clientInfo: fc.array(rec({ authScheme: stringArb, user: stringArb }), { maxLength: 3 }),
  }),
  ErrorResponse: rec({ record: fc.constant("ErrorResponse" as const), err: int32Arb }),
  SetSASLResponse: rec({ record: fc.constant("SetSASLResponse" as const), token: bytesArb }),
  MultiResponse: rec({
    record: fc.constant("MultiResponse" as const),
    results: fc.array(multiResultArb, { maxLength: 5 }),
  }),
  WatcherEvent: rec({
    record: fc.constant("WatcherEvent" as const),
    type: int32Arb,
    state: int32Arb,
    path: pathArb,
  }),
};

const responseArb: fc.Arbitrary<ZkResponse> = fc.oneof(
  ...Object.values(responseArbs) as fc.Arbitrary<ZkResponse>[],
);

Deno.test("random requests round-trip through encodeRequest() and decodeRequest() (property)", () => {
  assertProperty(
    {
      url: import.meta.url,
      testName: "random requests round-trip through encodeRequest() and decodeRequest() (property)",
    },
    fc.property(int32Arb, requestArb, (xid, request) => {
      const decoded = decodeRequest(payloadOf(encodeRequest(xid, request)));
      assert.deepEqual(decoded, {
        ok: true,
        header: { xid, type: OpCode[request.op as RequestOp] },
        request,
      });
    }),
    { runs: 500 },
  );
});

Deno.test("random replies round-trip through encodeReply() and decodeReply() (property)", () => {
  assertProperty(
    {
      url: import.meta.url,
      testName: "random replies round-trip through encodeReply() and decodeReply() (property)",
    },
    fc.property(
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      longArb,
      responseArb,
      (xid, zxid, response) => {
        const header = {
          xid: response.record === "WatcherEvent" ? Xid.notification : xid,
          zxid,
          err: 0,
        };
        const typeOf = () => opcodeForRecord[response.record];
        const decoded = decodeReply(payloadOf(encodeReply(header, response)), typeOf);
        assert.deepEqual(decoded, { ok: true, header, response });
      },
    ),
    { runs: 500 },
  );
});

Deno.test("random connect requests and responses round-trip (property)", () => {
  const readOnlyArb = fc.option(fc.boolean(), { nil: undefined });
  assertProperty(
    {
      url: import.meta.url,
      testName: "random connect requests and responses round-trip (property)",
    },
    fc.property(
      int32Arb,
      longArb,
      int32Arb,
      longArb,
      bytesArb,
      readOnlyArb,
      (v, zxid, t, id, pw, ro) => {
        const request: ConnectRequest = {
          protocolVersion: v,
          lastZxidSeen: zxid,
          timeOut: t,
          sessionId: id,
          passwd: pw,
        };
        const response: ConnectResponse = {
          protocolVersion: v,
          timeOut: t,
          sessionId: id,
          passwd: pw,
        };
        if (ro !== undefined) request.readOnly = response.readOnly = ro;
        assert.deepEqual(decodeConnectRequest(payloadOf(encodeConnectRequest(request))), {
          ok: true,
          value: request,
        });
        assert.deepEqual(decodeConnectResponse(payloadOf(encodeConnectResponse(response))), {
          ok: true,
          value: response,
        });
      },
    ),
    { runs: 300 },
  );
});

Deno.test("decodeRequest() returns a value for any bytes, and never throws (property)", () => {
  // Valid requests with a few bytes overwritten, and plain noise after a valid header.
  const mutatedArb = fc.tuple(
    requestArb,
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
  )
    .map(([request, edits]) => {
      const payload = payloadOf(encodeRequest(1, request)).slice();
      for (const [at, value] of edits) payload[at % payload.byteLength] = value;
      return payload;
    });
  const noiseArb = fc.tuple(
    fc.constantFrom(...Object.values(OpCode)),
    fc.uint8Array({ maxLength: 64 }),
  )
    .map(([type, tail]) => new JuteWriter().writeInt(1).writeInt(type).writeRaw(tail).finish());
  assertProperty(
    {
      url: import.meta.url,
      testName: "decodeRequest() returns a value for any bytes, and never throws (property)",
    },
    fc.property(fc.oneof(mutatedArb, noiseArb, fc.uint8Array({ maxLength: 32 })), (payload) => {
      const decoded = decodeRequest(payload);
      if (!decoded.ok) {
        assert.equal(
          decoded.xid,
          payload.byteLength >= 4 ? new DataView(payload.buffer).getInt32(0) : null,
        );
      }
    }),
    { runs: 1000 },
  );
});
