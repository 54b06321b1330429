/**
 * The ensemble's I/O: peer links over TCP (election notifications on the election port,
 * everything else on the peer port), the peer tick, and the member's durable actions. All
 * decisions are in the pure {@linkcode EnsembleNode} (src/ensemble/node.ts); this file carries
 * out what it asks, in order: an action that must be durable first (epochs, truncation, snapshot
 * install) holds back every later one until it is, so an acknowledgement never leaves before what
 * it acknowledges.
 * @module
 */
import type { Channel, NodeAction, NodeEvent } from "../ensemble/node.ts";
import type { DurableStore } from "../storage/types.ts";
import type { NetAdapter } from "../net/types.ts";
import { PeerLinks } from "./peer_links.ts";
import type { Logger } from "./log.ts";
import {
  type EnsembleOptions,
  initLimitMsDefault,
  peerTickMsDefault,
  syncLimitMsDefault,
} from "./ensemble_types.ts";

/** The member's actions that this shell carries out (the rest are the server's client I/O). */
export type PeerSideAction = Extract<
  NodeAction,
  { type: "peerSend" | "persistEpochs" | "appendLog" | "truncate" | "installSnapshot" }
>;

/** How to start the shell. */
export interface EnsembleShellOptions {
  myId: number;
  options: EnsembleOptions;
  adapter: NetAdapter;
  store: DurableStore;
  logger: Logger;
  /** Feeds the member an event (the server steps it and carries out its actions). */
  step(event: NodeEvent): void;
  /** Something the member cannot go on from (a failed disk, a broken invariant). */
  fatal(reason: string): void;
}

/** Peer tick and liveness limits, in ticks, from an ensemble's options. */
export function ensembleTicks(options: EnsembleOptions): {
  peerTickMs: number;
  initLimitTicks: number;
  syncLimitTicks: number;
} {
  const peerTickMs = options.peerTickMs ?? peerTickMsDefault;
  const ticks = (ms: number) => Math.max(1, Math.ceil(ms / peerTickMs));
  return {
    peerTickMs,
    initLimitTicks: ticks(options.initLimitMs ?? initLimitMsDefault),
    syncLimitTicks: ticks(options.syncLimitMs ?? syncLimitMsDefault),
  };
}

/** The network, clock and disk side of one ensemble member. */
export class EnsembleShell {
  readonly #o: EnsembleShellOptions;
  readonly #links: Record<Channel, PeerLinks>;
  readonly #peerTickMs: number;
  readonly #syncLimitTicks: number;
  #queue: PeerSideAction[] = [];
  #pumping = false;
  #timer: ReturnType<typeof setInterval> | null = null;
  #ticksDone = 0;
  #startedMs = 0;
  #closed = false;

  constructor(o: EnsembleShellOptions) {
    this.#o = o;
    const { peerTickMs, syncLimitTicks } = ensembleTicks(o.options);
    this.#peerTickMs = peerTickMs;
    this.#syncLimitTicks = syncLimitTicks;
    const log = (level: "debug" | "info" | "warn" | "error", message: string, fields?: object) =>
      o.logger.log(level, message, fields as Record<string, unknown> | undefined);
    const links = (channel: Channel, port: "peerPort" | "electionPort") =>
      new PeerLinks({
        myId: o.myId,
        channel,
        members: o.options.members.map((m) => ({ id: m.id, host: m.host, port: m[port] })),
        adapter: o.adapter,
        onMessage: (from, message) => {
          if (o.logger.enabled?.("debug") ?? true) {
            o.logger.log("debug", "peer receive", describeMessage(from, message));
          }
          o.step({ type: "peerMessage", from, channel, message });
        },
        // Only the peer channel's state matters to ZAB: a lost notification is resent.
        onLinkDown: (peer) => channel === "peer" && o.step({ type: "linkDown", peer }),
        log,
      });
    this.#links = { peer: links("peer", "peerPort"), election: links("election", "electionPort") };
  }

  /** Listens on the peer and election ports and starts the peer tick. */
  async start(): Promise<void> {
    await this.#links.peer.start();
    await this.#links.election.start();
    this.#startedMs = Date.now();
    this.#timer = setInterval(() => this.#onTimer(), this.#peerTickMs);
  }

  /** Stops ticking and closes every link. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    await this.#links.peer.close();
    await this.#links.election.close();
  }

  /** Carries out `action` after every earlier one (and once earlier durable ones are done). */
  carryOut(action: PeerSideAction): void {
    this.#queue.push(action);
    if (!this.#pumping) void this.#pump();
  }

  #onTimer(): void {
    // Ticks count wall time: a process paused (SIGSTOP) sees, when it resumes, that it has not
    // heard its peers for that long, and steps down at once instead of one tick per interval.
    const due = Math.floor((Date.now() - this.#startedMs) / this.#peerTickMs) - this.#ticksDone;
    const steps = Math.min(Math.max(due, 1), this.#syncLimitTicks + 1);
    this.#ticksDone += Math.max(due, 1);
    for (let i = 0; i < steps && !this.#closed; i++) this.#o.step({ type: "peerTick" });
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const pending = this.#do(this.#queue.shift()!);
        if (pending) await pending;
      }
    } catch (error) {
      this.#o.fatal(`ensemble storage failed: ${(error as Error).message}`);
    } finally {
      this.#pumping = false;
    }
  }

  #do(action: PeerSideAction): Promise<void> | void {
    const { store, logger, step } = this.#o;
    switch (action.type) {
      case "peerSend":
        // Every peer message passes here: describe it only when someone reads debug lines.
        if (logger.enabled?.("debug") ?? true) {
          logger.log("debug", "peer send", describeMessage(action.to, action.message));
        }
        return this.#links[action.channel].send(action.to, action.message);
      case "persistEpochs":
        return store.writeEpochs(action.epochs);
      case "appendLog":
        return store.append(action.records);
      case "truncate":
        return (async () => {
          logger.log("info", "truncating the log (TRUNC from the leader)", {
            zxid: action.zxid,
            rebuild: action.rebuild,
          });
          await store.truncateAfter(action.zxid);
          if (!action.rebuild) return step({ type: "truncated" });
          const state = await store.reload();
          step({ type: "rebuilt", snapshot: state.snapshot, records: state.records });
        })();
      case "installSnapshot":
        return (async () => {
          logger.log("info", "installing the leader's snapshot (SNAP)", {
            zxid: action.image.zxid,
            nodes: action.image.nodes.length,
          });
          await store.installSnapshot(action.image);
          step({ type: "rebuilt", snapshot: action.image, records: [] });
        })();
    }
  }
}

/** A peer message in a debug line: its peer, type and zxid or epoch. */
function describeMessage(peer: number, message: unknown): Record<string, unknown> {
  const m = (message ?? {}) as Record<string, unknown>;
  const record = m.record as { zxid?: unknown } | undefined;
  return {
    peer,
    type: m.type,
    zxid: m.zxid ?? m.lastZxid ?? record?.zxid,
    epoch: m.epoch ?? m.acceptedEpoch ?? m.currentEpoch,
  };
}
