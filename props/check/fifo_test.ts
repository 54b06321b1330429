/**
 * The FIFO checker (REFERENCE §6 "FIFO client order", §4 "Ordering"): hand-written histories that
 * must pass or fail, and a seeded-bug twin on random runs of the real replica.
 * @module
 */
import fc from "fast-check";
import assert from "../../tests/assert.ts";
import { assertFindsBug } from "../_props.ts";
import { bytes, HistoryBuilder, runArb, simulate, swapResponses } from "./_fixtures.ts";
import { checkFifo } from "./fifo.ts";

function messages(history: Parameters<typeof checkFifo>[0]): string[] {
  return checkFifo(history).violations.map((v) => v.message);
}

/** Two pipelined conditional setData of /a, committed in send order, with a watch event between. */
function pipelined() {
  const b = new HistoryBuilder();
  const c = b.open(1);
  b.create(c, "/a");
  b.read(c, "getData", "/a", { watch: true });
  const first = b.send(c, { op: "setData", path: "/a", data: bytes("1"), version: 0 });
  const second = b.send(c, { op: "setData", path: "/a", data: bytes("2"), version: 1 });
  const z1 = b.commit(c.sessionId, { type: "setData", path: "/a", data: bytes("1"), version: 1 });
  const z2 = b.commit(c.sessionId, { type: "setData", path: "/a", data: bytes("2"), version: 2 });
  b.event(c, "NodeDataChanged", "/a", z1);
  b.answer(first, { zxid: z1 });
  b.answer(second, { zxid: z2 });
  return { b, c, first, second };
}

Deno.test("checkFifo() accepts pipelined answers in send order with an event between them", () => {
  const { b } = pipelined();
  assert.deepEqual(messages(b.history), []);
  assert.equal(checkFifo(b.history).checked, b.history.ops.length);
});

Deno.test("checkFifo() rejects a response out of send order on one connection", () => {
  const { b, first, second } = pipelined();
  [first.completed, second.completed] = [second.completed, first.completed];
  const found = messages(b.history);
  assert.ok(found.length >= 1, "a violation");
  assert.match(
    found[0],
    /client 1 connection 1: the response to xid 3 arrived after the response to xid 4/,
  );
});

Deno.test("checkFifo() rejects a response before its request, a reused xid and a skipped request", () => {
  const b = new HistoryBuilder();
  const c = b.open(1);
  const early = b.read(c, "exists", "/a");
  early.invoked = early.completed! + 1;
  const again = b.read(c, "exists", "/a");
  again.xid = early.xid;
  again.response!.xid = early.xid;
  b.send(c, { op: "exists", path: "/b", watch: false });
  b.read(c, "exists", "/c");
  const found = messages(b.history);
  assert.equal(found.length, 3, found.join("\n"));
  assert.match(found[0], /was answered before it was sent/);
  assert.match(found[1], /reuses the xid of/);
  assert.match(found[2], /exists \/b .* was never answered, though a request sent after it/);
});

Deno.test("checkFifo() rejects a session's write zxids out of send order", () => {
  const { b, first, second } = pipelined();
  // The answers come in order, but the second write took effect first.
  [first.response!.zxid, second.response!.zxid] = [second.response!.zxid, first.response!.zxid];
  const found = messages(b.history);
  assert.ok(
    found.some((m) =>
      /a write took effect at zxid 0x100000003, not after the write sent before/.test(m)
    ),
    found.join("\n"),
  );
});

Deno.test("checkFifo() rejects responses and events whose zxids go down on one connection", () => {
  const b = new HistoryBuilder();
  const c = b.open(1);
  b.create(c, "/a");
  const set = b.setData(c, "/a", "x");
  b.create(b.open(2), "/b");
  b.read(c, "exists", "/a");
  b.event(c, "NodeDataChanged", "/a", set.response!.zxid);
  const found = messages(b.history);
  assert.equal(found.length, 1, found.join("\n"));
  assert.match(
    found[0],
    /event NodeDataChanged \/a at zxid 0x100000003 arrived after the response/,
  );
});

Deno.test("checkFifo() ignores zxid 0 and judges each connection on its own", () => {
  const b = new HistoryBuilder();
  const c = b.open(1);
  b.create(c, "/a");
  b.read(c, "exists", "/a");
  b.answer(b.send(c, { op: "exists", path: "/a", watch: false }), { zxid: 0 });
  b.reconnect(c);
  b.read(c, "exists", "/a", { zxid: 1 });
  assert.deepEqual(messages(b.history), []);
});

const twin = "checkFifo() catches two pipelined responses swapped in random runs";
Deno.test(twin, () => {
  assertFindsBug(
    { url: import.meta.url, testName: twin },
    fc.property(runArb, fc.nat(), (plan, pick) => {
      const damaged = swapResponses(simulate(plan), pick);
      if (damaged === null) return;
      assert.deepEqual(messages(damaged), []);
    }),
    { runs: 100 },
  );
});
