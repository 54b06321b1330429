import assert from "../assert.ts";
import {
  busyEventsMinDefault,
  collectGarbage,
  idleCheckMsDefault,
  IdleCollector,
} from "../../src/server/idle_collector.ts";
import { startServer } from "../../src/server/server.ts";
import { RawConn } from "./_raw.ts";

/** A collector whose collections are counted instead of run. */
function counted(busyEventsMin: number): { collector: IdleCollector; collections: () => number } {
  let collections = 0;
  const collector = new IdleCollector(() => {
    collections++;
    return true;
  }, busyEventsMin);
  return { collector, collections: () => collections };
}

Deno.test("IdleCollector collects once when a burst is followed by a quiet period", () => {
  const { collector, collections } = counted(100);
  collector.note(60);
  assert.equal(collector.check(), false, "a busy period is no time to collect");
  collector.note(60);
  assert.equal(collector.check(), false);
  assert.equal(collector.check(), true, "the first quiet period after 120 events collects");
  assert.equal(collections(), 1);
  assert.equal(collector.check(), false, "staying quiet does not collect again");
  assert.equal(collections(), 1);
});

Deno.test("IdleCollector leaves a server alone that was never busy enough", () => {
  const { collector, collections } = counted(100);
  for (let period = 0; period < 5; period++) {
    collector.note(19);
    collector.check();
    collector.check();
  }
  assert.equal(collections(), 0, "95 events in all, spread over quiet periods");
  collector.note(5);
  collector.check();
  assert.equal(collector.check(), true, "the 100th event makes the next quiet period collect");
});

Deno.test("IdleCollector never collects while every period has events", () => {
  const { collector, collections } = counted(1);
  for (let period = 0; period < 50; period++) {
    collector.note(1_000);
    assert.equal(collector.check(), false);
  }
  assert.equal(collections(), 0);
});

Deno.test("IdleCollector counts a burst again after each collection", () => {
  const { collector, collections } = counted(10);
  collector.note(10);
  collector.check();
  collector.check();
  collector.note(9);
  collector.check();
  assert.equal(collector.check(), false, "9 events since the collection are not a burst");
  collector.note(1);
  collector.check();
  assert.equal(collector.check(), true);
  assert.equal(collections(), 2);
});

Deno.test("collectGarbage() calls the runtime's global gc() when there is one", () => {
  const runtime = globalThis as unknown as { gc?: () => void };
  const saved = runtime.gc;
  let calls = 0;
  try {
    runtime.gc = () => void calls++;
    assert.equal(collectGarbage(), true);
    assert.equal(calls, 1);
    delete runtime.gc;
    assert.equal(collectGarbage(), false, "Deno without --expose-gc offers no collection");
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
