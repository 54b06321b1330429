/**
 * How src/wire/cbor.ts writes byte strings: the same bytes as cbor-x's own writer, without asking
 * the caller's array for its `.buffer` (which on JavaScriptCore moves a small typed array's bytes
 * out of line for good, and so grew every znode value read over Corral's protocol).
 * @module
 */
import { Buffer } from "node:buffer";
import { Encoder } from "cbor-x/encode";
import assert from "../assert.ts";
import { makeCbor } from "../../src/wire/cbor.ts";
import { encodeFrame, encodeKeyedFrame } from "../../src/wire/frame.ts";

const bufferGetter = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype),
  "buffer",
)!.get!;

/** `bytes`, counting every read of its `buffer` property into `reads.count`. */
function watched(bytes: Uint8Array, reads: { count: number }): Uint8Array {
  Object.defineProperty(bytes, "buffer", {
    get() {
      reads.count++;
      return bufferGetter.call(bytes);
    },
  });
  return bytes;
}

/** CBOR's byte string of `bytes`, written out by hand: major type 2, then the bytes. */
function byteString(bytes: Uint8Array): Uint8Array {
  const n = bytes.byteLength;
  const head = n < 24
    ? [0x40 + n]
    : n < 0x100
    ? [0x58, n]
    : n < 0x10000
    ? [0x59, n >> 8, n & 0xff]
    : [0x5a, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  return new Uint8Array([...head, ...bytes]);
}

function filled(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);
}

Deno.test("cbor: a small Uint8Array is written as a plain byte string without reading its .buffer", () => {
  for (const length of [1, 23, 24, 100, 255, 256, 4096]) {
    for (const keyed of [false, true]) {
      const cbor = makeCbor(keyed);
      const reads = { count: 0 };
      const bytes = watched(filled(length, length), reads);
      const encoded = cbor.encode(bytes);
      assert.deepEqual(Uint8Array.from(encoded), byteString(filled(length, length)), `${length} B`);
      assert.equal(reads.count, 0, `${length} bytes, keyed ${keyed}: .buffer was read`);
      assert.deepEqual(Uint8Array.from(cbor.decode(encoded) as Uint8Array), filled(length, length));
    }
  }
});

Deno.test("cbor: a value inside a response frame is left as it was, in both key kinds", () => {
  const reads = { count: 0 };
  const data = watched(filled(100, 7), reads);
  const stat = { version: 3, dataLength: 100 };
  for (const frame of [encodeFrame, encodeKeyedFrame]) {
    const bytes = frame({ t: "res", xid: 9, data, stat });
    const body = bytes.subarray(4);
    const decoded = (frame === encodeFrame ? makeCbor() : makeCbor(true)).decode(body);
    assert.deepEqual(decoded, { t: "res", xid: 9, data: filled(100, 7), stat });
  }
  assert.equal(reads.count, 0);
});

Deno.test("cbor: views, large arrays and Buffers are byte strings of exactly their bytes", () => {
  const cbor = makeCbor();
  const whole = filled(10_000, 3);
  const cases: Array<[string, Uint8Array]> = [
    ["a view at an offset", whole.subarray(17, 117)],
    ["a view at offset 0 of a larger buffer", whole.subarray(0, 50)],
    ["an array over 4 KiB", filled(4097, 1)],
    ["a 70,000-byte array", filled(70_000, 2)],
    ["a Buffer", Buffer.from(filled(64, 5))],
    ["an empty array", new Uint8Array(0)],
  ];
  for (const [name, bytes] of cases) {
    const encoded = cbor.encode(bytes);
    assert.deepEqual(Uint8Array.from(encoded), byteString(Uint8Array.from(bytes)), name);
    assert.deepEqual(
      Uint8Array.from(cbor.decode(encoded) as Uint8Array),
      Uint8Array.from(bytes),
      name,
    );
  }
  // The source of a view is not touched either.
  assert.deepEqual(whole, filled(10_000, 3));
});

Deno.test("cbor: an application's own cbor-x encoders keep cbor-x's tagging of Uint8Arrays", () => {
  // The writer is registered with cbor-x itself, so it serves every encoder in the process. It
  // must write what cbor-x's own writer wrote: tag 64 by default where Node's Buffer exists (as in
  // Deno and Bun), none when asked not to, none for a Buffer.
  const defaults = new Encoder({ useRecords: false });
  assert.deepEqual(
    Uint8Array.from(defaults.encode(new Uint8Array([1, 2, 3]))),
    new Uint8Array([0xd8, 0x40, 0x43, 1, 2, 3]),
  );
  assert.deepEqual(
    Uint8Array.from(defaults.encode(Buffer.from([1, 2, 3]))),
    new Uint8Array([0x43, 1, 2, 3]),
  );
  const untagged = new Encoder({ useRecords: false, tagUint8Array: false });
  assert.deepEqual(
    Uint8Array.from(untagged.encode(new Uint8Array([1, 2, 3]))),
    new Uint8Array([0x43, 1, 2, 3]),
  );
  const tagged = new Encoder({ useRecords: false, tagUint8Array: true });
  assert.deepEqual(
    Uint8Array.from(tagged.encode(new Uint8Array([4]))),
    new Uint8Array([0xd8, 0x40, 0x41, 4]),
  );
});
