/**
 * A smoke test of the client on Node: bundled by `scripts/test_client_node` with
 * `bun build --target=node`, then run as `node .tmp/node_smoke.mjs PORT` against a server that
 * script started. It connects, creates, reads, updates and deletes a node, sees a watch fire,
 * and closes; the last line it prints is `N passed, M failed`, and it exits non-zero on failure.
 * @module
 */
import process from "node:process";
import { connect } from "../../src/client/mod.ts";
import { defaultAdapter } from "../../src/net/mod.ts";
import type { Client, WatchEvent } from "../../src/client/mod.ts";

/** Longest the whole smoke run may take. */
const runMsMax = 30_000;

const checks: [string, (client: Client) => Promise<void>][] = [
  ["the default adapter is node:net", async (client) => {
    const adapter = await defaultAdapter();
    expect(adapter.name === "node", `the default adapter is ${adapter.name}`);
    expect(client.state === "SyncConnected", `state is ${client.state}`);
    expect(client.sessionId > 0, "a session id was granted");
  }],
  ["create, getData, setData, delete round-trip", async (client) => {
    expect(await client.create("/smoke", "hello") === "/smoke", "create returns the path");
    const { data, stat } = await client.getData("/smoke");
    expect(new TextDecoder().decode(data) === "hello", "getData returns the data");
    expect(stat.version === 0 && stat.dataLength === 5, "a new node is at version 0");
    const updated = await client.setData("/smoke", "bye", { version: 0 });
    expect(updated.version === 1, "setData bumps the version");
    await client.delete("/smoke", { version: 1 });
    expect(await client.exists("/smoke") === null, "delete removes the node");
  }],
  ["a watch fires once on a change", async (client) => {
    await client.create("/watched", "0");
    const events: WatchEvent[] = [];
    await client.getData("/watched", { watch: (event) => events.push(event) });
    await client.setData("/watched", "1");
    await client.setData("/watched", "2");
    expect(events.length === 1, `${events.length} events`);
    expect(
      events[0]?.type === "NodeDataChanged" && events[0]?.path === "/watched",
      JSON.stringify(events),
    );
  }],
  ["pipelined requests are answered in order", async (client) => {
    await client.create("/seq");
    const order: number[] = [];
    await Promise.all(
      Array.from(
        { length: 200 },
        (_, i) => client.setData("/seq", `${i}`, { version: i }).then(() => order.push(i)),
      ),
    );
    expect(order.every((v, i) => v === i), "answers arrive in send order");
  }],
];

function expect(condition: boolean, what: string): void {
  if (!condition) throw new Error(`expected: ${what}`);
}

async function main(): Promise<number> {
  const port = Number(process.argv[2]);
  if (!Number.isInteger(port) || port <= 0) {
    console.log(`usage: node node_smoke.mjs PORT (got ${JSON.stringify(process.argv[2])})`);
    console.log("0 passed, 1 failed");
    return 1;
  }
  let passed = 0;
  let failed = 0;
  let client: Client | undefined;
  try {
    client = await connect(`127.0.0.1:${port}`, { connectTimeoutMs: 5_000 });
    for (const [name, check] of checks) {
      try {
        await check(client);
        passed++;
        console.log(`ok - ${name}`);
      } catch (error) {
        failed++;
        console.log(`FAILED - ${name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  } catch (error) {
    failed++;
    console.log(`FAILED - connect: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await client?.close();
  }
  if (client && client.state !== "Closed") {
    failed++;
    console.log(`FAILED - close: state is ${client.state}`);
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

const timer = setTimeout(() => {
  console.log(`0 passed, 1 failed (the smoke run took longer than ${runMsMax} ms)`);
  process.exit(1);
}, runMsMax);
const code = await main();
clearTimeout(timer);
process.exit(code);
