import assert from "../assert.ts";
import { encodeFrame, FrameDecoder } from "../../src/wire/frame.ts";

Deno.test("FrameDecoder reassembles frames split at every byte boundary", () => {
  const frames = [
    encodeFrame({ xid: 1, op: "ping" }),
    encodeFrame({ xid: 2, data: new Uint8Array([9, 8, 7]) }),
  ];
  const all = new Uint8Array([...frames[0], ...frames[1]]);
  for (let cut = 0; cut <= all.byteLength; cut++) {
    const decoder = new FrameDecoder(1024);
    const results = [...decoder.push(all.subarray(0, cut)), ...decoder.push(all.subarray(cut))];
    assert.deepEqual(results.map((r) => r.ok && r.message), [{ xid: 1, op: "ping" }, {
      xid: 2,
      data: new Uint8Array([9, 8, 7]),
    }]);
    assert.equal(decoder.bufferedBytes, 0);
  }
});

Deno.test("FrameDecoder assembles a 3 MiB frame from 64 KiB chunks", () => {
  const frame = encodeFrame({ xid: 1, data: new Uint8Array(3 * 1024 * 1024).fill(7) });
  const decoder = new FrameDecoder(4 * 1024 * 1024);
  const results = [];
  for (let i = 0; i < frame.byteLength; i += 65536) {
    results.push(...decoder.push(frame.subarray(i, i + 65536)));
  }
  assert.equal(results.length, 1);
  const message = results[0].ok && results[0].message as { data: Uint8Array };
  assert.ok(message && message.data.byteLength === 3 * 1024 * 1024 && message.data[12345] === 7);
});

Deno.test("FrameDecoder reports an oversized length as fatal and then ignores the stream", () => {
  const decoder = new FrameDecoder(10);
  const [result] = decoder.push(new Uint8Array([0, 0, 1, 0, 1, 2, 3]));
  assert.ok(!result.ok && result.fatal && /over the 10-byte limit/.test(result.reason));
  assert.deepEqual(decoder.push(encodeFrame({ a: 1 })), []);
});

Deno.test("FrameDecoder reports malformed CBOR without losing the next frame", () => {
  const decoder = new FrameDecoder(100);
  const results = decoder.push(new Uint8Array([0, 0, 0, 1, 0xff, ...encodeFrame({ ok: 1 })]));
  assert.equal(results.length, 2);
  assert.ok(!results[0].ok && !results[0].fatal);
  assert.deepEqual(results[1].ok && results[1].message, { ok: 1 });
});
