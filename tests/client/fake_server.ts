/**
 * A tiny scripted server for client unit tests: it speaks the framing of `src/wire/frame.ts`
 * over real TCP on 127.0.0.1 and lets each test decide, frame by frame, what to answer. It
 * makes behaviour that the real server never shows on purpose (silence, out-of-order answers,
 * refusal on resume) easy to force.
 * @module
 */
import { denoAdapter } from "../../src/net/deno/adapter.ts";
import type { Listener, Socket } from "../../src/net/types.ts";
import { encodeFrame, encodeKeyedFrame, FrameDecoder } from "../../src/wire/frame.ts";
import type { ServerLimits, ServerMessage } from "../../src/wire/messages.ts";
import { protocolVersion } from "../../src/constants.ts";

/** A decoded client frame. */
export type Frame = Record<string, unknown> & { op: string; xid?: number };

/** One accepted connection, as a test sees it. */
export class FakeConnection {
  /** Every frame received on this connection, in order. */
  readonly frames: Frame[] = [];
  /** True once the socket is closed (by either side). */
  closed = false;
  readonly #socket: Socket;
  readonly #closedPromise: Promise<void>;
  #resolveClosed!: () => void;
  #waiters: (() => void)[] = [];

  constructor(readonly index: number, socket: Socket) {
    this.#socket = socket;
    this.#closedPromise = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  /** The client asked for protocol version 2 or later: answers use its integer keys. */
  keyed = false;

  /** Sends one server message. */
  send(message: ServerMessage | Record<string, unknown>): void {
    this.#socket.write(this.keyed ? encodeKeyedFrame(message) : encodeFrame(message));
  }

  /** Answers `frame` with a response carrying `fields`. */
  answer(frame: Frame, fields: Record<string, unknown> = {}, zxid = 1): void {
    this.send({ t: "res", xid: frame.xid, zxid, ...fields });
  }

  /** Closes the connection. */
  close(): void {
    this.#socket.close();
  }

  /** Resolves once the socket is closed. */
  get whenClosed(): Promise<void> {
    return this.#closedPromise;
  }

  /** Resolves once at least `count` frames arrived (rejects after `timeoutMs`). */
  async waitForFrames(count: number, timeoutMs = 3_000): Promise<Frame[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < count) {
      if (Date.now() > deadline) {
        throw new Error(`only ${this.frames.length} of ${count} frames arrived`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 20);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.frames;
  }

  /** @internal */
  received(frame: Frame): void {
    this.frames.push(frame);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** @internal */
  socketClosed(): void {
    this.closed = true;
    this.#resolveClosed();
  }
}

/** Decides what to do with each frame; the default handler is {@linkcode standardHandler}. */
export type FrameHandler = (conn: FakeConnection, frame: Frame) => void;

/** What {@linkcode standardHandler} puts in its `connected` answer. */
export interface HandshakeOptions {
  sessionId?: number;
  timeoutMs?: number;
  limits?: Partial<ServerLimits>;
}

/** The password the fake server hands out. */
export const fakePassword: Uint8Array = new Uint8Array([1, 2, 3, 4]);

/** A `connected` message for a handshake. */
export function connectedMessage(options: HandshakeOptions = {}): ServerMessage {
  return {
    t: "connected",
    proto: protocolVersion,
    sessionId: options.sessionId ?? 0x1234,
    password: fakePassword,
    timeoutMs: options.timeoutMs ?? 3_000,
    zxid: 1,
    serverId: 1,
    limits: {
      frameBytesMax: 4 * 1024 * 1024,
      dataBytesMax: 1024 * 1024,
      pendingRequestsMax: 1000,
      ...options.limits,
    },
  };
}

/**
 * Answers the handshake (resuming the session asked for), pings and every other request with
 * an empty success, so tests override only what they care about.
 */
export function standardHandler(options: HandshakeOptions = {}): FrameHandler {
  return (conn, frame) => {
    if (frame.op === "connect") {
      const resumed = typeof frame.sessionId === "number" && frame.sessionId !== 0;
      conn.send(
        connectedMessage({
          ...options,
          sessionId: resumed ? frame.sessionId as number : options.sessionId,
        }),
      );
    } else {
      conn.answer(frame);
    }
  };
}

/**
 * A scripted server on 127.0.0.1 and a free port.
 *
 * @example
 * ```ts ignore
 * const server = await FakeServer.start();
 * const client = await connect(`127.0.0.1:${server.port}`);
 * await client.close();
 * await server.close();
 * ```
 */
export class FakeServer {
  /** Every connection accepted so far, in order. */
  readonly connections: FakeConnection[] = [];
  /** What to do with each frame; tests may swap it at any time. */
  handler: FrameHandler;
  #listener: Listener | null = null;
  #waiters: (() => void)[] = [];

  private constructor(handler: FrameHandler) {
    this.handler = handler;
  }

  /** Starts listening on a free port. */
  static async start(handler: FrameHandler = standardHandler()): Promise<FakeServer> {
    const server = new FakeServer(handler);
    server.#listener = await denoAdapter.listen(
      { hostname: "127.0.0.1", port: 0 },
      (socket) => server.#accept(socket),
    );
    return server;
  }

  /** The bound port. */
  get port(): number {
    return this.#listener!.port;
  }

  /** The connect string of this server. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Resolves once `count` connections were accepted (rejects after `timeoutMs`). */
  async waitForConnections(count: number, timeoutMs = 3_000): Promise<FakeConnection> {
    const deadline = Date.now() + timeoutMs;
    while (this.connections.length < count) {
      if (Date.now() > deadline) {
        throw new Error(`only ${this.connections.length} of ${count} connections`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 20);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.connections[count - 1];
  }

  /** Stops listening and closes every connection, waiting until all are closed. */
  async close(): Promise<void> {
    await this.#listener?.close();
    for (const conn of this.connections) conn.close();
    await Promise.all(this.connections.map((conn) => conn.whenClosed));
  }

  #accept(socket: Socket) {
    const conn = new FakeConnection(this.connections.length, socket);
    this.connections.push(conn);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
    // As the server does: integer keys (version 2) and text keys both read.
    const decoder = new FrameDecoder(64 * 1024 * 1024, true);
    return {
      data: (chunk: Uint8Array) => {
        for (const result of decoder.push(chunk.slice())) {
          if (!result.ok) throw new Error(`the client sent a bad frame: ${result.reason}`);
          const frame = result.message as Frame;
          if (frame.op === "connect") conn.keyed = (frame.proto as number) >= 2;
          conn.received(frame);
          if (!conn.closed) this.handler(conn, frame);
        }
      },
      close: () => conn.socketClosed(),
    };
  }
}
