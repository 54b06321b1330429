/**
 * Corral: a ZooKeeper-style coordination service in one binary.
 *
 * This module is the public API: the client library (runs on Deno, Bun and Node) and, for
 * embedding or tests, the standalone server (Deno and Bun).
 *
 * @example
 * ```ts ignore
 * import { connect, startServer } from "./mod.ts";
 *
 * const server = await startServer({ port: 0, hostname: "127.0.0.1" });
 * const client = await connect(`127.0.0.1:${server.port}`);
 * await client.create("/hello", "world");
 * console.log(new TextDecoder().decode((await client.getData("/hello")).data));
 * await client.close();
 * await server.close();
 * ```
 * @module
 */
import { type BaseServerOptions, startServer as startServerInternal } from "./src/server/server.ts";
import type { SnapshotInfo } from "./src/storage/types.ts";

export * from "./src/client/mod.ts";
export {
  applyConfigText,
  ConfigError,
  defaultConfig,
  type ServerConfig,
} from "./src/server/config.ts";
export type { EnsembleMember, EnsembleOptions } from "./src/server/ensemble_types.ts";
export { jsonLogger, type Logger, type LogLevel, silentLogger } from "./src/server/log.ts";
export type { Address, Listener, NetAdapter, Socket, SocketHandlers } from "./src/net/types.ts";
export type { SnapshotInfo } from "./src/storage/types.ts";
export type { MultiResult, ServerLimits } from "./src/wire/messages.ts";
export { protocolVersion } from "./src/constants.ts";

/** How to run an embedded server: every field has a default (see `corral serve --help`). */
export type EmbeddedServerOptions = BaseServerOptions;
export type { BaseServerOptions } from "./src/server/server.ts";

/** A running embedded server. */
export interface EmbeddedServer {
  /** The bound CBOR client port. */
  readonly port: number;
  /** What recovery did at start (empty for a fresh or in-memory server). */
  readonly recoveryNotes: readonly string[];
  /** Takes a snapshot now (null for an in-memory server); resolves once it is durable. */
  snapshot(): Promise<SnapshotInfo | null>;
  /** Stops accepting, closes every connection, flushes storage. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts a standalone server in this process (Deno or Bun): with `dataDir` it is durable and
 * recovers what the directory holds; without, state lives in memory.
 *
 * @example
 * ```ts ignore
 * import { startServer } from "./mod.ts";
 * const server = await startServer({ port: 0, hostname: "127.0.0.1", dataDir: "./data" });
 * await server.close();
 * ```
 */
export async function startServer(options: EmbeddedServerOptions = {}): Promise<EmbeddedServer> {
  const server = await startServerInternal(options);
  return {
    get port() {
      return server.port;
    },
    recoveryNotes: server.recoveryNotes,
    snapshot: () => server.snapshot(),
    close: () => server.close(),
  };
}
