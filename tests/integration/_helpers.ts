/**
 * Shared set-up of the integration tests: a real server on 127.0.0.1 and a free port, with a
 * short tick so session timeouts clamp to [200, 2000] ms, and clients that are closed (before
 * the server) whatever the test does.
 * @module
 */
import {
  type Client,
  connect,
  type ConnectOptions,
  type WatchEvent,
} from "../../src/client/mod.ts";
import { type CorralServer, startServer } from "../../src/server/server.ts";

/** Tick of the test servers: sessions clamp to [2, 20] ticks = [200, 2000] ms. */
export const testTickMs = 100;

/** What a test body gets. */
export interface Harness {
  server: CorralServer;
  /** `127.0.0.1:PORT`. */
  address: string;
  /** Opens a client (closed automatically at the end); `suffix` is appended to the address (a chroot). */
  open(options?: ConnectOptions, suffix?: string): Promise<Client>;
}

/** Runs `body` against a fresh server, then closes every client it opened and the server. */
export async function withServer(body: (harness: Harness) => Promise<void>): Promise<void> {
  const server = await startServer({ port: 0, hostname: "127.0.0.1", tickMs: testTickMs });
  const clients: Client[] = [];
  const address = `127.0.0.1:${server.port}`;
  try {
    await body({
      server,
      address,
      open: async (options = {}, suffix = "") => {
        const client = await connect(address + suffix, options);
        clients.push(client);
        return client;
      },
    });
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await server.close();
  }
}

/** A promise that resolves after `ms`. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 10 ms until it holds; throws after `timeoutMs`. */
export async function until(
  condition: () => boolean,
  what: string,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await delay(10);
  }
}

/** A watcher that records what it is told, with a way to wait for the next event. */
export class EventLog {
  readonly events: WatchEvent[] = [];
  /** The watcher function to pass as `watch`. */
  readonly watcher = (event: WatchEvent): void => {
    this.events.push(event);
  };

  /** Waits until at least `count` events arrived. */
  async waitFor(count: number, timeoutMs = 5_000): Promise<WatchEvent[]> {
    await until(
      () => this.events.length >= count,
      `${count} watch event(s), got ${this.events.length}`,
      timeoutMs,
    );
    return this.events;
  }
}

const decoder = new TextDecoder();

/** Bytes as UTF-8 text. */
export function text(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}
