/**
 * The one door to cbor-x. Everything that encodes or decodes CBOR imports from here.
 *
 * Why this file exists: the package root (`"cbor-x"`) loads the `cbor-extract` native add-on for
 * faster string decoding, and under Deno that add-on kills the process (an unresolved V8 symbol)
 * as soon as it decodes a non-ASCII string, so any client could crash a server. The
 * `"cbor-x/encode"` entry is the pure-JavaScript build on every runtime, and its `Encoder` extends
 * `Decoder`, so it does both jobs. Importing the package root anywhere in a process would switch
 * the shared decoder to native again: tests/layering_test.ts forbids it.
 * @module
 */
import { addExtension, Encoder } from "cbor-x/encode";

/** Options of every CBOR codec in Corral: plain maps with text keys, no cbor-x records or tags. */
const options = {
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
  int64AsType: "number",
} as const;

/**
 * The client protocol's map keys from version 2 on (docs/PROTOCOL.md, "Keys"): a key found here
 * goes on the wire as its position in this list, a small integer, and any other key as its text.
 * Decoding a key costs a lookup instead of building a string, which is most of what decoding a
 * response cost (the 11 keys of a stat alone). The most frequent come first: positions below 24
 * take one byte. Version 2 never changes this list; a name added later goes as text.
 */
export const clientKeys: readonly string[] = [
  // 0-23, one byte each.
  "t",
  "xid",
  "zxid",
  "op",
  "path",
  "data",
  "stat",
  "version",
  "err",
  "message",
  "czxid",
  "mzxid",
  "pzxid",
  "ctime",
  "mtime",
  "cversion",
  "aversion",
  "ephemeralOwner",
  "dataLength",
  "numChildren",
  "watch",
  "children",
  "type",
  "acl",
  // 24 and on, two bytes each.
  "perms",
  "scheme",
  "id",
  "mode",
  "ttlMs",
  "ops",
  "results",
  "readResults",
  "dataNull",
  "count",
  "prefix",
  "ephemerals",
  "clientInfo",
  "user",
  "auth",
  "relativeZxid",
  "dataWatches",
  "existWatches",
  "childWatches",
  "persistentWatches",
  "persistentRecursiveWatches",
  "proto",
  "timeoutMs",
  "sessionId",
  "password",
  "lastZxid",
  "serverId",
  "limits",
  "frameBytesMax",
  "dataBytesMax",
  "pendingRequestsMax",
  "offset",
  "length",
];

/**
 * Byte strings up to this size are copied before cbor-x writes them (see the extension below).
 * Larger arrays live outside JavaScriptCore's cells anyway, where asking for `.buffer` costs no
 * copy and little memory next to the bytes.
 */
const copiedBytesMax = 4096;

/**
 * Whether cbor-x tags a Uint8Array by default in this runtime (it does where it sees Node's
 * Buffer), asked of a default encoder before the writer below is registered.
 */
const taggedByDefault = new Encoder({ useRecords: false }).encode(new Uint8Array(0))[0] === 0xd8;

/**
 * How cbor-x writes a Uint8Array (or Buffer): the bytes cbor-x's own writer writes, but without
 * asking the array for its `.buffer`. cbor-x's own writer does ask, and on JavaScriptCore that
 * moves a small typed array's bytes out of line behind an ArrayBuffer object of its own, for good:
 * a znode's value read once over Corral's protocol grew from about 160 to about 310 bytes of heap.
 * So small arrays are copied into a fresh ArrayBuffer, which cbor-x writes as it is; larger ones,
 * and views into an ArrayBuffer, go as a DataView. Registered once, ahead of cbor-x's built-in
 * typed array writers; the registration is cbor-x's, so it also serves an application's own
 * encoders in the same process, and so the tag follows cbor-x's own rule.
 */
const uint8ArrayWriter = {
  Class: Uint8Array,
  /**
   * As cbor-x's own: tag 64 for an encoder that asks for it, or by default where Node's Buffer
   * exists; none for Corral's codecs (`tagUint8Array: false`) and for Buffers.
   */
  getTag(this: { tagUint8Array?: boolean }, bytes: Uint8Array): number | undefined {
    if (bytes.constructor !== Uint8Array) return undefined;
    const tagged = this.tagUint8Array || (taggedByDefault && this.tagUint8Array !== false);
    return tagged ? 64 : undefined;
  },
  /** Writes the bytes; cbor-x ignores the result, which its typings ask for. */
  encode(bytes: Uint8Array, encode: (value: unknown) => Uint8Array): Uint8Array {
    // A non-zero offset means a view into an existing ArrayBuffer, which asking costs nothing.
    if (bytes.byteLength <= copiedBytesMax && bytes.byteOffset === 0) {
      const copy = new ArrayBuffer(bytes.byteLength);
      new Uint8Array(copy).set(bytes);
      return encode(copy);
    }
    return encode(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  },
};
// cbor-x's typings want a fixed tag and a decoder too; a writer with neither is what it supports.
addExtension(uint8ArrayWriter as unknown as Parameters<typeof addExtension>[0]);

/** A CBOR encoder/decoder with Corral's options. */
export type Cbor = { encode(value: unknown): Uint8Array; decode(bytes: Uint8Array): unknown };

/**
 * Makes a codec with Corral's options (each keeps its own buffers). A `keyed` one encodes the
 * keys in {@linkcode clientKeys} as their positions; it decodes maps with either kind of key, so
 * it reads a version 1 client's frames as they are.
 */
export function makeCbor(keyed = false): Cbor {
  const codec = new Encoder(
    keyed ? { ...options, keyMap: Object.fromEntries(clientKeys.map((k, i) => [k, i])) } : options,
  );
  return {
    encode: (value) => codec.encode(value),
    decode: (bytes) => codec.decode(bytes),
  };
}
