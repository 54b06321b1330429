/**
 * Links between the servers of an ensemble over raw TCP: one {@linkcode PeerLinks} per channel
 * (one for the peer port, one for the election port). Messages are opaque values here; ZAB lives
 * in src/zab and is hosted by the shell.
 *
 * Each server sends only over the connection it dialled to a peer and receives only over the
 * connections it accepted, so each direction is one FIFO stream with no tie-breaking. A dial
 * begins with a handshake frame `{ corral: "peer", channel, from, to }`; the acceptor checks it
 * (a configured member other than itself, addressed to it, on this channel, from the member's
 * address when that is an IP literal) and answers `{ accepted: true }` or `{ refused: reason }`.
 * The dialler writes nothing else until it is accepted.
 *
 * A link that breaks is never resumed: whatever was queued for it is dropped and the owner hears
 * `onLinkDown`, so a message is never delivered after a gap. Messages sent after that go to the
 * next connection, which is dialled again and again (exponential backoff with jitter) until
 * {@linkcode PeerLinks.close}.
 *
 * Frames are the client protocol's: a 4-byte length, then one CBOR item (src/wire/frame.ts).
 * @module
 */
import { encodeFrame, FrameDecoder } from "../wire/frame.ts";
import type { Listener, NetAdapter, Socket, SocketHandlers } from "../net/types.ts";

/** Where one member of a channel listens. */
export interface PeerEndpoint {
  /** The member's id (`myid`). */
  id: number;
  /** Host name or address the other members dial (and, for an IP literal, where it dials from). */
  host: string;
  /**
   * Port of this channel. 0 means "not known yet": for our own entry, listen on a free port; for
   * another member, do not dial it until {@linkcode PeerLinks.updateEndpoint} names its port.
   */
  port: number;
}

/** How to run the links of one channel. */
export interface PeerLinksOptions {
  /** This server's id. */
  myId: number;
  /** Every member on this channel, this server included (its entry is where we listen). */
  members: PeerEndpoint[];
  /** Channel name, e.g. "peer" or "election"; part of the handshake so a dial to the wrong port is refused. */
  channel: string;
  /** TCP implementation. */
  adapter: NetAdapter;
  /** Address to bind; default: our member entry's host. */
  listenHostname?: string;
  /** Largest frame from an identified peer. Default 256 MiB (SNAP messages carry a whole tree). */
  frameBytesMax?: number;
  /**
   * Most bytes queued towards one peer (the socket's pendingWriteBytes plus the queue of a link
   * not yet accepted). Default 512 MiB.
   */
  outboxBytesMax?: number;
  /** First redial delay, ms. Default 50. */
  reconnectMinMs?: number;
  /** Longest redial delay, ms. Default 1000. */
  reconnectMaxMs?: number;
  /** How long either side of a new connection waits for the handshake, ms. Default 5000. */
  handshakeMs?: number;
  /** A message from `from`, in the order it was sent. */
  onMessage(from: number, message: unknown): void;
  /**
   * The link to `peer` broke (either direction closed, a dial failed, the outbox overflowed).
   * Called synchronously from {@linkcode PeerLinks.send} when that send overflows the outbox, so
   * every message sent after the call goes to the next connection. Never called after `close()`.
   */
  onLinkDown(peer: number): void;
  /** Where the links log. */
  log(
    level: "debug" | "info" | "warn" | "error",
    message: string,
    fields?: Record<string, unknown>,
  ): void;
}

/** Default largest frame from a peer. */
export const peerFrameBytesMaxDefault = 256 * 1024 * 1024;
/** Default most bytes queued towards one peer. */
export const peerOutboxBytesMaxDefault = 512 * 1024 * 1024;
/** Default first redial delay. */
export const peerReconnectMinMsDefault = 50;
/** Default longest redial delay. */
export const peerReconnectMaxMsDefault = 1000;
/** Default handshake deadline. */
export const peerHandshakeMsDefault = 5000;

/** Largest frame before a connection is identified: a handshake or its answer is tiny. */
const handshakeFrameBytesMax = 64 * 1024;
/** How long `close()` waits for a dial still in flight (it is closed when it lands anyway). */
const closeDialWaitMsMax = 1000;

/** The first frame of a dial. */
interface Handshake {
  corral: "peer";
  channel: string;
  from: number;
  to: number;
}

/** One dial: from `adapter.connect` to failure (or, once accepted, to the link's end). */
interface Attempt {
  socket: Socket | null;
  decoder: FrameDecoder;
  /** The acceptor answered `{ accepted: true }`: the link is up. */
  accepted: boolean;
  /** Failed or closed; every later callback about this attempt is ignored. */
  done: boolean;
  /** Handshake deadline (from the start of the dial). */
  timer: ReturnType<typeof setTimeout> | null;
}

/** Our sending side towards one peer. */
interface Outbound {
  readonly id: number;
  host: string;
  port: number;
  /** The dial in progress or the live link, if any. */
  attempt: Attempt | null;
  /** Frames sent while no link is accepted; flushed when one is. */
  queue: Uint8Array[];
  queuedBytes: number;
  /** Failed dials since the last accepted one (drives the backoff). */
  failures: number;
  redialTimer: ReturnType<typeof setTimeout> | null;
  /** The last refusal logged at warn, so a refused redial loop logs it once. */
  lastRefusal: string | null;
}

/** A connection someone dialled to us. */
interface Inbound {
  socket: Socket;
  decoder: FrameDecoder;
  /** The peer's id once its handshake is accepted. */
  peer: number | null;
  /** Refused, replaced or dropped: nothing more from it is delivered. */
  done: boolean;
  timer: ReturnType<typeof setTimeout> | null;
}

/**
 * The links of one channel between this server and every other member.
 *
 * Ports of other members may be learned after listening (tests listen on port 0): give such a
 * member port 0 in `members`, then call {@linkcode PeerLinks.updateEndpoint} once it is known.
 *
 * @example
 * ```ts ignore
 * import { PeerLinks } from "./peer_links.ts";
 * import { defaultAdapter } from "../net/mod.ts";
 * const links = new PeerLinks({
 *   myId: 1,
 *   members: [{ id: 1, host: "127.0.0.1", port: 0 }, { id: 2, host: "127.0.0.1", port: 0 }],
 *   channel: "peer",
 *   adapter: await defaultAdapter(),
 *   onMessage: (from, message) => console.log(from, message),
 *   onLinkDown: (peer) => console.log("down", peer),
 *   log: () => {},
 * });
 * await links.start();
 * links.updateEndpoint(2, 3888); // once member 2's port is known
 * links.send(2, { type: "PING" });
 * await links.close();
 * ```
 */
export class PeerLinks {
  readonly #options: PeerLinksOptions;
  readonly #self: PeerEndpoint;
  /** Configured host of every other member (for the acceptor's address check). */
  readonly #hosts = new Map<number, string>();
  readonly #frameBytesMax: number;
  readonly #outboxBytesMax: number;
  readonly #reconnectMinMs: number;
  readonly #reconnectMaxMs: number;
  readonly #handshakeMs: number;
  readonly #outbound = new Map<number, Outbound>();
  readonly #inbound = new Set<Inbound>();
  /** The accepted inbound connection of each peer. */
  readonly #identified = new Map<number, Inbound>();
  /** Sockets not yet closed (resolved by their close handler). */
  readonly #sockets = new Set<Promise<void>>();
  /** Dials whose `adapter.connect` has not settled. */
  readonly #dials = new Set<Promise<void>>();
  #listener: Listener | null = null;
  #started = false;
  #closed = false;
  /** The last message encoded and its frame, to encode a message sent to several peers once. */
  #lastMessage: unknown = undefined;
  #lastFrame: Uint8Array | null = null;
  #closing: Promise<void> | null = null;

  /** Checks the options; throws a `RangeError` on a bad member list. Nothing opens until `start()`. */
  constructor(options: PeerLinksOptions) {
    this.#options = options;
    const seen = new Set<number>();
    for (const member of options.members) {
      if (!Number.isSafeInteger(member.id)) {
        throw new RangeError(`member id ${member.id} is not an integer`);
      }
      if (seen.has(member.id)) throw new RangeError(`member ${member.id} is listed twice`);
      seen.add(member.id);
      checkPort(member.port);
    }
    const self = options.members.find((m) => m.id === options.myId);
    if (self === undefined) throw new RangeError(`myId ${options.myId} is not a member`);
    this.#self = self;
    for (const member of options.members) {
      if (member.id === options.myId) continue;
      this.#hosts.set(member.id, member.host);
      this.#outbound.set(member.id, {
        id: member.id,
        host: member.host,
        port: member.port,
        attempt: null,
        queue: [],
        queuedBytes: 0,
        failures: 0,
        redialTimer: null,
        lastRefusal: null,
      });
    }
    this.#frameBytesMax = options.frameBytesMax ?? peerFrameBytesMaxDefault;
    this.#outboxBytesMax = options.outboxBytesMax ?? peerOutboxBytesMaxDefault;
    this.#reconnectMinMs = options.reconnectMinMs ?? peerReconnectMinMsDefault;
    this.#reconnectMaxMs = Math.max(
      this.#reconnectMinMs,
      options.reconnectMaxMs ?? peerReconnectMaxMsDefault,
    );
    this.#handshakeMs = options.handshakeMs ?? peerHandshakeMsDefault;
  }

  /** The bound port (our member entry's port before `start()`). */
  get port(): number {
    return this.#listener?.port ?? this.#self.port;
  }

  /** Listens on our port and starts dialling every other member whose port is known. */
  async start(): Promise<void> {
    if (this.#started) throw new Error("PeerLinks.start() was already called");
    this.#started = true;
    const hostname = this.#options.listenHostname ?? this.#self.host;
    const listener = await this.#options.adapter.listen(
      { hostname, port: this.#self.port },
      (socket) => this.#accept(socket),
    );
    if (this.#closed) {
      await listener.close();
      return;
    }
    this.#listener = listener;
    this.#log("info", "peer links listening", { hostname, port: listener.port });
    for (const out of this.#outbound.values()) this.#dial(out);
  }

  /**
   * Sets the port member `id` is dialled at (for members configured with port 0 until their
   * port is known). Dials it at once unless a dial or link to it exists already; a link in
   * place keeps its connection, and the next dial uses the new port.
   */
  updateEndpoint(id: number, port: number): void {
    const out = this.#outbound.get(id);
    if (out === undefined) throw new RangeError(`${id} is not another member`);
    checkPort(port);
    out.port = port;
    if (!this.#started || this.#closed || out.attempt !== null) return;
    if (out.redialTimer !== null) clearTimeout(out.redialTimer);
    out.redialTimer = null;
    out.failures = 0;
    this.#dial(out);
  }

  /**
   * Sends `message` to `to`, after everything sent to it before (FIFO). Never throws: while the
   * link is not accepted the message is queued; if the queue plus the socket's unsent bytes
   * would exceed `outboxBytesMax`, everything queued is dropped, the link is closed and
   * `onLinkDown(to)` is called before this returns. A message that cannot be encoded, or whose
   * frame is over `frameBytesMax`, breaks the link the same way (and is logged as an error).
   */
  send(to: number, message: unknown): void {
    if (this.#closed) return;
    const out = this.#outbound.get(to);
    if (out === undefined) {
      this.#log("error", "message to a server that is not a member dropped", { to });
      return;
    }
    let frame: Uint8Array;
    try {
      // A message sent to several peers (a leader's PROPOSAL goes to every follower) is the same
      // object each time: it is encoded once. Messages are never changed once sent.
      if (this.#lastFrame !== null && message === this.#lastMessage) {
        frame = this.#lastFrame;
      } else {
        frame = encodeFrame(message);
        this.#lastMessage = message;
        this.#lastFrame = frame;
      }
    } catch (error) {
      this.#log("error", "message cannot be encoded; link reset", { to, error: String(error) });
      return this.#breakOutbound(out, "message cannot be encoded");
    }
    if (frame.byteLength - 4 > this.#frameBytesMax) {
      this.#log("error", "message over the frame limit; link reset", {
        to,
        bytes: frame.byteLength,
        frameBytesMax: this.#frameBytesMax,
      });
      return this.#breakOutbound(out, "message over the frame limit");
    }
    const attempt = out.attempt;
    const live = attempt !== null && attempt.accepted ? attempt.socket : null;
    const unsent = out.queuedBytes + (live?.pendingWriteBytes ?? 0);
    if (unsent + frame.byteLength > this.#outboxBytesMax) {
      this.#log("warn", "outbox to peer overflowed; link reset", {
        peer: to,
        unsentBytes: unsent,
        outboxBytesMax: this.#outboxBytesMax,
      });
      return this.#breakOutbound(out, "outbox overflow");
    }
    if (live !== null) {
      live.writeOwned(frame);
    } else {
      out.queue.push(frame);
      out.queuedBytes += frame.byteLength;
    }
  }

  /** True while both directions to `peer` are connected and identified. */
  connected(peer: number): boolean {
    const out = this.#outbound.get(peer);
    return !this.#closed && out?.attempt?.accepted === true && this.#identified.has(peer);
  }

  /**
   * Closes the listener, every connection and every timer; resolves once every socket has
   * closed. Idempotent. A dial still in flight is waited for up to a second and closed as soon
   * as it lands.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    for (const out of this.#outbound.values()) {
      if (out.redialTimer !== null) clearTimeout(out.redialTimer);
      out.redialTimer = null;
      out.queue = [];
      out.queuedBytes = 0;
      const attempt = out.attempt;
      out.attempt = null;
      if (attempt !== null) this.#endAttempt(attempt);
    }
    for (const conn of this.#inbound) this.#endInbound(conn);
    await this.#listener?.close();
    if (this.#dials.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all(this.#dials),
        new Promise<void>((resolve) => timer = setTimeout(resolve, closeDialWaitMsMax)),
      ]);
      clearTimeout(timer);
    }
    // A dial that landed meanwhile added its socket (already closing) to the set.
    while (this.#sockets.size > 0) await Promise.all(this.#sockets);
    this.#log("debug", "peer links closed", {});
  }

  // --- Dialling (our sending side) ---------------------------------------------------------

  #dial(out: Outbound): void {
    if (this.#closed || out.attempt !== null || out.port === 0) return;
    const attempt: Attempt = {
      socket: null,
      decoder: new FrameDecoder(handshakeFrameBytesMax),
      accepted: false,
      done: false,
      timer: null,
    };
    out.attempt = attempt;
    // Bounds the whole dial, connect included: a blackholed host must not stall redialling.
    attempt.timer = setTimeout(() => {
      attempt.timer = null;
      this.#attemptFailed(out, attempt, `not accepted within ${this.#handshakeMs} ms`);
    }, this.#handshakeMs);
    const address = { hostname: out.host, port: out.port };
    const dial = this.#options.adapter.connect(address, (socket) => {
      attempt.socket = socket;
      const closed = this.#trackSocket();
      if (this.#closed || attempt.done) {
        socket.close();
      } else {
        const handshake: Handshake = {
          corral: "peer",
          channel: this.#options.channel,
          from: this.#options.myId,
          to: out.id,
        };
        socket.write(encodeFrame(handshake));
      }
      return {
        data: (chunk) => this.#onOutboundData(out, attempt, chunk),
        close: (error) => {
          closed();
          const reason = error ? `connection closed: ${error.message}` : "connection closed";
          this.#attemptFailed(out, attempt, reason);
        },
      };
    }).then(
      () => {},
      (error) => this.#attemptFailed(out, attempt, `dial failed: ${errorText(error)}`),
    );
    this.#dials.add(dial);
    void dial.finally(() => this.#dials.delete(dial));
  }

  #onOutboundData(out: Outbound, attempt: Attempt, chunk: Uint8Array): void {
    if (attempt.done) return;
    for (const frame of attempt.decoder.push(chunk)) {
      if (attempt.done) return;
      if (!frame.ok) return this.#attemptFailed(out, attempt, `bad answer: ${frame.reason}`);
      if (attempt.accepted) {
        return this.#attemptFailed(out, attempt, "unexpected data from the acceptor", "warn");
      }
      const answer = frame.message;
      if (isRecord(answer) && answer["accepted"] === true) {
        this.#accepted(out, attempt);
      } else if (isRecord(answer) && typeof answer["refused"] === "string") {
        const reason = `refused: ${answer["refused"]}`;
        return this.#attemptFailed(out, attempt, reason, "refused");
      } else {
        return this.#attemptFailed(out, attempt, "unexpected answer to the handshake", "warn");
      }
    }
  }

  #accepted(out: Outbound, attempt: Attempt): void {
    attempt.accepted = true;
    if (attempt.timer !== null) clearTimeout(attempt.timer);
    attempt.timer = null;
    out.failures = 0;
    out.lastRefusal = null;
    // From here on the acceptor sends nothing; any byte is a protocol error (see above).
    const socket = attempt.socket!;
    for (const frame of out.queue) socket.writeOwned(frame);
    out.queue = [];
    out.queuedBytes = 0;
    this.#log("info", "peer link up", { peer: out.id, direction: "out" });
  }

  /**
   * A dial or link ended: drop what was queued for it, tell the owner, dial again later.
   * `level` says how to log a dial that never came up ("refused" logs each new reason at warn).
   */
  #attemptFailed(
    out: Outbound,
    attempt: Attempt,
    reason: string,
    level: "debug" | "warn" | "refused" = "debug",
  ): void {
    if (attempt.done) return;
    this.#endAttempt(attempt);
    if (out.attempt !== attempt || this.#closed) return;
    out.attempt = null;
    out.queue = [];
    out.queuedBytes = 0;
    const fields = { peer: out.id, host: out.host, port: out.port, reason };
    if (level === "warn") this.#log("warn", "peer broke the protocol", fields);
    if (attempt.accepted) {
      this.#log("info", "peer link down", { ...fields, direction: "out" });
      out.failures = 0;
    } else if (level === "refused" && reason !== out.lastRefusal) {
      // A refusal is a configuration problem: say it once, not on every redial.
      out.lastRefusal = reason;
      this.#log("warn", "dial to peer refused", fields);
    } else {
      this.#log("debug", "dial to peer failed", fields);
    }
    this.#scheduleDial(out);
    this.#options.onLinkDown(out.id);
  }

  /** Marks an attempt done and closes its socket and timer (the socket's close handler follows). */
  #endAttempt(attempt: Attempt): void {
    attempt.done = true;
    if (attempt.timer !== null) clearTimeout(attempt.timer);
    attempt.timer = null;
    attempt.socket?.close();
  }

  /**
   * Breaks the outbound link now (overflow, unencodable message; the caller logged why): same
   * as a failed link.
   */
  #breakOutbound(out: Outbound, reason: string): void {
    if (out.attempt !== null) return this.#attemptFailed(out, out.attempt, reason);
    // No connection to close (a redial is pending, or the port is not known yet).
    out.queue = [];
    out.queuedBytes = 0;
    this.#options.onLinkDown(out.id);
  }

  #scheduleDial(out: Outbound): void {
    if (this.#closed || out.redialTimer !== null) return;
    out.failures++;
    const base = Math.min(
      this.#reconnectMaxMs,
      this.#reconnectMinMs * 2 ** Math.min(out.failures - 1, 30),
    );
    // +-50% jitter so members that lost each other at once do not redial in lockstep.
    const delay = Math.min(
      this.#reconnectMaxMs,
      Math.max(this.#reconnectMinMs, base * (0.5 + Math.random())),
    );
    out.redialTimer = setTimeout(() => {
      out.redialTimer = null;
      this.#dial(out);
    }, delay);
  }

  // --- Accepting (our receiving side) ------------------------------------------------------

  #accept(socket: Socket): SocketHandlers {
    const closed = this.#trackSocket();
    const conn: Inbound = {
      socket,
      decoder: new FrameDecoder(handshakeFrameBytesMax),
      peer: null,
      done: false,
      timer: null,
    };
    this.#inbound.add(conn);
    if (this.#closed) {
      this.#endInbound(conn);
    } else {
      conn.timer = setTimeout(() => {
        conn.timer = null;
        this.#refuse(conn, `no handshake within ${this.#handshakeMs} ms`);
      }, this.#handshakeMs);
    }
    return {
      data: (chunk) => this.#onInboundData(conn, chunk),
      close: (error) => {
        closed();
        this.#onInboundClose(conn, error);
      },
    };
  }

  #onInboundData(conn: Inbound, chunk: Uint8Array): void {
    if (conn.done) return;
    const frames = conn.decoder.push(chunk);
    for (let i = 0; i < frames.length; i++) {
      const frame = frames[i];
      if (conn.done) return;
      if (conn.peer === null) {
        if (!frame.ok) return this.#refuse(conn, frame.reason);
        const checked = this.#checkHandshake(frame.message, conn.socket.remoteAddress);
        if (typeof checked === "string") return this.#refuse(conn, checked);
        if (i < frames.length - 1 || conn.decoder.bufferedBytes > 0) {
          return this.#refuse(conn, "sent data before being accepted");
        }
        this.#identify(conn, checked);
      } else if (!frame.ok) {
        return this.#dropInbound(conn, `bad frame: ${frame.reason}`);
      } else {
        this.#options.onMessage(conn.peer, frame.message);
      }
    }
  }

  /** The peer id a handshake names, or why it is refused. */
  #checkHandshake(message: unknown, remoteAddress: string): number | string {
    if (!isRecord(message) || message["corral"] !== "peer") return "not a peer handshake";
    const { channel, from, to } = message;
    if (channel !== this.#options.channel) {
      return `channel ${JSON.stringify(channel)} is not ${JSON.stringify(this.#options.channel)}`;
    }
    if (typeof from !== "number" || !this.#hosts.has(from)) {
      return `${JSON.stringify(from)} is not another member`;
    }
    if (to !== this.#options.myId) {
      return `handshake addressed to ${JSON.stringify(to)}, this is ${this.#options.myId}`;
    }
    const host = this.#hosts.get(from)!;
    if (!remoteAddressMatches(host, remoteAddress)) {
      return `member ${from} is configured at ${host}, not ${remoteAddress}`;
    }
    return from;
  }

  #identify(conn: Inbound, peer: number): void {
    if (conn.timer !== null) clearTimeout(conn.timer);
    conn.timer = null;
    conn.peer = peer;
    conn.decoder = new FrameDecoder(this.#frameBytesMax);
    conn.socket.write(encodeFrame({ accepted: true }));
    const older = this.#identified.get(peer);
    this.#identified.set(peer, conn);
    this.#log("info", "peer link up", {
      peer,
      direction: "in",
      address: conn.socket.remoteAddress,
    });
    // The peer just dialled us, so it is up: our own dial to it, if it is waiting out a backoff
    // after failing (members that start together dial before the others listen), goes now.
    const out = this.#outbound.get(peer);
    if (out !== undefined && out.redialTimer !== null) {
      clearTimeout(out.redialTimer);
      out.redialTimer = null;
      this.#dial(out);
    }
    if (older !== undefined) {
      // The peer dialled again (it restarted, or lost its side of the old connection first).
      this.#endInbound(older);
      this.#log("info", "peer link down", {
        peer,
        direction: "in",
        reason: "replaced by a newer connection",
      });
      this.#options.onLinkDown(peer);
    }
  }

  /** Says why, logs it, and closes an unidentified connection. */
  #refuse(conn: Inbound, reason: string): void {
    if (conn.done) return;
    this.#log("warn", "peer connection refused", {
      reason,
      address: conn.socket.remoteAddress,
      port: conn.socket.remotePort,
    });
    conn.socket.write(encodeFrame({ refused: reason }));
    this.#endInbound(conn);
  }

  /** Closes an identified connection that broke the protocol. */
  #dropInbound(conn: Inbound, reason: string): void {
    if (conn.done) return;
    this.#log("warn", "closing peer connection after a protocol error", {
      peer: conn.peer,
      address: conn.socket.remoteAddress,
      reason,
    });
    this.#endInbound(conn);
    this.#inboundGone(conn, reason);
  }

  #onInboundClose(conn: Inbound, error?: Error): void {
    this.#inbound.delete(conn);
    if (conn.timer !== null) clearTimeout(conn.timer);
    conn.timer = null;
    if (conn.done) return;
    conn.done = true;
    this.#inboundGone(conn, error ? `connection closed: ${error.message}` : "connection closed");
  }

  /** An identified connection ended: if it was the peer's current one, its link is down. */
  #inboundGone(conn: Inbound, reason: string): void {
    if (conn.peer === null || this.#identified.get(conn.peer) !== conn) return;
    this.#identified.delete(conn.peer);
    if (this.#closed) return;
    this.#log("info", "peer link down", { peer: conn.peer, direction: "in", reason });
    this.#options.onLinkDown(conn.peer);
  }

  #endInbound(conn: Inbound): void {
    conn.done = true;
    if (conn.timer !== null) clearTimeout(conn.timer);
    conn.timer = null;
    conn.socket.close();
  }

  // --- Helpers -------------------------------------------------------------------------------

  /** Registers an open socket; the returned function marks it closed. */
  #trackSocket(): () => void {
    let resolve!: () => void;
    const closed = new Promise<void>((r) => resolve = r);
    this.#sockets.add(closed);
    return () => {
      this.#sockets.delete(closed);
      resolve();
    };
  }

  #log(
    level: "debug" | "info" | "warn" | "error",
    message: string,
    fields: Record<string, unknown>,
  ): void {
    this.#options.log(level, message, {
      channel: this.#options.channel,
      myId: this.#options.myId,
      ...fields,
    });
  }
}

/**
 * True when a connection from `remoteAddress` may claim to be a member configured at `host`.
 * An IP literal (v4 or v6, `::ffff:`-mapped v4 equal to v4) must match exactly; `localhost`
 * stands for 127.0.0.1 and ::1; any other host name is not checked (it may resolve to several
 * addresses, and the member may dial from any of them).
 *
 * @example
 * ```ts
 * import { remoteAddressMatches } from "./peer_links.ts";
 * remoteAddressMatches("10.0.0.1", "::ffff:10.0.0.1"); // true
 * remoteAddressMatches("localhost", "::1"); // true
 * remoteAddressMatches("10.0.0.1", "10.0.0.2"); // false
 * ```
 */
export function remoteAddressMatches(host: string, remoteAddress: string): boolean {
  const remote = canonicalIp(remoteAddress);
  if (host.toLowerCase() === "localhost") {
    return remote === "127.0.0.1" || remote === "0:0:0:0:0:0:0:1";
  }
  const configured = canonicalIp(host);
  if (configured === null) return true;
  return remote === configured;
}

/**
 * One spelling per IP address: dotted quad for v4 (and v4-mapped v6), eight lower-case hex
 * groups without leading zeros for v6. `null` when `text` is not an IP literal.
 */
function canonicalIp(text: string): string | null {
  let address = text.trim();
  if (address.startsWith("[") && address.endsWith("]")) address = address.slice(1, -1);
  const zone = address.indexOf("%");
  if (zone >= 0) address = address.slice(0, zone);
  if (!address.includes(":")) {
    const v4 = ipv4Parts(address);
    return v4 === null ? null : v4.join(".");
  }
  const groups = ipv6Groups(address.toLowerCase());
  if (groups === null) return null;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join(".");
  }
  return groups.map((g) => g.toString(16)).join(":");
}

function ipv4Parts(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const numbers = parts.map((p) => /^\d{1,3}$/.test(p) ? Number(p) : NaN);
  return numbers.every((n) => n >= 0 && n <= 255) ? numbers : null;
}

/** The eight 16-bit groups of an IPv6 literal (with `::` and a dotted v4 tail), or null. */
function ipv6Groups(text: string): number[] | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string, last: boolean): number[] | null => {
    if (part === "") return [];
    const groups: number[] = [];
    const pieces = part.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i];
      if (last && i === pieces.length - 1 && piece.includes(".")) {
        const v4 = ipv4Parts(piece);
        if (v4 === null) return null;
        groups.push(v4[0] << 8 | v4[1], v4[2] << 8 | v4[3]);
      } else if (/^[0-9a-f]{1,4}$/.test(piece)) {
        groups.push(parseInt(piece, 16));
      } else {
        return null;
      }
    }
    return groups;
  };
  const head = parse(halves[0], halves.length === 1);
  const tail = halves.length === 2 ? parse(halves[1], true) : [];
  if (head === null || tail === null) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return null;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`port ${port} is not in [0, 65535]`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Uint8Array);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
