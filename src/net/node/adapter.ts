/**
 * The `node:net` TCP adapter behind {@linkcode NetAdapter}. It runs on Node, and also on Deno
 * and Bun through their Node compatibility layers.
 *
 * Node's stream already does what the contract asks of writes: bytes written while a write is in
 * flight are buffered and go out together in the next `writev`, in order, and `writableLength`
 * counts them. Pausing maps to the stream's `pause()`/`resume()`, which stop reading from the
 * kernel once the stream's own buffer is full.
 * @module
 */
import * as net from "node:net";
import type { Address, Listener, NetAdapter, Socket, SocketHandlers } from "../types.ts";
import { plainBytes } from "../_bytes.ts";

/** How long `close()` waits for queued bytes to drain and the peer to close before dropping. */
const closeFlushMsMax = 5_000;

/**
 * The `node:net` adapter.
 *
 * @example
 * ```ts ignore
 * import { nodeAdapter } from "./adapter.ts";
 * const listener = await nodeAdapter.listen({ hostname: "127.0.0.1", port: 0 }, (socket) => ({
 *   data: (chunk) => socket.write(chunk),
 *   close: () => {},
 * }));
 * await listener.close();
 * ```
 */
export const nodeAdapter: NetAdapter = {
  name: "node",
  listen: listenNode,
  connect: connectNode,
};

function listenNode(
  address: Address,
  accept: (socket: Socket) => SocketHandlers,
): Promise<Listener> {
  const server = net.createServer((inner) => acceptNode(inner, accept));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: address.hostname, port: address.port }, () => {
      server.off("error", reject);
      resolve(nodeListener(server));
    });
  });
}

function acceptNode(inner: net.Socket, accept: (socket: Socket) => SocketHandlers): void {
  try {
    NodeSocket.start(inner, accept);
  } catch (error) {
    // The owner's accept callback failed: a bug worth surfacing, but the listener keeps serving.
    queueMicrotask(() => {
      throw error;
    });
  }
}

function nodeListener(server: net.Server): Listener {
  const port = (server.address() as net.AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    port,
    close() {
      closed ??= closeServer(server);
      return closed;
    },
  };
}

function closeServer(server: net.Server): Promise<void> {
  // server.close()'s callback waits for every accepted socket to end, but the contract keeps
  // those open, so it cannot be awaited. The listening handle is closed synchronously; one
  // macrotask later its close callback has run on every runtime and the port is free.
  server.close();
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function connectNode(
  address: Address,
  handlers: (socket: Socket) => SocketHandlers,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const inner = net.connect({ host: address.hostname, port: address.port });
    inner.once("error", reject);
    inner.once("connect", () => {
      inner.off("error", reject);
      try {
        resolve(NodeSocket.start(inner, handlers));
      } catch (error) {
        reject(error);
      }
    });
  });
}

/** One `net.Socket` with the contract's close-once semantics. */
class NodeSocket implements Socket {
  readonly remoteAddress: string;
  readonly remotePort: number;
  #inner: net.Socket;
  #handlers: SocketHandlers | undefined;
  #closeRequested = false;
  #closed = false;
  #error: Error | undefined;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;

  private constructor(inner: net.Socket) {
    this.#inner = inner;
    // Read now: Node forgets the peer once the socket is destroyed.
    this.remoteAddress = unmapIpv4(inner.remoteAddress ?? "");
    this.remotePort = inner.remotePort ?? 0;
  }

  /** Wraps a connected `inner`, asks the owner for handlers, then starts reading. */
  static start(inner: net.Socket, makeHandlers: (socket: Socket) => SocketHandlers): NodeSocket {
    // Small protocol frames must not wait for Nagle's algorithm.
    inner.setNoDelay(true);
    const socket = new NodeSocket(inner);
    try {
      socket.#handlers = makeHandlers(socket);
    } catch (error) {
      inner.destroy();
      throw error;
    }
    inner.on("error", (error) => socket.#error ??= error);
    inner.on("close", () => socket.#onClose());
    // Attaching the data listener last is what starts the flow of data.
    inner.on("data", (chunk: Uint8Array) => socket.#onData(chunk));
    return socket;
  }

  get pendingWriteBytes(): number {
    return this.#closed ? 0 : this.#inner.writableLength;
  }

  write(chunk: Uint8Array): void {
    // Copied because the stream keeps a reference until the bytes are written, and the caller
    // may reuse its buffer as soon as write() returns.
    if (chunk.byteLength > 0) this.writeOwned(chunk.slice());
  }

  writeOwned(chunk: Uint8Array): void {
    if (this.#closeRequested || this.#closed || chunk.byteLength === 0) return;
    this.#inner.write(chunk);
  }

  pause(): void {
    if (!this.#closed) this.#inner.pause();
  }

  resume(): void {
    if (!this.#closed) this.#inner.resume();
  }

  close(): void {
    if (this.#closeRequested || this.#closed) return;
    this.#closeRequested = true;
    // end() flushes the buffered bytes, then sends FIN; the timer bounds the wait when the peer
    // neither reads nor closes.
    this.#inner.end();
    this.#flushTimer = setTimeout(() => this.#inner.destroy(), closeFlushMsMax);
  }

  #onData(chunk: Uint8Array): void {
    // The owner that called close() is done with the connection; what the peer still sends
    // while the close completes is dropped, as in the other adapters.
    if (this.#closeRequested || this.#closed) return;
    this.#handlers!.data(plainBytes(chunk));
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#flushTimer);
    this.#handlers!.close(this.#error);
  }
}

/** Turns an IPv4-mapped IPv6 address ("::ffff:127.0.0.1") back into the IPv4 it stands for. */
function unmapIpv4(address: string): string {
  const prefix = "::ffff:";
  return address.startsWith(prefix) && address.includes(".")
    ? address.slice(prefix.length)
    : address;
}
