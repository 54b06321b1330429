/**
 * Record framing (docs/STORAGE.md): the checksum, the length-prefixed records and the file
 * header that every log, snapshot and epochs file starts with.
 * @module
 */
import assert from "../assert.ts";
import { bodyToNode, nodesToBodies, nodeToBody } from "../../src/storage/codec.ts";
import fc from "fast-check";
import { crc32, crc32Portable } from "../../src/storage/crc32.ts";
import { DataTree } from "../../src/tree/data_tree.ts";
import { nodesDigest } from "../../src/tree/digest.ts";
import { type Stat, statFields } from "../../src/tree/types.ts";
import {
  checkFileHeader,
  encodeRecord,
  fileHeader,
  fileHeaderBytes,
  readRecord,
  recordHeaderBytes,
  storageFormatVersion,
} from "../../src/storage/record.ts";

const text = (s: string) => new TextEncoder().encode(s);

/** Records framed one after the other, after `prefix` bytes of something else. */
function framed(values: unknown[], prefix = 0): { bytes: Uint8Array; starts: number[] } {
  const frames = values.map((v) => encodeRecord(v));
  const bytes = new Uint8Array(prefix + frames.reduce((n, f) => n + f.byteLength, 0));
  const starts: number[] = [];
  let offset = prefix;
  for (const frame of frames) {
    starts.push(offset);
    bytes.set(frame, offset);
    offset += frame.byteLength;
  }
  return { bytes, starts };
}

Deno.test('crc32() matches the IEEE check value for "123456789"', () => {
  for (const f of [crc32, crc32Portable]) {
    assert.equal(f(text("123456789")), 0xcbf43926);
    assert.equal(f(new Uint8Array()), 0);
    assert.equal(f(text("The quick brown fox jumps over the lazy dog")), 0x414fa339);
  }
});

Deno.test("crc32() and the portable crc32 agree on any bytes, views into larger buffers too", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(8), fc.nat(8), (bytes, head, tail) => {
      // A view with bytes before and after it: only the view's own bytes count.
      const outer = new Uint8Array(head + bytes.byteLength + tail).fill(0xa5);
      outer.set(bytes, head);
      const view = outer.subarray(head, head + bytes.byteLength);
      assert.equal(crc32(view), crc32Portable(bytes));
      assert.equal(crc32(bytes), crc32Portable(view));
    }),
    { seed: 7, numRuns: 500 },
  );
});

Deno.test("encodeRecord() and readRecord() round-trip values at their offsets", () => {
  const values = [
    [1, 2, 3],
    { nodes: [["/a", new Uint8Array([0, 255, 7]), [], [1, 2]]] },
    "text",
    { end: true, nodeCount: 2 ** 40 },
  ];
  const { bytes, starts } = framed(values, 5);
  let offset = 5;
  for (const [i, value] of values.entries()) {
    const read = readRecord(bytes, offset);
    assert.equal(read.kind, "record", `record ${i}`);
    if (read.kind !== "record") return;
    assert.equal(read.offset, starts[i]);
    assert.equal(
      JSON.stringify(read.value, (_, v) => v instanceof Uint8Array ? [...v] : v),
      JSON.stringify(value, (_, v) => v instanceof Uint8Array ? [...v] : v),
    );
    offset = read.next;
  }
  assert.deepEqual(readRecord(bytes, offset), { kind: "end", offset: bytes.byteLength });
});

Deno.test("encodeRecord() frames a body as big-endian length, CRC-32 of the body, body", () => {
  const frame = encodeRecord("hi");
  const view = new DataView(frame.buffer);
  const body = frame.subarray(recordHeaderBytes);
  assert.equal(view.getUint32(0), body.byteLength);
  assert.equal(view.getUint32(4), crc32(body));
});

Deno.test("readRecord() reports a record header cut short as damaged at its offset", () => {
  const { bytes, starts } = framed(["first", "second"]);
  for (let keep = 1; keep < recordHeaderBytes; keep++) {
    const cut = bytes.subarray(0, starts[1] + keep);
    assert.deepEqual(readRecord(cut, starts[1]), {
      kind: "damaged",
      offset: starts[1],
      reason: "record header cut short",
    });
  }
});

Deno.test("readRecord() reports a record body cut short as damaged at its offset", () => {
  const { bytes, starts } = framed(["first", "a longer second record"]);
  for (let end = starts[1] + recordHeaderBytes; end < bytes.byteLength; end++) {
    assert.deepEqual(readRecord(bytes.subarray(0, end), starts[1]), {
      kind: "damaged",
      offset: starts[1],
      reason: "record body cut short",
    });
  }
});

Deno.test("readRecord() reports any flipped body byte as a checksum mismatch at the record's offset", () => {
  const { bytes, starts } = framed(["first", { second: [1, 2, 3] }]);
  for (let at = starts[1] + recordHeaderBytes; at < bytes.byteLength; at++) {
    const damaged = bytes.slice();
    damaged[at] ^= 0x01;
    assert.deepEqual(readRecord(damaged, starts[1]), {
      kind: "damaged",
      offset: starts[1],
      reason: "checksum mismatch",
    });
  }
  assert.equal(readRecord(bytes, starts[0]).kind, "record", "the record before is untouched");
});

Deno.test("readRecord() reports a zero or oversized length as implausible", () => {
  const zeros = new Uint8Array(64);
  const read = readRecord(zeros, 0);
  assert.equal(read.kind, "damaged");
  assert.match(read.kind === "damaged" ? read.reason : "", /implausible record length 0/);
  const huge = encodeRecord("x");
  new DataView(huge.buffer).setUint32(0, 0xffffffff);
  const hugeRead = readRecord(huge, 0);
  assert.match(hugeRead.kind === "damaged" ? hugeRead.reason : "", /implausible record length/);
});

Deno.test("readRecord() reports a body with a good checksum that is not CBOR as damaged", () => {
  const body = new Uint8Array([0x1c]); // a reserved CBOR initial byte
  const frame = new Uint8Array(recordHeaderBytes + body.byteLength);
  const view = new DataView(frame.buffer);
  view.setUint32(0, body.byteLength);
  view.setUint32(4, crc32(body));
  frame.set(body, recordHeaderBytes);
  const read = readRecord(frame, 0);
  assert.equal(read.kind, "damaged");
  assert.match(read.kind === "damaged" ? read.reason : "", /not CBOR/);
});

Deno.test("fileHeader() writes the magic and the format version, and checkFileHeader() accepts it", () => {
  const header = fileHeader("CORRALLG");
  assert.equal(header.byteLength, fileHeaderBytes);
  assert.equal(new TextDecoder().decode(header.subarray(0, 8)), "CORRALLG");
  assert.equal(new DataView(header.buffer).getUint32(8), storageFormatVersion);
  assert.equal(checkFileHeader(header, "CORRALLG"), null);
  assert.throws(() => fileHeader("SHORT"), RangeError);
});

Deno.test("checkFileHeader() rejects a bad magic, another format version and a short file", () => {
  const header = fileHeader("CORRALLG");
  assert.equal(
    checkFileHeader(header, "CORRALSN"),
    `bad magic "CORRALLG", expected "CORRALSN"`,
  );
  const future = header.slice();
  new DataView(future.buffer).setUint32(8, storageFormatVersion + 1);
  assert.equal(
    checkFileHeader(future, "CORRALLG"),
    `format version ${
      storageFormatVersion + 1
    } is not supported (this build reads ${storageFormatVersion})`,
  );
  assert.equal(
    checkFileHeader(header.subarray(0, 10), "CORRALLG"),
    `shorter than its ${fileHeaderBytes}-byte header`,
  );
});

Deno.test("nodeToBody() and bodyToNode() keep null data apart from empty data", () => {
  const stat = Object.fromEntries(statFields.map((f) => [f, 0])) as unknown as Stat;
  const base = { path: "/n", data: new Uint8Array(0), acl: [], stat };
  const nullNode = bodyToNode(nodeToBody({ ...base, dataNull: true }));
  assert.deepEqual(nullNode, { ...base, dataNull: true });
  assert.deepEqual(bodyToNode(nodeToBody(base)), base);
  const tree = new DataTree();
  tree.apply({
    zxid: 1,
    timeMs: 0,
    sessionId: 0,
    txn: {
      type: "create",
      path: "/n",
      data: new Uint8Array(0),
      acl: [],
      ephemeralOwner: 0,
      parentCversion: 0,
      dataNull: true,
    },
  });
  const restored = DataTree.fromNodes(tree.exportNodes(), 1);
  assert.equal(restored.getData("/n")?.dataNull, true);
  assert.notEqual(
    nodesDigest(tree.exportNodes()),
    nodesDigest(tree.exportNodes().map(({ dataNull: _, ...node }) => node)),
    "the digest tells null data from empty data",
  );
});

Deno.test("nodeToBody() hands the encoder a copy of the node's data, not the tree's own array", () => {
  // cbor-x asks each typed array it writes for its `.buffer`, which would leave the tree's small
  // values each wrapped in an ArrayBuffer of its own after every snapshot.
  const stat = Object.fromEntries(statFields.map((f) => [f, 0])) as unknown as Stat;
  const data = new TextEncoder().encode("value");
  const body = nodeToBody({ path: "/n", data, acl: [], stat }) as unknown[];
  assert.deepEqual(body[1], data);
  assert.notEqual(body[1], data);
  const other = new TextEncoder().encode("other");
  const bodies = nodesToBodies([
    { path: "/a", data, acl: [], stat },
    { path: "/b", data: new Uint8Array(0), dataNull: true, acl: [], stat },
    { path: "/c", data: other, acl: [], stat },
  ]) as unknown[][];
  assert.deepEqual(bodies.map((b) => b[1]), [data, null, other]);
  assert.notEqual(bodies[2][1], other);
  // A value restored from a snapshot is a view into the decoded file: it has its ArrayBuffer.
  const view = new Uint8Array(8).subarray(2, 5);
  assert.equal((nodeToBody({ path: "/v", data: view, acl: [], stat }) as unknown[])[1], view);
});
