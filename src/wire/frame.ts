/**
 * Length-prefixed CBOR framing shared by the client protocol and (later) the peer protocol:
 * each frame is a 4-byte big-endian payload length followed by one CBOR data item.
 * @module
 */
import { Decoder, Encoder } from "cbor-x";

// Plain CBOR maps with string keys, no cbor-x record extensions, so any CBOR library can speak
// the protocol. Integers beyond 2^53 would decode as bigint; the protocol keeps ids below it.
const options = {
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
  int64AsType: "number",
} as const;
const encoder = new Encoder(options);
const decoder = new Decoder(options);

/** Bytes of the length prefix. */
export const frameHeaderBytes = 4;

/** Encodes one message as a complete frame (prefix + CBOR). */
export function encodeFrame(message: unknown): Uint8Array {
  const body = encoder.encode(message);
  const frame = new Uint8Array(frameHeaderBytes + body.byteLength);
  new DataView(frame.buffer).setUint32(0, body.byteLength);
  frame.set(body, frameHeaderBytes);
  return frame;
}

/** Decodes one CBOR item; throws on malformed input or trailing bytes. */
export function decodeBody(body: Uint8Array): unknown {
  return decoder.decode(body);
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
  #buffer: Uint8Array = new Uint8Array(0);
  #failed = false;

  constructor(readonly frameBytesMax: number) {}

  /** Bytes held that do not yet form a whole frame. */
  get bufferedBytes(): number {
    return this.#buffer.byteLength;
  }

  /** Appends bytes and returns every frame now complete, in order. */
  push(chunk: Uint8Array): FrameResult[] {
    if (this.#failed) return [];
    this.#buffer = this.#buffer.byteLength === 0 ? chunk : concat(this.#buffer, chunk);
    const results: FrameResult[] = [];
    let offset = 0;
    const view = new DataView(this.#buffer.buffer, this.#buffer.byteOffset, this.#buffer.byteLength);
    while (this.#buffer.byteLength - offset >= frameHeaderBytes) {
      const length = view.getUint32(offset);
      if (length > this.frameBytesMax) {
        this.#failed = true;
        this.#buffer = new Uint8Array(0);
        results.push({
          ok: false,
          fatal: true,
          reason: `frame of ${length} bytes is over the ${this.frameBytesMax}-byte limit`,
        });
        return results;
      }
      if (length === 0) {
        offset += frameHeaderBytes;
        results.push({ ok: false, fatal: false, reason: "empty frame" });
        continue;
      }
      if (this.#buffer.byteLength - offset - frameHeaderBytes < length) break;
      const body = this.#buffer.subarray(offset + frameHeaderBytes, offset + frameHeaderBytes + length);
      offset += frameHeaderBytes + length;
      try {
        results.push({ ok: true, message: decodeBody(body) });
      } catch (e) {
        results.push({ ok: false, fatal: false, reason: `malformed CBOR: ${(e as Error).message}` });
      }
    }
    // Copy the remainder so a small tail does not pin a large chunk in memory.
    this.#buffer = offset === 0 ? this.#buffer : this.#buffer.slice(offset);
    return results;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}
