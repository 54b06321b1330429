/**
 * Length-prefixed CBOR framing shared by the client protocol and (later) the peer protocol:
 * each frame is a 4-byte big-endian payload length followed by one CBOR data item.
 * @module
 */

import { type Cbor, makeCbor } from "./cbor.ts";

// Plain CBOR maps, no cbor-x record extensions, so any CBOR library can speak the protocol: keys
// as text, or (the client protocol from version 2 on) the keys of src/wire/cbor.ts's table as
// small integers. Integers stay below 2^53 by design, so they decode as numbers.
const cbor = makeCbor();
const keyedCbor = makeCbor(true);

/** Bytes of the length prefix. */
export const frameHeaderBytes = 4;

/** Encodes one message as a complete frame (prefix + CBOR), every map key as text. */
export function encodeFrame(message: unknown): Uint8Array {
  return frameOf(cbor.encode(message));
}

/**
 * Encodes one message as a complete frame with the client protocol's known keys as integers
 * (version 2, src/wire/cbor.ts).
 */
export function encodeKeyedFrame(message: unknown): Uint8Array {
  return frameOf(keyedCbor.encode(message));
}

function frameOf(body: Uint8Array): Uint8Array {
  // The ArrayBuffer comes first: asking a typed array for `.buffer` is slow on JavaScriptCore.
  const buffer = new ArrayBuffer(frameHeaderBytes + body.byteLength);
  new DataView(buffer).setUint32(0, body.byteLength);
  const frame = new Uint8Array(buffer);
  frame.set(body, frameHeaderBytes);
  return frame;
}

/** Decodes one CBOR item; throws on malformed input or trailing bytes. */
export function decodeBody(body: Uint8Array): unknown {
  return cbor.decode(body);
}

/** What {@linkcode FrameDecoder.push} yields: a decoded message, or a framing failure. */
export type FrameResult =
  | { ok: true; message: unknown }
  | { ok: false; reason: string; fatal: boolean };

/**
 * Incremental frame splitter: feed it bytes as they arrive, get whole messages out.
 *
 * A frame whose declared length exceeds `frameBytesMax` is fatal (the stream cannot be
 * resynchronised). A frame whose body is not valid CBOR is reported but not fatal: its length
 * was honest, so the next frame still starts at a known offset.
 *
 * @example
 * ```ts
 * import { encodeFrame, FrameDecoder } from "./frame.ts";
 * const decoder = new FrameDecoder(1024);
 * const [result] = decoder.push(encodeFrame({ op: "ping", xid: 1 }));
 * ```
 */
export class FrameDecoder {
  /** Chunks received and not yet parsed; joined only once a whole frame (or header) is there. */
  #chunks: Uint8Array[] = [];
  #bytes = 0;
  /** Bytes needed before parsing can make progress: a header, or a header plus its body. */
  #needed = frameHeaderBytes;
  #failed = false;

  readonly #codec: Cbor;

  /**
   * `keyed`: read the client protocol's integer keys as their names (version 2, src/wire/cbor.ts);
   * text keys read as they are either way.
   */
  constructor(readonly frameBytesMax: number, keyed = false) {
    this.#codec = keyed ? keyedCbor : cbor;
  }

  /** Bytes held that do not yet form a whole frame. */
  get bufferedBytes(): number {
    return this.#bytes;
  }

  /**
   * Appends bytes and returns every complete frame. `chunk` is kept, not copied (adapters hand
   * chunks over for good: src/net/types.ts), and decoded byte strings are views into it.
   */
  push(chunk: Uint8Array): FrameResult[] {
    if (this.#failed || chunk.byteLength === 0) return [];
    this.#chunks.push(chunk);
    this.#bytes += chunk.byteLength;
    // Waiting for the rest of a large frame costs nothing per chunk: no copying until it is whole.
    if (this.#bytes < this.#needed) return [];
    const buffer = this.#chunks.length === 1
      ? this.#chunks[0]
      : concatBytes(this.#chunks, this.#bytes);
    const results: FrameResult[] = [];
    const offset = this.#parse(buffer, results);
    // Copy the remainder so a small tail does not pin a large chunk in memory.
    const rest = this.#failed ? new Uint8Array(0) : buffer.slice(offset);
    this.#chunks = rest.byteLength > 0 ? [rest] : [];
    this.#bytes = rest.byteLength;
    return results;
  }

  /** Parses whole frames from `buffer`; returns the offset of the first unparsed byte. */
  #parse(buffer: Uint8Array, results: FrameResult[]): number {
    const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    let offset = 0;
    this.#needed = frameHeaderBytes;
    while (buffer.byteLength - offset >= frameHeaderBytes) {
      const length = view.getUint32(offset);
      if (length > this.frameBytesMax) {
        this.#failed = true;
        results.push({
          ok: false,
          fatal: true,
          reason: `frame of ${length} bytes is over the ${this.frameBytesMax}-byte limit`,
        });
        return buffer.byteLength;
      }
      if (length === 0) {
        offset += frameHeaderBytes;
        results.push({ ok: false, fatal: false, reason: "empty frame" });
        continue;
      }
      if (buffer.byteLength - offset - frameHeaderBytes < length) {
        this.#needed = frameHeaderBytes + length;
        break;
      }
      const body = buffer.subarray(offset + frameHeaderBytes, offset + frameHeaderBytes + length);
      offset += frameHeaderBytes + length;
      try {
        results.push({ ok: true, message: this.#codec.decode(body) });
      } catch (e) {
        results.push({
          ok: false,
          fatal: false,
          reason: `malformed CBOR: ${(e as Error).message}`,
        });
      }
    }
    return offset;
  }
}

/** Concatenates byte arrays into one (`total`, when known, saves a pass over them). */
export function concatBytes(chunks: readonly Uint8Array[], total?: number): Uint8Array {
  const out = new Uint8Array(total ?? chunks.reduce((sum, c) => sum + c.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
