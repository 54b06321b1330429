import assert from "../assert.ts";
import { snapshotThreshold, startServer } from "../../src/server/server.ts";
import type { Logger, LogLevel } from "../../src/server/log.ts";
import { RawConn } from "./_raw.ts";

Deno.test("the snapshot point is drawn from [ceil(snapCount / 2), snapCount]", () => {
  assert.equal(snapshotThreshold(100_000, () => 0), 50_000);
  assert.equal(snapshotThreshold(100_000, () => 0.5), 75_000);
  assert.equal(snapshotThreshold(100_000, () => 1 - Number.EPSILON), 100_000);
  assert.equal(snapshotThreshold(7, () => 0), 4);
  assert.equal(snapshotThreshold(7, () => 1 - Number.EPSILON), 7);
  for (const random of [() => 0, () => 0.5, () => 1 - Number.EPSILON]) {
    assert.equal(snapshotThreshold(1, random), 1, "snapCount 1 still snapshots after every txn");
  }
  assert.equal(
    snapshotThreshold(Infinity, () => 0.5),
    Infinity,
    "an infinite snapCount never snapshots",
  );
  // A random source that answers 1 (out of its contract) still stays inside the range.
  assert.equal(snapshotThreshold(10, () => 1), 10);
  // Every point of the range can come out, and nothing outside it.
  const seen = new Set<number>();
  for (let i = 0; i < 1_000; i++) seen.add(snapshotThreshold(10, () => i / 1_000));
  assert.deepEqual([...seen].sort((a, b) => a - b), [5, 6, 7, 8, 9, 10]);
});

/** Records the zxid of each "snapshot started" a server logs, and counts "snapshot saved". */
class SnapshotLog implements Logger {
  readonly started: number[] = [];
  saved = 0;

  log(_level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    if (message === "snapshot started") this.started.push(fields!.zxid as number);
    if (message === "snapshot saved") this.saved++;
  }

  async waitSaved(count: number): Promise<void> {
    for (let waited = 0; this.saved < count; waited += 10) {
      assert.ok(waited < 10_000, `${count} snapshots not saved after 10 s (${this.saved} were)`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

Deno.test("a server snapshots at the point it drew, and draws anew after each snapshot", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "corral-snapshot-point-" });
  const log = new SnapshotLog();
  // The first draw is the lowest point, 5 txns; the next one the highest, 10.
  const draws = [0, 1 - Number.EPSILON, 0];
  const server = await startServer({
    port: 0,
    hostname: "127.0.0.1",
    dataDir,
    snapCount: 10,
    logger: log,
    random: () => draws.shift() ?? 0,
  });
  try {
    const conn = await RawConn.session(server.port); // txn 1: the session
    let xid = 1;
    const create = async (count: number) => {
      for (let i = 0; i < count; i++, xid++) {
        const answer = await conn.call({ xid, op: "create", path: `/n${xid}` });
        assert.equal(answer.err, undefined, answer.message ?? "");
      }
    };
    try {
      await create(4); // txns 2-5
      await log.waitSaved(1);
      assert.deepEqual(log.started, [5], "the first snapshot comes after 5 txns, not 10");
      await create(9); // txns 6-14
      assert.deepEqual(log.started, [5], "the second draw is 10 txns");
      await create(1); // txn 15
      await log.waitSaved(2);
      assert.deepEqual(log.started, [5, 15]);
    } finally {
      await conn.close();
    }
  } finally {
    await server.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
