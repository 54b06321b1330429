/**
 * One TCP connection of the client to one server: dial, handshake (`connect` -> `connected` or
 * `refused`), then a stream of decoded {@linkcode ServerMessage}s until the socket closes.
 * Private to the client folder; the session logic (retries, requests, watches) is in
 * `client.ts`.
 * @module
 */
import { frameBytesMax } from "../constants.ts";
import type { NetAdapter, Socket, SocketHandlers } from "../net/types.ts";
import type { ErrorCode } from "../tree/types.ts";
import { encodeFrame, FrameDecoder } from "../wire/frame.ts";
import type { ConnectRequest, ServerMessage } from "../wire/messages.ts";
import type { ServerAddress } from "./connect_string.ts";

/**
 * The handshake answer that opens (or resumes) a session.
 *
 * @example
 * ```ts
 * import type { ConnectedMessage } from "./_connection.ts";
 * const timeoutOf = (message: ConnectedMessage) => message.timeoutMs;
 * ```
 */
export type ConnectedMessage = Extract<ServerMessage, { t: "connected" }>;

/**
 * How an attempt to open a connection ended.
 *
 * @example
 * ```ts
 * import type { HandshakeOutcome } from "./_connection.ts";
 * const ok = (outcome: HandshakeOutcome) => outcome.kind === "connected";
 * ```
 */
export type HandshakeOutcome =
  | { kind: "connected"; connection: Connection; message: ConnectedMessage }
  | { kind: "refused"; err: ErrorCode; message: string }
  /** `silent`: the server took the connection but never answered (paused, overloaded). */
  | { kind: "failed"; message: string; silent?: boolean };

/**
 * What the owner of a live connection is told.
 *
 * @example
 * ```ts
 * import type { ConnectionHandlers } from "./_connection.ts";
 * const handlers: ConnectionHandlers = { message: (m) => console.log(m.t), lost: (why) => console.log(why) };
 * ```
 */
export interface ConnectionHandlers {
  /** A message arrived, in order. */
  message(message: ServerMessage): void;
  /** The connection is gone (either side closed it, or the server broke the protocol). Once. */
  lost(reason: string): void;
}

// Server frames may be larger than request frames (a getChildren of a very wide node), so the
// client accepts more than the server's request limit; the bound only stops garbage lengths.
const responseFrameBytesMax = 4 * frameBytesMax;

/** How long {@linkcode Connection.close} waits for the socket to report closed. */
const closeWaitMsMax = 10_000;

/**
 * Renders an address for messages: `host:port`, IPv6 in brackets.
 *
 * @example
 * ```ts
 * import { formatAddress } from "./_connection.ts";
 * formatAddress({ hostname: "::1", port: 2281 }); // "[::1]:2281"
 * ```
 */
export function formatAddress(address: ServerAddress): string {
  return address.hostname.includes(":")
    ? `[${address.hostname}]:${address.port}`
    : `${address.hostname}:${address.port}`;
}

/**
 * A connection after (or during) its handshake.
 *
 * @example
 * ```ts ignore
 * import { Connection } from "./_connection.ts";
 * const outcome = await Connection.open(adapter, { hostname: "127.0.0.1", port: 2281 }, request, 1000);
 * if (outcome.kind === "connected") outcome.connection.attach({ message: console.log, lost: console.log });
 * ```
 */
export class Connection {
  readonly address: ServerAddress;
  #socket: Socket;
  // Keyed: the server answers a version 2 connect with integer keys (src/wire/cbor.ts).
  #decoder = new FrameDecoder(responseFrameBytesMax, true);
  #handlers: ConnectionHandlers;
  /** Messages that arrived after `connected` and before {@linkcode Connection.attach}. */
  #backlog: ServerMessage[] = [];
  #attached = false;
  #handshakeComplete = false;
  #closeRequested = false;
  #lostReason: string | null = null;
  #lostReported = false;
  #socketClosed = false;
  readonly #closed: Promise<void>;
  #resolveClosed!: () => void;

  private constructor(address: ServerAddress, socket: Socket, handlers: ConnectionHandlers) {
    this.address = address;
    this.#socket = socket;
    this.#handlers = handlers;
    this.#closed = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  /**
   * Dials `address`, sends `request` and waits for the handshake answer, all within
   * `timeoutMs`. Never rejects; a refused or failed attempt has closed its socket by the time
   * the outcome is returned.
   */
  static open(
    adapter: NetAdapter,
    address: ServerAddress,
    request: ConnectRequest,
    timeoutMs: number,
  ): Promise<HandshakeOutcome> {
    return new Promise((resolve) => {
      let decided = false;
      let connection: Connection | undefined;
      const decide = (outcome: HandshakeOutcome, closeFirst: boolean) => {
        if (decided) return;
        decided = true;
        clearTimeout(timer);
        if (!closeFirst || !connection) return resolve(outcome);
        void connection.close().then(() => resolve(outcome));
      };
      const where = formatAddress(address);
      const timer = setTimeout(
        () =>
          decide(
            {
              kind: "failed",
              message: `no handshake from ${where} within ${timeoutMs} ms`,
              silent: true,
            },
            true,
          ),
        timeoutMs,
      );
      const handshake: ConnectionHandlers = {
        message(message) {
          if (message.t === "connected") {
            return decide({ kind: "connected", connection: connection!, message }, false);
          }
          if (message.t === "refused") {
            return decide({ kind: "refused", err: message.err, message: message.message }, true);
          }
          if (message.t === "error") {
            // E.g. a server older than this client, which does not speak its protocol version.
            return decide({ kind: "failed", message: `${where}: ${message.message}` }, true);
          }
          decide({
            kind: "failed",
            message: `${where} answered the handshake with a "${message.t}" frame`,
          }, true);
        },
        lost(reason) {
          decide({ kind: "failed", message: `${where}: ${reason}` }, true);
        },
      };
      adapter.connect(address, (socket) => {
        connection = new Connection(address, socket, handshake);
        return connection.#socketHandlers();
      }).then(
        (socket) => {
          // Timed out while dialling: nobody wants this socket any more.
          if (decided) return socket.close();
          socket.write(encodeFrame(request));
        },
        (error: unknown) =>
          decide(
            { kind: "failed", message: `cannot connect to ${where}: ${describe(error)}` },
            false,
          ),
      );
    });
  }

  /** Resolves once the socket has reported closed. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /** Switches from handshake to live handlers; delivers what arrived in between, in order. */
  attach(handlers: ConnectionHandlers): void {
    this.#handlers = handlers;
    this.#attached = true;
    const backlog = this.#backlog;
    this.#backlog = [];
    for (const message of backlog) {
      if (this.#closeRequested) break;
      handlers.message(message);
    }
    if (this.#socketClosed) this.#reportLost();
  }

  /** Sends one encoded frame; it must not change afterwards (the socket may hold it). */
  write(frame: Uint8Array): void {
    if (!this.#closeRequested) this.#socket.writeOwned(frame);
  }

  /**
   * Closes the socket (flushing what was written) and resolves once it is closed. Nothing more
   * is delivered to the handlers, not even `lost`. Idempotent.
   */
  close(): Promise<void> {
    if (!this.#closeRequested) {
      this.#closeRequested = true;
      this.#socket.close();
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bound = new Promise<void>((resolve) => timer = setTimeout(resolve, closeWaitMsMax));
    return Promise.race([this.#closed, bound]).finally(() => clearTimeout(timer));
  }

  #socketHandlers(): SocketHandlers {
    return {
      data: (chunk) => this.#onData(chunk),
      close: (error) => this.#onSocketClose(error),
    };
  }

  #onData(chunk: Uint8Array): void {
    if (this.#closeRequested) return;
    // Copied: the adapter may reuse `chunk`, while the decoder keeps partial frames and decoded
    // byte strings may be views into it.
    for (const result of this.#decoder.push(chunk)) {
      if (this.#closeRequested) return;
      if (!result.ok) {
        return this.#protocolFailure(`unreadable frame from the server: ${result.reason}`);
      }
      const problem = serverMessageProblem(result.message);
      if (problem !== null) {
        return this.#protocolFailure(`unexpected frame from the server: ${problem}`);
      }
      const message = result.message as ServerMessage;
      // Before the handshake completes the handshake handlers see everything; after it, until
      // the owner attaches, messages wait in order.
      if (this.#attached) this.#handlers.message(message);
      else if (this.#handshakeComplete) this.#backlog.push(message);
      else {
        if (message.t === "connected") this.#handshakeComplete = true;
        this.#handlers.message(message);
      }
    }
  }

  #protocolFailure(reason: string): void {
    this.#lostReason ??= reason;
    this.#socket.close();
  }

  #onSocketClose(error?: Error): void {
    this.#socketClosed = true;
    this.#lostReason ??= error
      ? `connection error: ${error.message}`
      : "the server closed the connection";
    this.#resolveClosed();
    if (!this.#handshakeComplete || this.#attached) this.#reportLost();
  }

  #reportLost(): void {
    if (this.#lostReported || this.#closeRequested) return;
    this.#lostReported = true;
    this.#handlers.lost(this.#lostReason ?? "the connection closed");
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Uint8Array);
}

/** Returns why `value` is not a server message the client can act on, or null. */
function serverMessageProblem(value: unknown): string | null {
  if (!isRecord(value)) return "not a map";
  switch (value.t) {
    case "res":
      if (typeof value.xid !== "number" || typeof value.zxid !== "number") {
        return "a response without xid/zxid";
      }
      return null;
    case "event":
      return typeof value.type === "string" && typeof value.path === "string"
        ? null
        : "an event without type/path";
    case "connected":
      return typeof value.sessionId === "number" && value.password instanceof Uint8Array &&
          typeof value.timeoutMs === "number" && isRecord(value.limits)
        ? null
        : "a malformed connected frame";
    case "refused":
    case "error":
      return typeof value.err === "string" ? null : `a "${value.t}" frame without err`;
    default:
      return `unknown frame type ${JSON.stringify(value.t)}`;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
