/**
 * In-process ensembles for tests: N servers on 127.0.0.1 with their own data directories, free
 * ports picked up front, a short tick, and helpers to stop, restart and find the leader.
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, connect, type ConnectOptions } from "../../src/client/mod.ts";
import { type CorralServer, startServer } from "../../src/server/server.ts";
import type { EnsembleMember } from "../../src/server/ensemble_types.ts";
import { freePorts } from "../e2e/_ensemble_binary.ts";

/** Session tick of the test servers (sessions clamp to [200, 2000] ms). */
export const testTickMs = 100;

/** A running in-process ensemble. */
export class TestEnsemble {
  readonly servers: (CorralServer | null)[];
  readonly clientPorts: number[];
  readonly members: EnsembleMember[];
  readonly dirs: string[];
  readonly #clients: Client[] = [];

  private constructor(members: EnsembleMember[], clientPorts: number[], dirs: string[]) {
    this.members = members;
    this.clientPorts = clientPorts;
    this.dirs = dirs;
    this.servers = members.map(() => null);
  }

  /** Starts `voters` voting members (ids 1..n) and `observers` observers after them. */
  static async start(voters = 3, observers = 0): Promise<TestEnsemble> {
    const n = voters + observers;
    const ports = await freePorts(3 * n);
    const members = Array.from({ length: n }, (_, i) => ({
      id: i + 1,
      host: "127.0.0.1",
      peerPort: ports[3 * i + 1],
      electionPort: ports[3 * i + 2],
      observer: i >= voters,
    }));
    const dirs = members.map(() => mkdtempSync(join(tmpdir(), "corral-ensemble-")));
    const ensemble = new TestEnsemble(members, members.map((_, i) => ports[3 * i]), dirs);
    await Promise.all(members.map((_, i) => ensemble.startServer(i)));
    return ensemble;
  }

  /** Starts (or restarts) server `index` on its data directory. */
  async startServer(index: number): Promise<CorralServer> {
    if (this.servers[index]) throw new Error(`server ${index} is running`);
    const server = await startServer({
      port: this.clientPorts[index],
      hostname: "127.0.0.1",
      tickMs: testTickMs,
      serverId: this.members[index].id,
      dataDir: this.dirs[index],
      ensemble: { members: this.members },
    });
    this.servers[index] = server;
    return server;
  }

  /** Stops server `index` (its data stays). */
  async stopServer(index: number): Promise<void> {
    const server = this.servers[index];
    this.servers[index] = null;
    await server?.close();
  }

  /** Index of the serving leader, once there is exactly one; throws after `timeoutMs`. */
  async leader(timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const leaders = this.servers.flatMap((s, i) => {
        const status = s?.ensembleStatus;
        return status?.state === "LEADING" && status.phase === "BROADCAST" ? [i] : [];
      });
      const serving = this.servers.filter((s) => s?.ensembleStatus?.phase === "BROADCAST");
      const live = this.servers.filter((s) => s !== null).length;
      if (leaders.length === 1 && serving.length === live) return leaders[0];
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const states = this.servers.map((s) => s?.ensembleStatus ?? null);
    throw new Error(`no single serving leader within ${timeoutMs} ms: ${JSON.stringify(states)}`);
  }

  /** `127.0.0.1:p1,127.0.0.1:p2,...` for the given servers (default all). */
  connectString(indexes: number[] = this.clientPorts.map((_, i) => i)): string {
    return indexes.map((i) => `127.0.0.1:${this.clientPorts[i]}`).join(",");
  }

  /** Opens a client to the given servers; it is closed by {@linkcode TestEnsemble.close}. */
  async open(indexes?: number[], options: ConnectOptions = {}): Promise<Client> {
    const client = await connect(this.connectString(indexes), options);
    this.#clients.push(client);
    return client;
  }

  /** Closes every client and server and removes the data directories. */
  async close(): Promise<void> {
    await Promise.all(this.#clients.map((c) => c.close().catch(() => {})));
    await Promise.all(this.servers.map((_, i) => this.stopServer(i)));
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `body` with a started ensemble, closing everything afterwards. */
export async function withEnsemble(
  body: (ensemble: TestEnsemble) => Promise<void>,
  voters = 3,
  observers = 0,
): Promise<void> {
  const ensemble = await TestEnsemble.start(voters, observers);
  try {
    await body(ensemble);
  } finally {
    await ensemble.close();
  }
}
