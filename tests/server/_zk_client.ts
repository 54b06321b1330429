/**
 * A bare ZooKeeper-protocol test client built on the jute codec (`src/zk/records.ts`): it sends
 * exactly the frames a test spells out and collects what comes back, so listener tests can look
 * at replies, events and xids as a ZooKeeper client would see them.
 * @module
 */
import { defaultAdapter } from "../../src/net/mod.ts";
import type { Socket } from "../../src/net/types.ts";
import { OpCode, Xid } from "../../src/zk/codes.ts";
import {
  type ConnectResponse,
  decodeConnectResponse,
  decodeReply,
  encodeConnectRequest,
  encodeRequest,
  FrameReader,
  type ReplyHeader,
  type ZkRequest,
  type ZkResponse,
} from "../../src/zk/records.ts";

/** One reply or notification as received. */
export interface Received {
  header: ReplyHeader;
  response: ZkResponse | null;
}

/** A connected raw ZooKeeper client. */
export class ZkTestClient {
  readonly #frames = new FrameReader(16 * 1024 * 1024);
  readonly #types = new Map<number, number>();
  #xid = 0;
  #received: Received[] = [];
  #waiters: (() => void)[] = [];
  #connected: ConnectResponse | null = null;
  closed = false;

  private constructor(readonly socket: Socket) {}

  /** Connects and completes the handshake (a new session unless `resume` is given). */
  static async open(
    port: number,
    resume: { sessionId: number; passwd: Uint8Array } | null = null,
    timeOut = 10_000,
  ): Promise<ZkTestClient> {
    const adapter = await defaultAdapter();
    let client!: ZkTestClient;
    await adapter.connect({ hostname: "127.0.0.1", port }, (socket) => {
      client = new ZkTestClient(socket);
      return { data: (chunk) => client.#onData(chunk), close: () => client.#onClose() };
    });
    client.socket.write(encodeConnectRequest({
      protocolVersion: 0,
      lastZxidSeen: 0,
      timeOut,
      sessionId: resume?.sessionId ?? 0,
      passwd: resume?.passwd ?? new Uint8Array(16),
      readOnly: false,
    }));
    await client.#until(() => client.#connected !== null || client.closed);
    return client;
  }

  /** The handshake's answer (null if the server closed before it). */
  get connected(): ConnectResponse | null {
    return this.#connected;
  }

  /** Sends `request` with the next xid (or `xid` when given); returns the xid used. */
  send(request: ZkRequest, xid?: number): number {
    const used = xid ?? ++this.#xid;
    const type = request.op === "unknown" ? request.type : OpCode[request.op];
    this.#types.set(used, type);
    this.socket.write(encodeRequest(used, request));
    return used;
  }

  /** Sends `request` and waits for its reply. */
  async call(request: ZkRequest, xid?: number): Promise<Received> {
    const used = this.send(request, xid);
    await this.#until(() => this.#received.some((r) => r.header.xid === used) || this.closed);
    const reply = this.#received.find((r) => r.header.xid === used);
    if (!reply) throw new Error(`connection closed before the reply to xid ${used}`);
    return reply;
  }

  /** Waits until `count` notifications (xid -1) have arrived; returns them all. */
  async events(count: number): Promise<Received[]> {
    const notifications = () => this.#received.filter((r) => r.header.xid === Xid.notification);
    await this.#until(() => notifications().length >= count || this.closed);
    return notifications();
  }

  /** Everything received so far, in order. */
  get received(): readonly Received[] {
    return this.#received;
  }

  /** Waits until the server closes the connection. */
  async untilClosed(): Promise<void> {
    await this.#until(() => this.closed);
  }

  close(): void {
    this.socket.close();
  }

  #onData(chunk: Uint8Array): void {
    for (const frame of this.#frames.push(chunk)) {
      if (!frame.ok) throw new Error(frame.reason);
      if (this.#connected === null) {
        const decoded = decodeConnectResponse(frame.payload);
        if (!decoded.ok) throw new Error(decoded.reason);
        this.#connected = decoded.value;
      } else {
        const decoded = decodeReply(frame.payload, (xid) => this.#types.get(xid));
        if (!decoded.ok) throw new Error(decoded.reason);
        this.#received.push({ header: decoded.header, response: decoded.response });
      }
    }
    this.#wake();
  }

  #onClose(): void {
    this.closed = true;
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  async #until(done: () => boolean): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error("timed out waiting for the server");
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }
}

/** Sends four-letter word `word` to the ZooKeeper port; returns all the server wrote before closing. */
export async function fourLetterWord(port: number, word: string): Promise<string> {
  const adapter = await defaultAdapter();
  const chunks: number[] = [];
  let closed!: () => void;
  const done = new Promise<void>((resolve) => closed = resolve);
  const socket = await adapter.connect({ hostname: "127.0.0.1", port }, () => ({
    data: (chunk) => chunks.push(...chunk),
    close: () => closed(),
  }));
  socket.write(new TextEncoder().encode(word));
  await done;
  return new TextDecoder().decode(new Uint8Array(chunks));
}
