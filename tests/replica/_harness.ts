/**
 * A tiny host for the pure replica in tests: it plays the server shell (durable at once unless
 * told to hold, messages collected per connection), so tests read as transcripts.
 * @module
 */
import { Replica } from "../../src/replica/replica.ts";
import type { ReplicaAction, ReplicaEvent, ReplicaOptions } from "../../src/replica/types.ts";
import type { TxnRecord } from "../../src/tree/txn.ts";
import type { ClientRequest, ServerMessage } from "../../src/wire/messages.ts";

type RequestInput = {
  [K in ClientRequest["op"]]: Omit<Extract<ClientRequest, { op: K }>, "xid">;
}[ClientRequest["op"]];

/** A replica plus a transcript of what each connection received. */
export class Harness {
  readonly replica: Replica;
  readonly inbox = new Map<number, ServerMessage[]>();
  readonly closed = new Map<number, string>();
  readonly unsynced: TxnRecord[] = [];
  /** When true, persisted records wait for {@linkcode Harness.sync}. */
  holdDurable = false;
  nowMs = 1_000_000;
  #xid = new Map<number, number>();

  constructor(options: Partial<ReplicaOptions> = {}) {
    this.replica = new Replica({ serverId: 1, tickMs: 100, sessionIdBase: 0x100, ...options });
  }

  step(event: ReplicaEvent): ReplicaAction[] {
    const actions = this.replica.step(event);
    for (const action of actions) {
      if (action.type === "send") {
        const list = this.inbox.get(action.connId) ?? [];
        list.push(action.message);
        this.inbox.set(action.connId, list);
      } else if (action.type === "close") {
        this.closed.set(action.connId, action.reason);
      } else if (action.type === "persist") {
        this.unsynced.push(...action.records);
      }
    }
    if (!this.holdDurable) this.sync();
    return actions;
  }

  /** Reports every persisted record durable. */
  sync(): void {
    if (this.unsynced.length === 0) return;
    const zxid = this.unsynced.at(-1)!.zxid;
    this.unsynced.length = 0;
    this.step({ type: "durable", zxid });
  }

  /** Opens a session on `connId`; returns the connected message. */
  connect(
    connId: number,
    timeoutMs = 1000,
    resume?: { sessionId: number; password: Uint8Array; lastZxid?: number },
  ) {
    this.step({
      type: "connect",
      connId,
      nowMs: this.nowMs,
      remoteAddress: "127.0.0.1",
      request: {
        op: "connect",
        proto: 1,
        timeoutMs,
        sessionId: resume?.sessionId ?? 0,
        password: resume?.password ?? new Uint8Array(),
        lastZxid: resume?.lastZxid ?? 0,
      },
      entropy: new Uint8Array(16).fill(connId),
    });
    return this.take(connId)[0];
  }

  /** Sends a request with the next xid of `connId`; returns that xid. */
  send(connId: number, request: RequestInput): number {
    const xid = (this.#xid.get(connId) ?? 0) + 1;
    this.#xid.set(connId, xid);
    this.step({
      type: "request",
      connId,
      nowMs: this.nowMs,
      request: { ...request, xid } as ClientRequest,
    });
    return xid;
  }

  /** Sends a request and returns the single response to it (asserting one arrived). */
  call(connId: number, request: RequestInput): Extract<ServerMessage, { t: "res" }> {
    const xid = this.send(connId, request);
    const response = this.take(connId).find((m) => m.t === "res" && m.xid === xid);
    if (!response || response.t !== "res") throw new Error(`no response to xid ${xid}`);
    return response;
  }

  /** Removes and returns what `connId` received so far. */
  take(connId: number): ServerMessage[] {
    const list = this.inbox.get(connId) ?? [];
    this.inbox.set(connId, []);
    return list;
  }

  /** Advances the clock by `ticks` ticks. */
  tick(ticks = 1): void {
    for (let i = 0; i < ticks; i++) {
      this.nowMs += 100;
      this.step({ type: "tick", nowMs: this.nowMs });
    }
  }
}

/** UTF-8 bytes of `text`. */
export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** The world-anyone ACL with all permissions. */
export const open = [{ perms: 31, scheme: "world", id: "anyone" }];
