/**
 * A tiny network for election transcripts: it holds one {@linkcode Election} per running server,
 * the notifications in flight, and a readable log of what was delivered, dropped and decided.
 * Tests choose the order of deliveries, drops and ticks; nothing here is random or timed.
 * @module
 */
import {
  type Decision,
  Election,
  type ElectionOptions,
  type ElectionOutput,
} from "../../src/zab/election.ts";
import type { Notification, ServerId, ServerState, Vote } from "../../src/zab/types.ts";

/** What the network drives: the real {@linkcode Election} or a seeded-bug twin of it. */
export interface ElectionLike {
  start(): ElectionOutput;
  receive(from: ServerId, notification: Notification): ElectionOutput;
  tick(): ElectionOutput;
  readonly decision: Decision | null;
  readonly round: number;
  readonly vote: Vote;
}

/** Builds the election of one server. */
export type ElectionFactory = (options: ElectionOptions) => ElectionLike;

/** One server's credentials: its id, last logged zxid, current epoch and first round. */
export interface ServerSpec {
  id: ServerId;
  zxid: number;
  epoch: number;
  round?: number;
}

/** A notification on its way. */
export interface Envelope {
  from: ServerId;
  to: ServerId;
  notification: Notification;
}

/** A server that already left the election (FOLLOWING/LEADING) and answers joiners. */
export interface DecidedServer {
  state: ServerState;
  round: number;
  vote: Vote;
}

/** How the network is set up. */
export interface EnsembleOptions {
  voters: ServerId[];
  observers?: ServerId[];
  finalizeWaitTicks?: number;
  resendTicks?: number;
  factory?: ElectionFactory;
  /** Keep a transcript (default true; properties switch it off for speed). */
  log?: boolean;
}

/** Formats a vote as `3 (e0 z7)`: leader 3, epoch 0, zxid 7. */
export function showVote(vote: Vote): string {
  return `${vote.leader} (e${vote.epoch} z${vote.zxid})`;
}

/** Formats a notification as `LOOKING r1 vote 3 (e0 z7)`. */
export function showNotification(n: Notification): string {
  return `${n.state} r${n.round} vote ${showVote(n.vote)}`;
}

/** The network of an election transcript. */
export class Ensemble {
  readonly options: EnsembleOptions;
  /** Notifications sent and not yet delivered or dropped, oldest first. */
  readonly inFlight: Envelope[] = [];
  /** Every decision, by server. */
  readonly decisions = new Map<ServerId, Decision>();
  readonly #elections = new Map<ServerId, ElectionLike>();
  readonly #decidedServers = new Map<ServerId, DecidedServer>();
  /**
   * Servers whose election has started. A server that is up but not started hears nothing: in
   * Corral the peer creates its election and starts it in one step (src/zab/peer.ts), so an
   * election never counts votes before its first round.
   */
  readonly #started = new Set<ServerId>();
  #lines: string[] = [];

  constructor(options: EnsembleOptions) {
    this.options = options;
  }

  /** The election of a running server. */
  election(id: ServerId): ElectionLike {
    const election = this.#elections.get(id);
    if (!election) throw new Error(`server ${id} is not running an election`);
    return election;
  }

  /** True when `id` runs an election or answers as a decided server. */
  isUp(id: ServerId): boolean {
    return this.#elections.has(id) || this.#decidedServers.has(id);
  }

  /** Brings server `spec.id` up (again), LOOKING with a fresh election in round `spec.round`. */
  up(spec: ServerSpec): void {
    const membership = { voters: this.options.voters, observers: this.options.observers ?? [] };
    const factory = this.options.factory ?? ((options) => new Election(options));
    this.#decidedServers.delete(spec.id);
    this.#started.delete(spec.id);
    this.decisions.delete(spec.id);
    this.#elections.set(
      spec.id,
      factory({
        myId: spec.id,
        membership,
        lastZxid: spec.zxid,
        currentEpoch: spec.epoch,
        round: spec.round ?? 0,
        finalizeWaitTicks: this.options.finalizeWaitTicks,
        resendTicks: this.options.resendTicks,
      }),
    );
  }

  /** A server that is already FOLLOWING or LEADING: it answers with `Election.replyWhenDecided`. */
  upDecided(id: ServerId, server: DecidedServer): void {
    this.#elections.delete(id);
    this.#started.delete(id);
    this.#decidedServers.set(id, server);
  }

  /** Crashes `id`: it stops, and what was on its way to it is lost. */
  crash(id: ServerId): void {
    this.#elections.delete(id);
    this.#decidedServers.delete(id);
    this.#started.delete(id);
    this.#remove((e) => e.to === id);
    this.#log(`${id} crashes`);
  }

  /** `id` begins a new round (Election.start). */
  start(id: ServerId): void {
    const election = this.election(id);
    this.#started.add(id);
    const output = election.start();
    this.#log(`${id} starts r${election.round}, votes ${showVote(election.vote)}`);
    this.#apply(id, output);
  }

  /** Starts every listed server, in order. */
  startAll(...ids: ServerId[]): void {
    for (const id of ids) this.start(id);
  }

  /** Delivers the oldest notification in flight from `from` to `to`. */
  deliver(from: ServerId, to: ServerId): void {
    const index = this.inFlight.findIndex((e) => e.from === from && e.to === to);
    if (index < 0) throw new Error(`nothing in flight from ${from} to ${to}`);
    this.deliverAt(index);
  }

  /** Delivers the notification at `index` of {@linkcode Ensemble.inFlight}. */
  deliverAt(index: number): void {
    const [envelope] = this.inFlight.splice(index, 1);
    const { from, to, notification } = envelope;
    this.#log(`${from} -> ${to}: ${showNotification(notification)}`);
    const decided = this.#decidedServers.get(to);
    if (decided) {
      const reply = Election.replyWhenDecided(
        to,
        decided.state,
        decided.round,
        decided.vote,
        notification,
      );
      if (reply) this.#post(to, from, reply);
      return;
    }
    const election = this.#elections.get(to);
    if (!election) return;
    if (!this.#started.has(to)) {
      this.#log(
        `${from} -> ${to}: ${showNotification(notification)} (lost: ${to} has not started)`,
      );
      return;
    }
    const before = `r${election.round} ${showVote(election.vote)}`;
    const output = election.receive(from, notification);
    const after = `r${election.round} ${showVote(election.vote)}`;
    if (after !== before && election.decision === null) {
      this.#log(`    ${to} now votes ${showVote(election.vote)} in r${election.round}`);
    }
    this.#apply(to, output);
  }

  /** Delivers everything in flight, oldest first, including what the deliveries send. */
  deliverAll(): void {
    while (this.inFlight.length > 0) this.deliverAt(0);
  }

  /** Drops the oldest notification in flight from `from` to `to`. */
  drop(from: ServerId, to: ServerId): void {
    const index = this.inFlight.findIndex((e) => e.from === from && e.to === to);
    if (index < 0) throw new Error(`nothing in flight from ${from} to ${to}`);
    this.dropAt(index);
  }

  /** Drops the notification at `index` of {@linkcode Ensemble.inFlight}. */
  dropAt(index: number): void {
    const [{ from, to, notification }] = this.inFlight.splice(index, 1);
    this.#log(`${from} -> ${to}: ${showNotification(notification)} (lost)`);
  }

  /** Drops everything in flight. */
  dropAll(): void {
    while (this.inFlight.length > 0) this.dropAt(0);
  }

  /** One tick for each listed server, or for every running election when none is listed. */
  tick(...ids: ServerId[]): void {
    const targets = ids.length > 0
      ? ids
      : [...this.#elections.keys()].filter((id) => this.#started.has(id)).sort((a, b) => a - b);
    this.#log(`tick ${targets.join(" ")}`);
    for (const id of targets) this.#apply(id, this.election(id).tick());
  }

  /** The transcript since the last call. */
  transcript(): string[] {
    const lines = this.#lines;
    this.#lines = [];
    return lines;
  }

  /** Who decided what, as `id: STATE leader rN`, in id order. */
  outcome(): string[] {
    return [...this.decisions.entries()]
      .sort(([a], [b]) => a - b)
      .map(([id, d]) => `${id}: ${d.state} ${d.leader} r${d.round}`);
  }

  #apply(id: ServerId, output: ElectionOutput): void {
    for (const { to, notification } of output.send) this.#post(id, to, notification);
    if (output.decided) {
      const d = output.decided;
      this.decisions.set(id, d);
      this.#log(`    ${id} decides ${d.state} ${showVote(d.vote)} in r${d.round}`);
    }
  }

  /** Queues a notification; one to a server that is down is lost on the spot. */
  #post(from: ServerId, to: ServerId, notification: Notification): void {
    if (this.isUp(to)) this.inFlight.push({ from, to, notification });
  }

  #remove(predicate: (e: Envelope) => boolean): void {
    for (let i = this.inFlight.length - 1; i >= 0; i--) {
      if (predicate(this.inFlight[i])) this.inFlight.splice(i, 1);
    }
  }

  #log(line: string): void {
    if (this.options.log !== false) this.#lines.push(line);
  }
}
