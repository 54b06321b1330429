/**
 * `forceSync` (zoo.cfg `forceSync=no`, as ZooKeeper's): the server's txn log is written without
 * being synced, says so when it starts, and a restart still finds what was written.
 * @module
 */
import assert from "../assert.ts";
import { startServer } from "../../src/server/server.ts";
import type { Logger, LogLevel } from "../../src/server/log.ts";
import { RawConn } from "./_raw.ts";

/** Keeps every warning a server logs. */
class Warnings implements Logger {
  readonly messages: string[] = [];
  log(level: LogLevel, message: string): void {
    if (level === "warn") this.messages.push(message);
  }
}

async function serve(dataDir: string, logger: Logger, forceSync?: boolean) {
  return await startServer({ port: 0, hostname: "127.0.0.1", dataDir, logger, forceSync });
}

Deno.test("a server with forceSync off warns at start, and what it acknowledged survives a restart", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "corral-force-sync-" });
  try {
    const unsynced = new Warnings();
    const server = await serve(dataDir, unsynced, false);
    try {
      assert.ok(
        unsynced.messages.some((m) => /forceSync is off/.test(m)),
        `no forceSync warning among ${JSON.stringify(unsynced.messages)}`,
      );
      const conn = await RawConn.session(server.port);
      try {
        const answer = await conn.call({
          xid: 1,
          op: "create",
          path: "/kept",
          data: new Uint8Array([7]),
        });
        assert.equal(answer.err, undefined, answer.message ?? "");
      } finally {
        await conn.close();
      }
    } finally {
      await server.close();
    }

    const synced = new Warnings();
    const again = await serve(dataDir, synced);
    try {
      assert.ok(
        !synced.messages.some((m) => /forceSync/.test(m)),
        "by default the log is synced, and nothing is said",
      );
      const conn = await RawConn.session(again.port);
      try {
        const answer = await conn.call({ xid: 1, op: "exists", path: "/kept" });
        assert.equal(answer.err, undefined, answer.message ?? "");
      } finally {
        await conn.close();
      }
    } finally {
      await again.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
