/**
 * A graceful restart of the compiled binary (REFERENCE §3, §8): after SIGTERM and a restart on
 * the same data directory and port, every node is back with the same data and stat; the
 * sessions are back too, each with its full timeout from the restart, so a client that
 * reconnects keeps its session and its ephemeral, and the ephemeral of a session that never
 * comes back disappears once that timeout has run out.
 * @module
 */
import assert from "../assert.ts";
import { join } from "node:path";
import { type Client, connect, op, type Stat } from "../../src/client/mod.ts";
import { copyBinary, delay, ensureBinary, ServeProcess, until } from "./_crash.ts";

/** Tick of the servers: session timeouts clamp to [400, 4000] ms. */
const tickMs = 200;
/** Timeout of both sessions: long enough to outlive the restart, short enough to wait out. */
const sessionTimeoutMs = 3000;

/** Every node under `root` (depth first), with its data and stat. */
async function dump(
  client: Client,
  root = "/",
): Promise<Map<string, { data: string; stat: Stat }>> {
  const out = new Map<string, { data: string; stat: Stat }>();
  const pending = [root];
  for (let visited = 0; pending.length > 0 && visited < 1000; visited++) {
    const path = pending.pop()!;
    const { data, stat } = await client.getData(path);
    out.set(path, { data: new TextDecoder().decode(data), stat });
    for (const child of await client.getChildren(path)) {
      pending.push(path === "/" ? `/${child}` : `${path}/${child}`);
    }
  }
  return out;
}

/** Writes nodes whose stats have every counter moved away from its initial value. */
async function writeTree(client: Client): Promise<void> {
  await client.create("/app", "config");
  await client.create("/app/a", "v0");
  for (let v = 1; v <= 3; v++) await client.setData("/app/a", `v${v}`);
  await client.create("/app/gone", "x");
  await client.delete("/app/gone");
  await client.create("/app/job-", "first", { mode: "persistentSequential" });
  await client.create("/app/job-", "second", { mode: "persistentSequential" });
  await client.multi([op.create("/app/m", "multi"), op.setData("/app", "config2")]);
  await client.setACL("/app/m", [{ perms: 31, scheme: "world", id: "anyone" }]);
  await client.create("/eph", "");
}

Deno.test("corral serve restarts with the same nodes, stats and sessions", async () => {
  await ensureBinary();
  const home = copyBinary();
  const dataDir = join(home.dir, "data");
  const clients: Client[] = [];
  let server: ServeProcess | null = null;
  const open = async (address: string) => {
    const client = await connect(address, { sessionTimeoutMs, retryDelayMsMax: 50 });
    clients.push(client);
    return client;
  };
  try {
    server = await ServeProcess.start({ binary: home.binary, dataDir, tickMs });
    const port = server.port;
    const keeper = await open(server.address);
    const leaver = await open(server.address);
    await writeTree(keeper);
    await keeper.create("/eph/keeper", "stays", { mode: "ephemeral" });
    await leaver.create("/eph/leaver", "goes", { mode: "ephemeral" });
    const before = await dump(keeper);
    const keeperSession = keeper.sessionId;

    server.kill("SIGTERM");
    assert.equal((await server.exit()).code, 0, server.stderr);
    await until(() => leaver.state === "Disconnected", "the leaver to see the stop", 10_000);
    // Closed while disconnected, the leaver sends nothing: its session stays open on disk.
    await leaver.close();

    server = await ServeProcess.start({ binary: home.binary, dataDir, tickMs, port });
    const restartedAtMs = performance.now();
    assert.ok((server.entry("recovered")?.sessions as number) >= 2, server.stderr);
    const observer = await open(server.address);
    const after = await dump(observer);
    assert.deepEqual(after, before, "every node, with its data and stat, as before the stop");
    assert.equal(after.get("/app/a")!.stat.version, 3);

    await until(() => keeper.state === "SyncConnected", "the keeper to reconnect", 10_000);
    assert.equal(keeper.sessionId, keeperSession, "the keeper resumed its session");

    const deadline = performance.now() + sessionTimeoutMs + 5_000;
    while ((await observer.exists("/eph/leaver")) !== null && performance.now() < deadline) {
      await delay(20);
    }
    const goneAfterMs = performance.now() - restartedAtMs;
    assert.equal(await observer.exists("/eph/leaver"), null, "the leaver's ephemeral expired");
    assert.ok(
      goneAfterMs >= sessionTimeoutMs - 2 * tickMs,
      `the leaver's session got its full timeout after the restart (gone after ${goneAfterMs} ms)`,
    );
    assert.equal((await observer.getData("/eph/keeper")).data.length, "stays".length);
    assert.equal((await observer.exists("/eph/keeper"))!.ephemeralOwner, keeperSession);
    assert.equal((await keeper.setData("/app/a", "v4")).version, 4, "the keeper can still write");

    const persistent = [...before.keys()].filter((p) => !p.startsWith("/eph"));
    const later = await dump(observer);
    for (const path of persistent.filter((p) => p !== "/app/a")) {
      assert.deepEqual(later.get(path), before.get(path), `${path} is unchanged`);
    }
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    if (server !== null) {
      server.kill("SIGKILL");
      await server.exit();
    }
    home.remove();
  }
});
