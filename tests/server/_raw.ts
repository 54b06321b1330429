/**
 * A raw protocol client for tests that must send what a well-behaved client never would.
 * @module
 */
import * as net from "node:net";
import { encodeFrame, FrameDecoder } from "../../src/wire/frame.ts";
import type { ServerMessage } from "../../src/wire/messages.ts";

/** A socket plus the decoded frames it has received. */
export class RawConn {
  readonly messages: ServerMessage[] = [];
  closed = false;
  #decoder = new FrameDecoder(64 * 1024 * 1024);
  #waiters: Array<() => void> = [];

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Uint8Array) => {
      for (const frame of this.#decoder.push(new Uint8Array(chunk))) {
        if (frame.ok) this.messages.push(frame.message as ServerMessage);
      }
      this.#wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.#wake();
    });
    socket.on("error", () => {});
  }

  /** Opens a TCP connection to the server on 127.0.0.1:`port`. */
  static open(port: number): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1", () => resolve(new RawConn(socket)));
      socket.once("error", reject);
    });
  }

  /** Opens a connection and completes the handshake for a new session. */
  static async session(port: number): Promise<RawConn> {
    const conn = await RawConn.open(port);
    conn.sendMessage({
      op: "connect",
      proto: 1,
      timeoutMs: 5000,
      sessionId: 0,
      password: new Uint8Array(),
      lastZxid: 0,
    });
    await conn.until((m) => m.some((x) => x.t === "connected"));
    return conn;
  }

  sendBytes(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  sendMessage(message: unknown): void {
    this.socket.write(encodeFrame(message));
  }

  /** Waits until `done(messages)` holds or the socket closes; fails after `timeoutMs`. */
  until(done: (messages: ServerMessage[]) => boolean, timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error("timed out waiting for the server")),
        timeoutMs,
      );
      const check = () => {
        if (done(this.messages) || this.closed) {
          clearTimeout(timer);
          resolve();
        } else {
          this.#waiters.push(check);
        }
      };
      check();
    });
  }

  /** Sends one request and waits for its response. */
  async call(
    request: { xid: number; op: string; [key: string]: unknown },
  ): Promise<Extract<ServerMessage, { t: "res" }>> {
    this.sendMessage(request);
    await this.until((m) => m.some((x) => x.t === "res" && x.xid === request.xid));
    const response = this.messages.find((x) => x.t === "res" && x.xid === request.xid);
    if (!response || response.t !== "res") throw new Error(`no response to xid ${request.xid}`);
    return response;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once("close", () => resolve());
      this.socket.destroy();
    });
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter();
  }
}
