/**
 * Fuzzing the untrusted edge (docs/PROTOCOL.md): arbitrary byte streams and arbitrary CBOR values
 * fed to `FrameDecoder.push`, `parseRequest` and `parseConnect`. Nothing throws; framing matches
 * a naive scanner; a declared length over the limit is always fatal; and whatever the validators
 * accept fits its schema (`_schema.ts`). The twin proves the schema check notices a validator
 * that lets an invalid path through.
 * @module
 */
import fc from "fast-check";
// The pure-JavaScript entry (see src/wire/cbor.ts): the package root would load a native add-on.
import { Encoder } from "cbor-x/encode";
import assert from "../tests/assert.ts";
import { dataBytesMax, multiOpsMax, pathBytesMax } from "../src/constants.ts";
import { createModes, errorCodes } from "../src/tree/types.ts";
import { encodeFrame, FrameDecoder, type FrameResult } from "../src/wire/frame.ts";
import { type ClientRequest, parseConnect, parseRequest } from "../src/wire/messages.ts";
import { assertFindsBug, assertProperty } from "./_props.ts";
import { connectViolations, requestViolations } from "./_schema.ts";
import {
  aclArb,
  clientRequestArb,
  concatBytes,
  cutsArb,
  pathArb,
  splitAt,
} from "./_wire_arbitraries.ts";

/** A small frame limit, so random lengths are often over it and valid frames often under it. */
const smallFrameBytesMax = 256;

/** The validators under test (the real ones, or a broken twin). */
interface Validators {
  parseRequest: typeof parseRequest;
  parseConnect: typeof parseConnect;
}

const realValidators: Validators = { parseRequest, parseConnect };

// ---- generators ---------------------------------------------------------------------------------

function frameOf(body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(4 + body.byteLength);
  new DataView(frame.buffer).setUint32(0, body.byteLength);
  frame.set(body, 4);
  return frame;
}

function headerOf(length: number): Uint8Array {
  const header = new Uint8Array(4);
  new DataView(header.buffer).setUint32(0, length);
  return header;
}

// Other CBOR dialects a hostile or sloppy client could send: cbor-x records, packed, tagged bytes.
const recordsEncoder = new Encoder({ useRecords: true });
const packedEncoder = new Encoder({ useRecords: false, pack: true, tagUint8Array: true });

/** Pieces of a byte stream: honest frames, garbage, and lengths over the limit. */
const segmentArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { arbitrary: fc.anything().map((v) => encodeFrame(v)), weight: 3 },
  { arbitrary: fc.anything().map((v) => frameOf(recordsEncoder.encode(v))), weight: 1 },
  { arbitrary: fc.anything().map((v) => frameOf(packedEncoder.encode(v))), weight: 1 },
  { arbitrary: fc.uint8Array({ maxLength: 40 }).map(frameOf), weight: 2 },
  { arbitrary: fc.uint8Array({ maxLength: 12 }), weight: 1 },
  {
    arbitrary: fc.integer({ min: smallFrameBytesMax + 1, max: 0xffffffff }).map(headerOf),
    weight: 1,
  },
);

const junkArb = fc.oneof(fc.anything(), fc.constantFrom(undefined, null, true, "", 0));
const intishArb = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(0x7fffffff, 0x80000000, -0x80000001, 2 ** 53, -(2 ** 53), 1.5, NaN, Infinity, -0),
  fc.maxSafeInteger(),
  fc.double(),
  junkArb,
);
const invalidPathArb = fc.oneof(
  fc.constantFrom(
    "",
    "a",
    "/a/",
    "//",
    "/a//b",
    "/.",
    "/..",
    "/a/..",
    "/a/./b",
    "/\0",
    "/a\u0001b",
    "/\u007f",
  ),
  fc.constantFrom(
    "/\u009f",
    "/\ud800",
    "/\udfff",
    "/\ue000",
    "/\uf8ff",
    "/\ufff0",
    "/\uffff",
    "/" + "x".repeat(pathBytesMax),
  ),
  fc.string({ unit: "binary", maxLength: 8 }),
  fc.tuple(pathArb, fc.constantFrom("/", "//", "/.", "\0", "\u0010", "\ud83d\ude00")).map((
    [p, bad],
  ) => p + bad),
);
const pathishArb = fc.oneof({ arbitrary: pathArb, weight: 3 }, {
  arbitrary: invalidPathArb,
  weight: 3,
}, { arbitrary: junkArb, weight: 1 });
const bytesishArb = fc.oneof({ arbitrary: fc.uint8Array({ maxLength: 8 }), weight: 3 }, {
  arbitrary: junkArb,
  weight: 1,
});
const aclishArb = fc.oneof(
  aclArb,
  fc.array(
    fc.record({
      perms: intishArb,
      scheme: fc.oneof(fc.string(), junkArb),
      id: fc.oneof(fc.string(), junkArb),
    }, { requiredKeys: [] }),
  ),
  junkArb,
);
const modeishArb = fc.oneof(fc.constantFrom(...createModes, "container", "PERSISTENT"), junkArb);
const opNames = [
  "create",
  "delete",
  "setData",
  "check",
  "exists",
  "getData",
  "getChildren",
  "getACL",
  "setACL",
  "sync",
  "multi",
  "ping",
  "close",
  "addAuth",
  "setWatches",
];
const nearMultiOpArb = fc.record(
  {
    op: fc.oneof(
      fc.constantFrom("check", "create", "setData", "delete", "multi", "bogus"),
      junkArb,
    ),
    path: pathishArb,
    data: bytesishArb,
    version: intishArb,
    acl: aclishArb,
    mode: modeishArb,
  },
  { requiredKeys: [], noNullPrototype: true },
);

/** Maps that look like requests or connects, with every field sometimes right, sometimes not. */
const nearMessageArb = fc.record(
  {
    xid: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 0x7fffffff }), weight: 4 }, {
      arbitrary: intishArb,
      weight: 1,
    }),
    op: fc.oneof({ arbitrary: fc.constantFrom(...opNames, "connect"), weight: 6 }, {
      arbitrary: junkArb,
      weight: 1,
    }),
    path: pathishArb,
    data: bytesishArb,
    version: intishArb,
    watch: fc.oneof(fc.boolean(), junkArb),
    acl: aclishArb,
    mode: modeishArb,
    ops: fc.oneof(fc.array(nearMultiOpArb, { maxLength: 3 }), junkArb),
    scheme: fc.oneof(fc.string(), junkArb),
    auth: bytesishArb,
    relativeZxid: intishArb,
    dataWatches: fc.oneof(fc.array(pathishArb, { maxLength: 3 }), junkArb),
    existWatches: fc.oneof(fc.array(pathishArb, { maxLength: 3 }), junkArb),
    childWatches: fc.oneof(fc.array(pathishArb, { maxLength: 3 }), junkArb),
    proto: fc.oneof(fc.constantFrom(1, 2), intishArb),
    timeoutMs: intishArb,
    sessionId: intishArb,
    password: bytesishArb,
    lastZxid: intishArb,
  },
  { requiredKeys: [], noNullPrototype: true },
);

const mostly = <T>(good: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: good, weight: 4 }, {
    arbitrary: intishArb as fc.Arbitrary<unknown>,
    weight: 1,
  });

/** Maps that look like a connect request. */
const nearConnectArb = fc.record(
  {
    op: fc.oneof({ arbitrary: fc.constant("connect"), weight: 4 }, {
      arbitrary: junkArb,
      weight: 1,
    }),
    proto: mostly(fc.constantFrom(1, 2)),
    timeoutMs: mostly(fc.integer({ min: 1, max: 100_000 })),
    sessionId: mostly(fc.maxSafeNat()),
    password: fc.oneof({ arbitrary: fc.uint8Array({ maxLength: 70 }), weight: 4 }, {
      arbitrary: junkArb,
      weight: 1,
    }),
    lastZxid: mostly(fc.maxSafeInteger()),
  },
  { requiredKeys: [], noNullPrototype: true },
);

/** Anything a client could send as one frame's value. */
const untrustedValueArb = fc.oneof(
  { arbitrary: nearMessageArb, weight: 6 },
  { arbitrary: nearConnectArb, weight: 2 },
  { arbitrary: clientRequestArb, weight: 1 },
  { arbitrary: fc.anything(), weight: 2 },
);

// ---- oracles ------------------------------------------------------------------------------------

/**
 * The frames a naive scanner finds in a stream: bodies (null for an empty frame), whether it hit
 * a length over the limit (which ends the stream), and the bytes left over otherwise.
 */
function scanFrames(stream: Uint8Array, frameBytesMax: number) {
  const frames: (Uint8Array | null)[] = [];
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  let offset = 0;
  while (stream.byteLength - offset >= 4) {
    const length = view.getUint32(offset);
    if (length > frameBytesMax) return { frames, fatal: true, rest: 0 };
    if (stream.byteLength - offset - 4 < length) break;
    frames.push(length === 0 ? null : stream.slice(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return { frames, fatal: false, rest: stream.byteLength - offset };
}

/** The decoder options of `src/wire/cbor.ts`, restated. */
const frameDecoderOptions = {
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
  int64AsType: "number",
} as const;

/** Decodes one body with a fresh decoder configured as `src/wire/frame.ts` says. */
function decodeAlone(body: Uint8Array): { ok: true; message: unknown } | { ok: false } {
  const decoder = new Encoder(frameDecoderOptions); // an Encoder is also a Decoder
  try {
    return { ok: true, message: decoder.decode(body) };
  } catch {
    return { ok: false };
  }
}

/** The validators never throw, and what they accept fits the schema; what they refuse is explained. */
function checkValidators(value: unknown, validators: Validators): void {
  const request = validators.parseRequest(value);
  if (request.ok) {
    assert.deepStrictEqual(
      requestViolations(request.value),
      [],
      `parseRequest accepted ${show(value)}`,
    );
  } else {
    assert.ok(
      errorCodes.includes(request.err),
      `parseRequest refused with a known error code (${request.err})`,
    );
    assert.equal(typeof request.message, "string");
    if (request.xid !== null) {
      assert.ok(Number.isSafeInteger(request.xid) && request.xid >= 0 && request.xid <= 0x7fffffff);
    }
  }
  const connect = validators.parseConnect(value);
  if (connect.ok) {
    assert.deepStrictEqual(
      connectViolations(connect.value),
      [],
      `parseConnect accepted ${show(value)}`,
    );
  } else {
    assert.ok(
      errorCodes.includes(connect.err),
      `parseConnect refused with a known error code (${connect.err})`,
    );
    assert.equal(connect.xid, null, "a refused connect has no xid to answer");
  }
}

function show(value: unknown): string {
  return fc.stringify(value).slice(0, 300);
}

// ---- properties ---------------------------------------------------------------------------------

function decoderSplitsLikeNaiveScanner() {
  return fc.property(
    fc.array(segmentArb, { maxLength: 6 }),
    cutsArb,
    fc.uint8Array({ maxLength: 8 }),
    (segments, cuts, after) => {
      const stream = concatBytes(segments);
      const decoder = new FrameDecoder(smallFrameBytesMax);
      const results = splitAt(stream, cuts).flatMap((chunk) => decoder.push(chunk));
      const expected = scanFrames(stream, smallFrameBytesMax);
      assert.equal(
        results.length,
        expected.frames.length + (expected.fatal ? 1 : 0),
        "one result per frame (plus the fatal one)",
      );
      expected.frames.forEach((body, i) => {
        const result = results[i];
        if (body === null) {
          return assert.deepStrictEqual(result, { ok: false, fatal: false, reason: "empty frame" });
        }
        const alone = decodeAlone(body);
        if (alone.ok) {
          assert.deepStrictEqual(
            result,
            alone,
            `frame ${i} decodes as it does alone, whatever came before it`,
          );
        } else {
          assert.equal(result.ok, false, `frame ${i} is malformed CBOR and reported so`);
          assert.equal(
            (result as Extract<FrameResult, { ok: false }>).fatal,
            false,
            "malformed CBOR with an honest length is not fatal",
          );
        }
      });
      if (expected.fatal) {
        const last = results.at(-1)!;
        assert.ok(!last.ok && last.fatal, "a length over the limit is fatal");
        assert.deepStrictEqual(decoder.push(after), [], "a failed stream yields nothing more");
      } else {
        assert.equal(decoder.bufferedBytes, expected.rest, "an incomplete frame stays buffered");
      }
    },
  );
}

function oversizeLengthIsFatal() {
  return fc.property(
    fc.array(clientRequestArb, { maxLength: 3 }),
    fc.integer({ min: smallFrameBytesMax + 1, max: 0xffffffff }),
    fc.uint8Array({ maxLength: 64 }),
    cutsArb,
    (requests, length, tail, cuts) => {
      // Requests small enough to fit under the limit, so only the header is over it.
      const prefix = requests.map(encodeFrame).filter((frame) =>
        frame.byteLength - 4 <= smallFrameBytesMax
      );
      const decoder = new FrameDecoder(smallFrameBytesMax);
      const stream = concatBytes([...prefix, headerOf(length), tail]);
      const results = splitAt(stream, cuts).flatMap((chunk) => decoder.push(chunk));
      assert.equal(
        results.length,
        prefix.length + 1,
        "every frame before the bad length, then the failure",
      );
      assert.ok(results.slice(0, -1).every((r) => r.ok), "the frames before the bad length decode");
      assert.deepStrictEqual({ ...results.at(-1)!, reason: "" }, {
        ok: false,
        fatal: true,
        reason: "",
      });
      assert.deepStrictEqual(
        decoder.push(encodeFrame({ xid: 1, op: "ping" })),
        [],
        "nothing is decoded after a fatal failure",
      );
      assert.equal(decoder.bufferedBytes, 0, "a failed decoder holds no bytes");
    },
  );
}

function validatorsAcceptOnlySchemaValues(validators: Validators) {
  return fc.property(untrustedValueArb, (value) => {
    checkValidators(value, validators);
    // The same value as the server sees it: through the frame codec.
    for (const result of new FrameDecoder(1024 * 1024).push(encodeFrame(value))) {
      if (result.ok) checkValidators(result.message, validators);
    }
  });
}

function bytesCheckedAtLimit() {
  const sizeArb = fc.integer({ min: -2, max: 2 });
  return fc.property(
    fc.constantFrom("create", "setData", "multi"),
    sizeArb,
    sizeArb,
    sizeArb,
    (op, dataDelta, pathDelta, opsDelta) => {
      const data = new Uint8Array(dataBytesMax + dataDelta);
      // Two-byte characters, so the limit is counted in UTF-8 bytes, not in characters.
      const path = "/" + "é".repeat((pathBytesMax - 4) / 2) + "x".repeat(3 + pathDelta);
      const write = op === "setData"
        ? { op, path, data, version: -1 }
        : { op: "create", path, data, mode: "persistent" };
      const request = op === "multi"
        ? {
          xid: 1,
          op,
          ops: [
            write,
            ...Array.from(
              { length: multiOpsMax - 1 + opsDelta },
              () => ({ op: "check", path: "/" }),
            ),
          ],
        }
        : { xid: 1, ...write };
      const [result] = new FrameDecoder(4 * 1024 * 1024).push(encodeFrame(request));
      assert.ok(result.ok, "the frame decodes");
      const parsed = parseRequest(result.message);
      const fits = dataDelta <= 0 && pathDelta <= 0 && (op !== "multi" || opsDelta <= 0);
      assert.equal(
        parsed.ok,
        fits,
        `data ${data.byteLength} B, path ${
          new TextEncoder().encode(path).byteLength
        } B, ops ${opsDelta}`,
      );
      if (!parsed.ok) assert.equal(parsed.err, "BadArguments");
    },
  );
}

/** A broken validator: when a request is refused only for its path, it accepts it anyway. */
const pathLeakingValidators: Validators = {
  parseConnect,
  parseRequest(value: unknown) {
    const parsed = parseRequest(value);
    if (parsed.ok || typeof value !== "object" || value === null || !("path" in value)) {
      return parsed;
    }
    const retried = parseRequest({ ...value, path: "/" });
    return retried.ok
      ? { ok: true, value: { ...retried.value, path: value.path } as ClientRequest }
      : parsed;
  },
};

// ---- tests --------------------------------------------------------------------------------------

const source = (testName: string) => ({ url: import.meta.url, testName });

const splitName =
  "FrameDecoder.push() splits any byte stream, cut anywhere, as a naive scanner does and never throws";
Deno.test(splitName, () => {
  assertProperty(source(splitName), decoderSplitsLikeNaiveScanner(), { runs: 400 });
});

const fatalName =
  "FrameDecoder.push() fails for good on a declared length over frameBytesMax, after the frames before it";
Deno.test(fatalName, () => {
  assertProperty(source(fatalName), oversizeLengthIsFatal(), { runs: 300 });
});

const schemaName =
  "parseRequest() and parseConnect() never throw and accept only values that fit the message schemas";
Deno.test(schemaName, () => {
  assertProperty(source(schemaName), validatorsAcceptOnlySchemaValues(realValidators), {
    runs: 1000,
  });
});

const limitsName =
  "parseRequest() accepts data, paths and multis up to their limits and refuses one byte or op more";
Deno.test(limitsName, () => {
  assertProperty(source(limitsName), bytesCheckedAtLimit(), { runs: 25 });
});

const twinName =
  "the validator fuzz property catches a validator that lets an invalid path through";
Deno.test(twinName, () => {
  assertFindsBug(source(twinName), validatorsAcceptOnlySchemaValues(pathLeakingValidators), {
    runs: 300,
  });
});
