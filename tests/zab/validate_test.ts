/**
 * {@linkcode parsePeerMessage}: every message type survives the wire (encodeFrame, FrameDecoder)
 * and parses back equal; malformed variants are rejected; nothing makes it throw.
 * @module
 */
import assert from "../assert.ts";
import fc from "fast-check";
import { encodeFrame, FrameDecoder } from "../../src/wire/frame.ts";
import { makeZxid, type Txn, zxidEpochMax } from "../../src/tree/txn.ts";
import type { PeerMessage } from "../../src/zab/messages.ts";
import { parsePeerMessage } from "../../src/zab/validate.ts";

/** What the other end of a peer link decodes from `message`. */
function overTheWire(message: unknown): unknown {
  const [frame, ...rest] = new FrameDecoder(1024 * 1024).push(encodeFrame(message));
  assert.equal(rest.length, 0);
  assert.ok(frame.ok);
  return frame.message;
}

const acl = [{ perms: 31, scheme: "world", id: "anyone" }, {
  perms: 1,
  scheme: "ip",
  id: "10.0.0.0/8",
}];

const txns: Txn[] = [
  {
    type: "create",
    path: "/a/b",
    data: new Uint8Array([1, 2, 3]),
    acl,
    ephemeralOwner: 0x1234_5678_9abc,
    parentCversion: 7,
  },
  {
    type: "create",
    path: "/empty",
    data: new Uint8Array(0),
    acl: [],
    ephemeralOwner: 0,
    parentCversion: 1,
  },
  { type: "delete", path: "/a/b" },
  { type: "setData", path: "/", data: new Uint8Array([0xff]), version: 3 },
  { type: "setACL", path: "/a", acl, aversion: 2 },
  { type: "check", path: "/a", version: -1 },
  { type: "check", path: "/a", version: 12 },
  {
    type: "multi",
    txns: [
      { type: "check", path: "/a", version: 1 },
      {
        type: "create",
        path: "/a/c",
        data: new Uint8Array([9]),
        acl,
        ephemeralOwner: 5,
        parentCversion: 3,
      },
      { type: "setData", path: "/a", data: new Uint8Array(10), version: 2 },
      { type: "setACL", path: "/a", acl: [], aversion: 1 },
      { type: "delete", path: "/a/c" },
    ],
  },
  { type: "multi", txns: [] },
  {
    type: "createSession",
    sessionId: 2 ** 45 + 1,
    timeoutMs: 4000,
    password: new Uint8Array(16).fill(7),
  },
  { type: "closeSession", sessionId: 2 ** 45 + 1 },
  // A container, a TTL node, null data, and the first create under "/" (its cversion starts at -1).
  {
    type: "create",
    path: "/c",
    data: new Uint8Array(0),
    acl,
    ephemeralOwner: -1,
    parentCversion: 0,
    dataNull: true,
  },
  {
    type: "create",
    path: "/t",
    data: new Uint8Array(0),
    acl,
    ephemeralOwner: -5001,
    parentCversion: -3,
  },
  { type: "setData", path: "/c", data: new Uint8Array(0), version: 1, dataNull: true },
];

const zxid = makeZxid(3, 17);

const messages: PeerMessage[] = [
  { type: "FOLLOWERINFO", acceptedEpoch: 2, observer: false },
  { type: "FOLLOWERINFO", acceptedEpoch: 0, observer: true },
  { type: "LEADERINFO", epoch: zxidEpochMax },
  { type: "ACKEPOCH", epoch: 2, currentEpoch: 1, lastZxid: zxid, baseZxid: 0 },
  { type: "DIFF", lastZxid: zxid },
  { type: "TRUNC", zxid: 0 },
  {
    type: "SNAP",
    zxid,
    image: { nodes: [{ path: "/", data: new Uint8Array([1]) }], sessions: [] },
  },
  { type: "SNAP", zxid, image: null },
  { type: "NEWLEADER", epoch: 4 },
  { type: "UPTODATE", zxid: 7 },
  ...txns.map((txn, i): PeerMessage => ({
    type: "PROPOSAL",
    record: { zxid: zxid + i, timeMs: 1_700_000_000_000 + i, sessionId: i, txn },
  })),
  { type: "ACK", zxid },
  { type: "ACK", zxid, newLeader: true },
  { type: "ACK", zxid, newLeader: false },
  { type: "COMMIT", zxid },
  { type: "INFORM", record: { zxid, timeMs: 0, sessionId: 0, txn: txns[0] } },
  { type: "PING" },
  ...(["LOOKING", "FOLLOWING", "LEADING", "OBSERVING"] as const).map((state): PeerMessage => ({
    type: "NOTIFICATION",
    notification: { round: 9, state, vote: { leader: 255, zxid, epoch: 3 } },
  })),
];

Deno.test("every peer message type round-trips through a frame and parses back equal", () => {
  const types = new Set<string>();
  for (const message of messages) {
    const parsed = parsePeerMessage(overTheWire(message));
    assert.deepEqual(parsed, message, `${message.type} round-trips`);
    types.add(message.type);
  }
  assert.equal(types.size, 14, "every message type is covered");
  assert.equal(new Set(txns.map((t) => t.type)).size, 8, "every txn type is covered");
});

Deno.test("extra fields are dropped and inherited ones are ignored", () => {
  assert.deepEqual(
    parsePeerMessage({ type: "COMMIT", zxid: 5, extra: "x" }),
    { type: "COMMIT", zxid: 5 },
  );
  const inherited = Object.create({ type: "PING" });
  assert.equal(parsePeerMessage(inherited), null);
  const smuggled = overTheWire({ type: "COMMIT", ["__proto__"]: { zxid: 5 } });
  assert.equal(parsePeerMessage(smuggled), null);
});

/** `base` with `path` (a list of keys) set to `value`, or deleted when `value` is `deleted`. */
const deleted = Symbol("deleted");
function variant(base: PeerMessage, path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(base) as unknown as Record<string, unknown>;
  let target: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string, unknown>;
  const last = path.at(-1)!;
  if (value === deleted) delete target[last];
  else target[last] = value;
  return copy;
}

const proposal = (txn: Txn): PeerMessage => ({
  type: "PROPOSAL",
  record: { zxid, timeMs: 1, sessionId: 0, txn },
});
const create = proposal(txns[0]);
const multi = proposal(txns[7]);
const notification = messages.find((m) => m.type === "NOTIFICATION")!;

const malformed: Array<[string, unknown]> = [
  ["not a map", "PING"],
  ["null", null],
  ["an array", [{ type: "PING" }]],
  ["bytes", new Uint8Array([1])],
  ["no type", { zxid: 1 }],
  ["unknown type", { type: "HELLO" }],
  ["lower-case type", { type: "ping" }],
  ["missing zxid", { type: "COMMIT" }],
  ["string zxid", { type: "COMMIT", zxid: "5" }],
  ["negative zxid", { type: "COMMIT", zxid: -1 }],
  ["fractional zxid", { type: "COMMIT", zxid: 1.5 }],
  ["unsafe zxid", { type: "COMMIT", zxid: 2 ** 53 }],
  ["epoch past zxidEpochMax", { type: "LEADERINFO", epoch: zxidEpochMax + 1 }],
  ["NaN epoch", { type: "NEWLEADER", epoch: NaN }],
  ["string observer", { type: "FOLLOWERINFO", acceptedEpoch: 1, observer: "no" }],
  ["missing observer", { type: "FOLLOWERINFO", acceptedEpoch: 1 }],
  ["ACKEPOCH without lastZxid", { type: "ACKEPOCH", currentEpoch: 1 }],
  ["SNAP without image", { type: "SNAP", zxid: 1 }],
  ["SNAP with a bad zxid", { type: "SNAP", zxid: -3, image: {} }],
  ["non-boolean newLeader", { type: "ACK", zxid: 1, newLeader: 1 }],
  ["notification not a map", variant(notification, ["notification"], 3)],
  ["unknown state", variant(notification, ["notification", "state"], "CANDIDATE")],
  ["negative round", variant(notification, ["notification", "round"], -1)],
  ["server id over 255", variant(notification, ["notification", "vote", "leader"], 256)],
  ["missing vote", variant(notification, ["notification", "vote"], deleted)],
  ["vote zxid a string", variant(notification, ["notification", "vote", "zxid"], "1")],
  ["missing record", { type: "PROPOSAL" }],
  ["record negative zxid", variant(create, ["record", "zxid"], -1)],
  ["record missing timeMs", variant(create, ["record", "timeMs"], deleted)],
  ["record sessionId a string", variant(create, ["record", "sessionId"], "0")],
  ["missing txn", variant(create, ["record", "txn"], deleted)],
  ["unknown txn type", variant(create, ["record", "txn", "type"], "rename")],
  ["data an array", variant(create, ["record", "txn", "data"], [1, 2, 3])],
  ["data a string", variant(create, ["record", "txn", "data"], "abc")],
  ["missing data", variant(create, ["record", "txn", "data"], deleted)],
  ["relative path", variant(create, ["record", "txn", "path"], "a/b")],
  ["path ending in /", variant(create, ["record", "txn", "path"], "/a/")],
  ["acl not an array", variant(create, ["record", "txn", "acl"], { perms: 31 })],
  ["acl entry perms a string", variant(create, ["record", "txn", "acl", 0, "perms"], "31")],
  ["acl perms out of range", variant(create, ["record", "txn", "acl", 0, "perms"], 32)],
  ["acl entry without id", variant(create, ["record", "txn", "acl", 1, "id"], deleted)],
  ["acl entry not a map", variant(create, ["record", "txn", "acl", 1], "world:anyone")],
  [
    "ephemeralOwner below the longest TTL",
    variant(create, ["record", "txn", "ephemeralOwner"], -(2 + 2 ** 40)),
  ],
  ["check version below -1", proposal({ type: "check", path: "/", version: -2 })],
  [
    "setData negative version",
    proposal({ type: "setData", path: "/", data: new Uint8Array(), version: -1 }),
  ],
  ["multi in a multi", proposal({ type: "multi", txns: [{ type: "multi", txns: [] }] })],
  [
    "session txn in a multi",
    proposal({ type: "multi", txns: [{ type: "closeSession", sessionId: 1 }] } as unknown as Txn),
  ],
  ["multi txns not an array", variant(multi, ["record", "txn", "txns"], {})],
  ["bad txn inside a multi", variant(multi, ["record", "txn", "txns", 1, "data"], "x")],
  [
    "password not bytes",
    proposal(
      { type: "createSession", sessionId: 1, timeoutMs: 1, password: [1] } as unknown as Txn,
    ),
  ],
  ["INFORM with a bad record", { type: "INFORM", record: { zxid: 1 } }],
];

Deno.test("malformed messages are rejected with null", () => {
  for (const [what, value] of malformed) {
    assert.equal(parsePeerMessage(value), null, `${what} is rejected`);
    // Most survive the wire unchanged; those that do are rejected there too.
    let decoded: unknown;
    try {
      decoded = overTheWire(value);
    } catch {
      continue;
    }
    assert.equal(parsePeerMessage(decoded), null, `${what} is rejected after the wire`);
  }
});

/** A valid message with one field, somewhere inside it, replaced by an arbitrary value. */
const mutated = fc.tuple(
  fc.constantFrom(...messages),
  fc.nat(),
  fc.oneof(fc.jsonValue(), fc.uint8Array({ maxLength: 4 }), fc.constant(undefined)),
).map(([message, pick, value]) => {
  const copy = structuredClone(message) as unknown;
  const slots: Array<[Record<string, unknown>, string]> = [];
  const collect = (node: unknown) => {
    if (typeof node !== "object" || node === null || node instanceof Uint8Array) return;
    for (const key of Object.keys(node)) {
      slots.push([node as Record<string, unknown>, key]);
      collect((node as Record<string, unknown>)[key]);
    }
  };
  collect(copy);
  const [target, key] = slots[pick % slots.length];
  target[key] = value;
  return copy;
});

Deno.test("parsePeerMessage never throws, and what it accepts is a message", () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.jsonValue(), fc.anything(), mutated),
      (value) => {
        const parsed = parsePeerMessage(value);
        if (parsed !== null) {
          assert.equal(typeof parsed.type, "string");
          // Accepting is idempotent: the rebuilt message parses to itself.
          assert.deepEqual(parsePeerMessage(parsed), parsed);
        }
      },
    ),
    { numRuns: 2000 },
  );
});
