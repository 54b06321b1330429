/**
 * A pure host for several replicas in ensemble mode, standing in for ZAB and the peer links: one
 * leader, followers and observers, wired by FIFO links that tests can hold and release.
 *
 * - A learner's `forward` and `touch` actions travel its link to the leader (`forwarded` with
 *   `from` set, `touch`).
 * - The leader's `reply` actions travel its link to the named learner (`reply`).
 * - The leader's `persist` records are its proposals: once committed (at once, or when the test
 *   calls {@linkcode Ensemble.commit} while {@linkcode Ensemble.holdCommits} is set) they reach
 *   the leader as a `commit` event and then, in the same order, every learner over its link, so a
 *   held link delays the commit to that learner (and everything the leader sent it later).
 *
 * Everything is synchronous and deterministic; the top-level calls settle the ensemble (deliver
 * every message on a link that is not held) before returning.
 * @module
 */
import { Replica } from "../../src/replica/replica.ts";
import type {
  ForwardedRequest,
  ForwardReply,
  ReplicaAction,
  ReplicaEvent,
  ReplicaRole,
} from "../../src/replica/types.ts";
import type { TxnRecord } from "../../src/tree/txn.ts";
import type { ClientRequest, ResponseMessage, ServerMessage } from "../../src/wire/messages.ts";

/** A request without its xid (the client numbers its requests). */
export type RequestInput = {
  [K in ClientRequest["op"]]: Omit<Extract<ClientRequest, { op: K }>, "xid">;
}[ClientRequest["op"]];

/** What travels a link between two servers. */
export type PeerMessage =
  | { kind: "forward"; forward: ForwardedRequest }
  | { kind: "touch"; sessionIds: number[] }
  | { kind: "reply"; reply: ForwardReply }
  | { kind: "commit"; records: TxnRecord[] };

/** A directed FIFO link. */
interface Link {
  from: number;
  to: number;
  queue: PeerMessage[];
  held: boolean;
}

/** Ms per tick of every replica. */
export const tickMs = 100;

/** The session id base of server `id` (distinct per server, like the real host's). */
export const sessionIdBaseOf = (id: number): number => id * 0x10000;

/** One client connection to one server. */
export class Client {
  /** Messages not yet taken. */
  readonly inbox: ServerMessage[] = [];
  /** Every message this connection ever received. */
  readonly transcript: ServerMessage[] = [];
  /** Why the server closed the connection, once it did. */
  closed: string | null = null;
  #xid = 0;

  constructor(readonly ensemble: Ensemble, readonly server: number, readonly connId: number) {}

  /** The handshake answer (`connected` or `refused`), once it came. */
  get handshake(): ServerMessage | undefined {
    return this.transcript.find((m) => m.t === "connected" || m.t === "refused");
  }

  /** The session this connection got, or throws. */
  get session(): { sessionId: number; password: Uint8Array } {
    const h = this.handshake;
    if (!h || h.t !== "connected") throw new Error(`connection ${this.connId} has no session`);
    return { sessionId: h.sessionId, password: h.password };
  }

  /** Highest zxid this client has seen (what a real client sends as lastZxid). */
  get lastZxid(): number {
    let zxid = 0;
    for (const m of this.transcript) {
      if ((m.t === "res" || m.t === "connected" || m.t === "event") && m.zxid > zxid) zxid = m.zxid;
    }
    return zxid;
  }

  /** Sends a request with this connection's next xid, settles the ensemble, returns the xid. */
  send(request: RequestInput): number {
    const xid = ++this.#xid;
    this.ensemble.step(this.server, {
      type: "request",
      connId: this.connId,
      nowMs: this.ensemble.nowMs,
      request: { ...request, xid } as ClientRequest,
    });
    this.ensemble.settle();
    return xid;
  }

  /** Sends a request and returns its response (taking everything received so far). */
  call(request: RequestInput): ResponseMessage {
    const xid = this.send(request);
    const response = this.take().find((m) => m.t === "res" && m.xid === xid);
    if (!response || response.t !== "res") throw new Error(`no response to xid ${xid}`);
    return response;
  }

  /** Removes and returns what this connection received so far. */
  take(): ServerMessage[] {
    return this.inbox.splice(0);
  }

  /** The client goes away (the host reports `disconnect`). */
  disconnect(): void {
    this.ensemble.step(this.server, { type: "disconnect", connId: this.connId });
    this.ensemble.settle();
  }
}

/** Who plays what at the start. */
export interface EnsembleOptions {
  leader?: number;
  followers?: number[];
  observers?: number[];
  epoch?: number;
}

/** Replicas wired as an ensemble. */
export class Ensemble {
  readonly replicas = new Map<number, Replica>();
  nowMs = 1_000_000;
  /** While set, the leader's proposals wait for {@linkcode Ensemble.commit}. */
  holdCommits = false;
  /** Records the current leader proposed that are not committed yet. */
  readonly proposed: TxnRecord[] = [];
  /** Every committed record, in commit order. */
  readonly committed: TxnRecord[] = [];
  /** Every action any replica returned, with its server. */
  readonly trace: { server: number; action: ReplicaAction }[] = [];
  readonly #links: Link[] = [];
  readonly #clients = new Map<number, Client>();
  #nextConnId = 1;

  constructor(options: EnsembleOptions = {}) {
    const leader = options.leader ?? 1;
    const followers = options.followers ?? [2];
    const observers = options.observers ?? [];
    const epoch = options.epoch ?? 1;
    for (const id of [leader, ...followers, ...observers].sort((a, b) => a - b)) {
      this.replicas.set(
        id,
        new Replica({ serverId: id, tickMs, sessionIdBase: sessionIdBaseOf(id) }),
      );
    }
    this.setRole(leader, "leader", epoch);
    for (const id of followers) this.setRole(id, "follower", epoch);
    for (const id of observers) this.setRole(id, "observer", epoch);
  }

  /** The replica of server `id`. */
  replica(id: number): Replica {
    const replica = this.replicas.get(id);
    if (!replica) throw new Error(`no server ${id}`);
    return replica;
  }

  /** The server whose replica is leader now, if any. */
  get leaderId(): number | null {
    for (const [id, replica] of this.replicas) if (replica.role === "leader") return id;
    return null;
  }

  /** Servers whose replica follows or observes now. */
  learners(): number[] {
    return [...this.replicas].filter(([, r]) => r.role === "follower" || r.role === "observer")
      .map(([id]) => id);
  }

  /** Feeds one event to server `id` and routes its actions (without settling). */
  step(id: number, event: ReplicaEvent): ReplicaAction[] {
    const actions = this.replica(id).step(event);
    for (const action of actions) this.#route(id, action);
    return actions;
  }

  #route(id: number, action: ReplicaAction): void {
    this.trace.push({ server: id, action });
    switch (action.type) {
      case "send": {
        const client = this.#clients.get(action.connId);
        if (!client || client.server !== id) {
          throw new Error(`server ${id} sent to unknown connection ${action.connId}`);
        }
        client.inbox.push(action.message);
        client.transcript.push(action.message);
        return;
      }
      case "close": {
        const client = this.#clients.get(action.connId);
        if (client) client.closed = action.reason;
        return;
      }
      case "persist": {
        const role = this.replica(id).role;
        if (role !== "leader") throw new Error(`server ${id} (${role}) proposed records`);
        this.proposed.push(...action.records);
        return;
      }
      case "forward":
      case "touch": {
        const leader = this.leaderId;
        if (leader === null) return; // no leader to talk to: lost
        this.link(id, leader).queue.push(
          action.type === "forward"
            ? { kind: "forward", forward: action.forward }
            : { kind: "touch", sessionIds: action.sessionIds },
        );
        return;
      }
      case "reply":
        this.link(id, action.to).queue.push({ kind: "reply", reply: action.reply });
        return;
      case "hostCall":
      case "log":
        return;
    }
  }

  /** The directed link `from` -> `to`. */
  link(from: number, to: number): Link {
    let link = this.#links.find((l) => l.from === from && l.to === to);
    if (!link) this.#links.push(link = { from, to, queue: [], held: false });
    return link;
  }

  /** Stops delivery on `from` -> `to` (messages queue up in order). */
  hold(from: number, to: number): void {
    this.link(from, to).held = true;
  }

  /** Resumes delivery on `from` -> `to` and settles. */
  release(from: number, to: number): void {
    this.link(from, to).held = false;
    this.settle();
  }

  /** Commits the first `count` proposals: to the leader now, then over each learner's link. */
  commit(count = this.proposed.length): void {
    const leader = this.leaderId;
    if (leader === null) throw new Error("no leader to commit");
    const records = this.proposed.splice(0, count);
    if (records.length === 0) return;
    this.committed.push(...records);
    this.step(leader, { type: "commit", records });
    for (const id of this.learners()) {
      this.link(leader, id).queue.push({ kind: "commit", records });
    }
  }

  /** Delivers messages (and commits, unless held) until nothing more can move. */
  settle(): void {
    for (let rounds = 0;; rounds++) {
      if (rounds > 100_000) throw new Error("the ensemble does not settle");
      if (!this.holdCommits && this.proposed.length > 0) {
        this.commit();
        continue;
      }
      const link = this.#links.find((l) => !l.held && l.queue.length > 0);
      if (!link) return;
      this.#deliver(link.from, link.to, link.queue.shift()!);
    }
  }

  #deliver(from: number, to: number, message: PeerMessage): void {
    const role = this.replica(to).role;
    const learner = role === "follower" || role === "observer";
    switch (message.kind) {
      case "forward":
        if (role === "leader") {
          this.step(to, { type: "forwarded", from, nowMs: this.nowMs, forward: message.forward });
        }
        return;
      case "touch":
        if (role === "leader") this.step(to, { type: "touch", sessionIds: message.sessionIds });
        return;
      case "reply":
        if (learner) this.step(to, { type: "reply", reply: message.reply });
        return;
      case "commit":
        if (learner) this.step(to, { type: "commit", records: message.records });
        return;
    }
  }

  /**
   * Gives server `id` a new role. Its links lose what is in flight (the peer connections restart
   * with a new epoch), and a leader stepping down loses its uncommitted proposals.
   */
  setRole(id: number, role: ReplicaRole, epoch: number): void {
    if (this.replica(id).role === "leader" && role !== "leader") this.proposed.length = 0;
    for (const link of this.#links) {
      if (link.from === id || link.to === id) link.queue.length = 0;
    }
    this.step(id, { type: "role", role, epoch, nowMs: this.nowMs });
    this.settle();
  }

  /**
   * Opens a connection to server `id` (a new session unless `sessionId` is given), settles and
   * returns it. A handshake answer that came during the call is taken out of the inbox (read it
   * from `handshake`); one that comes later stays there.
   */
  connect(
    id: number,
    options: { timeoutMs?: number; sessionId?: number; password?: Uint8Array; lastZxid?: number } =
      {},
  ): Client {
    const connId = this.#nextConnId++;
    const client = new Client(this, id, connId);
    this.#clients.set(connId, client);
    this.step(id, {
      type: "connect",
      connId,
      nowMs: this.nowMs,
      remoteAddress: "127.0.0.1",
      request: {
        op: "connect",
        proto: 1,
        timeoutMs: options.timeoutMs ?? 1000,
        sessionId: options.sessionId ?? 0,
        password: options.password ?? new Uint8Array(),
        lastZxid: options.lastZxid ?? 0,
      },
      entropy: new Uint8Array(16).fill(connId),
    });
    this.settle();
    // The handshake answer, if it came already, is in `handshake`, not in the inbox.
    const index = client.inbox.findIndex((m) => m.t === "connected" || m.t === "refused");
    if (index >= 0) client.inbox.splice(index, 1);
    return client;
  }

  /** Advances every replica's clock by `ticks` ticks, settling after each. */
  tick(ticks = 1): void {
    for (let i = 0; i < ticks; i++) {
      this.nowMs += tickMs;
      for (const id of this.replicas.keys()) this.step(id, { type: "tick", nowMs: this.nowMs });
      this.settle();
    }
  }

  /** The `reply` actions the leader sent, in order. */
  replies(): ForwardReply[] {
    return this.trace.flatMap((t) => t.action.type === "reply" ? [t.action.reply] : []);
  }
}

/** UTF-8 bytes of `text`. */
export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** UTF-8 text of `data`. */
export const text = (data: Uint8Array | undefined): string | undefined =>
  data === undefined ? undefined : new TextDecoder().decode(data);

/** The world-anyone ACL with all permissions. */
export const open = [{ perms: 31, scheme: "world", id: "anyone" }];
