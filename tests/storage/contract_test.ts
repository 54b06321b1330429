/**
 * Runs the store contract suite against every {@linkcode DurableStore}:
 * - the FileStore crashed by `close()`, which lets the batch being written finish and drops the
 *   appends queued behind it, then reopened over the same directory;
 * - the FileStore killed: its directory is copied as it is at that instant, writes in flight and
 *   all, and a new store opens the copy (what a `kill -9` leaves, with the page cache intact);
 * - the SimStore, crashed by `crash(rng)` and `reopen()`, with a seeded random source that also
 *   decides how much each sync covers.
 * @module
 */
import { join } from "node:path";
import { FileStore, listFiles, storageFileName } from "../../src/storage/file_store.ts";
import { SimStore } from "../../src/storage/sim_store.ts";
import type { DurableStore } from "../../src/storage/types.ts";
import assert from "../assert.ts";
import {
  type HarnessFactory,
  imageAfter,
  normalise,
  plain,
  storeContract,
  type StoreHarness,
  txnRecords,
  zxidOf,
} from "./contract.ts";
import type { Recovered } from "../../src/storage/types.ts";
import { DataTree } from "../../src/tree/data_tree.ts";
import type { TxnRecord } from "../../src/tree/txn.ts";

/** Longest a FileStore may take to get where a case waits for it. */
const settleMsMax = 10_000;

/**
 * A log file size that makes every batch start a new file, so a failure can be injected at a
 * known zxid (see `failNextSync`).
 */
const logFileBytesPerBatch = 17;

/** Copies the regular files of `from` into a new directory `to`, synchronously. */
function copyDirSync(from: string, to: string): void {
  Deno.mkdirSync(to);
  for (const entry of Deno.readDirSync(from)) {
    if (entry.isFile) {
      Deno.writeFileSync(join(to, entry.name), Deno.readFileSync(join(from, entry.name)));
    }
  }
}

function fileStoreHarness(crash: "close" | "kill"): HarnessFactory {
  return async (setup) => {
    const root = await Deno.makeTempDir({ prefix: "corral-store-contract-" });
    let disks = 0;
    let dir = join(root, `disk-${disks}`);
    const open = (dataDir: string) =>
      FileStore.open({
        dataDir,
        snapRetainCount: setup.snapRetainCount,
        logFileBytesMax: setup.injectsFailures ? logFileBytesPerBatch : undefined,
      });
    let store = await open(dir);
    const harness: StoreHarness = {
      get store(): DurableStore {
        return store;
      },
      async settle(until) {
        const deadline = Date.now() + settleMsMax;
        while (!until()) {
          if (Date.now() > deadline) {
            throw new Error(`the file store got nowhere in ${settleMsMax} ms`);
          }
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      },
      async crash() {
        if (crash === "kill") {
          // One turn of the event loop lets the write in flight get part of the way.
          await new Promise((resolve) => setTimeout(resolve, 0));
          const copy = join(root, `disk-${++disks}`);
          copyDirSync(dir, copy); // first, before the dying store writes another byte
          await store.close(); // only to release its file handles; its writes go to the old copy
          dir = copy;
        } else {
          await store.close();
        }
        store = await open(dir);
        return store;
      },
      async failNextSync(zxid) {
        // Every batch starts a new log file here, and /dev/full answers every write with ENOSPC.
        await Deno.symlink("/dev/full", join(dir, storageFileName("log", zxid)));
      },
      async snapshotZxids() {
        return (await listFiles(dir, "snapshot")).map((f) => f.zxid);
      },
      async logStartZxid() {
        return (await listFiles(dir, "log"))[0]?.zxid ?? 0;
      },
      async cleanup() {
        await store.close();
        await Deno.remove(root, { recursive: true });
      },
    };
    return harness;
  };
}

/** mulberry32: a tiny seeded generator, uniform in [0, 1). */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function simStoreHarness(seed: number): HarnessFactory {
  return (setup) => {
    const random = seededRandom(seed);
    let store = new SimStore({ snapRetainCount: setup.snapRetainCount });
    const harness: StoreHarness = {
      get store(): DurableStore {
        return store;
      },
      settle(until) {
        while (!until()) {
          if (store.unsyncedCount === 0) {
            return Promise.reject(new Error("the sim store has nothing left to sync"));
          }
          // A group commit covers some of the queue, the rest waits for the next one.
          store.syncSome(1 + Math.floor(random() * store.unsyncedCount));
        }
        return Promise.resolve();
      },
      crash() {
        store.crash(random);
        store = store.reopen();
        return Promise.resolve(store);
      },
      failNextSync() {
        store.failNextSync(new Error("ENOSPC: no space left on device (simulated)"));
        return Promise.resolve();
      },
      snapshotZxids: () => Promise.resolve(store.snapshots.map((s) => s.zxid)),
      logStartZxid: () => Promise.resolve(store.loggedZxids[0] ?? 0),
      cleanup: () => store.close(),
    };
    return Promise.resolve(harness);
  };
}

for (const { name, fn } of storeContract(fileStoreHarness("close"))) {
  Deno.test(`FileStore: ${name}`, fn);
}

for (const { name, fn } of storeContract(fileStoreHarness("kill"))) {
  Deno.test(`FileStore (killed, not closed): ${name}`, fn);
}

for (const { name, fn } of storeContract(simStoreHarness(1))) {
  Deno.test(`SimStore: ${name}`, fn);
}

Deno.test("SimStore: durable records survive a crash, under 300 seeds", async () => {
  for (let seed = 2; seed < 302; seed++) {
    const crashCase = storeContract(simStoreHarness(seed)).find((c) =>
      c.name.startsWith("durable records survive a crash")
    )!;
    try {
      await crashCase.fn();
    } catch (error) {
      throw new Error(`seed ${seed} failed; replay with simStoreHarness(${seed})`, {
        cause: error,
      });
    }
  }
});

// SimStore's own promises, beyond the contract: the simulator relies on exactly these.

Deno.test("SimStore.crash() keeps the prefix the random source picks and tears only its last record", async () => {
  const store = new SimStore();
  await store.recover();
  store.append(txnRecords(1, 2, "durable"));
  store.sync();
  store.append(txnRecords(3, 6, "unsynced"));
  // 0.5 of 7 outcomes keeps 3 of the 6 unsynced; 0.1 < 0.5 tears the last kept one.
  const draws = [0.5, 0.1];
  assert.deepEqual(store.crash(() => draws.shift()!), { lost: 3, kept: 3, torn: true });
  const restarted = store.reopen();
  const recovered = await restarted.recover();
  assert.deepEqual(recovered.records.map((r) => r.zxid), [1, 2, 3, 4]);
  assert.deepEqual(recovered.notes, ["truncated a torn tail of the log after zxid 0x4 (1 record)"]);
  assert.equal(restarted.durableZxid, 4);
  assert.deepEqual(restarted.loggedZxids, [1, 2, 3, 4], "the torn record is gone from the disk");
});

Deno.test("SimStore.crash() loses a snapshot and epochs whose writes had not resolved", async () => {
  const store = new SimStore();
  await store.recover();
  const records = txnRecords(1, 3, "r");
  store.append(records);
  store.sync();
  const snapshot = store.saveSnapshot(imageAfter(records));
  const epochs = store.writeEpochs({ acceptedEpoch: 1, currentEpoch: 1 });
  store.crash(() => 0);
  await assert.rejects(snapshot, /crashed before the write was durable/);
  await assert.rejects(epochs, /crashed before the write was durable/);
  const recovered = await store.reopen().recover();
  assert.equal(recovered.snapshot, null);
  assert.deepEqual(recovered.epochs, { acceptedEpoch: 0, currentEpoch: 0 });
  assert.deepEqual(recovered.records.map((r) => r.zxid), [1, 2, 3]);
});

Deno.test("SimStore.failNextSync() fails every unsynced record once, and the next sync works", async () => {
  const store = new SimStore();
  await store.recover();
  const failures: number[] = [];
  const durable: number[] = [];
  store.onFailure((zxid) => failures.push(zxid));
  store.onDurable((zxid) => durable.push(zxid));
  store.failNextSync(new Error("ENOSPC"));
  assert.equal(store.sync(), 0, "nothing to write: the failure waits for a sync that writes");
  store.append(txnRecords(1, 3, "failed"));
  assert.equal(store.syncSome(1), 0);
  assert.deepEqual(failures, [1], "one report covers all three");
  assert.equal(store.unsyncedCount, 0);
  store.append(txnRecords(1, 2, "retried"));
  assert.equal(store.sync(), 2);
  assert.deepEqual(durable, [2]);
  assert.deepEqual(store.stats, { syncs: 1, recordsSynced: 2, failures: 1 });
});

// SimStore under a crash before each step of an ensemble sync.

/** The tree a recovery rebuilds: its snapshot with its records applied. */
function treeOf(recovered: Recovered): unknown {
  const tree = recovered.snapshot === null
    ? new DataTree()
    : DataTree.fromNodes(recovered.snapshot.nodes, recovered.snapshot.zxid);
  for (const record of recovered.records) tree.apply(record);
  return normalise({ zxid: tree.lastZxid, nodes: tree.exportNodes() });
}

/** The tree after `records`, in the form {@linkcode treeOf} gives. */
function treeAfter(records: readonly TxnRecord[]): unknown {
  const image = imageAfter(records);
  return normalise({ zxid: image.zxid, nodes: image.nodes });
}

/**
 * A follower's store: a snapshot at 1:10, records 1:1..1:20 durable, then 2:1..2:4 of an epoch
 * whose leader never committed them, of which 2:3 and 2:4 are still unsynced.
 */
async function divergedFollower(): Promise<{ store: SimStore; records: TxnRecord[] }> {
  const store = new SimStore();
  await store.recover();
  const records = [
    ...txnRecords(zxidOf(1, 1), 20, "epoch 1"),
    ...txnRecords(zxidOf(2, 1), 4, "epoch 2"),
  ];
  store.append(records.slice(0, 22));
  store.syncSome(12);
  store.sync();
  await store.saveSnapshot(imageAfter(records.slice(0, 10)));
  store.append(records.slice(22));
  return { store, records };
}

/**
 * Runs `operation` on a fresh {@linkcode divergedFollower} once per step, cutting the power
 * before that step (and once with no crash), and returns what recovery found each time.
 */
async function crashAtEachStep(
  operation: (store: SimStore) => Promise<unknown>,
): Promise<{ steps: string[]; outcomes: Recovered[]; records: TxnRecord[] }> {
  const outcomes: Recovered[] = [];
  let records: TxnRecord[] = [];
  for (let crashAt = 0;; crashAt++) {
    const follower = await divergedFollower();
    records = follower.records;
    const store = follower.store;
    const names: string[] = [];
    let crashed = false;
    store.beforeDiskStep((name) => {
      if (names.push(name) - 1 === crashAt) {
        crashed = true;
        store.crash(() => 0);
      }
    });
    const error = await operation(store).then(() => null, (e: Error) => e);
    if (crashed) {
      assert.match(String(error), /crashed before the write was durable/, `step ${crashAt}`);
    } else {
      assert.equal(error, null);
      await store.close();
    }
    outcomes.push(await store.reopen().recover());
    if (!crashed) return { steps: names, outcomes, records };
  }
}

Deno.test("SimStore: a crash before any step of truncateAfter() recovers the old log or the new one", async () => {
  const cut = zxidOf(1, 15);
  const { steps, outcomes, records } = await crashAtEachStep((store) => store.truncateAfter(cut));
  assert.deepEqual(steps, ["cut the log after 0x10000000f"]);
  assert.equal(outcomes.length, 2);
  // The two unsynced records were synced by the truncation before its first step.
  assert.deepEqual(treeOf(outcomes[0]), treeAfter(records), "before the cut: the old state");
  assert.deepEqual(treeOf(outcomes[1]), treeAfter(records.slice(0, 15)), "after: the new one");
  for (const outcome of outcomes) {
    assert.equal(outcome.snapshot?.zxid, zxidOf(1, 10));
    assert.deepEqual(outcome.notes, []);
  }
});

Deno.test("SimStore: a crash before any step of installSnapshot() recovers the old state, less records after the image, or the new one", async () => {
  const leader = [
    ...txnRecords(zxidOf(1, 1), 20, "epoch 1"),
    ...txnRecords(zxidOf(3, 1), 5, "epoch 3"),
  ];
  // The image is at 3:5, above all of the follower's log; then one below its epoch-2 records.
  for (const image of [imageAfter(leader), imageAfter(leader.slice(0, 18))]) {
    const { steps, outcomes, records } = await crashAtEachStep((store) =>
      store.installSnapshot(image)
    );
    const at = `0x${image.zxid.toString(16)}`;
    assert.deepEqual(steps, [
      `remove the snapshots after ${at}`,
      `cut the log after ${at}`,
      `write snapshot.${image.zxid.toString(16).padStart(16, "0")}`,
      "remove the old log and snapshots",
    ]);
    const old = treeAfter(records);
    const oldLessLater = treeAfter(records.filter((r) => r.zxid <= image.zxid));
    const installed = normalise({ zxid: image.zxid, nodes: image.nodes });
    const expected = [old, old, oldLessLater, installed, installed];
    assert.equal(outcomes.length, expected.length);
    for (const [i, outcome] of outcomes.entries()) {
      assert.deepEqual(treeOf(outcome), expected[i], `image ${at}, crash before step ${i}`);
      assert.deepEqual(outcome.notes, []);
    }
    assert.deepEqual(outcomes.at(-1)!.records, [], "the new state is the image alone");
  }
});

Deno.test("SimStore: appends made while a truncation is queued wait for it, and a crash loses them", async () => {
  const store = new SimStore();
  await store.recover();
  store.append(txnRecords(1, 5, "r"));
  store.sync();
  const truncated = store.truncateAfter(3);
  store.append(txnRecords(4, 2, "after the cut"));
  assert.equal(store.unsyncedCount, 0, "held, not yet unsynced");
  await truncated;
  assert.equal(store.unsyncedCount, 2);
  assert.equal(store.sync(), 2);
  assert.deepEqual(store.loggedZxids, [1, 2, 3, 4, 5]);

  const again = store.truncateAfter(2);
  store.append(txnRecords(3, 1, "lost"));
  assert.deepEqual(store.crash(() => 0), { lost: 1, kept: 0, torn: false });
  await assert.rejects(again, /crashed before the write was durable/);
  const recovered = await store.reopen().recover();
  assert.deepEqual(
    plain(recovered.records),
    plain([
      ...txnRecords(1, 3, "r"),
      ...txnRecords(4, 2, "after the cut"),
    ]),
  );
});
