/**
 * The contract every runtime's TCP adapter implements (Deno, Bun, Node). The rest of Corral sees
 * only these types; runtime-specific code lives under `src/net/<runtime>/`.
 * @module
 */

/** One open TCP connection, either accepted by a listener or dialled out. */
export interface Socket {
  /** Peer address as text (IPv4 dotted quad or IPv6), without port. */
  readonly remoteAddress: string;
  /** Peer port. */
  readonly remotePort: number;
  /**
   * Queues bytes for sending, in call order; never blocks and never throws once closed (the
   * bytes are dropped). The adapter may coalesce several writes into one system call.
   */
  write(chunk: Uint8Array): void;
  /**
   * {@linkcode Socket.write} without the copy: the caller hands `chunk` over and must never
   * change it afterwards (the adapter may hold it until it is sent). For freshly encoded frames,
   * which nobody else holds.
   */
  writeOwned(chunk: Uint8Array): void;
  /** Bytes queued by {@linkcode Socket.write} and not yet handed to the kernel. */
  readonly pendingWriteBytes: number;
  /** Stops delivering data until {@linkcode Socket.resume}; TCP backpressure does the rest. */
  pause(): void;
  /** Delivers data again after {@linkcode Socket.pause}. */
  resume(): void;
  /**
   * Closes the connection after flushing queued bytes (best effort). Idempotent. The `close`
   * handler runs once, whoever closed.
   */
  close(): void;
}

/** Callbacks an owner of a socket provides. Both run on the event loop, never re-entrantly. */
export interface SocketHandlers {
  /**
   * Bytes arrived, in order, as a plain Uint8Array (never a Node Buffer, so `slice()` copies) that
   * is the handler's to keep: the adapter never reuses it.
   */
  data(chunk: Uint8Array): void;
  /** The connection is closed (by either side, or by an error, which is passed). Runs once. */
  close(error?: Error): void;
}

/** A listening TCP server. */
export interface Listener {
  /** The bound port (useful when listening on port 0). */
  readonly port: number;
  /** Stops accepting; open sockets stay open. Resolves once the port is released. */
  close(): Promise<void>;
}

/** Where to listen or connect. */
export interface Address {
  /** Host name or address. */
  hostname: string;
  /** TCP port (0 picks a free one when listening). */
  port: number;
}

/** A runtime's TCP implementation. */
export interface NetAdapter {
  /** Which runtime this adapter targets: "deno", "bun" or "node". */
  readonly name: string;
  /** Listens on `address`; `accept` is called for each new connection and returns its handlers. */
  listen(address: Address, accept: (socket: Socket) => SocketHandlers): Promise<Listener>;
  /**
   * Connects to `address`; rejects if the connection cannot be made. `handlers` is called with
   * the socket before any data is delivered.
   */
  connect(address: Address, handlers: (socket: Socket) => SocketHandlers): Promise<Socket>;
}
