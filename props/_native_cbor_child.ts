/**
 * Child process of `cbor_native_test.ts`: decodes requests the way the server does under Deno,
 * with cbor-x's native string extractor loaded if it is installed. A crash of the extractor kills
 * the process, so every input is written to stderr (`INPUT <json>`) BEFORE it is decoded: the
 * parent reports the last one. Arguments: seed, runs.
 *
 * It imports cbor-x only through `src/wire/frame.ts`: importing the package root from anywhere in
 * the process would install the native extractor for every decoder, whatever frame.ts chose.
 * @module
 */
import fc from "fast-check";
import { assertRequestsRoundTrip, realDecoder, requestsAndCutsArb } from "./_codec_properties.ts";
import type { ClientRequest } from "../src/wire/messages.ts";

const [seed, runs] = Deno.args.map(Number);
const encoder = new TextEncoder();
const say = (line: string) => Deno.stderr.writeSync(encoder.encode(line + "\n"));
const show = (value: unknown) =>
  JSON.stringify(value, (_, v) => (v instanceof Uint8Array ? `bytes(${[...v]})` : v));

// First an ordinary request that crashed Deno 2.9.6 with cbor-extract 2.2.3: a path with an é.
const known: ClientRequest[] = [{ xid: 1, op: "getData", path: "/é", watch: false }];
const samples: [ClientRequest[], number[]][] = [
  [known, []],
  ...fc.sample(requestsAndCutsArb, { seed, numRuns: runs }),
];
for (const [requests, cuts] of samples) {
  say(`INPUT ${show({ requests, cuts })}`);
  assertRequestsRoundTrip(realDecoder(), requests, cuts);
}
say("DONE");
