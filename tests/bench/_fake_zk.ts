/**
 * A scripted ZooKeeper-protocol server for ZkBenchSession tests: it answers the handshake as told
 * (or not at all), then holds every request until the test answers it, in any order, or closes
 * the connection (or answers everything at once). It is for what a real server would never do on
 * cue: stay silent, reorder replies, hang up with requests pending.
 * @module
 */
import { defaultAdapter } from "../../src/net/mod.ts";
import type { Listener, Socket } from "../../src/net/types.ts";
import {
  type ConnectResponse,
  decodeRequest,
  encodeConnectResponse,
  encodeFrame,
  encodeReply,
  FrameReader,
} from "../../src/zk/records.ts";

/** How the fake answers a connect request. */
export type Handshake =
  | { kind: "accept"; response?: Partial<ConnectResponse> }
  /** Accepts with a 64-bit session id (beyond a double's precision), written by hand. */
  | { kind: "accept64"; sessionId: bigint }
  | { kind: "silent" }
  | { kind: "garbage" };

/** One accepted connection. */
export interface FakeConnection {
  socket: Socket;
  /** xids of the requests received and not answered, in arrival order. */
  readonly requests: number[];
  /** Bytes received in all (the handshake included). */
  received: number;
  /** The connect request's payload, as sent. */
  connectRequest: Uint8Array | null;
  /** True once the connection is closed (by either side). */
  closed: boolean;
}

/** A listening fake server. */
export interface FakeZkServer {
  readonly port: number;
  readonly connections: FakeConnection[];
  /** Answers request `xid` on `connection` with `zxid` and `err`. */
  reply(connection: FakeConnection, xid: number, zxid: number, err?: number): void;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** The handshake for every connection, or one chosen per connection (0-based, in accept order). */
export type HandshakePlan = Handshake | ((index: number) => Handshake);

/**
 * Starts a fake server on a free loopback port. With `autoReply`, every request is answered at
 * once with err 0 and the next zxid, instead of waiting for the test.
 */
export async function startFakeZk(
  plan: HandshakePlan,
  options: { autoReply?: boolean } = {},
): Promise<FakeZkServer> {
  let zxid = 0;
  const adapter = await defaultAdapter();
  const connections: FakeConnection[] = [];
  const listener: Listener = await adapter.listen(
    { hostname: "127.0.0.1", port: 0 },
    (socket) => {
      const handshake = typeof plan === "function" ? plan(connections.length) : plan;
      const connection: FakeConnection = {
        socket,
        requests: [],
        received: 0,
        connectRequest: null,
        closed: false,
      };
      connections.push(connection);
      const frames = new FrameReader(1024 * 1024);
      let connected = false;
      return {
        data(chunk) {
          connection.received += chunk.byteLength;
          for (const frame of frames.push(chunk)) {
            if (!frame.ok) continue;
            if (!connected) {
              connected = true;
              connection.connectRequest = frame.payload.slice();
              answerHandshake(socket, handshake);
              continue;
            }
            const decoded = decodeRequest(frame.payload);
            if (!decoded.ok || decoded.header.xid < 0) continue;
            if (options.autoReply) {
              socket.write(encodeReply({ xid: decoded.header.xid, zxid: ++zxid, err: 0 }));
            } else connection.requests.push(decoded.header.xid);
          }
        },
        close() {
          connection.closed = true;
        },
      };
    },
  );
  return {
    port: listener.port,
    connections,
    reply(connection, xid, zxid, err = 0) {
      connection.requests.splice(connection.requests.indexOf(xid), 1);
      connection.socket.write(encodeReply({ xid, zxid, err }));
    },
    async close() {
      for (const connection of connections) connection.socket.close();
      await listener.close();
    },
  };
}

function answerHandshake(socket: Socket, handshake: Handshake): void {
  switch (handshake.kind) {
    case "silent":
      return;
    case "accept64": {
      const payload = new Uint8Array(20 + 16);
      const view = new DataView(payload.buffer);
      view.setInt32(4, 30_000);
      view.setBigInt64(8, handshake.sessionId);
      view.setInt32(16, 16);
      payload.fill(9, 20);
      socket.write(encodeFrame(payload));
      return;
    }
    case "garbage":
      socket.write(encodeFrame(new Uint8Array([1, 2, 3])));
      return;
    case "accept":
      socket.write(encodeConnectResponse({
        protocolVersion: 0,
        timeOut: 30_000,
        sessionId: 0x1234,
        passwd: new Uint8Array(16).fill(7),
        ...handshake.response,
      }));
  }
}

/** The session id a connect request carries, all 64 bits. */
export function sessionIdOf(connectRequest: Uint8Array): bigint {
  return new DataView(connectRequest.buffer, connectRequest.byteOffset).getBigInt64(16);
}

/** Resolves once `check()` is true; rejects after `ms` with `what` in the message. */
export async function until(check: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** `promise`, or a rejection naming `what` if it has not settled after `ms`. */
export async function within<T>(promise: Promise<T>, what: string, ms = 5_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
