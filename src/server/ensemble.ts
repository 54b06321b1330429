/**
 * The ensemble shell: hosts a pure ZAB {@linkcode Peer} next to the server's replica. It moves
 * peer messages over two {@linkcode PeerLinks} channels (election notifications on the election
 * port, everything else on the peer port), ticks the peer, makes its epochs and log durable
 * through the store, and turns its decisions into replica events: `commit` applies txns, `role`
 * says whether and how the replica serves clients, and a follower's forwarded requests, the
 * leader's replies and session touches travel the same FIFO peer link as the proposals.
 *
 * Order matters and is kept by one queue: every action (the peer's and the replica's sends) runs
 * in the order it was produced, and an action that must be durable first (epochs, truncation,
 * snapshot install) holds back everything after it until it is.
 * @module
 */
import { Peer, type PeerAction, type PeerEvent } from "../zab/peer.ts";
import type { PeerMessage } from "../zab/messages.ts";
import { parsePeerMessage } from "../zab/validate.ts";
import type { Membership } from "../zab/types.ts";
import type { TxnRecord } from "../tree/txn.ts";
import type { DurableStore, Recovered, SnapshotImage } from "../storage/types.ts";
import { bodyToNode, bodyToSession, nodeToBody, sessionToBody } from "../storage/codec.ts";
import type {
  ForwardedRequest,
  ForwardReply,
  ReplicaEvent,
  ReplicaRole,
} from "../replica/types.ts";
import { parseRequest, type ServerMessage } from "../wire/messages.ts";
import type { NetAdapter } from "../net/types.ts";
import { PeerLinks } from "./peer_links.ts";
import type { Logger } from "./log.ts";
import {
  type EnsembleOptions,
  initLimitMsDefault,
  peerTickMsDefault,
  syncLimitMsDefault,
} from "./ensemble_types.ts";

/** What the ensemble needs from the server that hosts it. */
export interface EnsembleHost {
  /** Feeds the replica (and carries out its actions). */
  stepReplica(event: ReplicaEvent): void;
  /** A consistent image of the applied state (for a learner that needs a SNAP). */
  captureImage(): SnapshotImage;
  /** Replaces the replica's state with what storage holds now (after TRUNC or SNAP). */
  rebuild(state: { snapshot: SnapshotImage | null; records: readonly TxnRecord[] }): void;
  /** Something the server cannot go on from (a broken invariant, a failed disk). */
  fatal(reason: string): void;
}

/** How to start an ensemble member. */
export interface EnsembleStart {
  myId: number;
  options: EnsembleOptions;
  adapter: NetAdapter;
  store: DurableStore;
  /** What the store recovered at start (the replica holds it applied). */
  recovered: Recovered;
  host: EnsembleHost;
  logger: Logger;
}

/** Host-level messages on the peer link, beside ZAB's own. */
type HostMessage =
  | { type: "REQUEST"; forward: ForwardedRequest }
  | { type: "REPLY"; reply: ForwardReply }
  | { type: "TOUCH"; sessionIds: number[] };

type QueuedAction = PeerAction | { type: "hostSend"; to: number; msg: HostMessage };

/** The peer's role, as the admin views and logs show it. */
export interface EnsembleStatus {
  state: string;
  phase: string;
  leader: number | null;
  epoch: number;
  lastZxid: number;
  committedZxid: number;
}

/** One member of a running ensemble. */
export class Ensemble {
  readonly #start: EnsembleStart;
  readonly #peer: Peer;
  readonly #peerLinks: PeerLinks;
  readonly #electionLinks: PeerLinks;
  readonly #peerTickMs: number;
  readonly #syncLimitTicks: number;
  #queue: QueuedAction[] = [];
  #pumping = false;
  #timer: ReturnType<typeof setInterval> | null = null;
  #ticksDone = 0;
  #startedMs = 0;
  #closed = false;
  #role: ReplicaRole = "down";

  constructor(start: EnsembleStart) {
    this.#start = start;
    const { myId, options, recovered } = start;
    const me = options.members.find((m) => m.id === myId);
    if (!me) throw new RangeError(`server ${myId} is not a member of the ensemble`);
    const membership: Membership = {
      voters: options.members.filter((m) => !m.observer).map((m) => m.id),
      observers: options.members.filter((m) => m.observer).map((m) => m.id),
    };
    this.#peerTickMs = options.peerTickMs ?? peerTickMsDefault;
    const ticks = (ms: number) => Math.max(1, Math.ceil(ms / this.#peerTickMs));
    this.#syncLimitTicks = ticks(options.syncLimitMs ?? syncLimitMsDefault);
    this.#peer = new Peer({
      myId,
      membership,
      epochs: recovered.epochs,
      baseZxid: recovered.snapshot?.zxid ?? 0,
      history: recovered.records,
      initLimitTicks: ticks(options.initLimitMs ?? initLimitMsDefault),
      syncLimitTicks: this.#syncLimitTicks,
      captureImage: () => imageToWire(start.host.captureImage()),
    });
    const log = (level: "debug" | "info" | "warn" | "error", message: string, fields?: object) =>
      start.logger.log(level, message, fields as Record<string, unknown> | undefined);
    this.#peerLinks = new PeerLinks({
      myId,
      channel: "peer",
      members: options.members.map((m) => ({ id: m.id, host: m.host, port: m.peerPort })),
      adapter: start.adapter,
      onMessage: (from, message) => this.#onPeerMessage(from, message),
      onLinkDown: (peer) => this.#step({ type: "linkDown", peer }),
      log,
    });
    this.#electionLinks = new PeerLinks({
      myId,
      channel: "election",
      members: options.members.map((m) => ({ id: m.id, host: m.host, port: m.electionPort })),
      adapter: start.adapter,
      onMessage: (from, message) => this.#onElectionMessage(from, message),
      onLinkDown: () => {},
      log,
    });
  }

  /** Where the peer is: state, phase, leader, epoch and zxids. */
  get status(): EnsembleStatus {
    const s = this.#peer.status;
    return {
      state: s.state,
      phase: s.phase,
      leader: s.leader,
      epoch: s.epochs.currentEpoch,
      lastZxid: s.lastZxid,
      committedZxid: s.committedZxid,
    };
  }

  /** Listens on the peer and election ports, starts looking for a leader and ticking. */
  async start(): Promise<void> {
    await this.#peerLinks.start();
    await this.#electionLinks.start();
    this.#startedMs = Date.now();
    this.#timer = setInterval(() => this.#onTimer(), this.#peerTickMs);
    this.#step({ type: "start" });
  }

  /** Stops ticking and closes every link. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    await this.#peerLinks.close();
    await this.#electionLinks.close();
  }

  // ---- from the server -----------------------------------------------------------------------

  /** Leader: the replica ordered these records; replicate them. */
  propose(records: TxnRecord[]): void {
    const { state, phase } = this.#peer.status;
    // The replica learns it no longer leads through the queue; until then it may still order.
    // Those records die with its role change (and a future leader's TRUNC).
    if (this.#role !== "leader" || state !== "LEADING" || phase !== "BROADCAST") return;
    this.#step({ type: "propose", records });
  }

  /** Records up to `zxid` that the peer logged are durable. */
  logged(zxid: number): void {
    this.#step({ type: "logged", zxid });
  }

  /** Follower: hand a request to the leader. */
  forward(forward: ForwardedRequest): void {
    const leader = this.#peer.status.leader;
    if (leader === null || leader === this.#start.myId) return;
    this.#enqueue([{ type: "hostSend", to: leader, msg: { type: "REQUEST", forward } }]);
  }

  /** Leader: answer a follower's forwarded request. */
  reply(to: number, reply: ForwardReply): void {
    this.#enqueue([{ type: "hostSend", to, msg: { type: "REPLY", reply } }]);
  }

  /** Follower: tell the leader which sessions were active. */
  touch(sessionIds: number[]): void {
    const leader = this.#peer.status.leader;
    if (leader === null || leader === this.#start.myId) return;
    this.#enqueue([{ type: "hostSend", to: leader, msg: { type: "TOUCH", sessionIds } }]);
  }

  // ---- the peer ------------------------------------------------------------------------------

  #onTimer(): void {
    // Ticks count wall time: a process paused (SIGSTOP) sees, when it resumes, that it has not
    // heard its peers for that long, and steps down at once instead of one tick per interval.
    const due = Math.floor((Date.now() - this.#startedMs) / this.#peerTickMs) - this.#ticksDone;
    const steps = Math.min(Math.max(due, 1), this.#syncLimitTicks + 1);
    this.#ticksDone += Math.max(due, 1);
    for (let i = 0; i < steps && !this.#closed; i++) this.#step({ type: "tick" });
  }

  #step(event: PeerEvent): void {
    if (this.#closed) return;
    let actions: PeerAction[];
    try {
      actions = this.#peer.step(event);
    } catch (error) {
      return this.#start.host.fatal(`ZAB invariant violated on ${event.type}: ${error}`);
    }
    this.#enqueue(actions);
  }

  #enqueue(actions: readonly QueuedAction[]): void {
    this.#queue.push(...actions);
    if (!this.#pumping) void this.#pump();
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const action = this.#queue.shift()!;
        const pending = this.#carryOut(action);
        if (pending) await pending;
      }
    } catch (error) {
      this.#start.host.fatal(`ensemble storage failed: ${(error as Error).message}`);
    } finally {
      this.#pumping = false;
    }
  }

  #carryOut(action: QueuedAction): Promise<void> | void {
    const { store, host, logger } = this.#start;
    switch (action.type) {
      case "send":
        if (action.msg.type === "NOTIFICATION") this.#electionLinks.send(action.to, action.msg);
        else this.#peerLinks.send(action.to, action.msg);
        return;
      case "hostSend":
        return this.#peerLinks.send(action.to, action.msg);
      case "persistEpochs":
        return store.writeEpochs(action.epochs);
      case "log":
        return store.append(action.records);
      case "commit":
        return host.stepReplica({ type: "commit", records: action.records });
      case "truncate":
        return (async () => {
          logger.log("info", "truncating the log (TRUNC from the leader)", { zxid: action.zxid });
          await store.truncateAfter(action.zxid);
          host.rebuild(await store.reload());
        })();
      case "installSnapshot":
        return (async () => {
          const image = imageFromWire(action.image);
          if (image === null || image.zxid !== action.zxid) {
            throw new Error("the leader sent a malformed snapshot");
          }
          logger.log("info", "installing the leader's snapshot (SNAP)", {
            zxid: image.zxid,
            nodes: image.nodes.length,
          });
          await store.installSnapshot(image);
          host.rebuild({ snapshot: image, records: [] });
        })();
      case "role": {
        const role: ReplicaRole = !action.serving
          ? "down"
          : action.state === "LEADING"
          ? "leader"
          : action.state === "FOLLOWING"
          ? "follower"
          : "observer";
        logger.log("info", "role", {
          state: action.state,
          phase: action.phase,
          leader: action.leader,
          epoch: action.epoch,
          serving: action.serving,
        });
        this.#role = role;
        return host.stepReplica({ type: "role", role, epoch: action.epoch, nowMs: Date.now() });
      }
    }
  }

  // ---- from the network ----------------------------------------------------------------------

  #onElectionMessage(from: number, message: unknown): void {
    const parsed = parsePeerMessage(message);
    if (parsed === null || parsed.type !== "NOTIFICATION") {
      return this.#drop(from, "election", message);
    }
    this.#step({ type: "message", from, msg: parsed });
  }

  #onPeerMessage(from: number, message: unknown): void {
    const type = (message as { type?: unknown } | null)?.type;
    if (type === "REQUEST" || type === "REPLY" || type === "TOUCH") {
      return this.#onHostMessage(from, message as Record<string, unknown>);
    }
    const parsed: PeerMessage | null = parsePeerMessage(message);
    if (parsed === null || parsed.type === "NOTIFICATION") return this.#drop(from, "peer", message);
    this.#step({ type: "message", from, msg: parsed });
  }

  #onHostMessage(from: number, message: Record<string, unknown>): void {
    const nowMs = Date.now();
    const leader = this.#peer.status.leader;
    if (message.type === "REQUEST") {
      if (this.#role !== "leader") return; // the follower learns of the new leader by itself
      const forward = parseForward(message.forward);
      if (forward === null) return this.#drop(from, "peer", message);
      return this.#start.host.stepReplica({ type: "forwarded", from, nowMs, forward });
    }
    if (message.type === "TOUCH") {
      const ids = message.sessionIds;
      if (this.#role !== "leader") return;
      if (!Array.isArray(ids) || !ids.every(Number.isSafeInteger)) {
        return this.#drop(from, "peer", message);
      }
      return this.#start.host.stepReplica({ type: "touch", sessionIds: ids as number[] });
    }
    if (from !== leader || (this.#role !== "follower" && this.#role !== "observer")) return;
    const reply = parseReply(message.reply);
    if (reply === null) return this.#drop(from, "peer", message);
    this.#start.host.stepReplica({ type: "reply", reply });
  }

  #drop(from: number, channel: string, message: unknown): void {
    this.#start.logger.log("warn", "dropped a malformed message from a peer", {
      from,
      channel,
      type: String((message as { type?: unknown } | null)?.type),
    });
  }
}

// ---- wire shapes of host-level content ------------------------------------------------------

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function parseForward(value: unknown): ForwardedRequest | null {
  if (!isObject(value) || !isInt(value.sessionId)) return null;
  if (value.op === "createSession") {
    if (!isInt(value.timeoutMs) || !(value.password instanceof Uint8Array)) return null;
    return {
      op: "createSession",
      sessionId: value.sessionId,
      timeoutMs: value.timeoutMs,
      password: value.password,
    };
  }
  if (value.op !== "request" || !Array.isArray(value.authIds)) return null;
  const authIds = value.authIds.filter((a): a is { scheme: string; id: string } =>
    isObject(a) && typeof a.scheme === "string" && typeof a.id === "string"
  );
  if (authIds.length !== value.authIds.length) return null;
  const request = parseRequest(value.request);
  if (!request.ok) return null;
  return { op: "request", sessionId: value.sessionId, authIds, request: request.value };
}

function parseReply(value: unknown): ForwardReply | null {
  if (!isObject(value) || !isInt(value.sessionId) || !isInt(value.xid)) return null;
  const { sessionId, xid } = value;
  if (value.kind === "ordered" || value.kind === "sync") {
    return isInt(value.zxid) ? { kind: value.kind, sessionId, xid, zxid: value.zxid } : null;
  }
  if (value.kind !== "answer" || !isObject(value.message)) return null;
  const t = value.message.t;
  if (t !== "res" && t !== "refused") return null;
  return { kind: "answer", sessionId, xid, message: value.message as unknown as ServerMessage };
}

/** A snapshot image as a SNAP carries it: the storage codec's compact arrays. */
function imageToWire(image: SnapshotImage): unknown {
  return {
    zxid: image.zxid,
    nodes: image.nodes.map(nodeToBody),
    sessions: image.sessions.map(sessionToBody),
  };
}

function imageFromWire(value: unknown): SnapshotImage | null {
  if (!isObject(value) || !isInt(value.zxid)) return null;
  if (!Array.isArray(value.nodes) || !Array.isArray(value.sessions)) return null;
  const nodes = value.nodes.map(bodyToNode);
  const sessions = value.sessions.map(bodyToSession);
  if (nodes.some((n) => n === null) || sessions.some((s) => s === null)) return null;
  return {
    zxid: value.zxid,
    nodes: nodes as NonNullable<(typeof nodes)[number]>[],
    sessions: sessions as NonNullable<(typeof sessions)[number]>[],
  };
}
