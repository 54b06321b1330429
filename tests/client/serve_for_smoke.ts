/**
 * Starts a Corral server on 127.0.0.1 and a free port for `scripts/test_client_node`, prints
 * `{"port": N}` on stdout, and runs until SIGTERM/SIGINT (or at most `serveMsMax`, so a
 * forgotten process cannot outlive its run). Runs on Bun or Deno.
 * @module
 */
import { startServer } from "../../src/server/server.ts";
import process from "node:process";

/** Longest this helper serves before it stops on its own. */
const serveMsMax = 120_000;

const server = await startServer({ port: 0, hostname: "127.0.0.1", tickMs: 100 });
console.log(JSON.stringify({ port: server.port }));

let stopping = false;
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearTimeout(deadline);
  await server.close();
  process.exit(code);
}
const deadline = setTimeout(() => void stop(2), serveMsMax);
process.on("SIGTERM", () => void stop(0));
process.on("SIGINT", () => void stop(0));
