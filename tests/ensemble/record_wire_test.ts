/**
 * A PROPOSAL or INFORM carries its txn record as the bytes of its log body, so each member encodes
 * each txn at most once (src/storage/codec.ts `encodedRecordBody`, src/ensemble/node.ts
 * `recordFromWire`). These tests pin the three halves: the bytes are encoded once and reused, what
 * a learner receives parses back to the same record (and malformed bytes to nothing), and the log
 * gets the bytes a record came with, not a new encoding.
 * @module
 */
import assert from "../assert.ts";
import { join } from "node:path";
import { encodedRecordBody, recordToBody, rememberRecordBody } from "../../src/storage/codec.ts";
import { FileStore, storageFileName } from "../../src/storage/file_store.ts";
import { encodeRecordBody, fileHeaderBytes, readRecord } from "../../src/storage/record.ts";
import { recordFromWire } from "../../src/ensemble/node.ts";
import { makeZxid, type TxnRecord } from "../../src/tree/txn.ts";
import { encodeFrame, FrameDecoder } from "../../src/wire/frame.ts";
import { parsePeerMessage } from "../../src/zab/validate.ts";

const acl = [{ perms: 31, scheme: "world", id: "anyone" }];

function records(): TxnRecord[] {
  const base = { timeMs: 1_763_860_000_000, sessionId: 0x1234_5678_9abc };
  return [
    {
      ...base,
      zxid: makeZxid(3, 1),
      txn: {
        type: "create",
        path: "/a",
        data: new Uint8Array([1, 2, 3]),
        acl,
        ephemeralOwner: 0,
        parentCversion: 1,
      },
    },
    {
      ...base,
      zxid: makeZxid(3, 2),
      txn: { type: "setData", path: "/a", data: new Uint8Array(100).fill(7), version: 1 },
    },
    {
      ...base,
      zxid: makeZxid(3, 3),
      txn: {
        type: "multi",
        txns: [{ type: "check", path: "/a", version: 1 }, { type: "delete", path: "/a" }],
      },
    },
    { ...base, zxid: makeZxid(3, 4), txn: { type: "closeSession", sessionId: base.sessionId } },
  ];
}

/** Bytes as a plain Uint8Array (cbor-x hands out Buffers on some runtimes). */
const plain = (bytes: Uint8Array): Uint8Array => new Uint8Array(bytes);

/** What a learner decodes from a frame of `message`. */
function overTheWire(message: unknown): unknown {
  const [frame, ...rest] = new FrameDecoder(1024 * 1024).push(encodeFrame(message));
  assert.equal(rest.length, 0);
  assert.ok(frame.ok);
  return frame.message;
}

/** The message a learner's node hands its peer for `wire`, or null when it is dropped. */
function received(wire: unknown) {
  const decoded = recordFromWire(wire);
  return parsePeerMessage(decoded === null ? wire : decoded.message);
}

Deno.test("encodedRecordBody() encodes a record's log body once and hands back the same bytes after", () => {
  for (const record of records()) {
    const bytes = encodedRecordBody(record);
    assert.equal(encodedRecordBody(record), bytes, "the second ask is not encoded again");
    assert.deepEqual(plain(bytes), plain(encodeRecordBody(recordToBody(record))));
    // An equal record that is another object is encoded for itself.
    const twin = structuredClone(record);
    assert.notEqual(encodedRecordBody(twin), bytes);
    assert.deepEqual(plain(encodedRecordBody(twin)), plain(bytes));
  }
});

Deno.test("a PROPOSAL and an INFORM as bytes parse back on the learner to the records sent", () => {
  for (const type of ["PROPOSAL", "INFORM"] as const) {
    for (const record of records()) {
      const wire = overTheWire({ type, zxid: record.zxid, body: encodedRecordBody(record) });
      const decoded = recordFromWire(wire);
      assert.ok(decoded !== null);
      assert.deepEqual(plain(decoded.bytes), plain(encodedRecordBody(record)));
      assert.deepEqual(received(wire), { type, record });
    }
  }
});

Deno.test("a PROPOSAL whose bytes are not a record of its zxid is dropped, never thrown on", () => {
  const [record] = records();
  const good = encodedRecordBody(record);
  const body = recordToBody(record) as unknown[];
  const bad: Record<string, unknown> = {
    "not CBOR": new Uint8Array([0xff, 0xff]),
    "trailing bytes": new Uint8Array([...good, 0]),
    "cut short": good.subarray(0, good.byteLength - 1),
    "not an array": encodeRecordBody({ zxid: record.zxid }),
    "three fields": encodeRecordBody(body.slice(0, 3)),
    "another zxid": encodeRecordBody([record.zxid + 1, ...body.slice(1)]),
    "a txn that does not check": encodeRecordBody([...body.slice(0, 3), { type: "create" }]),
    "a path that does not check": encodeRecordBody([
      ...body.slice(0, 3),
      { ...record.txn, path: "no/slash" },
    ]),
    "not bytes": "a string",
  };
  for (const [what, bytes] of Object.entries(bad)) {
    const wire = overTheWire({ type: "PROPOSAL", zxid: record.zxid, body: bytes });
    assert.equal(received(wire), null, what);
  }
  // Without the bytes, the zxid alone is no proposal either.
  assert.equal(received(overTheWire({ type: "PROPOSAL", zxid: record.zxid })), null);
});

Deno.test("a PROPOSAL with its record as a map (the form before bytes) still parses", () => {
  for (const record of records()) {
    const wire = overTheWire({ type: "PROPOSAL", record });
    assert.equal(recordFromWire(wire), null);
    assert.deepEqual(received(wire), { type: "PROPOSAL", record });
  }
});

Deno.test("the log gets the bytes a record came with, not an encoding of its own", async () => {
  const dir = await Deno.makeTempDir({ prefix: "corral-record-wire-" });
  try {
    const store = await FileStore.open({ dataDir: dir });
    await store.recover();
    const [record] = records();
    // The same record with the txn's keys in another order: other bytes, same meaning. A store
    // that encoded the record again would write the usual order.
    const [zxid, timeMs, sessionId, txn] = recordToBody(record) as [number, number, number, object];
    const reordered = encodeRecordBody([
      zxid,
      timeMs,
      sessionId,
      Object.fromEntries(Object.entries(txn).reverse()),
    ]);
    assert.notDeepEqual(plain(reordered), plain(encodeRecordBody(recordToBody(record))));
    rememberRecordBody(record, reordered);
    const durable = new Promise<void>((resolve) => store.onDurable(() => resolve()));
    store.append([record]);
    await durable;
    await store.close();
    const log = await Deno.readFile(join(dir, storageFileName("log", record.zxid)));
    const first = readRecord(log, fileHeaderBytes);
    assert.equal(first.kind, "record");
    if (first.kind !== "record") return;
    const written = log.subarray(first.offset + 8, first.next);
    assert.deepEqual(plain(written), plain(reordered));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
