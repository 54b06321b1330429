/**
 * N real ensemble members (EnsembleNode: Replica + ZAB Peer) and M clients hosted in the
 * deterministic simulator (tests/sim/_ensemble_sim.ts): seeds of crashes that lose unsynced
 * writes, restarts, cut links, partitions, message delay and slow fsyncs under a client workload,
 * with invariants checked after every step (safety), then a bounded wait for a serving leader,
 * every server in BROADCAST with one state and every client's last write done (liveness).
 *
 * `SIM_SEED=<n> deno test -A tests/sim/ensemble_sim_test.ts` replays one seed (in every test,
 * with a longer trace); `scripts/ensemble_sweep` runs thousands.
 * @module
 */
import assert from "../assert.ts";
import { SimulationError } from "../../src/sim/simulator.ts";
import type { EnsembleHostBug, EnsembleSimOptions, EnsembleSimResult } from "./_ensemble_sim.ts";
import { runEnsembleSim } from "./_ensemble_sim.ts";

const replayCommand = "deno test -A tests/sim/ensemble_sim_test.ts";
const replaySeed = Deno.env.get("SIM_SEED");

function seeds(from: number, count: number): number[] {
  if (replaySeed !== undefined) return [Number(replaySeed)];
  return Array.from({ length: count }, (_, i) => from + i);
}

function sweep(
  options: Partial<EnsembleSimOptions>,
  from: number,
  count: number,
): EnsembleSimResult[] {
  return seeds(from, count).map((seed) =>
    runEnsembleSim({
      ...options,
      seed,
      replayCommand,
      recentStepsMax: replaySeed === undefined ? 40 : 400,
    })
  );
}

Deno.test("ensemble sim: 3 voters and their clients keep every acknowledged write, 100 seeds", () => {
  const results = sweep({ voters: 3, observers: 0 }, 0, 100);
  if (replaySeed === undefined) {
    assert.ok(results.filter((r) => r.epochs > 1).length > 20, "many seeds change leader");
    assert.ok(results.every((r) => r.acked > 0), "every seed acknowledges writes");
    assert.ok(results.some((r) => r.ops.unknown > 0), "some ops end unknown");
  }
});

Deno.test("ensemble sim: 5 voters, 40 seeds", () => {
  sweep({ voters: 5, observers: 0 }, 1000, 40);
});

Deno.test("ensemble sim: sizes, histories and snapshots drawn from the seed, 40 seeds", () => {
  sweep({}, 3000, 40);
});

Deno.test("ensemble sim: 3 voters and an observer, 30 seeds", () => {
  const results = sweep({ voters: 3, observers: 1 }, 2000, 30);
  if (replaySeed === undefined) {
    assert.ok(results.some((r) => r.stats.observerRejoins > 0), "an observer rejoins");
  }
});

Deno.test("ensemble sim: a seed replays the same trace and history", () => {
  const a = runEnsembleSim({ seed: 4242, voters: 3, observers: 0, replayCommand });
  const b = runEnsembleSim({ seed: 4242, voters: 3, observers: 0, replayCommand });
  assert.equal(a.traceHash, b.traceHash);
  assert.deepEqual(a, b);
});

Deno.test("ensemble sim: clients record a usable history", () => {
  const r = runEnsembleSim({ seed: 7, voters: 3, observers: 0, replayCommand, watches: true });
  assert.ok(r.history.length > 50, "the clients ran a workload");
  const ops = new Set(r.history.map((op) => op.request.op));
  for (const op of ["create", "setData", "delete", "getData", "sync", "multi"]) {
    assert.ok(ops.has(op as never), `the workload has ${op}`);
  }
  r.history.forEach((op, index) => {
    assert.equal(op.index, index);
    assert.ok(op.sessionId > 0, "every op runs in a session");
    if (op.outcome === "ok" || op.outcome === "error") {
      assert.ok(op.response !== null && op.completedMs !== null && op.completedMs >= op.invokedMs);
      assert.equal(op.response.xid, op.xid);
      assert.equal(op.outcome === "error", op.response.err !== undefined);
    } else if (op.outcome === "unknown") {
      assert.ok(op.response === null && op.completedMs === null && op.lostMs !== null);
    }
  });
  // Per client process, xids grow with invocation.
  const lastXid = new Map<string, number>();
  for (const op of r.history) {
    const key = `${op.client}/${op.process}`;
    assert.ok(op.xid > (lastXid.get(key) ?? 0), "xids grow");
    lastXid.set(key, op.xid);
  }
  assert.ok(r.checked.sessions.some((e) => e.kind === "created"));
  assert.ok(r.checked.events.length > 0, "watches fired");
  assert.ok(r.history.some((op) => op.request.op === "setWatches"), "watches were re-sent");
  // The committed order read back from the converged leader holds every acknowledged write.
  const committed = new Set(r.checked.committed.map((t) => t.zxid));
  for (const op of r.history) {
    if (op.outcome !== "ok" || op.response === null) continue;
    if (["create", "setData", "delete", "multi"].includes(op.request.op)) {
      assert.ok(committed.has(op.response.zxid), `write ${op.index} is in the committed order`);
    }
  }
  assert.equal(r.ops.ok + r.ops.error + r.ops.unknown + r.ops.pending, r.history.length);
});

/**
 * Finds, among the first seeds, one that the planted bug makes fail and that passes without it;
 * returns its report.
 */
function caught(bug: EnsembleHostBug, seedsMax: number): string {
  for (let seed = 0; seed < seedsMax; seed++) {
    let report = "";
    const options = { seed, voters: 3, observers: 0, replayCommand };
    try {
      runEnsembleSim({ ...options, bug, report: (t) => report = t });
    } catch (error) {
      if (!(error instanceof SimulationError)) throw error;
      try {
        runEnsembleSim({ ...options, report: () => {} });
      } catch {
        continue; // the seed fails without the planted bug too
      }
      return report;
    }
  }
  throw new Error(`no seed below ${seedsMax} caught the planted bug ${bug}`);
}

Deno.test("ensemble sim: the checks catch a host that ignores TRUNC", () => {
  const report = caught("ignoreTrunc", 60);
  assert.match(
    report,
    /applied sequences diverge|applied after|different states|missing from serving server|invariant violated/,
  );
  assert.match(report, /Replay: SIM_SEED=\d+ deno test -A tests\/sim\/ensemble_sim_test.ts/);
});

Deno.test("ensemble sim: the checks catch a host that reports records logged before their fsync", () => {
  // Committed txns then live only in page caches; a power outage loses them on a quorum.
  const report = caught("loggedBeforeDurable", 60);
  assert.match(
    report,
    /applied sequences diverge|applied after|missing from serving server|no replica applied/,
  );
});

Deno.test("ensemble sim: the checks catch a replica that misses committed txns", () => {
  const report = caught("skipCommit", 10);
  assert.match(report, /server 1 applied .* their applied sequences diverge/);
});

// ---- regressions -------------------------------------------------------------------------------

Deno.test("ensemble sim: a restarted observer finds the serving leader (seeds 2009, 2010, 24)", () => {
  // Found by this simulator (and fixed meanwhile in b292985): validate.ts refused the vote of an
  // observer that has learned nothing (election.ts NO_VOTE, -1 everywhere), so every member
  // dropped its notifications as malformed and one that restarted after the election never
  // heard of the leader. Each of these seeds restarts an observer that must serve again.
  const runs = [
    runEnsembleSim({ seed: 2009, voters: 3, observers: 1, replayCommand }),
    runEnsembleSim({ seed: 2010, voters: 3, observers: 1, replayCommand }),
    runEnsembleSim({ seed: 24, replayCommand }),
  ];
  for (const r of runs) {
    assert.ok(r.stats.observerRejoins > 0, `seed ${r.seed}: an observer rejoins`);
  }
});

Deno.test("ensemble sim: a TRUNC past what a member applied does not replay its tail (seeds 105, 215)", () => {
  // Found by this simulator (and fixed meanwhile in d5352f3): a deposed leader holding uncommitted
  // proposals was told TRUNC to a zxid past its commit point; the host rebuilt its replica from
  // storage (applying every record up to the cut) while Peer kept committedZxid below it, so the
  // next COMMIT handed those records to the replica again and its invariant failed (the real
  // server stopped). Seeds 16 and 41 failed that way before the fix; since later protocol fixes
  // changed their paths, these seeds are the first that truncate past what was applied (again
  // after errors began to wait for the txns they rest on, c7f6cc1, and after elections began to
  // decide at once when every voter agrees).
  for (const seed of [105, 215]) {
    const r = runEnsembleSim({ seed, voters: 3, observers: 0, replayCommand });
    assert.ok(r.stats.truncatesPastApplied > 0, `seed ${seed} truncates past the applied zxid`);
  }
});

Deno.test("ensemble sim: a member that replayed txns a TRUNC cuts is rebuilt from storage (seeds 2, 11)", () => {
  for (const seed of [2, 11]) {
    const r = runEnsembleSim({ seed, replayCommand });
    assert.ok(r.stats.rebuilds > 0, `seed ${seed} rebuilds after a TRUNC`);
  }
});

Deno.test("ensemble sim: a learner applies a new leader's history during sync, and a TRUNC undoes it when that epoch fails (seed 11)", () => {
  // A restarted leader counts its whole log as committed and sends it with COMMITs during sync,
  // before any NEWLEADER quorum; learners apply it (as ZooKeeper's do), and when that epoch fails
  // a TRUNC rebuilds them. Not a violation: the check counts only commits applied in BROADCAST.
  // (Seed 3845 raised the false alarm that taught the check this; after later fixes it takes
  // another path; seed 11 is now the first with a rebuild and an outage.)
  const r = runEnsembleSim({ seed: 11, replayCommand });
  assert.ok(r.stats.rebuilds > 0 && r.stats.outages > 0);
});

Deno.test({
  name:
    "ensemble sim: a learner that joins a serving leader does not commit its pending proposals (seed 11870)",
  // Regression (fixed: UPTODATE carries the leader's commit point): a follower syncing with a
  // leader already in BROADCAST gets the leader's
  // pending proposals (PROPOSAL without COMMIT) before NEWLEADER, and on UPTODATE Peer commits
  // up to the zxid it held at NEWLEADER: it applies and serves txns that no quorum has logged.
  // In this seed the leader's and the other follower's disks stall, an outage loses those txns,
  // and the next epoch commits 5/1 after 3/e while server 1 had served 4/1..4/3 (a client's
  // setData among them).
  fn: () => {
    runEnsembleSim({ seed: 11870, replayCommand });
  },
});

Deno.test({
  name:
    "ensemble sim: a SNAP of a history that never committed does not strand its learner (seeds 5840, 15694)",
  // Regression (fixed: ACKEPOCH reports where the learner's history starts, and the leader sends
  // a SNAP rather than a TRUNC below it): a restarted leader counts its whole log as committed and, syncing a learner
  // in a new epoch, sends a SNAP of it before any NEWLEADER quorum; the learner installs it as its
  // snapshot. When that epoch fails and a later leader lacks the snapshot's last txns, it sends
  // TRUNC below the learner's snapshot: Peer's "a TRUNC never reaches below our snapshot" throws
  // (the real server stops, and again at every restart while that leader leads). Seed 5840: node
  // 1 leads epoch 4 with an uncommitted 3/7 and SNAPs node 2 at 3/7; leader 4 of epoch 5 sends
  // node 2 TRUNC 3/6.
  fn: () => {
    for (const seed of [5840, 15694]) runEnsembleSim({ seed, replayCommand });
  },
});

Deno.test({
  name:
    "ensemble sim: a learner that looks again and re-follows its leader syncs afresh (seed 15971)",
  // Regression (fixed: a FOLLOWERINFO after ACKEPOCH starts a fresh sync, and a learner in
  // DISCOVERY ignores all but LEADERINFO and PING): node 1, syncing with leader 2 for epoch 8, hears nothing for initLimit (the
  // leader's sends wait behind a slow persistEpochs), looks, and follows 2 again: its new
  // FOLLOWERINFO is ignored by the leader (the learner already acknowledged the epoch, so it
  // counts as a resend), and the learner, in DISCOVERY, accepts the leader's PROPOSAL and COMMIT
  // of 8/1 and applies it on its stale state (3/4): servers 1 and 2 hold different states at 8/1,
  // and node 1 stays in DISCOVERY, logging epoch 8 after epoch 3.
  fn: () => {
    runEnsembleSim({ seed: 15971, replayCommand });
  },
});

Deno.test("ensemble sim: an ACKEPOCH left over from an abandoned term starts no sync (seed 17138)", () => {
  // Found by this simulator: leader 2 stepped down and led again in a new term; node 0's
  // ACKEPOCH for the abandoned epoch arrived in the new term and started a sync, then its
  // ACKEPOCH for the new epoch started a second one, and node 0, already serving, got the DIFF's
  // PROPOSALs again (Peer's append invariant threw). ACKEPOCH now names the epoch it accepts.
  runEnsembleSim({ seed: 17138, replayCommand });
});
