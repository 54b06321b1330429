/**
 * The one contract suite for {@linkcode NetAdapter}: every runtime's adapter must pass all of
 * it. It is runner-neutral (a list of named async functions using `node:assert/strict`), so Deno's
 * test runner and the plain script `run_contract.ts` under Bun and Node run the same cases.
 *
 * Everything happens on 127.0.0.1 with port 0. Each case is bounded in time and fails rather than
 * hangs, and closes every socket and listener it opened, waiting for their `close` callbacks, so
 * that Deno's resource and op sanitizers find nothing left behind.
 * @module
 */
import assert from "node:assert/strict";
import type { Listener, NetAdapter, Socket, SocketHandlers } from "../../src/net/types.ts";

/** One case of the suite. */
export interface ContractCase {
  /** What the case checks, as a sentence fragment ("echoes bytes both ways"). */
  name: string;
  /** Runs the case; rejects on failure, including on timeout. */
  fn: () => Promise<void>;
}

const hostname = "127.0.0.1";

/** Longest a whole case may take, cleanup excluded. */
const caseMsMax = 30_000;
/** Longest a single wait inside a case may take. */
const waitMsMax = 10_000;
/** Longest cleanup may wait for every socket to report `close`. */
const cleanupMsMax = 10_000;
/** How long a case watches for something that must not happen. */
const quietMs = 200;
/** How often waits re-check state that changes without a callback (`pendingWriteBytes`). */
const pollMs = 5;

/**
 * The contract suite, bound to `adapter`.
 *
 * @example
 * ```ts ignore
 * import { netContract } from "./contract.ts";
 * import { nodeAdapter } from "../../src/net/node/adapter.ts";
 * for (const { name, fn } of netContract(nodeAdapter)) await fn().then(() => console.log(name));
 * ```
 */
export function netContract(adapter: NetAdapter): ContractCase[] {
  const cases: Array<[string, (harness: Harness) => Promise<void>]> = [
    ["listen() on port 0 reports the real bound port", listensOnPortZero],
    ["echoes bytes both ways", echoesBothWays],
    ["delivers 5 MiB of small writes complete and in order", deliversManySmallWritesInOrder],
    ["pendingWriteBytes counts queued bytes and returns to 0 after flushing", countsPendingBytes],
    ["reports 127.0.0.1 and the peer port as remote address", reportsRemoteAddress],
    ["server-side close() runs each side's close handler exactly once", serverCloseClosesClient],
    ["client-side close() runs each side's close handler exactly once", clientCloseClosesServer],
    ["write() and close() after close() neither throw nor send", writeAfterCloseIsDropped],
    ["write() copies its chunk; writeOwned() sends its own, in order with write()", writeCopies],
    ["connect() to a closed port rejects", connectToClosedPortRejects],
    ["pause() holds data back and resume() delivers it in order", pauseHoldsDataBack],
    ["delivers plain Uint8Arrays to keep: never reused, and slice() copies", deliversPlainBytes],
    ["Listener.close() releases the port for a new listen()", listenerCloseReleasesPort],
    ["Listener.close() keeps accepted sockets open", listenerCloseKeepsSockets],
    ["serves 50 concurrent connections, each echoing its own payload", servesManyConnections],
  ];
  return cases.map(([name, body]) => ({ name, fn: () => runCase(adapter, name, body) }));
}

async function runCase(
  adapter: NetAdapter,
  name: string,
  body: (harness: Harness) => Promise<void>,
): Promise<void> {
  const harness = new Harness(adapter);
  let failure: unknown;
  try {
    await withTimeout(body(harness), caseMsMax, `case "${name}"`);
  } catch (error) {
    failure = error;
  }
  try {
    await harness.cleanup();
  } catch (error) {
    // The case's own failure explains more than the cleanup trouble it usually causes.
    failure ??= error;
  }
  if (failure !== undefined) throw failure;
}

// ---------------------------------------------------------------------------------------------
// The cases.

async function listensOnPortZero(harness: Harness): Promise<void> {
  const listener = await harness.listen();
  assert.ok(Number.isInteger(listener.port), `port ${listener.port} is an integer`);
  assert.ok(listener.port > 0 && listener.port < 65536, `port ${listener.port} is in range`);
  await harness.connect(listener.port);
  await harness.until(() => harness.accepted.length === 1, "the connection is accepted");
}

async function echoesBothWays(harness: Harness): Promise<void> {
  const listener = await harness.listen({ onData: echo });
  const client = await harness.connect(listener.port);
  const message = "ping from the client, \u00e9\u00e8 included";
  client.socket.write(encode(message));
  await harness.until(() => client.text() === message, "the echo arrives");
  const server = harness.accepted[0];
  assert.equal(server.text(), message, "the server received the client's bytes");
}

async function deliversManySmallWritesInOrder(harness: Harness): Promise<void> {
  const totalBytes = 5 * 1024 * 1024;
  const listener = await harness.listen();
  const client = await harness.connect(listener.port);
  await harness.until(() => harness.accepted.length === 1, "the connection is accepted");
  const server = harness.accepted[0];
  // Both directions at once, so accepted and dialled sockets are both checked.
  writePattern(client.socket, totalBytes);
  writePattern(server.socket, totalBytes);
  await harness.until(
    () => server.byteCount >= totalBytes && client.byteCount >= totalBytes,
    "5 MiB arrive each way",
  );
  assertPattern(server.bytes(), totalBytes, "client to server");
  assertPattern(client.bytes(), totalBytes, "server to client");
}

async function countsPendingBytes(harness: Harness): Promise<void> {
  // More than loopback's kernel buffers hold, so some bytes must stay queued in the adapter.
  const totalBytes = 32 * 1024 * 1024;
  const chunkBytes = 64 * 1024;
  const listener = await harness.listen();
  const client = await harness.connect(listener.port);
  const chunk = new Uint8Array(chunkBytes).fill(7);
  for (let offset = 0; offset < totalBytes; offset += chunkBytes) client.socket.write(chunk);
  const queuedBytes = client.socket.pendingWriteBytes;
  assert.ok(queuedBytes > 0, `bytes are queued right after writing (${queuedBytes})`);
  assert.ok(queuedBytes <= totalBytes, `no more than written is queued (${queuedBytes})`);
  await harness.until(() => harness.accepted[0]?.byteCount === totalBytes, "all bytes arrive");
  await harness.until(() => client.socket.pendingWriteBytes === 0, "pendingWriteBytes is 0");
}

async function reportsRemoteAddress(harness: Harness): Promise<void> {
  const listener = await harness.listen();
  const client = await harness.connect(listener.port);
  await harness.until(() => harness.accepted.length === 1, "the connection is accepted");
  const server = harness.accepted[0];
  assert.equal(client.socket.remoteAddress, "127.0.0.1");
  assert.equal(client.socket.remotePort, listener.port);
  assert.equal(server.socket.remoteAddress, "127.0.0.1");
  assert.ok(server.socket.remotePort > 0, `server sees port ${server.socket.remotePort}`);
}

async function serverCloseClosesClient(harness: Harness): Promise<void> {
  const listener = await harness.listen();
  const client = await harness.connect(listener.port);
  await harness.until(() => harness.accepted.length === 1, "the connection is accepted");
  const server = harness.accepted[0];
  server.socket.close();
  await assertClosedOnce(harness, [client, server]);
}

async function clientCloseClosesServer(harness: Harness): Promise<void> {
  const listener = await harness.listen();
  const client = await harness.connect(listener.port);
  await harness.until(() => harness.accepted.length === 1, "the connection is accepted");
  const server = harness.accepted[0];
  client.socket.close();
  await assertClosedOnce(harness, [server, client]);
}

async function writeAfterCloseIsDropped(harness: Harness): Promise<void> {
  const listener = await harness.listen();
  const client = await harness.connect(listener.port);
  await harness.until(() => harness.accepted.length === 1, "the connection is accepted");
  client.socket.close();
  client.socket.write(encode("dropped while closing"));
  client.socket.close();
  await harness.until(() => client.closeCount > 0, "the client's close handler runs");
  client.socket.write(encode("dropped after close"));
  client.socket.close();
  assert.equal(client.socket.pendingWriteBytes, 0, "nothing stays queued");
  await assertClosedOnce(harness, [client, harness.accepted[0]]);
  assert.equal(harness.accepted[0].byteCount, 0, "the server received nothing");
}

async function connectToClosedPortRejects(harness: Harness): Promise<void> {
  const listener = await harness.listen();
  const port = listener.port;
  await listener.close();
  let handlersMade = false;
  const attempt = harness.adapter.connect({ hostname, port }, () => {
    handlersMade = true;
    return { data() {}, close() {} };
  });
  await assert.rejects(withTimeout(attempt, waitMsMax, "connect()"));
  assert.equal(handlersMade, false, "no handlers are asked for when connecting fails");
}

async function writeCopies(harness: Harness): Promise<void> {
  const listener = await harness.listen();
  const client = await harness.connect(listener.port);
  const buffer = encode("abc");
  client.socket.write(buffer);
  // Reused at once, in the same turn: what write() queued must not change with it.
  buffer.set(encode("xyz"));
  client.socket.writeOwned(encode("123"));
  client.socket.write(buffer);
  client.socket.writeOwned(new Uint8Array(0));
  await harness.until(() => harness.accepted[0]?.byteCount >= 9, "all nine bytes arrive");
  assert.equal(harness.accepted[0].text(), "abc123xyz");
}

async function pauseHoldsDataBack(harness: Harness): Promise<void> {
  // The server pauses inside its first data callback, the usual place to apply backpressure,
  // and acknowledges so the client knows when to send more.
  const listener = await harness.listen({
    onData(peer) {
      if (peer.dataCallCount > 1) return;
      peer.socket.pause();
      peer.socket.write(encode("ack"));
    },
  });
  const client = await harness.connect(listener.port);
  client.socket.write(encode("first"));
  await harness.until(() => client.text() === "ack", "the server acknowledges");
  const server = harness.accepted[0];
  client.socket.write(encode("second"));
  client.socket.write(encode("third"));
  await sleep(quietMs);
  assert.equal(server.dataCallCount, 1, "no data callback while paused");
  assert.equal(server.text(), "first");
  server.socket.resume();
  await harness.until(() => server.byteCount >= 16, "held data arrives after resume()");
  assert.equal(server.text(), "firstsecondthird");
}

async function deliversPlainBytes(harness: Harness): Promise<void> {
  // Code above the adapters keeps chunks without copying them, and copies values out of them with
  // slice(): a chunk must not be reused, and must not be a Node Buffer, whose slice() is a view.
  const kept: Uint8Array[] = [];
  const listener = await harness.listen({
    onData(peer, chunk) {
      kept.push(chunk);
      if (peer.dataCallCount === 1) peer.socket.pause();
    },
  });
  const client = await harness.connect(listener.port);
  client.socket.write(encode("first"));
  await harness.until(() => harness.accepted[0]?.dataCallCount === 1, "the first chunk arrives");
  const server = harness.accepted[0];
  client.socket.write(encode("second"));
  await sleep(quietMs);
  server.socket.resume(); // the held chunk goes another way through an adapter
  await harness.until(() => server.byteCount >= 11, "the held chunk arrives");
  client.socket.write(encode("third"));
  await harness.until(() => server.byteCount >= 16, "the last chunk arrives");
  server.socket.write(encode("back"));
  await harness.until(() => client.byteCount >= 4, "the server's bytes arrive");
  for (const [side, peer] of [["server", server], ["client", client]] as const) {
    assert.deepEqual(peer.chunkKinds, [...peer.chunkKinds].fill("Uint8Array, slice copies"), side);
  }
  const keptText = kept.map((chunk) => new TextDecoder().decode(chunk)).join("");
  assert.equal(keptText, "firstsecondthird", "chunks kept from the callbacks keep their bytes");
}

async function listenerCloseReleasesPort(harness: Harness): Promise<void> {
  const first = await harness.listen();
  const port = first.port;
  await first.close();
  const second = await harness.listen({ port });
  assert.equal(second.port, port, "the second listener has the same port");
  const client = await harness.connect(port);
  client.socket.write(encode("hello"));
  await harness.until(() => harness.accepted[0]?.text() === "hello", "the new listener serves");
}

async function listenerCloseKeepsSockets(harness: Harness): Promise<void> {
  const listener = await harness.listen({ onData: echo });
  const client = await harness.connect(listener.port);
  await harness.until(() => harness.accepted.length === 1, "the connection is accepted");
  await listener.close();
  client.socket.write(encode("still here"));
  await harness.until(() => client.text() === "still here", "the echo arrives");
  assert.equal(client.closeCount, 0, "the client socket is still open");
}

async function servesManyConnections(harness: Harness): Promise<void> {
  const connectionCount = 50;
  const listener = await harness.listen({ onData: echo });
  const clients = await Promise.all(
    Array.from({ length: connectionCount }, () => harness.connect(listener.port)),
  );
  const payloads = clients.map((_, index) => `connection ${index}: ` + `${index};`.repeat(2000));
  clients.forEach((client, index) => client.socket.write(encode(payloads[index])));
  await harness.until(
    () => clients.every((client, index) => client.byteCount >= payloads[index].length),
    "every echo arrives",
  );
  clients.forEach((client, index) => assert.equal(client.text(), payloads[index]));
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/** Called with each chunk a peer receives, after it is recorded. */
type DataHook = (peer: Peer, chunk: Uint8Array) => void;

function echo(peer: Peer, chunk: Uint8Array): void {
  peer.socket.write(chunk);
}

/** Records what one socket's handlers saw. */
class Peer {
  socket!: Socket;
  chunks: Uint8Array[] = [];
  byteCount = 0;
  dataCallCount = 0;
  /** Per chunk: its constructor's name, and whether its `slice()` copied. */
  chunkKinds: string[] = [];
  closeCount = 0;
  closeError: Error | undefined;

  constructor(readonly onEvent: () => void, readonly onData?: DataHook) {}

  /** The handlers to give the adapter for `socket`. */
  bind(socket: Socket): SocketHandlers {
    this.socket = socket;
    return {
      data: (chunk) => {
        // Copied, so what a case records does not rest on the contract it may be checking.
        const copy = chunk.slice();
        this.chunks.push(copy);
        const first = chunk[0];
        copy[0] = first ^ 0xff; // changes chunk[0] too if slice() made a view
        const copied = chunk.byteLength === 0 || chunk[0] === first;
        copy[0] = first;
        this.chunkKinds.push(`${chunk.constructor.name}, slice ${copied ? "copies" : "is a view"}`);
        this.byteCount += chunk.byteLength;
        this.dataCallCount++;
        this.onData?.(this, chunk);
        this.onEvent();
      },
      close: (error) => {
        this.closeCount++;
        this.closeError = error;
        this.onEvent();
      },
    };
  }

  bytes(): Uint8Array {
    const all = new Uint8Array(this.byteCount);
    let offset = 0;
    for (const chunk of this.chunks) {
      all.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return all;
  }

  text(): string {
    return new TextDecoder().decode(this.bytes());
  }
}

/** Tracks every listener and socket of a case, so waits are bounded and cleanup is complete. */
class Harness {
  readonly accepted: Peer[] = [];
  readonly clients: Peer[] = [];
  #listeners: Listener[] = [];
  #checks = new Set<() => void>();

  constructor(readonly adapter: NetAdapter) {}

  async listen(options: { port?: number; onData?: DataHook } = {}): Promise<Listener> {
    const address = { hostname, port: options.port ?? 0 };
    const listener = await this.adapter.listen(address, (socket) => {
      const peer = new Peer(() => this.#notify(), options.onData);
      this.accepted.push(peer);
      return peer.bind(socket);
    });
    this.#listeners.push(listener);
    return listener;
  }

  async connect(port: number, onData?: DataHook): Promise<Peer> {
    const peer = new Peer(() => this.#notify(), onData);
    const connecting = this.adapter.connect({ hostname, port }, (socket) => peer.bind(socket));
    await withTimeout(connecting, waitMsMax, `connect() to port ${port}`);
    this.clients.push(peer);
    this.#notify();
    return peer;
  }

  /** Resolves once `condition` holds; rejects after `waitMsMax` naming what was awaited. */
  until(condition: () => boolean, what: string, timeoutMs = waitMsMax): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        stop();
        resolve();
      };
      const stop = () => {
        clearTimeout(timer);
        clearInterval(poller);
        this.#checks.delete(check);
      };
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`Timed out after ${timeoutMs} ms waiting until ${what}`));
      }, timeoutMs);
      const poller = setInterval(check, pollMs);
      this.#checks.add(check);
    });
  }

  /**
   * Closes every socket, including ones accepted late, and waits for all their `close`
   * callbacks, then closes the listeners. Every client here dials this case's own listeners, so
   * each successful connect has an accepted twin to wait for.
   */
  async cleanup(): Promise<void> {
    try {
      await this.until(() => this.#closeAll(), "every socket has closed", cleanupMsMax);
    } finally {
      for (const listener of this.#listeners) await listener.close();
    }
  }

  #closeAll(): boolean {
    const peers = [...this.clients, ...this.accepted];
    for (const peer of peers) peer.socket.close();
    const twinsAccepted = this.accepted.length >= this.clients.length;
    return twinsAccepted && peers.every((peer) => peer.closeCount > 0);
  }

  #notify(): void {
    for (const check of [...this.#checks]) check();
  }
}

async function assertClosedOnce(harness: Harness, peers: Peer[]): Promise<void> {
  await harness.until(() => peers.every((peer) => peer.closeCount > 0), "both sides close");
  // Watch a little longer: a second call would come from a later event.
  await sleep(quietMs);
  for (const peer of peers) {
    assert.equal(peer.closeCount, 1, "the close handler ran exactly once");
    assert.equal(peer.closeError, undefined, "an orderly close reports no error");
  }
}

/** Byte `offset` of the test stream; 251 is prime, so moved or lost chunks change the bytes. */
function patternByte(offset: number): number {
  return offset % 251;
}

/** Writes `totalBytes` of the pattern in small writes of varying size (1 to 4096 bytes). */
function writePattern(socket: Socket, totalBytes: number): void {
  let offset = 0;
  for (let index = 0; offset < totalBytes; index++) {
    const size = Math.min(((index * 7919) % 4096) + 1, totalBytes - offset);
    const chunk = new Uint8Array(size);
    for (let i = 0; i < size; i++) chunk[i] = patternByte(offset + i);
    socket.write(chunk);
    offset += size;
  }
}

function assertPattern(bytes: Uint8Array, totalBytes: number, direction: string): void {
  assert.equal(bytes.byteLength, totalBytes, `${direction}: byte count`);
  for (let offset = 0; offset < totalBytes; offset++) {
    if (bytes[offset] !== patternByte(offset)) {
      assert.fail(`${direction}: byte ${offset} is ${bytes[offset]}, not ${patternByte(offset)}`);
    }
  }
}

function encode(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Settles like `promise`, or rejects once `ms` have passed; never leaves a timer behind. */
async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
