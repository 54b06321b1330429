import assert from "../assert.ts";
import { Network } from "../../src/sim/network.ts";
import { Rng } from "../../src/sim/rng.ts";

const allAlive = () => true;

/** The changes without their generations, which the tests check separately. */
function reconcile(net: Network, alive: (id: number) => boolean, nowMs: number) {
  return net.reconcile(alive, nowMs).map(({ a, b, up }) => ({ a, b, up }));
}

function queuedAt(net: Network, from: number, to: number, nowMs: number): number {
  const sent = net.send(from, to, nowMs);
  assert.equal(sent.type, "queued");
  return sent.type === "queued" ? sent.atMs : -1;
}

Deno.test("Network.reconcile() brings up every connection between live nodes once", () => {
  const net = new Network(3, {}, new Rng(1));
  assert.deepEqual(reconcile(net, allAlive, 0), [
    { a: 0, b: 1, up: true },
    { a: 0, b: 2, up: true },
    { a: 1, b: 2, up: true },
  ]);
  assert.deepEqual(reconcile(net, allAlive, 0), []);
  assert.equal(net.isUp(2, 0), true);
  assert.equal(net.generation(0, 1), 1);
});

Deno.test("Network.send() keeps each lane FIFO under random delays", () => {
  const net = new Network(2, { delayMsMin: 1, delayMsMax: 500 }, new Rng(3));
  net.reconcile(allAlive, 0);
  let last = -1;
  for (let t = 0; t < 1000; t += 3) {
    const at = queuedAt(net, 0, 1, t);
    assert.ok(at >= last, `delivery at ${at} not before the previous one at ${last}`);
    assert.ok(at >= t + 1, "a message takes at least delayMsMin");
    last = at;
  }
});

Deno.test("Network delays vary within [delayMsMin, delayMsMax] on an idle lane", () => {
  const net = new Network(2, { delayMsMin: 5, delayMsMax: 9 }, new Rng(4));
  net.reconcile(allAlive, 0);
  const delays = new Set<number>();
  for (let t = 0; t < 100_000; t += 100) {
    delays.add(queuedAt(net, 0, 1, t) - t);
    assert.ok(net.arrive(0, 1, 1));
  }
  assert.deepEqual([...delays].sort(), [5, 6, 7, 8, 9]);
});

Deno.test("Network: a cut drops what is in flight and what is sent until healed", () => {
  const net = new Network(3, {}, new Rng(5));
  net.reconcile(allAlive, 0);
  const first = net.send(0, 1, 0);
  assert.ok(first.type === "queued");
  net.cut(0, 1);
  assert.deepEqual(reconcile(net, allAlive, 1), [{ a: 0, b: 1, up: false }]);
  assert.equal(net.arrive(0, 1, first.generation), false, "in flight on the cut link is lost");
  assert.deepEqual(net.send(0, 1, 2), { type: "down" });
  assert.deepEqual(net.send(1, 0, 2), { type: "down" }, "a cut link is down both ways");
  assert.equal(net.send(0, 2, 2).type, "queued", "other links are untouched");
  net.healLink(1, 0);
  assert.deepEqual(reconcile(net, allAlive, 3), [{ a: 0, b: 1, up: true }]);
  const after = net.send(0, 1, 3);
  assert.ok(after.type === "queued" && after.generation > first.generation);
  assert.equal(net.arrive(0, 1, after.generation), true);
});

Deno.test("Network.partition() separates groups and leaves unlisted nodes alone", () => {
  const net = new Network(5, {}, new Rng(6));
  net.reconcile(allAlive, 0);
  net.partition([[0, 1], [2, 3]]);
  net.reconcile(allAlive, 1);
  assert.equal(net.isUp(0, 1), true);
  assert.equal(net.isUp(2, 3), true);
  for (const [a, b] of [[0, 2], [1, 3], [0, 4], [3, 4]]) {
    assert.equal(net.isUp(a, b), false, `${a}-${b} separated`);
    assert.equal(net.isPartitioned(a, b), true);
  }
  assert.equal(net.partitioned, true);
  net.heal();
  net.reconcile(allAlive, 2);
  assert.equal(net.isUp(0, 4), true);
  assert.equal(net.partitioned, false);
  assert.throws(() => net.partition([[0, 1], [1, 2]]), /one partition group/);
});

Deno.test("Network.healPartition() keeps cut links cut; heal() heals both", () => {
  const net = new Network(3, {}, new Rng(7));
  net.cut(0, 1);
  net.partition([[0], [1, 2]]);
  net.healPartition();
  net.reconcile(allAlive, 0);
  assert.equal(net.isUp(0, 1), false);
  assert.equal(net.isUp(0, 2), true);
  assert.deepEqual(net.cutLinks(), [[0, 1]]);
  net.heal();
  net.reconcile(allAlive, 1);
  assert.equal(net.isUp(0, 1), true);
  assert.deepEqual(net.cutLinks(), []);
});

Deno.test("Network: a dead end takes its connections down; a full lane overflows", () => {
  const net = new Network(2, { inFlightMax: 2 }, new Rng(8));
  net.reconcile(allAlive, 0);
  assert.deepEqual(reconcile(net, (id) => id !== 1, 1), [{ a: 0, b: 1, up: false }]);
  net.reconcile(allAlive, 2);
  assert.equal(net.send(0, 1, 2).type, "queued");
  assert.equal(net.send(0, 1, 2).type, "queued");
  assert.equal(net.inFlight(0, 1), 2);
  assert.deepEqual(net.send(0, 1, 2), { type: "overflow" });
  net.reset(0, 1, 10);
  assert.deepEqual(reconcile(net, allAlive, 2), [{ a: 0, b: 1, up: false }]);
  assert.equal(net.inFlight(0, 1), 0, "the closed connection's messages are gone");
  assert.deepEqual(reconcile(net, allAlive, 9), [], "stays closed until the reconnect time");
  assert.deepEqual(reconcile(net, allAlive, 10), [{ a: 0, b: 1, up: true }]);
});

Deno.test("Network link notifications queue behind the lane's messages", () => {
  const net = new Network(2, { delayMsMin: 1, delayMsMax: 100 }, new Rng(9));
  net.reconcile(allAlive, 0);
  const last = queuedAt(net, 0, 1, 0);
  assert.ok(net.notifyAtMs(0, 1, 0) >= last);
  assert.throws(() => net.send(0, 0, 0), /two different nodes/);
  assert.throws(() => net.send(0, 2, 0), /node 2 exists/);
});
