/**
 * One ensemble member as a pure state machine: the {@linkcode Replica} (clients, tree, sessions)
 * and the ZAB {@linkcode Peer} wired together, with no sockets, clock or disk. The real server
 * (src/server/ensemble.ts) and the simulator host it alike.
 *
 * Wiring: a leader's replica orders txns and the peer replicates them (`persist` becomes
 * `propose`); the peer's `commit` is applied by the replica and its `role` decides whether and how
 * the replica serves. A follower's replica forwards writes, new sessions and syncs to the leader
 * (REQUEST), the leader answers over the same FIFO peer link (REPLY) before the commit of the txn
 * it names, and followers report active sessions (TOUCH) so that only the leader expires them.
 *
 * Events are handled one at a time, in arrival order, each to completion; what one produces for
 * the other half (a proposal, a commit) is queued behind it, so sends leave in the order they were
 * decided. A `truncate` or `installSnapshot` stops the node until the host has done it and reports
 * `rebuilt` with what its storage then holds; everything that arrives meanwhile waits.
 * @module
 */
import { assert } from "../assert.ts";
import type { Replica } from "../replica/replica.ts";
import type {
  ForwardedRequest,
  ForwardReply,
  ReplicaAction,
  ReplicaEvent,
  ReplicaRole,
} from "../replica/types.ts";
import type { SnapshotImage } from "../storage/types.ts";
import {
  bodyToNode,
  bodyToSession,
  encodedRecordBody,
  nodesToBodies,
  rememberRecordBody,
  sessionToBody,
} from "../storage/codec.ts";
import { decodeRecordBody } from "../storage/record.ts";
import type { TxnRecord } from "../tree/txn.ts";
import { parseRequest, type ServerMessage } from "../wire/messages.ts";
import { Peer, type PeerAction, type PeerEpochs, type PeerEvent } from "../zab/peer.ts";
import type { PeerMessage } from "../zab/messages.ts";
import type { Membership, ServerId } from "../zab/types.ts";
import { parsePeerMessage } from "../zab/validate.ts";

/** The two channels between members: election notifications, and everything else. */
export type Channel = "peer" | "election";

/** Host-level messages on the peer channel, beside ZAB's own. */
export type HostMessage =
  | { type: "REQUEST"; forward: ForwardedRequest }
  | { type: "REPLY"; reply: ForwardReply }
  | { type: "TOUCH"; sessionIds: number[] };

/** Client-side events, exactly the replica's. */
export type ClientEvent = Extract<
  ReplicaEvent,
  { type: "connect" | "request" | "invalid" | "disconnect" | "tick" | "hostReply" }
>;

/** Everything that can happen to a member. */
export type NodeEvent =
  | ClientEvent
  /** One peer tick passed (heartbeats, election, liveness limits). */
  | { type: "peerTick" }
  /** A message arrived from member `from` on `channel`, not yet validated. */
  | { type: "peerMessage"; from: ServerId; channel: Channel; message: unknown }
  /** The peer link to `peer` broke. */
  | { type: "linkDown"; peer: ServerId }
  /** Records up to `zxid` that the node asked to log are durable. */
  | { type: "logged"; zxid: number }
  /** The host finished a `truncate` or `installSnapshot`: storage now holds this. */
  | { type: "rebuilt"; snapshot: SnapshotImage | null; records: readonly TxnRecord[] }
  /** The host finished a `truncate` that needed no rebuild (`rebuild: false`). */
  | { type: "truncated" };

/** What the host must do. Client actions first (the replica's), then the member's own. */
export type NodeAction =
  | Extract<ReplicaAction, { type: "send" | "close" | "log" | "hostCall" }>
  | { type: "peerSend"; to: ServerId; channel: Channel; message: unknown }
  /** Make the epochs durable before any later peerSend leaves. */
  | { type: "persistEpochs"; epochs: PeerEpochs }
  /** Append these records to the txn log; report `logged` once durable. */
  | { type: "appendLog"; records: TxnRecord[] }
  /**
   * Drop every logged record after `zxid`, then report `rebuilt` with what storage holds, or,
   * when `rebuild` is false (the replica applied nothing past `zxid`), just `truncated`.
   */
  | { type: "truncate"; zxid: number; rebuild: boolean }
  /** Replace storage with this snapshot, then report `rebuilt`. */
  | { type: "installSnapshot"; image: SnapshotImage };

/** How a member starts, from what its storage recovered (already applied to `replica`). */
export interface EnsembleNodeOptions {
  myId: ServerId;
  membership: Membership;
  /** The replica, restored from storage, with no client yet. */
  replica: Replica;
  epochs: PeerEpochs;
  /** Zxid of the recovered snapshot (0 without one). */
  snapshotZxid: number;
  /** Logged records after the snapshot, in order. */
  records: readonly TxnRecord[];
  initLimitTicks: number;
  syncLimitTicks: number;
  /** Most records kept for DIFF (Peer default when omitted). */
  historyRecordsMax?: number;
  /** Wall clock for the replica's events (the simulator passes its virtual one). */
  nowMs: () => number;
}

type Work =
  | { to: "replica"; event: ReplicaEvent }
  | { to: "peer"; event: PeerEvent }
  | { to: "peerMessage"; from: ServerId; channel: Channel; message: unknown }
  /** A peer action decided before a truncate or install, carried out once it is done. */
  | { to: "peerAction"; action: PeerAction };

/**
 * An ensemble member.
 *
 * @example
 * ```ts ignore
 * const node = new EnsembleNode({ myId: 1, membership, replica, epochs, snapshotZxid: 0,
 *   records: [], initLimitTicks: 100, syncLimitTicks: 10, nowMs: Date.now });
 * const actions = node.start();
 * ```
 */
export class EnsembleNode {
  readonly myId: ServerId;
  readonly replica: Replica;
  readonly #peer: Peer;
  readonly #nowMs: () => number;
  #role: ReplicaRole = "down";
  #queue: Work[] = [];
  /** Waiting for `rebuilt`: nothing else is handled until it comes. */
  #blocked = false;
  #out: NodeAction[] = [];
  #started = false;
  /** The last PROPOSAL or INFORM sent and its wire form: a leader sends one to every learner. */
  #lastSent: PeerMessage | null = null;
  #lastWire: unknown = null;

  constructor(options: EnsembleNodeOptions) {
    this.myId = options.myId;
    this.replica = options.replica;
    this.#nowMs = options.nowMs;
    this.#peer = new Peer({
      myId: options.myId,
      membership: options.membership,
      epochs: options.epochs,
      baseZxid: options.snapshotZxid,
      history: options.records,
      initLimitTicks: options.initLimitTicks,
      syncLimitTicks: options.syncLimitTicks,
      historyRecordsMax: options.historyRecordsMax,
      captureImage: () => imageToWire(this.replica.captureImage()),
    });
  }

  /** The peer's state, phase, leader, epochs and zxids. */
  get status(): Peer["status"] {
    return this.#peer.status;
  }

  /** How the replica serves now. */
  get role(): ReplicaRole {
    return this.#role;
  }

  /** Starts: the replica refuses clients until a leader is found; the peer starts looking. */
  start(): NodeAction[] {
    assert(!this.#started, "start() runs once");
    this.#started = true;
    this.#out = [];
    this.#queue.push({
      to: "replica",
      event: { type: "role", role: "down", epoch: 0, nowMs: this.#nowMs() },
    });
    this.#queue.push({ to: "peer", event: { type: "start" } });
    this.#drain();
    return this.#out;
  }

  /** Feeds one event; returns what the host must do, in order. */
  step(event: NodeEvent): NodeAction[] {
    assert(this.#started, "start() runs before step()");
    this.#out = [];
    switch (event.type) {
      case "rebuilt":
        assert(this.#blocked, "rebuilt answers a truncate or installSnapshot");
        this.replica.reload(event.snapshot, event.records);
        this.#blocked = false;
        break;
      case "truncated":
        assert(this.#blocked, "truncated answers a truncate");
        this.#blocked = false;
        break;
      case "peerTick":
        this.#queue.push({ to: "peer", event: { type: "tick" } });
        break;
      case "peerMessage":
        this.#queue.push({
          to: "peerMessage",
          from: event.from,
          channel: event.channel,
          message: event.message,
        });
        break;
      case "linkDown":
        this.#queue.push({ to: "peer", event: { type: "linkDown", peer: event.peer } });
        break;
      case "logged":
        this.#queue.push({ to: "peer", event: { type: "logged", zxid: event.zxid } });
        break;
      default:
        this.#queue.push({ to: "replica", event });
    }
    this.#drain();
    return this.#out;
  }

  #drain(): void {
    while (!this.#blocked && this.#queue.length > 0) {
      const work = this.#queue.shift()!;
      if (work.to === "replica") this.#stepReplica(work.event);
      else if (work.to === "peer") this.#stepPeer(work.event);
      else if (work.to === "peerAction") this.#peerAction(work.action);
      else this.#onPeerMessage(work.from, work.channel, work.message);
    }
  }

  // ---- the peer ------------------------------------------------------------------------------

  #stepPeer(event: PeerEvent): void {
    const actions = this.#peer.step(event);
    for (let i = 0; i < actions.length; i++) {
      this.#peerAction(actions[i]);
      if (this.#blocked) {
        // Whatever the peer decided after a truncate or install runs once storage is rebuilt.
        const rest = actions.slice(i + 1).map((action): Work => ({ to: "peerAction", action }));
        this.#queue.unshift(...rest);
        return;
      }
    }
  }

  #peerAction(action: PeerAction): void {
    switch (action.type) {
      case "send": {
        const channel: Channel = action.msg.type === "NOTIFICATION" ? "election" : "peer";
        this.#out.push({
          type: "peerSend",
          to: action.to,
          channel,
          message: this.#wire(action.msg),
        });
        return;
      }
      case "persistEpochs":
        this.#out.push({ type: "persistEpochs", epochs: action.epochs });
        return;
      case "log":
        this.#out.push({ type: "appendLog", records: action.records });
        return;
      case "commit": {
        // After a TRUNC the replica is rebuilt from storage up to the cut, which may include
        // txns the peer commits only now (at UPTODATE): they are applied already, and are the
        // same records (found by scripts/failover: a deposed leader stopped on rejoining).
        const applied = this.replica.tree.lastZxid;
        const records = action.records.filter((r) => r.zxid > applied);
        if (records.length === 0) return;
        return this.#stepReplica({ type: "commit", records });
      }
      case "truncate": {
        // The replica applies only committed txns, and a TRUNC never cuts those, so a running
        // member's state is already right; only one that replayed its whole log at start (and
        // so applied txns that the cut removes) must be rebuilt from storage.
        const rebuild = this.replica.tree.lastZxid > action.zxid;
        this.#out.push({ type: "truncate", zxid: action.zxid, rebuild });
        this.#blocked = true;
        return;
      }
      case "installSnapshot": {
        const image = imageFromWire(action.image);
        if (image === null || image.zxid !== action.zxid) {
          throw new Error(`the leader sent a malformed snapshot (zxid ${action.zxid})`);
        }
        this.#out.push({ type: "installSnapshot", image });
        this.#blocked = true;
        return;
      }
      case "role": {
        const role: ReplicaRole = !action.serving
          ? "down"
          : action.state === "LEADING"
          ? "leader"
          : action.state === "FOLLOWING"
          ? "follower"
          : "observer";
        this.#role = role;
        this.#out.push({
          type: "log",
          level: "info",
          message: "role",
          fields: {
            state: action.state,
            phase: action.phase,
            leader: action.leader,
            epoch: action.epoch,
            serving: action.serving,
          },
        });
        return this.#stepReplica({
          type: "role",
          role,
          epoch: action.epoch,
          nowMs: this.#nowMs(),
        });
      }
    }
  }

  // ---- the replica ---------------------------------------------------------------------------

  #stepReplica(event: ReplicaEvent): void {
    for (const action of this.replica.step(event)) {
      switch (action.type) {
        case "persist": {
          // Only a serving leader replicates. The replica may still have ordered a txn in the
          // step that ends its leadership; that txn dies with the role change.
          const { state, phase } = this.#peer.status;
          if (this.#role === "leader" && state === "LEADING" && phase === "BROADCAST") {
            this.#queue.push({ to: "peer", event: { type: "propose", records: action.records } });
          }
          break;
        }
        case "forward":
          this.#toLeader({ type: "REQUEST", forward: action.forward });
          break;
        case "touch":
          this.#toLeader({ type: "TOUCH", sessionIds: action.sessionIds });
          break;
        case "reply":
          this.#hostSend(action.to, { type: "REPLY", reply: action.reply });
          break;
        default:
          this.#out.push(action);
      }
    }
  }

  #toLeader(message: HostMessage): void {
    const leader = this.#peer.status.leader;
    if (leader !== null && leader !== this.myId) this.#hostSend(leader, message);
  }

  #hostSend(to: ServerId, message: HostMessage): void {
    this.#out.push({ type: "peerSend", to, channel: "peer", message });
  }

  /**
   * A message as it goes on the wire: a PROPOSAL or INFORM carries its record as the bytes of its
   * log body, the ones this member's log gets, so each txn is encoded once. The same message sent
   * to several learners is the same wire object, which the links encode once too.
   */
  #wire(msg: PeerMessage): unknown {
    if (msg.type !== "PROPOSAL" && msg.type !== "INFORM") return msg;
    if (msg !== this.#lastSent) {
      this.#lastSent = msg;
      this.#lastWire = {
        type: msg.type,
        zxid: msg.record.zxid,
        body: encodedRecordBody(msg.record),
      };
    }
    return this.#lastWire;
  }

  // ---- from the network ----------------------------------------------------------------------

  #onPeerMessage(from: ServerId, channel: Channel, message: unknown): void {
    const type = (message as { type?: unknown } | null)?.type;
    if (channel === "peer" && (type === "REQUEST" || type === "REPLY" || type === "TOUCH")) {
      return this.#onHostMessage(from, message as Record<string, unknown>);
    }
    const wire = recordFromWire(message);
    const parsed = parsePeerMessage(wire === null ? message : wire.message);
    if (parsed === null || (parsed.type === "NOTIFICATION") !== (channel === "election")) {
      return this.#drop(from, channel, message);
    }
    if (wire !== null && (parsed.type === "PROPOSAL" || parsed.type === "INFORM")) {
      rememberRecordBody(parsed.record, wire.bytes);
    }
    this.#stepPeer({ type: "message", from, msg: parsed });
  }

  #onHostMessage(from: ServerId, message: Record<string, unknown>): void {
    const nowMs = this.#nowMs();
    if (message.type === "REQUEST") {
      if (this.#role !== "leader") return; // its sender learns of the new leader by itself
      const forward = parseForward(message.forward);
      if (forward === null) return this.#drop(from, "peer", message);
      return this.#stepReplica({ type: "forwarded", from, nowMs, forward });
    }
    if (message.type === "TOUCH") {
      if (this.#role !== "leader") return;
      const ids = message.sessionIds;
      if (!Array.isArray(ids) || !ids.every(Number.isSafeInteger)) {
        return this.#drop(from, "peer", message);
      }
      return this.#stepReplica({ type: "touch", sessionIds: ids as number[] });
    }
    const learner = this.#role === "follower" || this.#role === "observer";
    if (from !== this.#peer.status.leader || !learner) return;
    const reply = parseReply(message.reply);
    if (reply === null) return this.#drop(from, "peer", message);
    this.#stepReplica({ type: "reply", reply });
  }

  /**
   * A message that does not parse. On the election channel it is dropped; on the peer channel the
   * stream it belongs to can no longer be followed (skipping a PROPOSAL would fork this member's
   * history from the leader's), so the link counts as lost: a learner looks for a leader again and
   * is synced afresh, a leader lets that learner go.
   */
  #drop(from: ServerId, channel: Channel, message: unknown): void {
    this.#out.push({
      type: "log",
      level: "warn",
      message: channel === "peer"
        ? "a peer sent a malformed message; treating the link as lost"
        : "dropped a malformed message from a peer",
      fields: { from, channel, type: String((message as { type?: unknown } | null)?.type) },
    });
    if (channel === "peer") this.#stepPeer({ type: "linkDown", peer: from });
  }
}

// ---- wire shapes of host-level content ------------------------------------------------------

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** A forwarded request from the network, validated; null when malformed. */
export function parseForward(value: unknown): ForwardedRequest | null {
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

/** A leader's reply from the network, validated; null when malformed. */
export function parseReply(value: unknown): ForwardReply | null {
  if (!isObject(value) || !isInt(value.sessionId) || !isInt(value.xid)) return null;
  const { sessionId, xid } = value;
  if (value.kind === "ordered" || value.kind === "sync") {
    return isInt(value.zxid) ? { kind: value.kind, sessionId, xid, zxid: value.zxid } : null;
  }
  if (value.kind !== "answer" || !isObject(value.message)) return null;
  const t = value.message.t;
  if (t !== "res" && t !== "refused") return null;
  const message = value.message as unknown as ServerMessage;
  if (value.upTo === undefined) return { kind: "answer", sessionId, xid, message };
  return isInt(value.upTo) ? { kind: "answer", sessionId, xid, message, upTo: value.upTo } : null;
}

/**
 * A PROPOSAL or INFORM whose record comes as log-body bytes (`{type, zxid, body}`), turned back
 * into the `{type, record}` shape that parsePeerMessage checks field by field, with the bytes; null
 * for any other message, which is checked as it is. Bytes that are not a record body, or that name
 * another zxid than the message, give a record that fails the check.
 */
export function recordFromWire(value: unknown): { message: unknown; bytes: Uint8Array } | null {
  if (!isObject(value) || (value.type !== "PROPOSAL" && value.type !== "INFORM")) return null;
  const bytes = value.body;
  if (!(bytes instanceof Uint8Array)) return null;
  let body: unknown;
  try {
    body = decodeRecordBody(bytes);
  } catch {
    body = null;
  }
  const fields = Array.isArray(body) && body.length === 4 && body[0] === value.zxid ? body : null;
  const record = fields === null
    ? null
    : { zxid: fields[0], timeMs: fields[1], sessionId: fields[2], txn: fields[3] };
  return { message: { type: value.type, record }, bytes };
}

/** A snapshot image as a SNAP carries it: the storage codec's compact arrays. */
export function imageToWire(image: SnapshotImage): unknown {
  return {
    zxid: image.zxid,
    nodes: nodesToBodies(image.nodes),
    sessions: image.sessions.map(sessionToBody),
  };
}

/** The image in a SNAP, validated; null when malformed. */
export function imageFromWire(value: unknown): SnapshotImage | null {
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
