/**
 * The wire codec round-trips (docs/PROTOCOL.md): every valid request, framed with `encodeFrame`
 * and fed to a `FrameDecoder` in arbitrary chunks, comes back from `parseRequest` equal to what
 * was sent; every server message survives the same trip. The twin proves the property notices a
 * decoder that loses a byte at a chunk boundary.
 * @module
 */
import { FrameDecoder, type FrameResult } from "../src/wire/frame.ts";
import { assertFindsBug, assertProperty } from "./_props.ts";
import {
  type Decoder,
  frameBytesMax,
  realDecoder,
  requestsRoundTrip,
  serverMessagesRoundTrip,
} from "./_codec_properties.ts";

/** A broken decoder: it drops the last byte of every chunk it is given. */
class DropsLastByteOfEachChunk implements Decoder {
  #inner = new FrameDecoder(frameBytesMax);
  push(chunk: Uint8Array): FrameResult[] {
    return this.#inner.push(chunk.subarray(0, Math.max(0, chunk.byteLength - 1)));
  }
  get bufferedBytes(): number {
    return this.#inner.bufferedBytes;
  }
}

const requestsName =
  "parseRequest(FrameDecoder.push(encodeFrame(request))) gives back every valid request, however the stream is cut";
Deno.test(requestsName, () => {
  assertProperty({ url: import.meta.url, testName: requestsName }, requestsRoundTrip(realDecoder), {
    runs: 300,
  });
});

const serverName =
  "FrameDecoder.push(encodeFrame(message)) gives back every server message, however the stream is cut";
Deno.test(serverName, () => {
  assertProperty(
    { url: import.meta.url, testName: serverName },
    serverMessagesRoundTrip(realDecoder),
    { runs: 300 },
  );
});

const twinName =
  "the codec round-trip property catches a decoder that drops a byte at a chunk boundary";
Deno.test(twinName, () => {
  const broken = () => new DropsLastByteOfEachChunk();
  assertFindsBug({ url: import.meta.url, testName: twinName }, requestsRoundTrip(broken), {
    runs: 50,
  });
});
