import assert from "../assert.ts";
import { KvDisk } from "../../src/sim/disk.ts";
import { Rng } from "../../src/sim/rng.ts";

Deno.test("KvDisk.get() sees unsynced writes; durable() only synced ones", () => {
  const disk = new KvDisk<number>();
  disk.set("a", 1);
  assert.equal(disk.get("a"), 1);
  assert.equal(disk.durable("a"), undefined);
  disk.syncEnd(disk.syncBegin());
  assert.equal(disk.durable("a"), 1);
  assert.equal(disk.unsyncedCount, 0);
});

Deno.test("KvDisk.syncEnd() makes durable only what was written before syncBegin()", () => {
  const disk = new KvDisk<number>();
  disk.set("a", 1);
  const mark = disk.syncBegin();
  disk.set("a", 2);
  disk.set("b", 3);
  disk.syncEnd(mark);
  assert.equal(disk.durable("a"), 1);
  assert.equal(disk.durable("b"), undefined);
  assert.equal(disk.get("a"), 2);
  assert.equal(disk.unsyncedCount, 2);
});

Deno.test("KvDisk.crash() keeps synced writes and a per-key prefix of unsynced ones", () => {
  let lostSome = false;
  let keptSome = false;
  for (let seed = 0; seed < 200; seed++) {
    const disk = new KvDisk<number>();
    disk.set("x", 0);
    disk.syncEnd(disk.syncBegin());
    for (let v = 1; v <= 5; v++) disk.set("x", v);
    disk.crash(new Rng(seed));
    const x = disk.get("x")!;
    assert.ok(x >= 0 && x <= 5, "a value that was written");
    assert.equal(disk.unsyncedCount, 0);
    assert.equal(disk.stats.kept, x, "the kept writes are a prefix, so the value counts them");
    if (x < 5) lostSome = true;
    if (x > 0) keptSome = true;
  }
  assert.ok(lostSome && keptSome, "across seeds, crashes both lose and keep unsynced writes");
});

Deno.test("KvDisk copies values in and out", () => {
  const disk = new KvDisk<{ n: number }>();
  const value = { n: 1 };
  disk.set("v", value);
  value.n = 2;
  const read = disk.get("v")!;
  read.n = 3;
  assert.deepEqual(disk.get("v"), { n: 1 });
});
