/**
 * The Deno TCP adapter: `Deno.listen` and `Deno.connect` behind {@linkcode NetAdapter}.
 *
 * Each socket runs one read loop and at most one write in flight. Deno's `Conn.write` is
 * asynchronous, so bytes written while a write is in flight wait in a queue and go out together
 * in the next system call (coalescing), always in call order.
 * @module
 */
import { assert } from "../../assert.ts";
import type { Address, Listener, NetAdapter, Socket, SocketHandlers } from "../types.ts";
import { closeFlushMsMax, takeBatch, writeBatchBytesMax } from "../_write_queue.ts";

/** Size of the buffer each read loop reads into; it is reused, as the contract allows. */
const readBufferBytes = 64 * 1024;

/**
 * The Deno adapter.
 *
 * @example
 * ```ts ignore
 * import { denoAdapter } from "./adapter.ts";
 * const listener = await denoAdapter.listen({ hostname: "127.0.0.1", port: 0 }, (socket) => ({
 *   data: (chunk) => socket.write(chunk),
 *   close: () => {},
 * }));
 * await listener.close();
 * ```
 */
export const denoAdapter: NetAdapter = {
  name: "deno",
  listen: listenDeno,
  connect: connectDeno,
};

function listenDeno(
  address: Address,
  accept: (socket: Socket) => SocketHandlers,
): Promise<Listener> {
  let inner: Deno.TcpListener;
  try {
    // Deno binds synchronously and throws on failure; the contract wants a rejection instead.
    inner = Deno.listen({ hostname: address.hostname, port: address.port, transport: "tcp" });
  } catch (error) {
    return Promise.reject(error);
  }
  const acceptLoopDone = acceptLoop(inner, accept);
  let closed: Promise<void> | undefined;
  return Promise.resolve({
    port: inner.addr.port,
    close() {
      closed ??= closeListener(inner, acceptLoopDone);
      return closed;
    },
  });
}

async function acceptLoop(
  inner: Deno.TcpListener,
  accept: (socket: Socket) => SocketHandlers,
): Promise<void> {
  for (;;) {
    let conn: Deno.TcpConn;
    try {
      conn = await inner.accept();
    } catch {
      // Closing the listener is the only way out: it makes the pending accept reject.
      return;
    }
    try {
      DenoSocket.start(conn, accept);
    } catch (error) {
      // The owner's accept callback failed: that is a bug worth surfacing, but it must not stop
      // the listener from serving other connections.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

async function closeListener(inner: Deno.TcpListener, acceptLoopDone: Promise<void>) {
  inner.close();
  // The port is free once the pending accept has been cancelled and the resource dropped.
  await acceptLoopDone;
}

async function connectDeno(
  address: Address,
  handlers: (socket: Socket) => SocketHandlers,
): Promise<Socket> {
  const conn = await Deno.connect({
    hostname: address.hostname,
    port: address.port,
    transport: "tcp",
  });
  return DenoSocket.start(conn, handlers);
}

/** One `Deno.TcpConn` with the contract's queueing, pausing and close-once semantics. */
class DenoSocket implements Socket {
  readonly remoteAddress: string;
  readonly remotePort: number;
  #conn: Deno.TcpConn;
  #handlers: SocketHandlers | undefined;
  #queue: Uint8Array[] = [];
  #pendingWriteBytes = 0;
  #writing: Promise<void> | undefined;
  #paused = false;
  #wakeReader: (() => void) | undefined;
  #closeRequested = false;
  #connClosed = false;
  #error: Error | undefined;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    const remote = conn.remoteAddr;
    this.remoteAddress = remote.hostname;
    this.remotePort = remote.port;
  }

  /** Wraps `conn`, asks the owner for handlers, then starts reading. */
  static start(conn: Deno.TcpConn, makeHandlers: (socket: Socket) => SocketHandlers): DenoSocket {
    // Small protocol frames must not wait for Nagle's algorithm.
    conn.setNoDelay(true);
    const socket = new DenoSocket(conn);
    try {
      socket.#handlers = makeHandlers(socket);
    } catch (error) {
      conn.close();
      throw error;
    }
    void socket.#readLoop();
    return socket;
  }

  get pendingWriteBytes(): number {
    return this.#pendingWriteBytes;
  }

  write(chunk: Uint8Array): void {
    // Copied because the caller may reuse its buffer as soon as write() returns.
    if (chunk.byteLength > 0) this.writeOwned(chunk.slice());
  }

  writeOwned(chunk: Uint8Array): void {
    if (this.#closeRequested || this.#connClosed || chunk.byteLength === 0) return;
    this.#queue.push(chunk);
    this.#pendingWriteBytes += chunk.byteLength;
    this.#writing ??= this.#writeLoop();
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#wakeReader?.();
  }

  close(): void {
    if (this.#closeRequested) return;
    this.#closeRequested = true;
    if (this.#writing === undefined) {
      this.#closeConn();
      return;
    }
    // The write loop closes the connection once the queue is empty; the timer bounds the wait
    // when the peer does not read.
    this.#flushTimer = setTimeout(() => this.#closeConn(), closeFlushMsMax);
  }

  async #readLoop(): Promise<void> {
    const buffer = new Uint8Array(readBufferBytes);
    try {
      for (;;) {
        const bytesRead = await this.#read(buffer);
        if (bytesRead === null) return;
        // Data read before pause() was called is held (the buffer is not reused until it is
        // delivered) and delivered on resume().
        await this.#whileNotPaused();
        if (this.#connClosed) return;
        // The owner that called close() is done with the connection; what the peer still sends
        // while queued bytes flush is dropped.
        if (this.#closeRequested) continue;
        // A copy: the read buffer is reused, and a handler may keep what it is given.
        this.#handlers!.data(buffer.slice(0, bytesRead));
      }
    } finally {
      await this.#finish();
    }
  }

  /** Reads once; `null` means the stream ended (peer closed, error, or our own close). */
  async #read(buffer: Uint8Array): Promise<number | null> {
    await this.#whileNotPaused();
    if (this.#connClosed) return null;
    try {
      return await this.#conn.read(buffer);
    } catch (error) {
      // Reads fail by design after our own close; only other failures are worth reporting.
      if (!this.#connClosed) this.#error ??= asError(error);
      return null;
    }
  }

  async #whileNotPaused(): Promise<void> {
    while (this.#paused && !this.#connClosed) {
      await new Promise<void>((resolve) => this.#wakeReader = resolve);
      this.#wakeReader = undefined;
    }
  }

  async #writeLoop(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#connClosed) {
        const batch = takeBatch(this.#queue, writeBatchBytesMax);
        await this.#writeAll(batch);
      }
    } catch (error) {
      if (!this.#connClosed) this.#error ??= asError(error);
      this.#closeConn();
    } finally {
      this.#writing = undefined;
      if (this.#closeRequested) this.#closeConn();
    }
  }

  async #writeAll(batch: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < batch.byteLength && !this.#connClosed) {
      const written = await this.#conn.write(batch.subarray(offset));
      // A close while the write was in flight has already dropped the count to 0.
      if (this.#connClosed) return;
      offset += written;
      this.#pendingWriteBytes -= written;
    }
  }

  #closeConn(): void {
    if (this.#connClosed) return;
    this.#connClosed = true;
    clearTimeout(this.#flushTimer);
    this.#queue.length = 0;
    this.#pendingWriteBytes = 0;
    this.#conn.close();
    // A paused read loop is parked on a promise; wake it so it notices the close and ends.
    this.#wakeReader?.();
  }

  /** Runs once, when the read loop ends: waits for the writer, then tells the owner. */
  async #finish(): Promise<void> {
    this.#closeConn();
    // The pending write, if any, fails fast on the closed resource; waiting for it means no
    // operation outlives the `close` callback.
    await this.#writing;
    assert(this.#pendingWriteBytes === 0, "a closed socket has nothing queued");
    this.#handlers!.close(this.#error);
  }
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
