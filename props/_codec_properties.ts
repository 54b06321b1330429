/**
 * The codec round-trip properties, shared by `codec_test.ts` (in process, cbor-x's JavaScript
 * decoder) and `cbor_native_test.ts` (in a child process, with cbor-x's native extractor).
 * @module
 */
import fc from "fast-check";
import assert from "../tests/assert.ts";
import { encodeFrame, FrameDecoder, type FrameResult } from "../src/wire/frame.ts";
import { type ClientRequest, parseRequest } from "../src/wire/messages.ts";
import {
  clientRequestArb,
  concatBytes,
  cutsArb,
  serverMessageArb,
  splitAt,
} from "./_wire_arbitraries.ts";

/** What the properties need of a frame decoder. */
export interface Decoder {
  push(chunk: Uint8Array): FrameResult[];
  readonly bufferedBytes: number;
}

/** Frame limit of the decoders under test: far above anything generated. */
export const frameBytesMax = 1024 * 1024;

/** A real decoder. */
export const realDecoder = (): Decoder => new FrameDecoder(frameBytesMax);

/** Feeds the frames of `messages`, concatenated and cut at `cuts`, to `decoder`. */
function decodeAll(
  decoder: Decoder,
  messages: readonly unknown[],
  cuts: readonly number[],
): FrameResult[] {
  const stream = concatBytes(messages.map(encodeFrame));
  return splitAt(stream, cuts).flatMap((chunk) => decoder.push(chunk));
}

/** Up to five valid requests, and where to cut their stream. */
export const requestsAndCutsArb: fc.Arbitrary<[ClientRequest[], number[]]> = fc.tuple(
  fc.array(clientRequestArb, { minLength: 1, maxLength: 5 }),
  cutsArb,
);

/** Asserts that `requests`, framed, cut at `cuts` and fed to `decoder`, parse back to themselves. */
export function assertRequestsRoundTrip(
  decoder: Decoder,
  requests: readonly ClientRequest[],
  cuts: readonly number[],
): void {
  const results = decodeAll(decoder, requests, cuts);
  const parsed = results.map((result) => {
    assert.ok(result.ok, `every frame decodes: ${JSON.stringify(result)}`);
    return parseRequest(result.message);
  });
  assert.deepStrictEqual(parsed, requests.map((value) => ({ ok: true, value })));
  assert.equal(decoder.bufferedBytes, 0, "nothing is left over after whole frames");
}

/** Valid requests, framed, cut anywhere and decoded, parse back to themselves. */
export function requestsRoundTrip(makeDecoder: () => Decoder) {
  return fc.property(
    requestsAndCutsArb,
    ([requests, cuts]) => assertRequestsRoundTrip(makeDecoder(), requests, cuts),
  );
}

/** Server messages, framed, cut anywhere and decoded, are equal to what was sent. */
export function serverMessagesRoundTrip(makeDecoder: () => Decoder) {
  return fc.property(
    fc.array(serverMessageArb, { minLength: 1, maxLength: 5 }),
    cutsArb,
    (messages, cuts) => {
      const decoder = makeDecoder();
      const results = decodeAll(decoder, messages, cuts);
      assert.deepStrictEqual(results, messages.map((message) => ({ ok: true, message })));
      assert.equal(decoder.bufferedBytes, 0, "nothing is left over after whole frames");
    },
  );
}
