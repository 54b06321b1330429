/**
 * Fast leader election (ZAB phase ELECTION, REFERENCE §7) as transcripts: several `Election`s
 * exchange notifications in an order each test chooses, and the transcript shows who voted for
 * whom and who decided what. The seeds' 3-node start-up and 4-node examples are replayed step by
 * step. Properties at the end check agreement and the choice of leader over random schedules.
 * @module
 */
import fc from "fast-check";
import assert from "../assert.ts";
import { assertFindsBug, assertProperty } from "../../props/_props.ts";
import {
  type Decision,
  Election,
  type ElectionOptions,
  type ElectionOutput,
  NO_VOTE,
} from "../../src/zab/election.ts";
import { InvariantError } from "../../src/assert.ts";
import type { Notification, ServerId, Vote } from "../../src/zab/types.ts";
import { betterVote, quorumSize } from "../../src/zab/types.ts";
import { type ElectionFactory, type ElectionLike, Ensemble } from "./_transcript.ts";

// ---- the seeds' examples ---------------------------------------------------------------------

Deno.test("ELECTION: three servers starting together elect the one with the highest id", () => {
  const net = new Ensemble({ voters: [1, 2, 3] });
  for (const id of [1, 2, 3]) net.up({ id, zxid: 0, epoch: 0 });
  net.startAll(1, 2, 3);
  net.deliver(1, 2); // 2 keeps its own vote; 1 has not heard anyone yet
  net.deliver(3, 2); // 2 switches to 3: with 3's own vote that is a quorum, but 1 still votes 1
  assert.deepEqual(net.outcome(), [], "a quorum that is not every voter waits for a better vote");
  net.deliverAll();
  assert.deepEqual(
    net.outcome(),
    ["1: FOLLOWING 3 r1", "2: FOLLOWING 3 r1", "3: LEADING 3 r1"],
    "once every voter holds the same vote no better one can come: all decide without a tick",
  );
});

Deno.test("ELECTION: a quorum's finalize wait ends early once the last voter agrees", () => {
  const net = new Ensemble({ voters: [1, 2, 3], finalizeWaitTicks: 3, resendTicks: 1 });
  for (const id of [1, 2, 3]) net.up({ id, zxid: 0, epoch: 0 });
  net.startAll(2, 3); // what they send 1 is lost: 1 has not started
  net.deliverAll(); // 2 and 3 agree on 3: a quorum, so both begin a 3-tick finalize wait
  net.start(1);
  net.deliverAll(); // 2 and 3 hear 1 vote for itself; nobody has told 1 about 3 yet
  net.tick(2, 3); // one tick of the wait passes; 2 and 3 re-send their votes
  assert.deepEqual(net.outcome(), []);
  net.deliverAll(); // 1 switches to 3 and tells both: every voter now holds 3
  assert.deepEqual(net.outcome(), ["1: FOLLOWING 3 r1", "2: FOLLOWING 3 r1", "3: LEADING 3 r1"]);
});

Deno.test("ELECTION: the seed's 3-node start-up example - server 1 alone cannot decide; server 2 starts and leads", () => {
  // Seed 002: three servers, all zxids 0, quorum 2. Server 1 starts first and votes (1,0); it is
  // alone, so it stays LOOKING. Server 2 starts and votes (2,0); server 1 finds 2 better, switches
  // and tells 2; 2 sees a majority for itself and leads; 1 follows. Server 3 never starts.
  const net = new Ensemble({ voters: [1, 2, 3] });
  net.up({ id: 1, zxid: 0, epoch: 0 });
  net.start(1);
  for (let i = 0; i < 12; i++) net.tick(1); // re-sends to servers that are not up are lost
  assert.equal(net.election(1).decision, null);
  assert.deepEqual(net.transcript().slice(0, 1), ["1 starts r1, votes 1 (e0 z0)"]);

  net.up({ id: 2, zxid: 0, epoch: 0 });
  net.start(2);
  net.deliver(2, 1);
  net.deliver(1, 2);
  assert.deepEqual(net.transcript(), [
    "2 starts r1, votes 2 (e0 z0)",
    "2 -> 1: LOOKING r1 vote 2 (e0 z0)",
    "    1 now votes 2 (e0 z0) in r1",
    "1 -> 2: LOOKING r1 vote 2 (e0 z0)",
  ]);
  net.tick(1, 2);
  assert.deepEqual(net.transcript(), [
    "tick 1 2",
    "    1 decides FOLLOWING 2 (e0 z0) in r1",
    "    2 decides LEADING 2 (e0 z0) in r1",
  ]);
});

Deno.test("ELECTION: the seed's 4-node example - node04 (the leader) is down; node02 wins with 3 of 4 votes", () => {
  // Seed 000: node01 zxid 8, node02 zxid 8, node03 zxid 7, node04 (leader, zxid 8) crashed.
  const net = new Ensemble({ voters: [1, 2, 3, 4] });
  net.up({ id: 1, zxid: 8, epoch: 0 });
  net.up({ id: 2, zxid: 8, epoch: 0 });
  net.up({ id: 3, zxid: 7, epoch: 0 });
  // 1. node03 notices first and votes for itself; node02 and node01 notice next, each for itself.
  net.startAll(3, 2, 1);
  // 2. node03's vote reaches node02 and node01: each has a newer zxid, so each keeps its own vote.
  net.deliver(3, 2);
  net.deliver(3, 1);
  // 3. node01 hears node02: same zxid, higher myid, so node01 now votes for node02.
  net.deliver(2, 1);
  // 4. node03 hears node02: newer zxid, so node03 votes for node02 too.
  net.deliver(2, 3);
  assert.deepEqual(net.transcript(), [
    "3 starts r1, votes 3 (e0 z7)",
    "2 starts r1, votes 2 (e0 z8)",
    "1 starts r1, votes 1 (e0 z8)",
    "3 -> 2: LOOKING r1 vote 3 (e0 z7)",
    "3 -> 1: LOOKING r1 vote 3 (e0 z7)",
    "2 -> 1: LOOKING r1 vote 2 (e0 z8)",
    "    1 now votes 2 (e0 z8) in r1",
    "2 -> 3: LOOKING r1 vote 2 (e0 z8)",
    "    3 now votes 2 (e0 z8) in r1",
  ]);
  // 5. Once node02 has heard node01's and node03's switch, it holds 3 votes: 4/2+1 = 3, a quorum.
  net.deliver(1, 2); // node01's first vote, for itself
  net.deliver(1, 2); // node01's vote for node02
  assert.equal(net.election(2).decision, null, "2 of 4 votes are not a quorum");
  net.deliverAll();
  net.tick();
  assert.deepEqual(net.outcome(), ["1: FOLLOWING 2 r1", "2: LEADING 2 r1", "3: FOLLOWING 2 r1"]);
});

Deno.test("ELECTION: the seed's re-election example - the server with the most recent log wins regardless of id", () => {
  // Seed 002: leader 2 died; server 1 has zxid 99, server 3 has zxid 95: server 1 leads.
  const net = new Ensemble({ voters: [1, 2, 3] });
  net.up({ id: 1, zxid: 99, epoch: 0 });
  net.up({ id: 3, zxid: 95, epoch: 0 });
  net.startAll(1, 3);
  net.deliver(3, 1); // 1 keeps its own vote: 99 > 95
  net.deliver(1, 3); // 3 switches to 1
  net.deliverAll();
  assert.deepEqual(net.transcript(), [
    "1 starts r1, votes 1 (e0 z99)",
    "3 starts r1, votes 3 (e0 z95)",
    "3 -> 1: LOOKING r1 vote 3 (e0 z95)",
    "1 -> 3: LOOKING r1 vote 1 (e0 z99)",
    "    3 now votes 1 (e0 z99) in r1",
    "3 -> 1: LOOKING r1 vote 1 (e0 z99)",
  ]);
  net.tick();
  assert.deepEqual(net.outcome(), ["1: LEADING 1 r1", "3: FOLLOWING 1 r1"]);
});

Deno.test("ELECTION: a higher epoch beats a higher zxid, which beats a higher id", () => {
  const elect = (servers: Array<[ServerId, number, number]>): string[] => {
    const net = new Ensemble({ voters: servers.map(([id]) => id) });
    for (const [id, epoch, zxid] of servers) net.up({ id, epoch, zxid });
    net.startAll(...servers.map(([id]) => id));
    net.deliverAll();
    net.tick();
    return net.outcome();
  };
  // [id, epoch, zxid]: server 1 has the highest epoch, servers 2 and 3 higher zxids and ids.
  assert.deepEqual(elect([[1, 3, 10], [2, 2, 90], [3, 2, 50]]), [
    "1: LEADING 1 r1",
    "2: FOLLOWING 1 r1",
    "3: FOLLOWING 1 r1",
  ]);
  // Same epoch: the highest zxid wins over the highest id.
  assert.deepEqual(elect([[1, 2, 10], [2, 2, 90], [3, 2, 50]]), [
    "1: FOLLOWING 2 r1",
    "2: LEADING 2 r1",
    "3: FOLLOWING 2 r1",
  ]);
  // Same epoch and zxid: the highest id.
  assert.deepEqual(elect([[1, 2, 90], [2, 2, 90], [3, 2, 90]]), [
    "1: FOLLOWING 3 r1",
    "2: FOLLOWING 3 r1",
    "3: LEADING 3 r1",
  ]);
});

// ---- faults ----------------------------------------------------------------------------------

Deno.test("ELECTION: lost notifications are recovered by the re-sends of tick()", () => {
  const net = new Ensemble({ voters: [1, 2, 3], resendTicks: 3 });
  for (const id of [1, 2, 3]) net.up({ id, zxid: 4, epoch: 1 });
  net.startAll(1, 2, 3);
  net.dropAll(); // every first notification is lost
  net.transcript();
  net.tick();
  net.tick();
  assert.deepEqual(net.inFlight, [], "quiet for 2 ticks: no re-send yet");
  net.tick();
  assert.equal(net.inFlight.length, 6, "after 3 quiet ticks each server re-sends to the other two");
  net.deliverAll();
  net.tick();
  assert.deepEqual(net.outcome(), ["1: FOLLOWING 3 r1", "2: FOLLOWING 3 r1", "3: LEADING 3 r1"]);
});

Deno.test("ELECTION: a late joiner learns the leader from FOLLOWING/LEADING replies, without a new election", () => {
  const net = new Ensemble({ voters: [1, 2, 3] });
  const winner: Vote = { leader: 2, zxid: 40, epoch: 2 };
  net.upDecided(1, { state: "FOLLOWING", round: 5, vote: winner });
  net.upDecided(2, { state: "LEADING", round: 5, vote: winner });
  // Server 3 restarts with a better log than the leader's; it must still follow 2.
  net.up({ id: 3, zxid: 41, epoch: 2 });
  net.start(3);
  net.deliver(3, 1);
  net.deliver(3, 2);
  net.deliver(1, 3);
  assert.equal(net.election(3).decision, null, "a follower's word alone is not enough");
  net.deliver(2, 3);
  assert.deepEqual(net.transcript(), [
    "3 starts r1, votes 3 (e2 z41)",
    "3 -> 1: LOOKING r1 vote 3 (e2 z41)",
    "3 -> 2: LOOKING r1 vote 3 (e2 z41)",
    "1 -> 3: FOLLOWING r5 vote 2 (e2 z40)",
    "2 -> 3: LEADING r5 vote 2 (e2 z40)",
    "    3 decides FOLLOWING 2 (e2 z40) in r5",
  ]);
  assert.equal(net.election(3).round, 5, "the joiner adopts the ensemble's round");
});

Deno.test("ELECTION: a late joiner takes the leader's own vote when followers report their own logs", () => {
  const net = new Ensemble({ voters: [1, 2, 3] });
  net.upDecided(1, { state: "FOLLOWING", round: 5, vote: { leader: 2, zxid: 38, epoch: 2 } });
  net.upDecided(2, { state: "LEADING", round: 5, vote: { leader: 2, zxid: 40, epoch: 2 } });
  net.up({ id: 3, zxid: 0, epoch: 0 });
  net.start(3);
  net.deliver(3, 2);
  net.deliver(3, 1);
  net.deliverAll();
  assert.deepEqual(net.decisions.get(3)?.vote, { leader: 2, zxid: 40, epoch: 2 });
});

Deno.test("ELECTION: a late joiner does not follow a leader that never says it leads", () => {
  const net = new Ensemble({ voters: [1, 2, 3], resendTicks: 2 });
  const winner: Vote = { leader: 2, zxid: 40, epoch: 2 };
  net.upDecided(1, { state: "FOLLOWING", round: 5, vote: winner });
  net.upDecided(2, { state: "LEADING", round: 5, vote: winner });
  net.up({ id: 3, zxid: 0, epoch: 0 });
  net.start(3);
  net.deliver(3, 1);
  net.drop(3, 2); // the leader never hears the joiner
  net.deliverAll();
  assert.equal(
    net.election(3).decision,
    null,
    "two FOLLOWING reports are a quorum, but 2 is silent",
  );
  net.tick(3);
  net.tick(3); // re-send
  net.deliverAll();
  assert.deepEqual(net.outcome(), ["3: FOLLOWING 2 r5"]);
});

Deno.test("ELECTION: with two of three servers down nobody ever decides; once one returns, a leader is decided", () => {
  const net = new Ensemble({ voters: [1, 2, 3] });
  net.up({ id: 3, zxid: 7, epoch: 1 });
  net.start(3);
  for (let i = 0; i < 100; i++) {
    net.tick();
    net.deliverAll();
  }
  assert.equal(net.election(3).decision, null, "one vote of three is never a quorum");
  assert.equal(net.election(3).round, 1, "re-sends do not start new rounds");
  net.up({ id: 1, zxid: 9, epoch: 1 });
  net.start(1);
  net.deliverAll();
  net.tick();
  assert.deepEqual(net.outcome(), ["1: LEADING 1 r1", "3: FOLLOWING 1 r1"]);
});

Deno.test("ELECTION: a five-voter ensemble with two crashed servers still elects", () => {
  const net = new Ensemble({ voters: [1, 2, 3, 4, 5] });
  // Servers 4 and 5 (the best logs) are down: messages to them are lost; 3 of 5 is a quorum.
  for (const id of [1, 2, 3]) net.up({ id, zxid: 10 + id, epoch: 1 });
  net.startAll(1, 2, 3);
  net.deliver(1, 2);
  net.deliver(2, 1);
  net.deliverAll();
  assert.deepEqual(net.outcome(), []);
  net.tick();
  assert.deepEqual(net.outcome(), ["1: FOLLOWING 3 r1", "2: FOLLOWING 3 r1", "3: LEADING 3 r1"]);
});

Deno.test("ELECTION: a five-voter ensemble with three crashed servers never elects", () => {
  const net = new Ensemble({ voters: [1, 2, 3, 4, 5] });
  for (const id of [1, 2]) net.up({ id, zxid: 10 + id, epoch: 1 });
  net.startAll(1, 2);
  for (let i = 0; i < 50; i++) {
    net.deliverAll();
    net.tick();
  }
  assert.deepEqual(net.outcome(), [], "2 of 5 is no quorum");
});

// ---- rounds and roles ------------------------------------------------------------------------

Deno.test("ELECTION: a server in an old round is answered and catches up to the current round", () => {
  const net = new Ensemble({ voters: [1, 2, 3] });
  net.up({ id: 1, zxid: 5, epoch: 1, round: 0 });
  net.up({ id: 2, zxid: 5, epoch: 1, round: 6 });
  net.up({ id: 3, zxid: 5, epoch: 1, round: 6 });
  net.startAll(1, 2, 3);
  net.deliver(1, 2); // round 1 < 7: ignored, but 2 answers with its round
  net.deliver(2, 1);
  net.deliver(2, 1);
  assert.deepEqual(net.transcript(), [
    "1 starts r1, votes 1 (e1 z5)",
    "2 starts r7, votes 2 (e1 z5)",
    "3 starts r7, votes 3 (e1 z5)",
    "1 -> 2: LOOKING r1 vote 1 (e1 z5)",
    "2 -> 1: LOOKING r7 vote 2 (e1 z5)",
    "    1 now votes 2 (e1 z5) in r7",
    "2 -> 1: LOOKING r7 vote 2 (e1 z5)",
  ]);
  net.deliverAll();
  net.tick();
  assert.deepEqual(net.outcome(), ["1: FOLLOWING 3 r7", "2: FOLLOWING 3 r7", "3: LEADING 3 r7"]);
});

Deno.test("ELECTION: adopting a higher round forgets the old round's votes and re-judges our own", () => {
  const net = new Ensemble({ voters: [1, 2, 3] });
  net.up({ id: 1, zxid: 5, epoch: 1 });
  net.up({ id: 2, zxid: 3, epoch: 1 });
  net.up({ id: 3, zxid: 1, epoch: 1, round: 4 });
  net.startAll(1, 2);
  net.deliver(2, 1);
  net.deliver(1, 2); // 2 votes for 1 in round 1
  net.start(3); // round 5
  net.deliver(3, 2); // 2 adopts round 5: 2 itself (zxid 3) beats 3 (zxid 1)
  assert.deepEqual(net.election(2).vote, { leader: 2, zxid: 3, epoch: 1 });
  assert.equal(net.election(2).round, 5);
  net.deliverAll();
  net.tick();
  assert.deepEqual(net.outcome(), ["1: LEADING 1 r5", "2: FOLLOWING 1 r5", "3: FOLLOWING 1 r5"]);
});

Deno.test("ELECTION: an observer never becomes leader and ends OBSERVING", () => {
  // The observer has the highest id and the newest log, yet it votes for no one.
  const net = new Ensemble({ voters: [1, 2, 3], observers: [9] });
  for (const id of [1, 2, 3]) net.up({ id, zxid: 5, epoch: 1 });
  net.up({ id: 9, zxid: 99, epoch: 9 });
  net.start(9);
  assert.deepEqual(net.election(9).vote, NO_VOTE);
  assert.deepEqual(
    net.inFlight.map((e) => e.to),
    [1, 2, 3],
    "an observer tells the voters only",
  );
  net.startAll(1, 2, 3);
  net.deliverAll();
  net.tick();
  assert.deepEqual(net.outcome(), [
    "1: FOLLOWING 3 r1",
    "2: FOLLOWING 3 r1",
    "3: LEADING 3 r1",
    "9: OBSERVING 3 r1",
  ]);
});

Deno.test("ELECTION: an observer that starts late learns the leader from the voters' replies", () => {
  const net = new Ensemble({ voters: [1, 2, 3], observers: [9] });
  for (const id of [1, 2, 3]) net.up({ id, zxid: 5, epoch: 1 });
  net.startAll(1, 2, 3);
  net.deliverAll();
  net.tick();
  net.up({ id: 9, zxid: 0, epoch: 0 });
  net.start(9);
  net.deliverAll();
  assert.deepEqual(net.outcome().at(-1), "9: OBSERVING 3 r1");
});

Deno.test("ELECTION: observers' votes never count toward a quorum", () => {
  const net = new Ensemble({ voters: [1, 2, 3], observers: [8, 9] });
  net.up({ id: 1, zxid: 5, epoch: 1 });
  net.up({ id: 8, zxid: 0, epoch: 0 });
  net.up({ id: 9, zxid: 0, epoch: 0 });
  net.startAll(1, 8, 9);
  for (let i = 0; i < 20; i++) {
    net.deliverAll();
    net.tick();
  }
  assert.deepEqual(net.outcome(), [], "1 voter + 2 observers holding its vote is no quorum");
});

Deno.test("ELECTION: a better vote arriving during the finalize wait cancels the decision", () => {
  const net = new Ensemble({ voters: [1, 2, 3], finalizeWaitTicks: 2 });
  for (const id of [1, 2, 3]) net.up({ id, zxid: 5, epoch: 1 });
  net.startAll(1, 2, 3);
  net.deliver(2, 1); // 1 switches to 2
  net.deliver(1, 2); // 1's own first vote
  net.deliver(1, 2); // 1's vote for 2: 2 has a quorum and waits
  net.tick(1, 2);
  assert.equal(net.decisions.size, 0, "one tick of two");
  net.deliver(3, 2); // the better vote arrives in time
  net.deliverAll();
  net.tick();
  net.tick();
  assert.deepEqual(net.outcome(), ["1: FOLLOWING 3 r1", "2: FOLLOWING 3 r1", "3: LEADING 3 r1"]);
});

Deno.test("ELECTION: a vote that arrives after the finalize wait is too late (DISCOVERY must catch it)", () => {
  // Election alone is not consensus; this is why ZAB follows it with DISCOVERY.
  const net = new Ensemble({ voters: [1, 2, 3] });
  for (const id of [1, 2, 3]) net.up({ id, zxid: 5, epoch: 1 });
  net.startAll(1, 2, 3);
  net.drop(3, 1);
  net.drop(3, 2);
  net.deliverAll();
  net.tick();
  assert.deepEqual(net.outcome(), ["1: FOLLOWING 2 r1", "2: LEADING 2 r1"]);
  net.tick(3);
  net.tick(3);
  net.tick(3);
  net.tick(3);
  net.tick(3); // 3 re-sends and hears the decided servers' replies
  net.deliverAll();
  assert.deepEqual(net.outcome().at(-1), "3: FOLLOWING 2 r1");
});

Deno.test("ELECTION: a server that a quorum reports as leader in its own round becomes LEADING", () => {
  // ZooKeeper's checkLeader: "if everyone else thinks I'm the leader, I must be the leader".
  const membership = { voters: [1, 2, 3, 4, 5], observers: [] };
  const three = new Election({ myId: 3, membership, lastZxid: 5, currentEpoch: 1, round: 1 });
  const voteFor3: Vote = { leader: 3, zxid: 5, epoch: 1 };
  // Our own LOOKING vote for 3 counts with the reports of our round: 3 + 1 is 2 of 5.
  assert.equal(three.receive(1, { round: 1, state: "FOLLOWING", vote: voteFor3 }).decided, null);
  const output = three.receive(2, { round: 1, state: "FOLLOWING", vote: voteFor3 });
  assert.deepEqual(output.decided, { leader: 3, state: "LEADING", vote: voteFor3, round: 1 });

  const later = new Election({ myId: 3, membership, lastZxid: 5, currentEpoch: 1, round: 2 });
  for (const from of [1, 2, 4, 5]) {
    const stale = later.receive(from, { round: 1, state: "FOLLOWING", vote: voteFor3 });
    assert.equal(stale.decided, null, "reports from an older round never make us lead");
  }
});

Deno.test("ELECTION: a decided election answers LOOKING peers and can start a new round", () => {
  const net = new Ensemble({ voters: [1, 2, 3] });
  for (const id of [1, 2, 3]) net.up({ id, zxid: 5, epoch: 1 });
  net.startAll(1, 2, 3);
  net.deliverAll();
  net.tick();
  const one = net.election(1);
  const reply = one.receive(2, {
    round: 1,
    state: "LOOKING",
    vote: { leader: 2, zxid: 5, epoch: 1 },
  });
  assert.deepEqual(reply.send, [{
    to: 2,
    notification: { round: 1, state: "FOLLOWING", vote: { leader: 3, zxid: 5, epoch: 1 } },
  }]);
  assert.deepEqual(one.receive(3, { round: 1, state: "LEADING", vote: one.vote }).send, []);
  const restart = one.start(); // the leader was lost: look again
  assert.equal(one.decision, null);
  assert.equal(one.round, 2);
  assert.deepEqual(restart.send.map((m) => m.notification.state), ["LOOKING", "LOOKING"]);
});

// ---- input and invariants --------------------------------------------------------------------

Deno.test("Election.receive() ignores non-members, votes for non-voters and malformed reports", () => {
  const membership = { voters: [1, 2, 3], observers: [9] };
  const one = new Election({ myId: 1, membership, lastZxid: 5, currentEpoch: 1 });
  one.start();
  const before = one.vote;
  const ignored: Array<[ServerId, Notification]> = [
    [7, { round: 1, state: "LOOKING", vote: { leader: 7, zxid: 99, epoch: 9 } }],
    [2, { round: 1, state: "LOOKING", vote: { leader: 9, zxid: 99, epoch: 9 } }],
    [2, { round: 1, state: "LEADING", vote: { leader: 3, zxid: 99, epoch: 9 } }],
    [2, { round: 1, state: "FOLLOWING", vote: { leader: 2, zxid: 99, epoch: 9 } }],
    [2, { round: 1, state: "OBSERVING", vote: { leader: 3, zxid: 99, epoch: 9 } }],
    [9, { round: 1, state: "LOOKING", vote: { leader: 3, zxid: 99, epoch: 9 } }],
  ];
  for (const [from, n] of ignored) {
    const output = one.receive(from, n);
    assert.equal(output.decided, null);
    assert.deepEqual(one.vote, before, `${from} ${n.state} changed the vote`);
  }
  // The observer's notification is answered (so it can learn), never counted.
  assert.deepEqual(one.receive(9, ignored[5][1]).send.map((m) => m.to), [9]);
});

Deno.test("Election.replyWhenDecided() answers LOOKING peers only, and never for an observer", () => {
  const vote: Vote = { leader: 2, zxid: 8, epoch: 1 };
  const looking: Notification = {
    round: 1,
    state: "LOOKING",
    vote: { leader: 3, zxid: 0, epoch: 0 },
  };
  assert.deepEqual(Election.replyWhenDecided(2, "LEADING", 4, vote, looking), {
    round: 4,
    state: "LEADING",
    vote,
  });
  assert.equal(
    Election.replyWhenDecided(1, "FOLLOWING", 4, vote, { ...looking, state: "LEADING" }),
    null,
  );
  assert.equal(Election.replyWhenDecided(9, "OBSERVING", 4, vote, looking), null);
  assert.throws(() => Election.replyWhenDecided(1, "LEADING", 4, vote, looking), InvariantError);
  assert.throws(() => Election.replyWhenDecided(1, "LOOKING", 4, vote, looking), InvariantError);
});

Deno.test("new Election() rejects a configuration it cannot run", () => {
  const base: ElectionOptions = {
    myId: 1,
    membership: { voters: [1, 2, 3], observers: [] },
    lastZxid: 0,
    currentEpoch: 0,
  };
  const bad: Array<[string, Partial<ElectionOptions>]> = [
    ["not a member", { myId: 4 }],
    ["no voters", { membership: { voters: [], observers: [1] } }],
    ["duplicate id", { membership: { voters: [1, 2], observers: [2] } }],
    ["id out of range", { membership: { voters: [1, 256], observers: [] } }],
    ["negative round", { round: -1 }],
    ["negative finalize wait", { finalizeWaitTicks: -1 }],
    ["zero resend interval", { resendTicks: 0 }],
  ];
  for (const [why, patch] of bad) {
    assert.throws(() => new Election({ ...base, ...patch }), RangeError, why);
  }
});

Deno.test("ELECTION: a single-voter ensemble leads itself at once: its vote is every voter's", () => {
  const solo = new Election({
    myId: 1,
    membership: { voters: [1], observers: [] },
    lastZxid: 0,
    currentEpoch: 0,
  });
  const started = solo.start();
  assert.deepEqual(started.send, []);
  assert.equal(started.decided?.state, "LEADING");
});

// ---- properties ------------------------------------------------------------------------------

/** One random ensemble: ids 1..voterCount vote; id 9 observes when `observer`. */
interface Scenario {
  voterCount: number;
  observer: boolean;
  /** Credentials and first round of servers 1..5, then of the observer. */
  servers: Array<{ epoch: number; zxid: number; round: number }>;
  /** Voters that never come up (at most a minority). */
  crashedCount: number;
  /** Chance, in percent, that a notification is lost while losses are allowed. */
  dropPercent: number;
  finalizeWaitTicks: number;
  resendTicks: number;
  /** Seed of the delivery order, drops and tick times. */
  schedule: number;
}

const scenarios: fc.Arbitrary<Scenario> = fc.record({
  voterCount: fc.integer({ min: 3, max: 5 }),
  observer: fc.boolean(),
  // Small ranges make ties and epoch-versus-zxid conflicts common.
  servers: fc.array(fc.record({ epoch: fc.nat(2), zxid: fc.nat(3), round: fc.nat(2) }), {
    minLength: 6,
    maxLength: 6,
  }),
  crashedCount: fc.nat(2),
  dropPercent: fc.integer({ min: 0, max: 60 }),
  finalizeWaitTicks: fc.integer({ min: 1, max: 3 }),
  resendTicks: fc.integer({ min: 1, max: 4 }),
  schedule: fc.integer(),
});

/** mulberry32: every choice of a run derives from the scenario's `schedule`. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Run {
  net: Ensemble;
  rng: () => number;
  voters: ServerId[];
  liveVoters: ServerId[];
  /** Servers that come up, in the order they start. */
  startOrder: ServerId[];
  /** Each server's own vote: its id, last zxid and epoch. */
  selfVote: Map<ServerId, Vote>;
}

const observerId = 9;

function setUp(
  s: Scenario,
  factory: ElectionFactory,
  ticks: { finalize: number; resend: number },
): Run {
  const rng = random(s.schedule);
  const voters = Array.from({ length: s.voterCount }, (_, i) => i + 1);
  const observers = s.observer ? [observerId] : [];
  const crashed = shuffle(voters, rng).slice(0, Math.min(s.crashedCount, (s.voterCount - 1) >> 1));
  const liveVoters = voters.filter((id) => !crashed.includes(id));
  const net = new Ensemble({
    voters,
    observers,
    finalizeWaitTicks: ticks.finalize,
    resendTicks: ticks.resend,
    factory,
    log: false,
  });
  const selfVote = new Map<ServerId, Vote>();
  for (const id of [...liveVoters, ...observers]) {
    const { epoch, zxid, round } = s.servers[id === observerId ? 5 : id - 1];
    selfVote.set(id, { leader: id, zxid, epoch });
    net.up({ id, zxid, epoch, round });
  }
  return { net, rng, voters, liveVoters, startOrder: shuffle([...selfVote.keys()], rng), selfVote };
}

function shuffle<T>(items: readonly T[], rng: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Delivers (or, with chance `dropPercent`, loses) one notification chosen at random. */
function step(run: Run, dropPercent: number): void {
  const index = Math.floor(run.rng() * run.net.inFlight.length);
  if (run.rng() * 100 < dropPercent) run.net.dropAt(index);
  else run.net.deliverAt(index);
}

/** Reliable delivery in random order, one tick whenever the network is quiet, until all decide. */
function settle(run: Run, ticksMax: number): void {
  for (let tick = 0; tick <= ticksMax; tick++) {
    let steps = 0;
    while (run.net.inFlight.length > 0) {
      step(run, 0);
      assert.ok(++steps < 100_000, "the election never goes quiet");
    }
    if (run.net.decisions.size === run.selfVote.size) return;
    run.net.tick();
  }
}

/**
 * Schedule A, "one lossy burst, then quiet time": every server starts and notifications are
 * delivered in random order or lost, all within one tick; afterwards nothing is lost and a tick
 * passes only when the network is quiet. With finalizeWaitTicks > resendTicks every loss is
 * repaired by the re-sends before any finalize wait can expire. (A loss that outlives a finalize
 * wait can make servers decide differently: election alone is not consensus; DISCOVERY is.)
 */
function lossyBurstThenQuiet(s: Scenario, factory: ElectionFactory): Run {
  const run = setUp(s, factory, { finalize: 3, resend: 2 });
  const pending = [...run.startOrder];
  let steps = 0;
  while (pending.length > 0 || run.net.inFlight.length > 0) {
    if (pending.length > 0 && (run.net.inFlight.length === 0 || run.rng() < 0.25)) {
      run.net.start(pending.shift()!);
    } else {
      step(run, s.dropPercent);
    }
    assert.ok(++steps < 100_000, "the burst never goes quiet");
  }
  settle(run, 60);
  return run;
}

/**
 * Schedule B, "anything goes": starts, ticks, deliveries and losses interleave at random, with
 * random finalize and re-send intervals; then a reliable, quiet settling period.
 */
function arbitraryTiming(s: Scenario, factory: ElectionFactory): Run {
  const run = setUp(s, factory, { finalize: s.finalizeWaitTicks, resend: s.resendTicks });
  const pending = [...run.startOrder];
  for (let i = 0; i < 300; i++) {
    const r = run.rng();
    if (pending.length > 0 && r < 0.15) run.net.start(pending.shift()!);
    else if (r < 0.3 || run.net.inFlight.length === 0) run.net.tick();
    else step(run, s.dropPercent);
  }
  for (const id of pending) run.net.start(id);
  settle(run, 60);
  return run;
}

function best(votes: Iterable<Vote>): Vote {
  let top: Vote = NO_VOTE;
  for (const vote of votes) if (betterVote(vote, top)) top = vote;
  return top;
}

/** Every decision names a voter, with that voter's own vote, in the right role. */
function assertRoles(run: Run): void {
  for (const [id, d] of run.net.decisions) {
    assert.ok(run.voters.includes(d.leader), `server ${id} follows non-voter ${d.leader}`);
    assert.deepEqual(d.vote, run.selfVote.get(d.leader), `server ${id} decided a vote nobody cast`);
    const state = id === observerId ? "OBSERVING" : d.leader === id ? "LEADING" : "FOLLOWING";
    assert.equal(d.state, state, `server ${id} decided ${d.state}`);
  }
}

/** The property of schedule A: all decide, agree per round, and elect the best live voter. */
function agreementHolds(run: Run): void {
  assertRoles(run);
  const undecided = [...run.selfVote.keys()].filter((id) => !run.net.decisions.has(id));
  assert.deepEqual(undecided, [], "with a live quorum and no more losses, every server decides");
  const leaderOfRound = new Map<number, ServerId>();
  for (const [id, d] of run.net.decisions) {
    const leader = leaderOfRound.get(d.round) ?? d.leader;
    leaderOfRound.set(d.round, leader);
    assert.equal(d.leader, leader, `server ${id} decided ${d.leader} in round ${d.round}`);
  }
  const top = best(run.liveVoters.map((id) => run.selfVote.get(id)!));
  for (const d of run.net.decisions.values()) {
    assert.deepEqual(d.vote, top, "the leader has the highest (epoch, zxid, id) of the voters");
  }
}

/** The property of schedule B: every leader anyone decided was voted for by a quorum it beats. */
function quorumBacksEveryLeader(run: Run): void {
  assertRoles(run);
  const quorum = quorumSize(run.voters);
  for (const [id, d] of run.net.decisions) {
    const beaten = run.liveVoters.filter((v) => !betterVote(run.selfVote.get(v)!, d.vote));
    assert.ok(
      beaten.length >= quorum,
      `server ${id} decided ${d.leader}, whose vote is at least as good as only ${beaten}`,
    );
  }
}

const realElection: ElectionFactory = (options) => new Election(options);

const agreement = (factory: ElectionFactory) =>
  fc.property(scenarios, (s) => agreementHolds(lossyBurstThenQuiet(s, factory)));
const backing = (factory: ElectionFactory) =>
  fc.property(scenarios, (s) => quorumBacksEveryLeader(arbitraryTiming(s, factory)));

const agreementName =
  "ELECTION property: after a lossy burst, servers deciding in a round agree on the best voter";
Deno.test(agreementName, () => {
  assertProperty({ url: import.meta.url, testName: agreementName }, agreement(realElection), {
    runs: 300,
  });
});

const backingName =
  "ELECTION property: under any timing and loss, every leader is backed by a quorum it beats";
Deno.test(backingName, () => {
  assertProperty({ url: import.meta.url, testName: backingName }, backing(realElection), {
    runs: 300,
  });
});

// ---- seeded bugs the properties must catch ----------------------------------------------------

/** Swaps a vote's zxid and epoch: an involution, so wrapping both ways is the same function. */
function swapped(vote: Vote): Vote {
  return { leader: vote.leader, zxid: vote.epoch, epoch: vote.zxid };
}

function swappedOutput(output: ElectionOutput): ElectionOutput {
  return {
    send: output.send.map(({ to, notification }) => ({
      to,
      notification: { ...notification, vote: swapped(notification.vote) },
    })),
    decided: output.decided && { ...output.decided, vote: swapped(output.decided.vote) },
  };
}

/** Seeded bug: a real Election that compares zxids before epochs (its inputs are swapped). */
class ZxidBeforeEpoch implements ElectionLike {
  readonly #inner: Election;
  constructor(options: ElectionOptions) {
    this.#inner = new Election({
      ...options,
      lastZxid: options.currentEpoch,
      currentEpoch: options.lastZxid,
    });
  }
  start(): ElectionOutput {
    return swappedOutput(this.#inner.start());
  }
  receive(from: ServerId, n: Notification): ElectionOutput {
    return swappedOutput(this.#inner.receive(from, { ...n, vote: swapped(n.vote) }));
  }
  tick(): ElectionOutput {
    return swappedOutput(this.#inner.tick());
  }
  get decision(): Decision | null {
    const d = this.#inner.decision;
    return d && { ...d, vote: swapped(d.vote) };
  }
  get round(): number {
    return this.#inner.round;
  }
  get vote(): Vote {
    return swapped(this.#inner.vote);
  }
}

/** Seeded bug: server 1 counts only its own vote, as if it were alone in the ensemble. */
const serverOneCountsOnlyItself: ElectionFactory = (options) =>
  new Election(
    options.myId === 1 ? { ...options, membership: { voters: [1], observers: [] } } : options,
  );

/** Seeded bug: decides the moment a quorum agrees, without waiting for a better vote. */
const noFinalizeWait: ElectionFactory = (options) =>
  new Election({ ...options, finalizeWaitTicks: 0 });

const twins: Array<[string, ElectionFactory, typeof agreement]> = [
  ["compares zxid before epoch", (options) => new ZxidBeforeEpoch(options), agreement],
  ["server 1 decides on its own vote", serverOneCountsOnlyItself, agreement],
  ["server 1 decides on its own vote", serverOneCountsOnlyItself, backing],
  ["decides without the finalize wait", noFinalizeWait, agreement],
];
for (const [bug, factory, property] of twins) {
  const name = `ELECTION property twin: ${
    property === agreement ? "agreement" : "quorum backing"
  } catches an election that ${bug}`;
  Deno.test(name, () => {
    assertFindsBug({ url: import.meta.url, testName: name }, property(factory), { runs: 300 });
  });
}
