/**
 * The Bun TCP adapter: `Bun.listen` and `Bun.connect` behind {@linkcode NetAdapter}.
 *
 * Bun's `socket.write` does not buffer: it hands the kernel what fits and returns how many bytes
 * that was. The adapter queues every write and flushes the queue, coalesced into one system call,
 * once per turn of the event loop; what the kernel does not take stays queued (so order holds)
 * until Bun's `drain` callback. One `setImmediate` per turn flushes every socket written to in it,
 * so a leader answering 128 sessions schedules one callback, not 128.
 *
 * Pausing uses Bun's own `socket.pause()`/`socket.resume()`, which stop and restart reading from
 * the kernel, so TCP backpressure reaches the peer. Should a chunk still arrive while paused (one
 * already read when `pause()` was called), it is copied and held, then delivered on `resume()`
 * before anything newer; without native pausing that hold would be the whole mechanism.
 *
 * Bun's globals are not typed under `deno check`, so the few members used are declared below.
 * @module
 */
import type { Address, Listener, NetAdapter, Socket, SocketHandlers } from "../types.ts";
import { closeFlushMsMax, takeBatch, writeBatchBytesMax } from "../_write_queue.ts";
import { plainBytes } from "../_bytes.ts";

/** The part of Bun's TCP socket this adapter uses. */
interface BunRawSocket {
  /** Per-socket slot Bun offers to the owner; holds this adapter's wrapper. */
  data: BunSocket | undefined;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Returns bytes handed to the kernel, or -1 when the socket is closed. */
  write(data: Uint8Array): number;
  end(): void;
  terminate(): void;
  pause(): void;
  resume(): void;
  setNoDelay(noDelay: boolean): boolean;
}

/** The callbacks Bun calls for every socket of a listener or a connection. */
interface BunRawHandlers {
  open(raw: BunRawSocket): void;
  data(raw: BunRawSocket, chunk: Uint8Array): void;
  drain(raw: BunRawSocket): void;
  close(raw: BunRawSocket, error?: Error): void;
  error(raw: BunRawSocket, error: Error): void;
}

/** The part of Bun's TCP listener this adapter uses. */
interface BunRawListener {
  readonly port: number;
  stop(closeActiveConnections?: boolean): void;
}

/** Options shared by `Bun.listen` and `Bun.connect`. */
interface BunTcpOptions {
  hostname: string;
  port: number;
  socket: BunRawHandlers;
}

declare const Bun: {
  listen(options: BunTcpOptions): BunRawListener;
  connect(options: BunTcpOptions): Promise<BunRawSocket>;
};

/**
 * The Bun adapter. Only usable when running on Bun.
 *
 * @example
 * ```ts ignore
 * import { bunAdapter } from "./adapter.ts";
 * const listener = await bunAdapter.listen({ hostname: "127.0.0.1", port: 0 }, (socket) => ({
 *   data: (chunk) => socket.write(chunk),
 *   close: () => {},
 * }));
 * await listener.close();
 * ```
 */
export const bunAdapter: NetAdapter = {
  name: "bun",
  listen: listenBun,
  connect: connectBun,
};

function listenBun(
  address: Address,
  accept: (socket: Socket) => SocketHandlers,
): Promise<Listener> {
  try {
    const inner = Bun.listen({
      hostname: address.hostname,
      port: address.port,
      socket: rawHandlers(accept),
    });
    let stopped = false;
    return Promise.resolve({
      port: inner.port,
      close() {
        // `false` keeps accepted sockets open, as the contract says; Bun frees the port at once.
        if (!stopped) inner.stop(false);
        stopped = true;
        return Promise.resolve();
      },
    });
  } catch (error) {
    return Promise.reject(error);
  }
}

async function connectBun(
  address: Address,
  handlers: (socket: Socket) => SocketHandlers,
): Promise<Socket> {
  const raw = await Bun.connect({
    hostname: address.hostname,
    port: address.port,
    socket: rawHandlers(handlers),
  });
  // `open` runs before Bun resolves the connection, so the wrapper exists by now.
  return raw.data!;
}

/** Sockets written to in this turn of the event loop, in the order of their first write. */
let toFlush: BunSocket[] = [];
/** The other list, swapped in while `toFlush` is being flushed, so no turn allocates one. */
let flushing: BunSocket[] = [];

/** Flushes `socket` with every other socket written to in this turn. */
function scheduleFlush(socket: BunSocket): void {
  if (toFlush.length === 0) setImmediate(flushAll);
  toFlush.push(socket);
}

function flushAll(): void {
  [flushing, toFlush] = [toFlush, flushing];
  for (const socket of flushing) socket.flushTurn();
  flushing.length = 0;
}

/** Routes Bun's shared callbacks to the wrapper stored on each raw socket. */
function rawHandlers(makeHandlers: (socket: Socket) => SocketHandlers): BunRawHandlers {
  return {
    open(raw) {
      raw.data = new BunSocket(raw);
      raw.data.start(makeHandlers);
    },
    data: (raw, chunk) => raw.data?.onData(chunk),
    drain: (raw) => raw.data?.onDrain(),
    close: (raw, error) => raw.data?.onClose(error),
    error: (raw, error) => raw.data?.onError(error),
  };
}

/** One Bun socket with the contract's queueing, pausing and close-once semantics. */
class BunSocket implements Socket {
  readonly remoteAddress: string;
  readonly remotePort: number;
  #raw: BunRawSocket;
  #handlers: SocketHandlers | undefined;
  #queue: Uint8Array[] = [];
  #pendingWriteBytes = 0;
  #paused = false;
  #held: Uint8Array[] = [];
  #closeRequested = false;
  #closed = false;
  #error: Error | undefined;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #flushScheduled = false;

  constructor(raw: BunRawSocket) {
    this.#raw = raw;
    this.remoteAddress = raw.remoteAddress;
    this.remotePort = raw.remotePort;
  }

  /** Asks the owner for handlers; called from Bun's `open`, before any data. */
  start(makeHandlers: (socket: Socket) => SocketHandlers): void {
    // Small protocol frames must not wait for Nagle's algorithm.
    this.#raw.setNoDelay(true);
    try {
      this.#handlers = makeHandlers(this);
    } catch (error) {
      this.#raw.terminate();
      throw error;
    }
  }

  get pendingWriteBytes(): number {
    return this.#pendingWriteBytes;
  }

  /** Queues a copy of `chunk` (the caller may reuse its buffer at once); see writeOwned. */
  write(chunk: Uint8Array): void {
    if (chunk.byteLength > 0) this.writeOwned(chunk.slice());
  }

  /**
   * Queues `chunk` itself. Writes made in the same turn of the event loop leave together: the
   * first schedules one flush for after the loop's current callbacks, so a burst of replies and
   * proposals costs one system call, not one each.
   */
  writeOwned(chunk: Uint8Array): void {
    if (this.#closeRequested || this.#closed || chunk.byteLength === 0) return;
    this.#queue.push(chunk);
    this.#pendingWriteBytes += chunk.byteLength;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      scheduleFlush(this);
    }
  }

  /** The once-per-turn flush {@linkcode scheduleFlush} asked for. */
  flushTurn(): void {
    this.#flushScheduled = false;
    if (this.#closed) return;
    try {
      this.#flush();
      if (this.#closeRequested && this.#queue.length === 0) this.#raw.end();
    } catch (error) {
      // A socket Bun refuses to write to is broken; the other sockets of the turn still flush.
      this.onError(error as Error);
    }
  }

  pause(): void {
    if (this.#paused || this.#closed) return;
    this.#paused = true;
    this.#raw.pause();
  }

  resume(): void {
    if (!this.#paused || this.#closed) return;
    this.#paused = false;
    // Held chunks are delivered from a microtask, not from inside the owner's resume() call,
    // because handlers never run re-entrantly.
    if (this.#held.length > 0) queueMicrotask(() => this.#deliverHeld());
    else this.#raw.resume();
  }

  close(): void {
    if (this.#closeRequested || this.#closed) return;
    this.#closeRequested = true;
    this.#flush();
    if (this.#queue.length === 0) {
      this.#raw.end();
      return;
    }
    // onDrain ends the socket once the queue is empty; the timer bounds the wait when the peer
    // does not read.
    this.#flushTimer = setTimeout(() => this.#raw.terminate(), closeFlushMsMax);
  }

  /** Bun's `data` callback. */
  onData(buffer: Uint8Array): void {
    // The owner that called close() is done with the connection; what the peer still sends
    // while the close completes is dropped.
    if (this.#closeRequested || this.#closed) return;
    const chunk = plainBytes(buffer);
    if (this.#paused || this.#held.length > 0) {
      // Bun hands each callback a fresh Buffer, so a held chunk needs no copy.
      this.#held.push(chunk);
      return;
    }
    this.#handlers!.data(chunk);
  }

  /** Bun's `drain` callback: the kernel has room again. */
  onDrain(): void {
    if (this.#closed) return;
    this.#flush();
    if (this.#closeRequested && this.#queue.length === 0) this.#raw.end();
  }

  /** Bun's `error` callback; Bun closes the socket afterwards, reporting through `onClose`. */
  onError(error: Error): void {
    this.#error ??= error;
    this.#raw.terminate();
  }

  /** Bun's `close` callback, whoever closed; tells the owner exactly once. */
  onClose(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#flushTimer);
    this.#queue.length = 0;
    this.#pendingWriteBytes = 0;
    this.#held.length = 0;
    this.#handlers?.close(this.#error ?? error);
  }

  #deliverHeld(): void {
    while (!this.#paused && !this.#closeRequested && !this.#closed && this.#held.length > 0) {
      this.#handlers!.data(this.#held.shift()!);
    }
    if (!this.#paused && !this.#closed) this.#raw.resume();
  }

  #flush(): void {
    while (this.#queue.length > 0) {
      const batch = takeBatch(this.#queue, writeBatchBytesMax);
      const written = this.#raw.write(batch);
      if (written < 0) return;
      this.#pendingWriteBytes -= written;
      if (written < batch.byteLength) {
        this.#queue.unshift(batch.subarray(written));
        return;
      }
    }
  }
}
