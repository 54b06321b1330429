/**
 * An in-process Corral server with a ZooKeeper port, for the bench tests that need a real one.
 * @module
 */
import { type CorralServer, startServer } from "../../src/server/server.ts";

/** Runs `run` against a fresh server on free ports of 127.0.0.1, and closes it afterwards. */
export async function withServer(run: (server: CorralServer) => Promise<void>): Promise<void> {
  const server = await startServer({ port: 0, zkPort: 0, hostname: "127.0.0.1" });
  try {
    await run(server);
  } finally {
    await server.close();
  }
}
