/**
 * A tiny in-memory host for ZAB peers in transcript tests: FIFO links, a log that is durable at
 * once (or held), an applied sequence, crash and restart from the log. The deterministic
 * simulator (src/sim) is the heavyweight version; this one keeps tests readable.
 * @module
 */
import assert from "../assert.ts";
import { Peer, type PeerAction, type PeerEpochs } from "../../src/zab/peer.ts";
import type { PeerMessage } from "../../src/zab/messages.ts";
import { makeZxid, type TxnRecord } from "../../src/tree/txn.ts";
import type { ServerId } from "../../src/zab/types.ts";

/** One simulated server: its peer and what its storage and state machine hold. */
export class Host {
  peer: Peer;
  /** The txn log (durable). */
  log: TxnRecord[] = [];
  /** What the state machine applied, in order. */
  applied: TxnRecord[] = [];
  /** Zxid the log starts after (a SNAP resets it). */
  base = 0;
  /** The state a SNAP installed (durable, like a snapshot file): restarts begin from it. */
  snapshot: TxnRecord[] = [];
  epochs: PeerEpochs = { acceptedEpoch: 0, currentEpoch: 0 };
  up = true;
  /** When true, what it sends is lost (a member busy on its disk, say, answering nothing). */
  mute = false;
  /** When true, ticks pass it by (its clock runs late); it still receives messages. */
  late = false;
  /** When true, `log` actions wait for {@linkcode Cluster.flush}. */
  holdLog = false;
  heldLog: TxnRecord[] = [];
  transcript: string[] = [];

  constructor(readonly id: ServerId, readonly cluster: Cluster) {
    this.peer = this.#makePeer();
  }

  #makePeer(): Peer {
    return new Peer({
      myId: this.id,
      membership: this.cluster.membership,
      epochs: this.epochs,
      baseZxid: this.base,
      history: this.log,
      initLimitTicks: 10,
      syncLimitTicks: 5,
      historyRecordsMax: this.cluster.historyRecordsMax,
      historyBytesMax: this.cluster.historyBytesMax,
      captureImage: () => ({ applied: [...this.applied] }),
    });
  }

  /** A restart: memory gone; like the real server, it loads its snapshot and replays its log. */
  restart(): void {
    this.up = true;
    this.holdLog = false;
    this.heldLog = [];
    this.applied = [...this.snapshot, ...this.log];
    this.peer = this.#makePeer();
  }
}

/** The ensemble, its links and the transcript. */
export class Cluster {
  readonly hosts = new Map<ServerId, Host>();
  readonly links = new Map<string, PeerMessage[]>();
  readonly membership: { voters: ServerId[]; observers: ServerId[] };
  readonly committed = new Map<number, TxnRecord>();
  #counter = new Map<number, number>();

  constructor(
    voters: ServerId[],
    observers: ServerId[] = [],
    readonly historyRecordsMax = 1000,
    /** Seeded bugs for the property twins: a host that ignores TRUNC. */
    readonly bugs: { ignoreTrunc?: boolean } = {},
    /** The peers' historyBytesMax (undefined: the default). */
    readonly historyBytesMax?: number,
  ) {
    this.membership = { voters, observers };
    for (const id of [...voters, ...observers]) this.hosts.set(id, new Host(id, this));
  }

  host(id: ServerId): Host {
    return this.hosts.get(id)!;
  }

  /** Starts every live peer and runs until quiet. */
  start(): void {
    for (const host of this.hosts.values()) {
      if (host.up) this.#carryOut(host, host.peer.step({ type: "start" }));
    }
    this.run();
  }

  #carryOut(host: Host, actions: PeerAction[]): void {
    const followUps: Array<() => void> = [];
    for (const action of actions) {
      switch (action.type) {
        case "send": {
          const to = this.hosts.get(action.to);
          if (!host.up || host.mute || !to?.up) break;
          const key = `${host.id}>${action.to}`;
          if (!this.links.has(key)) this.links.set(key, []);
          this.links.get(key)!.push(action.msg);
          break;
        }
        case "persistEpochs":
          host.epochs = { ...action.epochs };
          break;
        case "log":
          if (host.holdLog) host.heldLog.push(...action.records);
          else {
            host.log.push(...action.records);
            const zxid = action.records.at(-1)!.zxid;
            followUps.push(() => this.#carryOut(host, host.peer.step({ type: "logged", zxid })));
          }
          break;
        case "truncate":
          if (this.bugs.ignoreTrunc) break;
          assert.ok(action.zxid >= host.base, "a TRUNC never reaches below the snapshot");
          host.log = host.log.filter((r) => r.zxid <= action.zxid);
          host.applied = host.applied.filter((r) => r.zxid <= action.zxid);
          host.transcript.push(`TRUNC to ${action.zxid}`);
          break;
        case "installSnapshot":
          host.applied = [...(action.image as { applied: TxnRecord[] }).applied];
          host.snapshot = [...host.applied];
          host.log = [];
          host.base = action.zxid;
          host.transcript.push(`SNAP at ${action.zxid}`);
          break;
        case "commit":
          for (const record of action.records) {
            const last = host.applied.at(-1)?.zxid ?? host.base;
            assert.ok(record.zxid > last, `server ${host.id} applies ${record.zxid} after ${last}`);
            host.applied.push(record);
            if (host.peer.status.state === "LEADING") this.committed.set(record.zxid, record);
          }
          break;
        case "role":
          host.transcript.push(
            `${action.state} ${action.phase}${action.serving ? " serving" : ""}`,
          );
          break;
      }
    }
    for (const followUp of followUps) followUp();
  }

  /** Delivers messages (one per link per round, FIFO) until none are left or `roundsMax` ran. */
  run(roundsMax = 10_000): void {
    for (let round = 0; round < roundsMax; round++) {
      let delivered = false;
      for (const [key, queue] of this.links) {
        if (queue.length === 0) continue;
        const [from, to] = key.split(">").map(Number);
        const msg = queue.shift()!;
        const target = this.hosts.get(to)!;
        if (!target.up) continue;
        delivered = true;
        this.#carryOut(target, target.peer.step({ type: "message", from, msg }));
      }
      if (!delivered) return;
    }
    throw new Error("the cluster did not go quiet");
  }

  /** Advances every live peer by `ticks` ticks, delivering messages after each. */
  tick(ticks = 1): void {
    for (let i = 0; i < ticks; i++) {
      for (const host of this.hosts.values()) {
        if (host.up && !host.late) this.#carryOut(host, host.peer.step({ type: "tick" }));
      }
      this.run();
    }
  }

  /** Writes `holdLog` records of `id` to its log now and reports them. */
  flush(id: ServerId): void {
    const host = this.host(id);
    if (host.heldLog.length === 0) return;
    const records = host.heldLog.splice(0);
    host.log.push(...records);
    this.#carryOut(host, host.peer.step({ type: "logged", zxid: records.at(-1)!.zxid }));
    this.run();
  }

  /** Kills a server: its links drop, its peers see them go down. */
  crash(id: ServerId): void {
    const host = this.host(id);
    host.up = false;
    for (const key of [...this.links.keys()]) {
      if (key.startsWith(`${id}>`) || key.endsWith(`>${id}`)) this.links.delete(key);
    }
    for (const other of this.hosts.values()) {
      if (other.up) this.#carryOut(other, other.peer.step({ type: "linkDown", peer: id }));
    }
    this.run();
  }

  restart(id: ServerId, options: { holdLog?: boolean } = {}): void {
    const host = this.host(id);
    host.restart();
    host.holdLog = options.holdLog ?? false;
    this.#carryOut(host, host.peer.step({ type: "start" }));
    this.run();
  }

  /** The serving leader, if exactly one; fails if two serve in one epoch. */
  leader(): Host | null {
    const leaders = [...this.hosts.values()].filter((h) =>
      h.up && h.peer.status.state === "LEADING" && h.peer.status.phase === "BROADCAST"
    );
    const epochs = new Set(leaders.map((h) => h.peer.status.epochs.currentEpoch));
    assert.equal(epochs.size, leaders.length, "at most one serving leader per epoch");
    return leaders.at(-1) ?? null;
  }

  /**
   * Has the leader propose `count` txns (check ops on /), then delivers unless told not to (to
   * crash the leader while its proposals are still on the wire). Returns their zxids.
   */
  /** Proposes `count` txns: checks, or setData of `dataBytes` bytes when that is given. */
  propose(count: number, options: { deliver?: boolean; dataBytes?: number } = {}): number[] {
    const leader = this.leader();
    assert.ok(leader, "a serving leader");
    const epoch = leader.peer.status.epochs.currentEpoch;
    const records: TxnRecord[] = [];
    for (let i = 0; i < count; i++) {
      const counter = (this.#counter.get(epoch) ?? 0) + 1;
      this.#counter.set(epoch, counter);
      records.push({
        zxid: makeZxid(epoch, counter),
        timeMs: 0,
        sessionId: 0,
        txn: options.dataBytes === undefined ? { type: "check", path: "/", version: -1 } : {
          type: "setData",
          path: "/",
          data: new Uint8Array(options.dataBytes),
          version: counter,
        },
      });
    }
    this.#carryOut(leader, leader.peer.step({ type: "propose", records }));
    if (options.deliver !== false) this.run();
    return records.map((r) => r.zxid);
  }

  /**
   * Checks that the applied sequences of every serving server (phase BROADCAST) are prefixes of
   * one sequence. A server that just restarted has replayed its whole log, possibly with a tail
   * that never committed (as ZooKeeper does); it serves nothing until synchronization has cut
   * that tail (TRUNC) or replaced its state (SNAP), so it is judged only once it serves.
   */
  assertPrefixes(): void {
    const serving = [...this.hosts.values()].filter((h) =>
      h.up && h.peer.status.phase === "BROADCAST"
    );
    const sequences = serving.map((h) => h.applied.map((r) => r.zxid));
    const longest = sequences.reduce((a, b) => (a.length >= b.length ? a : b), []);
    for (const sequence of sequences) {
      assert.deepEqual(
        sequence,
        longest.slice(0, sequence.length),
        "applied sequences are prefixes of one",
      );
    }
  }

  /** Checks that every txn a leader ever committed is applied by every live, synced server. */
  assertCommittedEverywhere(): void {
    for (const host of this.hosts.values()) {
      if (!host.up || host.peer.status.phase !== "BROADCAST") continue;
      const applied = new Set(host.applied.map((r) => r.zxid));
      for (const zxid of this.committed.keys()) {
        assert.ok(applied.has(zxid), `server ${host.id} has committed ${zxid}`);
      }
    }
  }
}
