/**
 * Transcript tests of the ZAB peer (REFERENCE §7): each names the phase it checks.
 * @module
 */
import assert from "../assert.ts";
import { zxidEpoch } from "../../src/tree/txn.ts";
import { Cluster } from "./_cluster.ts";

function settle(cluster: Cluster, ticksMax = 30): void {
  for (let i = 0; i < ticksMax && cluster.leader() === null; i++) cluster.tick();
  cluster.tick(2);
}

/**
 * Starts `cluster`; follower 1 is down while leader 3 commits `count` proposals, then rejoins.
 * Checks that it ends with the leader's txns and returns its transcript (how it was synced).
 */
function rejoinAfterMissing(cluster: Cluster, count: number, dataBytes?: number): string[] {
  cluster.start();
  settle(cluster);
  cluster.crash(1);
  cluster.propose(count, dataBytes === undefined ? {} : { dataBytes });
  cluster.tick();
  cluster.restart(1);
  settle(cluster);
  cluster.tick(3);
  assert.deepEqual(
    cluster.host(1).applied.map((r) => r.zxid),
    cluster.host(3).applied.map((r) => r.zxid),
  );
  return cluster.host(1).transcript;
}

Deno.test("ELECTION -> BROADCAST: three fresh servers elect server 3, move to epoch 1 and serve", () => {
  const cluster = new Cluster([1, 2, 3]);
  cluster.start();
  settle(cluster);
  const leader = cluster.leader();
  assert.equal(leader?.id, 3, "equal logs and epochs: the highest id leads");
  for (const host of cluster.hosts.values()) {
    assert.equal(host.peer.status.epochs.currentEpoch, 1, `server ${host.id} is in epoch 1`);
    assert.equal(host.peer.status.phase, "BROADCAST");
  }
  assert.deepEqual(cluster.host(1).transcript.slice(-2), [
    "FOLLOWING SYNCHRONIZATION",
    "FOLLOWING BROADCAST serving",
  ]);
});

Deno.test("ELECTION -> BROADCAST: three servers starting together serve before their first tick", () => {
  // Every vote agrees, so nobody waits out the finalize tick; the leader's LEADING notice makes
  // a follower that decided first resend the FOLLOWERINFO it dropped while still LOOKING.
  const cluster = new Cluster([1, 2, 3]);
  cluster.start(); // delivers every message until quiet, without a single tick
  for (const host of cluster.hosts.values()) {
    assert.equal(host.peer.status.phase, "BROADCAST", `${host.id}: ${host.transcript.join(", ")}`);
  }
  assert.equal(cluster.leader()?.id, 3);
});

Deno.test("BROADCAST: proposals commit in zxid order once a quorum logged them", () => {
  const cluster = new Cluster([1, 2, 3]);
  cluster.start();
  settle(cluster);
  const zxids = cluster.propose(5);
  cluster.tick();
  for (const host of cluster.hosts.values()) {
    assert.deepEqual(
      host.applied.map((r) => r.zxid),
      zxids,
      `server ${host.id} applied all five in order`,
    );
  }
  assert.ok(zxids.every((z) => zxidEpoch(z) === 1));
});

Deno.test("BROADCAST: with one follower down a proposal still commits; with two down it waits", () => {
  const cluster = new Cluster([1, 2, 3]);
  cluster.start();
  settle(cluster);
  cluster.crash(1);
  const [first] = cluster.propose(1);
  assert.ok(cluster.committed.has(first), "leader + one follower are a quorum");
  cluster.host(2).holdLog = true;
  const [second] = cluster.propose(1);
  assert.ok(!cluster.committed.has(second), "not committed until a second server logged it");
  cluster.flush(2);
  assert.ok(cluster.committed.has(second), "committed once the follower's log is durable");
  cluster.assertPrefixes();
});

Deno.test("DISCOVERY: after the leader dies, the new epoch is above every accepted epoch and committed txns survive", () => {
  const cluster = new Cluster([1, 2, 3]);
  cluster.start();
  settle(cluster);
  const committed = cluster.propose(3);
  cluster.tick();
  cluster.crash(3);
  settle(cluster);
  const leader = cluster.leader();
  assert.equal(leader?.id, 2, "of the two left, equal logs: the higher id");
  assert.equal(leader.peer.status.epochs.currentEpoch, 2);
  for (const id of [1, 2]) {
    const applied = cluster.host(id).applied.map((r) => r.zxid);
    assert.deepEqual(applied.slice(0, 3), committed, `server ${id} kept every committed txn`);
  }
  cluster.propose(2);
  cluster.tick();
  cluster.assertPrefixes();
  cluster.assertCommittedEverywhere();
});

Deno.test("SYNCHRONIZATION: a follower that was down catches up by DIFF", () => {
  const transcript = rejoinAfterMissing(new Cluster([1, 2, 3]), 4);
  assert.ok(
    !transcript.some((t) => t.startsWith("SNAP") || t.startsWith("TRUNC")),
    "a DIFF sufficed",
  );
});

Deno.test("SYNCHRONIZATION: a proposal only the old leader logged is discarded everywhere (TRUNC)", () => {
  const cluster = new Cluster([1, 2, 3]);
  cluster.start();
  settle(cluster);
  const committed = cluster.propose(2);
  cluster.tick();
  // The leader logs a proposal and dies before it reaches any follower.
  const [lost] = cluster.propose(1, { deliver: false });
  assert.ok(!cluster.committed.has(lost));
  assert.ok(cluster.host(3).log.some((r) => r.zxid === lost), "only the old leader logged it");
  cluster.crash(3);
  settle(cluster);
  assert.equal(cluster.leader()?.id, 2);
  cluster.propose(1);
  cluster.tick();
  cluster.restart(3);
  settle(cluster);
  cluster.tick(3);
  const old = cluster.host(3);
  assert.ok(old.transcript.includes(`TRUNC to ${committed.at(-1)}`), old.transcript.join("\n"));
  assert.ok(
    !old.applied.some((r) => r.zxid === lost),
    "the discarded proposal is gone from the old leader",
  );
  assert.ok(!old.log.some((r) => r.zxid === lost), "and from its log");
  cluster.assertPrefixes();
  cluster.assertCommittedEverywhere();
});

/**
 * A follower misses 12 txns of 1 KiB, then rejoins a leader whose history may hold
 * `historyBytesMax` bytes (and 1000 records). Returns whether it got a SNAP, after checking that it
 * ends with the leader's state either way.
 */
function rejoinsWithSnap(historyBytesMax: number): boolean {
  const cluster = new Cluster([1, 2, 3], [], 1000, {}, historyBytesMax);
  return rejoinAfterMissing(cluster, 12, 1024).some((t) => t.startsWith("SNAP"));
}

Deno.test("SYNCHRONIZATION: history is bounded by bytes too: large values behind a follower mean a SNAP", () => {
  assert.equal(rejoinsWithSnap(4096), true, "12 KiB behind, 4 KiB of history: SNAP");
  assert.equal(rejoinsWithSnap(1024 * 1024), false, "within the byte budget: DIFF");
});

Deno.test("SYNCHRONIZATION: a follower too far behind the leader's history gets a SNAP", () => {
  const transcript = rejoinAfterMissing(new Cluster([1, 2, 3], [], 5), 12);
  assert.ok(transcript.some((t) => t.startsWith("SNAP")), transcript.join("\n"));
});

Deno.test("liveness: followers notice a silent leader after syncLimit ticks and elect another", () => {
  const cluster = new Cluster([1, 2, 3]);
  cluster.start();
  settle(cluster);
  // The leader stops (no crash notice: its links stay up but nothing comes from it).
  cluster.host(3).up = false;
  cluster.tick(8);
  settle(cluster);
  assert.equal(cluster.leader()?.id, 2);
});

Deno.test("ELECTION: a follower that starts looking late hears at once the votes it was sent while following", () => {
  const cluster = new Cluster([1, 2, 3]);
  cluster.start();
  settle(cluster);
  assert.equal(cluster.leader()?.id, 3);
  cluster.host(3).up = false; // silent, as under SIGSTOP
  cluster.host(1).late = true; // 1 notices later than 2
  cluster.tick(7);
  assert.equal(cluster.host(2).peer.status.state, "LOOKING");
  assert.equal(cluster.host(1).peer.status.state, "FOLLOWING");
  // 2's vote reached 1 while it still followed. Now 1's clock runs and 2's stands still (so 2
  // resends nothing) until 1 looks too.
  cluster.host(1).late = false;
  cluster.host(2).late = true;
  for (let t = 0; t < 30 && cluster.host(1).peer.status.state === "FOLLOWING"; t++) cluster.tick(1);
  assert.equal(cluster.host(1).peer.status.state, "LOOKING");
  // 1 must count 2's vote at once: a decision after the finalize wait, not after the 5 quiet
  // ticks that 2 would wait before resending it.
  cluster.host(2).late = false;
  cluster.tick(2);
  assert.equal(cluster.host(2).peer.status.state, "LEADING", cluster.host(1).transcript.join("\n"));
  assert.equal(cluster.host(1).peer.status.state, "FOLLOWING");
  settle(cluster);
  assert.equal(cluster.leader()?.id, 2);
});

Deno.test("SYNCHRONIZATION: a learner silent while it syncs keeps its place for initLimit, not syncLimit", () => {
  const cluster = new Cluster([1, 2, 3]);
  cluster.start();
  settle(cluster);
  const leader = cluster.leader()!.id;
  const id = [1, 2, 3].find((n) => n !== leader)!;
  cluster.crash(id);
  cluster.propose(3);
  cluster.restart(id, { holdLog: true }); // it cannot acknowledge NEWLEADER until its log is written
  const learner = cluster.host(id);
  for (let t = 0; t < 20 && learner.peer.status.phase !== "SYNCHRONIZATION"; t++) cluster.tick(1);
  assert.equal(learner.peer.status.phase, "SYNCHRONIZATION");
  // Busy (cutting its log, say) for more than syncLimit (5) but less than initLimit (10) ticks.
  learner.mute = true;
  cluster.tick(7);
  learner.mute = false;
  cluster.flush(id);
  cluster.tick(2);
  assert.equal(learner.peer.status.phase, "BROADCAST", learner.transcript.join("\n"));
});

Deno.test("BROADCAST: an observer learns every commit and never votes or leads", () => {
  const cluster = new Cluster([1, 2, 3], [9]);
  cluster.start();
  settle(cluster);
  assert.notEqual(cluster.leader()?.id, 9);
  assert.equal(cluster.host(9).peer.status.state, "OBSERVING");
  const zxids = cluster.propose(3);
  cluster.tick();
  assert.deepEqual(cluster.host(9).applied.map((r) => r.zxid), zxids);
});
