/**
 * A lean ZooKeeper-protocol session for load generation: it pipelines requests on one TCP
 * connection, reads only each reply's header (xid, zxid, err) and keeps the session alive with
 * pings on one timer per session. The same client drives Apache ZooKeeper and Corral's ZooKeeper
 * port, so a comparison measures the servers, not two different clients. It does not reconnect:
 * a lost connection fails every pending request, and the caller may resume the session with
 * {@linkcode ZkBenchSession.open}'s `resume`.
 * @module
 */
import type { NetAdapter, Socket } from "../net/types.ts";
import { keeperCodeNameOf, Xid } from "../zk/codes.ts";
import { encodeFrame, encodeRequest, FrameReader, type ZkRequest } from "../zk/records.ts";

/** What a reply says: its error code (0 is ok) and the zxid it carries. */
export interface ZkReply {
  err: number;
  zxid: number;
}

/**
 * A session to resume: the handshake's id and password, and the last zxid seen. The id is a
 * bigint: ZooKeeper's ids use all 64 bits (server id in the top byte), beyond a double's 53.
 */
export interface ZkResume {
  sessionId: bigint;
  passwd: Uint8Array;
  lastZxid: number;
}

/** Why a request did not get a reply. */
export class ZkConnectionLost extends Error {
  override name = "ZkConnectionLost";
}

interface Pending {
  resolve(reply: ZkReply): void;
  reject(error: Error): void;
}

/** One ZooKeeper session on one connection. */
export class ZkBenchSession {
  readonly #frames = new FrameReader(64 * 1024 * 1024);
  readonly #pending = new Map<number, Pending>();
  #socket: Socket | null = null;
  #xid = 0;
  #sentSincePing = true;
  #timer: ReturnType<typeof setInterval> | undefined;
  #handshake: ((ok: boolean, why: string) => void) | null = null;
  /** Session id granted by the handshake (0n before it). */
  sessionId = 0n;
  /** Session password granted by the handshake. */
  passwd: Uint8Array = new Uint8Array(16);
  /** Negotiated session timeout, ms. */
  timeoutMs = 0;
  /** Largest zxid of a reply so far. */
  lastZxid = 0;
  /** True once the connection is gone. */
  closed = false;

  private constructor() {}

  /**
   * Connects to `port` on `hostname` and completes the handshake: a new session, or `resume`'s.
   * Rejects when the connection fails, the server closes it before answering, the session has
   * expired (a resume answered with timeout 0) or `connectTimeoutMs` passes.
   */
  static async open(
    adapter: NetAdapter,
    hostname: string,
    port: number,
    options: { sessionTimeoutMs?: number; resume?: ZkResume; connectTimeoutMs?: number } = {},
  ): Promise<ZkBenchSession> {
    const session = new ZkBenchSession();
    const answered = new Promise<void>((resolve, reject) => {
      session.#handshake = (ok, why) => ok ? resolve() : reject(new ZkConnectionLost(why));
    });
    const socket = await adapter.connect({ hostname, port }, (socket) => {
      session.#socket = socket;
      return { data: (chunk) => session.#onData(chunk), close: () => session.#onClose() };
    });
    const resume = options.resume;
    if (resume) session.lastZxid = resume.lastZxid;
    socket.write(connectRequest(
      resume?.lastZxid ?? 0,
      options.sessionTimeoutMs ?? 30_000,
      resume?.sessionId ?? 0n,
      resume?.passwd ?? new Uint8Array(16),
    ));
    const limit = options.connectTimeoutMs ?? 10_000;
    const timer = setTimeout(() => {
      session.#fail("no handshake answer in time");
      session.#socket?.close();
    }, limit);
    try {
      await answered;
    } finally {
      clearTimeout(timer);
    }
    if (session.closed) throw new ZkConnectionLost("connection closed right after the handshake");
    // Ping at a third of the timeout when the session has sent nothing since the last tick.
    session.#timer = setInterval(() => session.#tick(), Math.max(100, session.timeoutMs / 3));
    return session;
  }

  /** What {@linkcode ZkBenchSession.open} needs to resume this session elsewhere. */
  get resume(): ZkResume {
    return { sessionId: this.sessionId, passwd: this.passwd, lastZxid: this.lastZxid };
  }

  /** Requests waiting for a reply. */
  get outstanding(): number {
    return this.#pending.size;
  }

  /** Sends `request`; resolves with its reply, rejects with ZkConnectionLost if none comes. */
  call(request: ZkRequest): Promise<ZkReply> {
    if (this.closed || this.#socket === null) {
      return Promise.reject(new ZkConnectionLost("connection closed"));
    }
    const xid = this.#xid = (this.#xid + 1) & 0x7fffffff;
    this.#sentSincePing = true;
    return new Promise<ZkReply>((resolve, reject) => {
      this.#pending.set(xid, { resolve, reject });
      this.#socket!.writeOwned(encodeRequest(xid, request));
    });
  }

  /** Ends the session on the server (closeSession) and closes the connection. */
  async close(): Promise<void> {
    if (!this.closed) {
      try {
        await this.call({ op: "closeSession" });
      } catch {
        // Already gone: nothing to end.
      }
    }
    this.drop();
  }

  /** Closes the connection without ending the session (it can be resumed). */
  drop(): void {
    clearInterval(this.#timer);
    this.#socket?.close();
    this.#fail("connection dropped");
  }

  #tick(): void {
    if (this.closed) return;
    if (!this.#sentSincePing) {
      this.#socket!.write(encodeRequest(Xid.ping, { op: "ping" }));
    }
    this.#sentSincePing = false;
  }

  #onData(chunk: Uint8Array): void {
    for (const frame of this.#frames.push(chunk)) {
      if (!frame.ok) {
        this.drop();
        return;
      }
      if (this.#handshake !== null) this.#onHandshake(frame.payload);
      else this.#onReply(frame.payload);
    }
  }

  /** ConnectResponse: protocolVersion int, timeOut int, sessionId long, passwd buffer. */
  #onHandshake(payload: Uint8Array): void {
    const done = this.#handshake!;
    this.#handshake = null;
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    const passwdBytes = payload.byteLength >= 20 ? view.getInt32(16) : -2;
    if (passwdBytes < -1 || payload.byteLength < 20 + Math.max(0, passwdBytes)) {
      done(false, "bad handshake answer");
      this.drop();
      return;
    }
    const timeOut = view.getInt32(4);
    if (timeOut <= 0) {
      done(false, "session expired");
      this.drop();
      return;
    }
    this.timeoutMs = timeOut;
    this.sessionId = view.getBigInt64(8);
    this.passwd = payload.slice(20, 20 + Math.max(0, passwdBytes));
    done(true, "");
  }

  /** A reply's header is all a load generator needs: xid, zxid and error code. */
  #onReply(payload: Uint8Array): void {
    if (payload.byteLength < 16) return;
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    const xid = view.getInt32(0);
    const zxid = Number(view.getBigInt64(4));
    const err = view.getInt32(12);
    if (xid < 0) return; // a ping's answer or a watch event
    if (zxid > this.lastZxid) this.lastZxid = zxid;
    const pending = this.#pending.get(xid);
    if (pending === undefined) return;
    this.#pending.delete(xid);
    pending.resolve({ err, zxid });
  }

  #onClose(): void {
    this.#fail("connection closed by the server");
  }

  #fail(why: string): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.#timer);
    this.#handshake?.(false, why);
    this.#handshake = null;
    const error = new ZkConnectionLost(why);
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}

/** A ConnectRequest frame; written by hand for its 64-bit session id. */
function connectRequest(
  lastZxid: number,
  timeOutMs: number,
  sessionId: bigint,
  passwd: Uint8Array,
): Uint8Array {
  const payload = new Uint8Array(4 + 8 + 4 + 8 + 4 + passwd.byteLength);
  const view = new DataView(payload.buffer);
  view.setInt32(0, 0); // protocol version
  view.setBigInt64(4, BigInt(lastZxid));
  view.setInt32(12, timeOutMs);
  view.setBigInt64(16, sessionId);
  view.setInt32(24, passwd.byteLength);
  payload.set(passwd, 28);
  return encodeFrame(payload);
}

/** ZooKeeper's name for error code `err`, for reports ("NodeExists"), or the number. */
export function zkErrorName(err: number): string {
  return keeperCodeNameOf.get(err) ?? String(err);
}
