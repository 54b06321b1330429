import assert from "../assert.ts";
import {
  busyEventsMinDefault,
  idleCheckMsDefault,
  IdleCollector,
  type IdleCollectorOptions,
  runtimeCollector,
} from "../../src/server/idle_collector.ts";
import { startServer } from "../../src/server/server.ts";
import { RawConn } from "./_raw.ts";

/** A collector whose steps are counted instead of run. */
function counted(options: IdleCollectorOptions) {
  const done = { collect: 0, shrink: 0 };
  const collector = new IdleCollector({
    collect: () => (done.collect++, true),
    shrink: () => (done.shrink++, true),
  }, { quietEventsMax: 1, shrinkQuietPeriods: 1_000, ...options });
  return { collector, done };
}

Deno.test("IdleCollector collects once when a burst is followed by a quiet period", () => {
  const { collector, done } = counted({ busyEventsMin: 100 });
  collector.note(60);
  assert.equal(collector.check(), null, "a busy period is no time to collect");
  collector.note(60);
  assert.equal(collector.check(), null);
  assert.equal(collector.check(), "collect", "the first quiet period after 120 events collects");
  assert.equal(done.collect, 1);
  assert.equal(collector.check(), null, "staying quiet does not collect again");
  assert.deepEqual(done, { collect: 1, shrink: 0 });
});

Deno.test("IdleCollector leaves a server alone that was never busy enough", () => {
  const { collector, done } = counted({ busyEventsMin: 100 });
  for (let period = 0; period < 5; period++) {
    collector.note(19);
    collector.check();
    collector.check();
  }
  assert.equal(done.collect, 0, "95 events in all, spread over quiet periods");
  collector.note(5);
  collector.check();
  assert.equal(collector.check(), "collect", "the 100th event makes the next quiet period collect");
});

Deno.test("IdleCollector never collects while every period has events", () => {
  const { collector, done } = counted({ busyEventsMin: 1 });
  for (let period = 0; period < 50; period++) {
    collector.note(1_000);
    assert.equal(collector.check(), null);
  }
  assert.deepEqual(done, { collect: 0, shrink: 0 });
});

Deno.test("IdleCollector counts a burst again after each collection", () => {
  const { collector, done } = counted({ busyEventsMin: 10 });
  collector.note(10);
  collector.check();
  collector.check();
  collector.note(9);
  collector.check();
  assert.equal(collector.check(), null, "9 events since the collection are not a burst");
  collector.note(1);
  collector.check();
  assert.equal(collector.check(), "collect");
  assert.equal(done.collect, 2);
});

Deno.test("IdleCollector takes a period with a few events (idle sessions' pings) as quiet", () => {
  const { collector, done } = counted({ busyEventsMin: 100, quietEventsMax: 10 });
  collector.note(500);
  assert.equal(collector.check(), null);
  collector.note(10);
  assert.equal(collector.check(), null, "10 events are not quiet");
  collector.note(9);
  assert.equal(collector.check(), "collect", "9 events are");
  assert.equal(done.collect, 1);
});

Deno.test("IdleCollector drops compiled code only after staying quiet, once per collection", () => {
  const { collector, done } = counted({
    busyEventsMin: 100,
    quietEventsMax: 5,
    shrinkQuietPeriods: 4,
  });
  collector.note(100);
  assert.equal(collector.check(), null, "the burst");
  assert.equal(collector.check(), "collect", "quiet period 1");
  collector.note(4);
  assert.equal(collector.check(), null, "quiet period 2 (4 pings)");
  assert.equal(collector.check(), null, "quiet period 3");
  collector.note(50);
  assert.equal(collector.check(), null, "a busy period starts the count again");
  for (let period = 1; period < 4; period++) assert.equal(collector.check(), null);
  assert.equal(collector.check(), "shrink", "the 4th quiet period in a row");
  for (let period = 0; period < 20; period++) assert.equal(collector.check(), null);
  assert.deepEqual(done, { collect: 1, shrink: 1 }, "no second shrink without a collection");
});

Deno.test("IdleCollector never shrinks a server that was never busy enough to collect", () => {
  const { collector, done } = counted({ busyEventsMin: 100, shrinkQuietPeriods: 2 });
  for (let period = 0; period < 20; period++) assert.equal(collector.check(), null);
  assert.deepEqual(done, { collect: 0, shrink: 0 });
});

Deno.test("runtimeCollector calls the runtime's global gc() when there is one; Deno has no shrink", () => {
  const runtime = globalThis as unknown as { gc?: () => void };
  const saved = runtime.gc;
  let calls = 0;
  try {
    runtime.gc = () => void calls++;
    assert.equal(runtimeCollector.collect(), true);
    assert.equal(calls, 1);
    assert.equal(runtimeCollector.shrink(), false);
    delete runtime.gc;
    assert.equal(
      runtimeCollector.collect(),
      false,
      "Deno without --expose-gc offers no collection",
    );
  } finally {
    if (saved) runtime.gc = saved;
  }
});

Deno.test("a server collects garbage once it turns quiet after a burst of requests", async () => {
  const runtime = globalThis as unknown as { gc?: () => void };
  const saved = runtime.gc;
  let calls = 0;
  runtime.gc = () => void calls++;
  const server = await startServer({ port: 0, hostname: "127.0.0.1" });
  const conn = await RawConn.session(server.port);
  try {
    await new Promise((resolve) => setTimeout(resolve, 2.5 * idleCheckMsDefault));
    assert.equal(calls, 0, "a fresh server with one session is not a burst");
    const requests = busyEventsMinDefault + 10;
    for (let xid = 1; xid <= requests; xid++) {
      conn.sendMessage({ xid, op: "exists", path: "/", watch: false });
    }
    await conn.until((messages) => messages.filter((m) => m.t === "res").length >= requests);
    await new Promise((resolve) => setTimeout(resolve, 2.5 * idleCheckMsDefault));
    assert.equal(calls, 1, "one collection after the burst, none while quiet goes on");
  } finally {
    await conn.close();
    await server.close();
    if (saved) runtime.gc = saved;
    else delete runtime.gc;
  }
});
