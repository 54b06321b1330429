/**
 * Tests of the simulator itself, with toy protocols small enough to reason about completely:
 * a max-value gossip (traces, partitions), a sequencer (FIFO and connection semantics) and a
 * persisted counter (fsyncs, crashes, restarts).
 * @module
 */
import assert from "../assert.ts";
import { KvDisk } from "../../src/sim/disk.ts";
import type { FaultProfile } from "../../src/sim/faults.ts";
import type { SimAction, SimEvent, SimNode, SimStep } from "../../src/sim/simulator.ts";
import { SimulationError, Simulator } from "../../src/sim/simulator.ts";

// ---- toy protocols ---------------------------------------------------------------------------

/** Spreads the largest value it has seen to its connected peers; persists it when it grows. */
class Gossip implements SimNode<number> {
  max: number;
  readonly peers = new Set<number>();
  #token = 0;

  constructor(readonly id: number, readonly disk: KvDisk<number>) {
    this.max = disk.get("max") ?? id * 10;
  }

  step(event: SimEvent<number>): SimAction<number>[] {
    switch (event.type) {
      case "start":
        return [{ type: "log", text: `max ${this.max}` }];
      case "linkUp":
        this.peers.add(event.peer);
        return [{ type: "send", to: event.peer, msg: this.max }];
      case "linkDown":
        this.peers.delete(event.peer);
        return [];
      case "message":
        if (event.msg <= this.max) return [];
        this.max = event.msg;
        this.disk.set("max", this.max);
        return [{ type: "persist", token: ++this.#token }, ...this.#tellAll()];
      case "tick":
        return this.#tellAll();
      case "durable":
        return [];
    }
  }

  #tellAll(): SimAction<number>[] {
    return [...this.peers].map((to) => ({ type: "send", to, msg: this.max }));
  }
}

/**
 * Numbers its messages per connection (from 0 at each linkUp) and checks the same of what it
 * receives: any reorder, gap or message from an old connection fails the run.
 */
class Sequencer implements SimNode<number> {
  readonly #next = new Map<number, number>();
  readonly #expected = new Map<number, number>();
  received = 0;

  constructor(readonly burst: number) {}

  step(event: SimEvent<number>): SimAction<number>[] {
    switch (event.type) {
      case "linkUp":
        this.#next.set(event.peer, 0);
        this.#expected.set(event.peer, 0);
        return [];
      case "linkDown":
        this.#next.delete(event.peer);
        this.#expected.delete(event.peer);
        return [];
      case "message": {
        const expected = this.#expected.get(event.from);
        assert.ok(expected !== undefined, `a message from ${event.from} comes over a live link`);
        assert.equal(event.msg, expected, `message ${expected} from ${event.from} comes next`);
        this.#expected.set(event.from, expected + 1);
        this.received++;
        return [];
      }
      case "tick":
        return [...this.#next.keys()].flatMap((to) =>
          Array.from({ length: this.burst }, () => {
            const msg = this.#next.get(to)!;
            this.#next.set(to, msg + 1);
            return { type: "send" as const, to, msg };
          })
        );
      default:
        return [];
    }
  }
}

/** What the outside world was promised by a counter: the largest count acknowledged durable. */
type Ledger = { written: number; acked: number; restoredFrom: number[] };

/** Counts ticks; persists every count; remembers what each fsync made durable. */
class Counter implements SimNode<never> {
  count: number;
  readonly #issued = new Set<number>();

  constructor(readonly disk: KvDisk<number>, readonly ledger: Ledger) {
    this.count = disk.get("count") ?? 0;
    ledger.restoredFrom.push(this.count);
  }

  step(event: SimEvent<never>): SimAction<never>[] {
    if (event.type === "tick") {
      this.count++;
      this.disk.set("count", this.count);
      this.ledger.written = this.count;
      this.#issued.add(this.count);
      return [{ type: "persist", token: this.count }];
    }
    if (event.type === "durable") {
      assert.ok(this.#issued.has(event.token), "durable answers a persist of this incarnation");
      assert.ok(event.token > this.ledger.acked || this.ledger.acked === 0, "fsyncs end in order");
      this.ledger.acked = event.token;
    }
    return [];
  }
}

function gossipSim(seed: number, options: {
  nodeCount?: number;
  faults?: "none" | "swarm" | FaultProfile;
  onStep?: (step: SimStep<number>, sim: Simulator<number, KvDisk<number>>) => void;
  report?: (text: string) => void;
} = {}): Simulator<number, KvDisk<number>> {
  return new Simulator<number, KvDisk<number>>({
    seed,
    nodeCount: options.nodeCount ?? 3,
    faults: options.faults ?? "none",
    createDisk: () => new KvDisk<number>(),
    createNode: (id, disk) => new Gossip(id, disk),
    onStep: options.onStep,
    report: options.report,
    replayCommand: "deno test -A tests/sim/simulator_test.ts",
  });
}

function gossipOf(sim: Simulator<number, KvDisk<number>>, id: number): Gossip {
  const node = sim.node(id);
  assert.ok(node instanceof Gossip, `node ${id} is up`);
  return node;
}

// ---- determinism ------------------------------------------------------------------------------

Deno.test("Simulator: the same seed gives the same trace, step for step", () => {
  for (const seed of [1, 2, 3, 99, 123456789]) {
    const a = gossipSim(seed, { nodeCount: 5, faults: "swarm" });
    const b = gossipSim(seed, { nodeCount: 5, faults: "swarm" });
    a.run({ untilMs: 30_000 });
    b.run({ untilMs: 30_000 });
    assert.ok(a.stepCount > 100, "the run did something");
    assert.equal(a.traceHash, b.traceHash, `seed ${seed} replays exactly`);
    assert.equal(a.stepCount, b.stepCount);
    assert.deepEqual(a.recentSteps(), b.recentSteps());
    assert.deepEqual(a.stats, b.stats);
  }
});

Deno.test("Simulator: different seeds give different traces and fault mixes", () => {
  const hashes = new Set<string>();
  const profiles = new Set<string>();
  for (let seed = 0; seed < 30; seed++) {
    const sim = gossipSim(seed, { nodeCount: 4, faults: "swarm" });
    sim.run({ untilMs: 5_000 });
    hashes.add(sim.traceHash);
    profiles.add(JSON.stringify(sim.faultProfile));
  }
  assert.equal(hashes.size, 30);
  assert.equal(profiles.size, 30);
});

Deno.test("Simulator: a run split in pieces is the same run", () => {
  const whole = gossipSim(8, { faults: "swarm" });
  whole.run({ untilMs: 20_000 });
  const pieces = gossipSim(8, { faults: "swarm" });
  for (let t = 1000; t <= 20_000; t += 1000) pieces.run({ untilMs: t });
  assert.equal(pieces.traceHash, whole.traceHash);
  assert.equal(pieces.nowMs, 20_000);
});

Deno.test("Simulator.run() stops at untilMs, stepsMax or stopWhen, whichever comes first", () => {
  const sim = gossipSim(4);
  assert.deepEqual(sim.run({ stepsMax: 10 }), { stop: "stepsMax", steps: 10 });
  const done = sim.run({ untilMs: 60_000, stopWhen: (s) => gossipOf(s, 0).max === 20 });
  assert.equal(done.stop, "stopWhen");
  assert.ok(sim.nowMs < 1000, "gossip spreads the max within a few delays");
  assert.equal(sim.run({ untilMs: 5_000 }).stop, "untilMs");
  assert.equal(sim.nowMs, 5_000);
  assert.throws(() => sim.run({}), /untilMs or stepsMax/);
  assert.throws(() => sim.run({ untilMs: 10 }), /back in time/);
});

// ---- network ------------------------------------------------------------------------------------

Deno.test("Simulator: every link stays FIFO and gap-free per connection under random delays", () => {
  for (let seed = 0; seed < 20; seed++) {
    const sim = new Simulator<number, KvDisk<number>>({
      seed,
      nodeCount: 4,
      faults: "swarm",
      network: { delayMsMin: 1, delayMsMax: 300 },
      createDisk: () => new KvDisk(),
      createNode: () => new Sequencer(3),
      replayCommand: "deno test -A tests/sim/simulator_test.ts",
    });
    sim.run({ untilMs: 20_000 });
    assert.ok(sim.stats.messagesDelivered > 500, `seed ${seed} delivered plenty`);
  }
});

/** Records every node step with its time, for tests that look at when things happened. */
function recorder() {
  const steps: Array<{ timeMs: number; node: number; event: SimEvent<number> }> = [];
  return {
    steps,
    onStep(step: SimStep<number>) {
      if (step.kind === "node") {
        steps.push({ timeMs: step.timeMs, node: step.node, event: step.event });
      }
    },
  };
}

Deno.test("Simulator.cut() drops messages in flight, tells both ends, and heals", () => {
  const { steps, onStep } = recorder();
  const sim = new Simulator<number, KvDisk<number>>({
    seed: 5,
    nodeCount: 3,
    tickMs: 10,
    network: { delayMsMin: 50, delayMsMax: 100 },
    createDisk: () => new KvDisk(),
    createNode: () => new Sequencer(1),
    onStep,
  });
  sim.run({ untilMs: 1000 });
  assert.ok(sim.network.inFlight(0, 1) > 0, "messages are in flight from 0 to 1");
  const lostBefore = sim.stats.messagesLost;
  sim.cut(0, 1);
  sim.run({ untilMs: 2000 });
  assert.ok(sim.stats.messagesLost > lostBefore, "the in-flight messages were lost");
  const between = (a: number, b: number, from: number, to: number) =>
    steps.filter((s) =>
      s.timeMs >= from && s.timeMs < to && s.node === b && s.event.type === "message" &&
      s.event.from === a
    );
  assert.deepEqual(between(0, 1, 1000, 2000), [], "nothing from 0 reaches 1 after the cut");
  assert.deepEqual(between(1, 0, 1000, 2000), [], "nor from 1 to 0");
  assert.ok(between(0, 2, 1000, 2000).length > 0, "0 still talks to 2");
  const linkDowns = steps.filter((s) => s.timeMs >= 1000 && s.event.type === "linkDown");
  assert.deepEqual(
    linkDowns.map((s) => [s.node, (s.event as { peer: number }).peer]).sort(),
    [[0, 1], [1, 0]],
  );
  sim.healLink(0, 1);
  sim.run({ untilMs: 3000 });
  const linkUps = steps.filter((s) => s.timeMs >= 2000 && s.event.type === "linkUp");
  assert.deepEqual(linkUps.map((s) => s.node).sort(), [0, 1]);
  assert.ok(between(0, 1, 2000, 3000).length > 0, "0 reaches 1 again");
});

Deno.test("Simulator.partition() isolates the groups until heal()", () => {
  const { steps, onStep } = recorder();
  const sim = gossipSim(6, { nodeCount: 5, onStep });
  sim.partition([[0, 1], [2, 3, 4]]);
  sim.run({ untilMs: 5_000 });
  assert.deepEqual([0, 1, 2, 3, 4].map((id) => gossipOf(sim, id).max), [10, 10, 40, 40, 40]);
  const group = (id: number) => (id <= 1 ? 0 : 1);
  const crossing = steps.filter((s) =>
    s.event.type === "message" && group(s.event.from) !== group(s.node)
  );
  assert.deepEqual(crossing, [], "no message crosses the partition");
  sim.heal();
  sim.run({ untilMs: 6_000 });
  assert.deepEqual([0, 1, 2, 3, 4].map((id) => gossipOf(sim, id).max), [40, 40, 40, 40, 40]);
});

Deno.test("Simulator: a full lane closes the connection, which reconnects", () => {
  const { steps, onStep } = recorder();
  const sim = new Simulator<number, KvDisk<number>>({
    seed: 9,
    nodeCount: 2,
    tickMs: 10,
    network: { delayMsMin: 100, delayMsMax: 100, inFlightMax: 5, reconnectMs: 30 },
    createDisk: () => new KvDisk(),
    createNode: () => new Sequencer(2),
    onStep,
  });
  sim.run({ untilMs: 2_000 });
  assert.ok(sim.stats.overflows > 0);
  const kinds = steps.filter((s) => s.node === 1 && s.event.type.startsWith("link"))
    .map((s) => s.event.type);
  assert.ok(kinds.length >= 3, "the connection went down and came back up");
  kinds.forEach((kind, i) => assert.equal(kind, i % 2 === 0 ? "linkUp" : "linkDown"));
});

// ---- disks, crashes, restarts ---------------------------------------------------------------------

Deno.test("Simulator: a crash keeps synced writes, may lose unsynced ones; restart reads the disk", () => {
  let lostSomething = false;
  for (let seed = 0; seed < 40; seed++) {
    const ledger: Ledger = { written: 0, acked: 0, restoredFrom: [] };
    const sim = new Simulator<never, KvDisk<number>>({
      seed,
      nodeCount: 1,
      tickMs: 10,
      disk: { slowSyncMsMin: 50, slowSyncMsMax: 300 },
      createDisk: () => new KvDisk(),
      createNode: (_id, disk) => new Counter(disk, ledger),
    });
    sim.slowDisk(0, 1_000_000);
    for (let round = 1; round <= 5; round++) {
      sim.run({ untilMs: round * 1000 });
      const { written, acked } = ledger;
      sim.crash(0);
      assert.equal(sim.node(0), null);
      const kept = sim.disk(0).get("count") ?? 0;
      assert.ok(kept >= acked, `seed ${seed}: acknowledged count ${acked} survives (kept ${kept})`);
      assert.ok(kept <= written, "nothing appears that was never written");
      if (kept < written) lostSomething = true;
      sim.run({ untilMs: round * 1000 + 500 });
      sim.restart(0);
      assert.equal(ledger.restoredFrom.at(-1), kept, "the new node starts from the disk");
      ledger.acked = 0;
    }
  }
  assert.ok(lostSomething, "slow fsyncs and crashes lost some unsynced writes");
});

Deno.test("Simulator: a crashed node gets no events; a restarted one starts, then ticks", () => {
  const { steps, onStep } = recorder();
  const printed: string[] = [];
  const sim = gossipSim(12, { onStep, report: (text) => printed.push(text) });
  sim.run({ untilMs: 1000 });
  sim.crash(2);
  sim.run({ untilMs: 3000 });
  assert.deepEqual(steps.filter((s) => s.timeMs > 1000 && s.node === 2), []);
  const peersTold = steps.filter((s) => s.timeMs >= 1000 && s.event.type === "linkDown");
  assert.deepEqual(peersTold.map((s) => s.node).sort(), [0, 1]);
  sim.restart(2);
  sim.run({ untilMs: 4000 });
  const after = steps.filter((s) => s.timeMs >= 3000 && s.node === 2);
  assert.equal(after[0].event.type, "start");
  assert.ok(after.some((s) => s.event.type === "tick"));
  assert.equal(gossipOf(sim, 2).max, 20, "the restarted node catches up");
  assert.throws(() => sim.restart(2), /down before a restart/);
  assert.match(printed[0], /Replay: SIM_SEED=12 /, "misuse is reported like any failure");
});

Deno.test("Simulator: fsyncs complete in order, after their delay", () => {
  const times: Array<{ token: number; timeMs: number }> = [];
  const ledger: Ledger = { written: 0, acked: 0, restoredFrom: [] };
  const sim = new Simulator<never, KvDisk<number>>({
    seed: 3,
    nodeCount: 1,
    tickMs: 5,
    disk: { syncMsMin: 1, syncMsMax: 40 },
    createDisk: () => new KvDisk(),
    createNode: (_id, disk) => new Counter(disk, ledger),
    onStep: (step) => {
      if (step.kind === "node" && step.event.type === "durable") {
        times.push({ token: step.event.token, timeMs: step.timeMs });
      }
    },
  });
  sim.run({ untilMs: 2000 });
  assert.ok(times.length > 300);
  for (let i = 1; i < times.length; i++) assert.ok(times[i].token > times[i - 1].token);
  assert.equal(sim.disk(0).durable("count"), ledger.acked);
});

// ---- ticks ------------------------------------------------------------------------------------

Deno.test("Simulator ticks each live node every tickMs, at its own phase", () => {
  const { steps, onStep } = recorder();
  const sim = new Simulator<number, KvDisk<number>>({
    seed: 21,
    nodeCount: 3,
    tickMs: 250,
    createDisk: () => new KvDisk(),
    createNode: () => ({ step: () => [] }),
    onStep,
  });
  sim.run({ untilMs: 10_000 });
  const phases = new Set<number>();
  for (const id of [0, 1, 2]) {
    const ticks = steps.filter((s) => s.node === id && s.event.type === "tick").map((s) =>
      s.timeMs
    );
    assert.ok(ticks[0] >= 1 && ticks[0] <= 250, "the first tick comes within tickMs");
    for (let i = 1; i < ticks.length; i++) assert.equal(ticks[i] - ticks[i - 1], 250);
    assert.ok(ticks.length === 39 || ticks.length === 40);
    phases.add(ticks[0]);
  }
  assert.ok(phases.size > 1, "nodes tick at different phases");
  sim.crash(1);
  sim.run({ untilMs: 12_000 });
  assert.equal(steps.filter((s) => s.node === 1 && s.timeMs > 10_000).length, 0);
});

// ---- failures ----------------------------------------------------------------------------------

Deno.test("Simulator: a failing check stops the run and prints the replay line", () => {
  const printed: string[] = [];
  const sim = gossipSim(77, {
    faults: "swarm",
    report: (text) => printed.push(text),
    onStep: (step) => {
      if (step.index === 150) throw new Error("the toy invariant broke");
    },
  });
  assert.throws(() => sim.run({ untilMs: 60_000 }), SimulationError);
  assert.equal(printed.length, 1);
  const report = printed[0];
  assert.match(report, /seed 77 failed at step 151/);
  assert.match(report, /the toy invariant broke/);
  assert.match(report, /#150 /, "the recent steps end with the failing one");
  assert.ok(
    report.trimEnd().endsWith("Replay: SIM_SEED=77 deno test -A tests/sim/simulator_test.ts"),
  );
  assert.throws(() => sim.run({ untilMs: 70_000 }), /failed simulation/);
});

Deno.test("Simulator: a node that throws fails the run with the event it was handling", () => {
  const printed: string[] = [];
  const sim = new Simulator<number, KvDisk<number>>({
    seed: 5,
    nodeCount: 2,
    createDisk: () => new KvDisk(),
    createNode: (id) => ({
      step: (event) => {
        if (id === 1 && event.type === "linkUp") throw new Error("node 1 hates links");
        return [];
      },
    }),
    report: (text) => printed.push(text),
    replayCommand: "scripts/sim_sweep",
  });
  assert.throws(() => sim.run({ untilMs: 1000 }), /node 1 hates links/);
  assert.match(printed[0], /while node 1 handling linkUp 0/);
  assert.match(printed[0], /Replay: SIM_SEED=5 scripts\/sim_sweep/);
});

Deno.test("Simulator.fail() reports a check made between runs (a missed liveness bound)", () => {
  const printed: string[] = [];
  const sim = gossipSim(31, { report: (text) => printed.push(text) });
  sim.run({ untilMs: 100 });
  assert.throws(() => sim.fail(new Error("no leader within 100 ms")), SimulationError);
  assert.match(printed[0], /no leader within 100 ms[\s\S]*Replay: SIM_SEED=31 /);
});
