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
export * from "./src/client/mod.ts";
export { type CorralServer, type ServerOptions, startServer } from "./src/server/server.ts";
export {
  applyConfigText,
  ConfigError,
  defaultConfig,
  type ServerConfig,
} from "./src/server/config.ts";
export { jsonLogger, type Logger, type LogLevel, silentLogger } from "./src/server/log.ts";
export type { NetAdapter } from "./src/net/types.ts";
export { protocolVersion } from "./src/constants.ts";
