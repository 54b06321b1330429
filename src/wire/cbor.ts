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
import { Encoder } from "cbor-x/encode";

/** Options of every CBOR codec in Corral: plain maps with text keys, no cbor-x extensions. */
const options = {
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
  int64AsType: "number",
} as const;

/** A CBOR encoder/decoder with Corral's options. */
export type Cbor = { encode(value: unknown): Uint8Array; decode(bytes: Uint8Array): unknown };

/** Makes a codec with Corral's options (each keeps its own buffers). */
export function makeCbor(): Cbor {
  const codec = new Encoder(options);
  return {
    encode: (value) => codec.encode(value),
    decode: (bytes) => codec.decode(bytes),
  };
}
