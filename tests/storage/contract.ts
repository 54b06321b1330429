/**
 * The one contract suite for {@linkcode DurableStore} (REFERENCE §8): the file store and the
 * simulator's store must both pass all of it, so the simulator can trust that what it learns
 * about crashes holds for the real disk too.
 *
 * A case talks to the store through a {@linkcode StoreHarness}, which knows how to let the store
 * make progress (wait for the file store, call `sync()` on the simulated one), how to crash it
 * and bring it back, and how to make a sync fail. The suite is a list of named async functions so
 * the runner in `contract_test.ts` can name each Deno test after the store and the case.
 * @module
 */
import assert from "../assert.ts";
import { DataTree } from "../../src/tree/data_tree.ts";
import type { TxnRecord } from "../../src/tree/txn.ts";
import type { DurableStore, SnapshotImage } from "../../src/storage/types.ts";

/** What a case needs from the store it is given. */
export interface HarnessSetup {
  /** Snapshots the store keeps (its `snapRetainCount`). */
  snapRetainCount: number;
  /** The case will call {@linkcode StoreHarness.failNextSync}. */
  injectsFailures: boolean;
}

/** A store under test plus the powers a case needs over it. */
export interface StoreHarness {
  /** The store opened by the factory, not yet recovered. */
  readonly store: DurableStore;
  /**
   * Lets the store work until `until()` holds: waits for the file store, syncs the simulated
   * one. Rejects when the store stops making progress first.
   */
  settle(until: () => boolean): Promise<void>;
  /**
   * Takes the power away from the current store without letting it flush what is pending, and
   * returns a store opened over what survived (not yet recovered).
   */
  crash(): Promise<DurableStore>;
  /** Makes the sync that writes `zxid` first fail, as a full disk would. */
  failNextSync(zxid: number): Promise<void>;
  /** Zxids of the snapshots on the disk, oldest first. */
  snapshotZxids(): Promise<number[]>;
  /** The first zxid the txn log on the disk can still replay from (0 when there is no log). */
  logStartZxid(): Promise<number>;
  /** Closes the store and removes what the harness created. */
  cleanup(): Promise<void>;
}

/** One case of the suite. */
export interface ContractCase {
  /** What the case checks, as a sentence fragment ("durable records survive a crash"). */
  name: string;
  /** Runs the case against a fresh harness from the factory; rejects on failure. */
  fn: () => Promise<void>;
}

/** Opens a fresh store under a harness. */
export type HarnessFactory = (setup: HarnessSetup) => Promise<StoreHarness>;

type Body = (h: StoreHarness) => Promise<void>;

/**
 * The contract suite, bound to a harness factory.
 *
 * @example
 * ```ts ignore
 * import { storeContract } from "./contract.ts";
 * for (const { name, fn } of storeContract(makeSimHarness)) Deno.test(`SimStore: ${name}`, fn);
 * ```
 */
export function storeContract(make: HarnessFactory): ContractCase[] {
  const cases: Array<[string, Partial<HarnessSetup>, Body]> = [
    ["recovers an empty store to nothing", {}, recoversEmpty],
    ["reports every appended record durable, in zxid order", {}, reportsDurableInOrder],
    ["durable records survive a crash, exactly and in order", {}, durableRecordsSurviveCrash],
    ["recovers a snapshot plus the records after it", {}, recoversSnapshotAndLaterRecords],
    ["epochs persist across a crash", {}, epochsPersist],
    [
      "epochs written back to back, without waiting, both resolve and the last one persists",
      {},
      epochsBackToBack,
    ],
    [
      "retention keeps the newest N snapshots and recovery works after purges",
      { snapRetainCount: 2 },
      retentionKeepsNewest,
    ],
    [
      "after a failed sync, later appends work and recovery never returns a failed record",
      { injectsFailures: true },
      failedRecordsNeverRecover,
    ],
    [
      "truncateAfter() inside a batch and at batch boundaries leaves exactly the prefix",
      {},
      truncatesToPrefix,
    ],
    [
      "after truncateAfter(), records of a new epoch follow the prefix across a restart",
      {},
      truncateThenNewEpoch,
    ],
    [
      "truncateAfter() writes the appends in flight first and holds those made after it",
      {},
      truncateWithAppendsInFlight,
    ],
    ["truncateAfter() the last zxid, or one beyond it, changes nothing", {}, truncateAtEndIsNoop],
    ["truncateAfter() the snapshot's zxid keeps the snapshot", {}, truncateToSnapshot],
    ["truncateAfter() below the snapshot rejects and changes nothing", {}, truncateBelowSnapshot],
    [
      "installSnapshot() leaves the image and no log, and later appends survive a restart",
      {},
      installSnapshotThenAppend,
    ],
    [
      "installSnapshot() replaces a log and a snapshot holding higher zxids of another epoch",
      {},
      installSnapshotOverDivergedLog,
    ],
  ];
  return cases.map(([name, setup, body]) => ({
    name,
    fn: async () => {
      const h = await make({ snapRetainCount: 3, injectsFailures: false, ...setup });
      try {
        await body(h);
      } finally {
        await h.cleanup();
      }
    },
  }));
}

// ---- records and images ------------------------------------------------------------------------

const openAcl = [{ perms: 31, scheme: "world", id: "anyone" }];

/**
 * `count` records from `firstZxid` on, each creating `/n<zxid>` under the root with `label` in
 * its data, so a record re-issued after a failure or a crash is told apart from the original.
 * They apply in order to a tree that holds the records before `firstZxid`.
 */
export function txnRecords(firstZxid: number, count: number, label: string): TxnRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const zxid = firstZxid + i;
    return {
      zxid,
      timeMs: 1_700_000_000_000 + zxid,
      sessionId: 0x100,
      txn: {
        type: "create",
        path: `/n${zxid}`,
        data: new TextEncoder().encode(`${label} ${zxid}`),
        acl: openAcl,
        ephemeralOwner: 0,
        parentCversion: zxid,
      },
    };
  });
}

/** The image of the tree after applying `records` (all of them, from zxid 1), with one session. */
export function imageAfter(records: readonly TxnRecord[]): SnapshotImage {
  const tree = new DataTree();
  for (const record of records) tree.apply(record);
  return {
    zxid: tree.lastZxid,
    nodes: tree.exportNodes(),
    sessions: [{ id: 0x100, timeoutMs: 4000, password: new Uint8Array(16).fill(7) }],
  };
}

/** The zxid of txn `counter` of `epoch`. */
export function zxidOf(epoch: number, counter: number): number {
  return epoch * 2 ** 32 + counter;
}

/** Plain copies of records, for comparing what was written with what a store gives back. */
export function plain(records: readonly TxnRecord[]): unknown[] {
  return records.map((r) => normalise(r));
}

/** Typed arrays of any subclass become plain `Uint8Array`s, so only contents are compared. */
export function normalise(value: unknown): unknown {
  if (value instanceof Uint8Array) return Array.from(value);
  if (Array.isArray(value)) return value.map(normalise);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v)]));
  }
  return value;
}

/** What a store reported through its callbacks. Checked after the fact, never inside them. */
class Observer {
  durable = 0;
  readonly reports: number[] = [];
  readonly failures: Array<{ zxid: number; error: Error }> = [];

  constructor(store: DurableStore) {
    store.onDurable((zxid) => {
      this.reports.push(zxid);
      this.durable = Math.max(this.durable, zxid);
    });
    store.onFailure((zxid, error) => this.failures.push({ zxid, error }));
  }
}

// ---- cases -------------------------------------------------------------------------------------

async function recoversEmpty(h: StoreHarness): Promise<void> {
  const recovered = await h.store.recover();
  assert.equal(recovered.snapshot, null);
  assert.deepEqual(recovered.records, []);
  assert.deepEqual(recovered.epochs, { acceptedEpoch: 0, currentEpoch: 0 });
  assert.deepEqual(recovered.notes, [], "a fresh store has nothing to report");
  assert.equal(h.store.durableZxid, 0);
}

async function reportsDurableInOrder(h: StoreHarness): Promise<void> {
  const store = h.store;
  await store.recover();
  const seen = new Observer(store);
  const records = txnRecords(1, 120, "r");
  // Back-to-back appends land while an earlier sync runs: a later sync must cover them.
  store.append(records.slice(0, 1));
  store.append(records.slice(1, 30));
  store.append(records.slice(30, 31));
  await h.settle(() => seen.durable >= 31);
  for (let i = 31; i < 120; i += 30) store.append(records.slice(i, i + 30));
  await h.settle(() => seen.durable >= 120);

  const zxids = new Set(records.map((r) => r.zxid));
  for (let i = 0; i < seen.reports.length; i++) {
    assert.ok(zxids.has(seen.reports[i]), `report ${seen.reports[i]} names an appended record`);
    if (i > 0) {
      assert.ok(seen.reports[i] > seen.reports[i - 1], `reports grow: ${seen.reports.join(",")}`);
    }
  }
  assert.equal(seen.reports.at(-1), 120, "the last report covers every record");
  assert.equal(store.durableZxid, 120);
  assert.deepEqual(seen.failures, []);
}

async function durableRecordsSurviveCrash(h: StoreHarness): Promise<void> {
  let store = h.store;
  await store.recover();
  /** What the owner believes the log holds: recovered records, then its own appends. */
  const written: TxnRecord[] = [];
  for (let round = 0; round < 4; round++) {
    const seen = new Observer(store);
    const settled = txnRecords(written.length + 1, 25, `round ${round}`);
    store.append(settled.slice(0, 5));
    store.append(settled.slice(5));
    written.push(...settled);
    await h.settle(() => seen.durable >= settled.at(-1)!.zxid);
    // These are still being written when the power goes: any prefix of them may survive.
    const inFlight = txnRecords(written.length + 1, 25, `round ${round} in flight`);
    store.append(inFlight.slice(0, 1));
    store.append(inFlight.slice(1));
    written.push(...inFlight);
    const durableAtCrash = seen.durable;

    store = await h.crash();
    const recovered = await store.recover();
    assert.equal(recovered.snapshot, null);
    const survivors = recovered.records.length;
    assert.ok(
      survivors >= written.findIndex((r) => r.zxid === durableAtCrash) + 1,
      `round ${round}: every record reported durable (up to ${durableAtCrash}) survives; ` +
        `recovered ${survivors}`,
    );
    assert.deepEqual(
      plain(recovered.records),
      plain(written.slice(0, survivors)),
      `round ${round}: recovery returns exactly a prefix of what was appended`,
    );
    assert.equal(store.durableZxid, recovered.records.at(-1)?.zxid ?? 0);
    // The owner re-issues everything after the survivors, as a restarted replica would.
    written.length = survivors;
  }
}

async function recoversSnapshotAndLaterRecords(h: StoreHarness): Promise<void> {
  let store = h.store;
  await store.recover();
  const seen = new Observer(store);
  const records = txnRecords(1, 18, "r");
  store.append(records.slice(0, 15));
  await h.settle(() => seen.durable >= 15);
  // A fuzzy snapshot: the log is already ahead of the state it captures.
  const image = imageAfter(records.slice(0, 10));
  const info = await store.saveSnapshot(image);
  assert.deepEqual(
    { zxid: info.zxid, nodeCount: info.nodeCount, sessionCount: info.sessionCount },
    { zxid: 10, nodeCount: image.nodes.length, sessionCount: 1 },
  );
  store.append(records.slice(15));
  await h.settle(() => seen.durable >= 18);

  store = await h.crash();
  const recovered = await store.recover();
  assert.deepEqual(normalise(recovered.snapshot), normalise(image));
  assert.deepEqual(plain(recovered.records), plain(records.slice(10)));
  assert.equal(store.durableZxid, 18);
  const tree = DataTree.fromNodes(recovered.snapshot!.nodes, recovered.snapshot!.zxid);
  for (const record of recovered.records) tree.apply(record);
  assert.deepEqual(
    normalise(tree.exportNodes()),
    normalise(imageAfter(records).nodes),
    "snapshot + replay rebuilds the tree",
  );
}

async function epochsPersist(h: StoreHarness): Promise<void> {
  let store = h.store;
  await store.recover();
  await store.writeEpochs({ acceptedEpoch: 1, currentEpoch: 0 });
  await store.writeEpochs({ acceptedEpoch: 2, currentEpoch: 1 });
  store = await h.crash();
  const recovered = await store.recover();
  assert.deepEqual(recovered.epochs, { acceptedEpoch: 2, currentEpoch: 1 });
}

async function epochsBackToBack(h: StoreHarness): Promise<void> {
  let store = h.store;
  await store.recover();
  // A ZAB step may learn a new acceptedEpoch and then a new currentEpoch in quick succession.
  for (let epoch = 1; epoch <= 10; epoch++) {
    const results = await Promise.allSettled([
      store.writeEpochs({ acceptedEpoch: epoch, currentEpoch: epoch - 1 }),
      store.writeEpochs({ acceptedEpoch: epoch, currentEpoch: epoch }),
    ]);
    assert.deepEqual(
      results.map((r) => r.status === "fulfilled" ? "ok" : String(r.reason)),
      ["ok", "ok"],
      `round ${epoch}: both writes resolve`,
    );
  }
  store = await h.crash();
  const recovered = await store.recover();
  assert.deepEqual(
    recovered.epochs,
    { acceptedEpoch: 10, currentEpoch: 10 },
    "the last write wins",
  );
}

async function retentionKeepsNewest(h: StoreHarness): Promise<void> {
  let store = h.store;
  await store.recover();
  const seen = new Observer(store);
  const records = txnRecords(1, 53, "r");
  for (let i = 0; i < 50; i += 10) {
    store.append(records.slice(i, i + 10));
    await h.settle(() => seen.durable >= i + 10);
    await store.saveSnapshot(imageAfter(records.slice(0, i + 10)));
  }
  store.append(records.slice(50));
  await h.settle(() => seen.durable >= 53);
  assert.deepEqual(await h.snapshotZxids(), [40, 50], "snapRetainCount 2 keeps the newest two");
  const logStart = await h.logStartZxid();
  assert.ok(
    logStart >= 1 && logStart <= 41,
    `the log still replays everything after the oldest kept snapshot (starts at ${logStart})`,
  );

  store = await h.crash();
  const recovered = await store.recover();
  assert.equal(recovered.snapshot?.zxid, 50);
  assert.deepEqual(plain(recovered.records), plain(records.slice(50)));
  // And the store goes on: purges did not leave it unable to append.
  const more = txnRecords(54, 2, "after restart");
  const again = new Observer(store);
  store.append(more);
  await h.settle(() => again.durable >= 55);
  store = await h.crash();
  assert.deepEqual(plain((await store.recover()).records), plain([...records.slice(50), ...more]));
}

async function failedRecordsNeverRecover(h: StoreHarness): Promise<void> {
  let store = h.store;
  await store.recover();
  const seen = new Observer(store);
  const first = txnRecords(1, 5, "kept");
  store.append(first);
  await h.settle(() => seen.durable >= 5);

  await h.failNextSync(6);
  const failed = txnRecords(6, 3, "failed");
  store.append(failed.slice(0, 1));
  store.append(failed.slice(1));
  await h.settle(() => seen.failures.length > 0);
  assert.deepEqual(seen.failures.map((f) => f.zxid), [6], "one report, from the first record");
  assert.ok(seen.failures[0].error instanceof Error);
  assert.equal(seen.durable, 5, "nothing from the failed sync is durable");
  assert.equal(store.durableZxid, 5);

  // The owner orders different txns under the same zxids once the cause is gone.
  const retried = txnRecords(6, 4, "retried");
  store.append(retried.slice(0, 2));
  store.append(retried.slice(2));
  await h.settle(() => seen.durable >= 9);
  assert.equal(seen.failures.length, 1, "the retry does not fail");

  store = await h.crash();
  const recovered = await store.recover();
  assert.deepEqual(plain(recovered.records), plain([...first, ...retried]));
}

// ---- ensemble sync: truncation and snapshot install -------------------------------------------

/** Appends `records` in batches of `batch` (one group commit each), waiting for each. */
async function appendInBatches(
  h: StoreHarness,
  records: readonly TxnRecord[],
  batch: number,
): Promise<void> {
  for (let i = 0; i < records.length; i += batch) {
    const slice = records.slice(i, i + batch);
    h.store.append(slice);
    await h.settle(() => h.store.durableZxid >= slice.at(-1)!.zxid);
  }
}

async function truncatesToPrefix(h: StoreHarness): Promise<void> {
  let store = h.store;
  await store.recover();
  const seen = new Observer(store);
  const records = txnRecords(1, 30, "r");
  await appendInBatches(h, records, 10);
  // The file store wrote batches 1-10, 11-20 and 21-30, each closed by its commit marker.
  const cuts: Array<[number, string]> = [
    [25, "inside the last batch"],
    [20, "at a batch boundary"],
    [13, "inside a batch that was not the last"],
    [13, "at the same place again"],
    [10, "at the first batch's boundary"],
  ];
  for (const [cut, where] of cuts) {
    await store.truncateAfter(cut);
    assert.equal(store.durableZxid, cut, `${where}: durableZxid`);
    const reloaded = await store.reload();
    assert.equal(reloaded.snapshot, null);
    assert.deepEqual(plain(reloaded.records), plain(records.slice(0, cut)), where);
    assert.deepEqual(reloaded.notes, [], `${where}: nothing to repair`);
    assert.equal(store.durableZxid, cut);
  }
  assert.deepEqual(seen.failures, []);

  store = await h.crash();
  const recovered = await store.recover();
  assert.deepEqual(plain(recovered.records), plain(records.slice(0, 10)));
  assert.deepEqual(recovered.notes, []);

  // Everything, then the zxids start over.
  await store.truncateAfter(0);
  assert.equal(store.durableZxid, 0);
  assert.deepEqual((await store.reload()).records, []);
  const again = txnRecords(1, 3, "again");
  store.append(again);
  await h.settle(() => store.durableZxid >= 3);
  store = await h.crash();
  assert.deepEqual(plain((await store.recover()).records), plain(again));
}

async function truncateThenNewEpoch(h: StoreHarness): Promise<void> {
  let store = h.store;
  await store.recover();
  const epoch1 = txnRecords(zxidOf(1, 1), 8, "epoch 1");
  await appendInBatches(h, epoch1, 3);
  // A follower told TRUNC by the new leader of epoch 2: its txns after 1:5 were never committed.
  await store.truncateAfter(zxidOf(1, 5));
  assert.equal(store.durableZxid, zxidOf(1, 5));
  const epoch2 = txnRecords(zxidOf(2, 1), 3, "epoch 2");
  store.append(epoch2.slice(0, 1));
  store.append(epoch2.slice(1));
  await h.settle(() => store.durableZxid >= zxidOf(2, 3));

  store = await h.crash();
  const recovered = await store.recover();
  assert.deepEqual(plain(recovered.records), plain([...epoch1.slice(0, 5), ...epoch2]));
  assert.deepEqual(recovered.notes, []);
  assert.equal(store.durableZxid, zxidOf(2, 3));
  // And truncating into the older epoch once more works across the epoch change.
  await store.truncateAfter(zxidOf(1, 4));
  assert.deepEqual(plain((await store.reload()).records), plain(epoch1.slice(0, 4)));
}

async function truncateWithAppendsInFlight(h: StoreHarness): Promise<void> {
  let store = h.store;
  await store.recover();
  const seen = new Observer(store);
  const records = txnRecords(1, 20, "r");
  await appendInBatches(h, records.slice(0, 10), 10);
  // Not yet durable when the truncation is asked for.
  store.append(records.slice(10, 15));
  store.append(records.slice(15));
  const truncated = store.truncateAfter(12);
  // Made after the call: they belong after the cut.
  const after = txnRecords(13, 3, "after the cut");
  store.append(after);
  await truncated;
  assert.ok(
    seen.reports.includes(20),
    `the appends in flight were made durable before the cut: ${seen.reports.join(",")}`,
  );
  assert.deepEqual(seen.failures, []);
  await h.settle(() => store.durableZxid >= 15);
  const expected = [...records.slice(0, 12), ...after];
  assert.deepEqual(plain((await store.reload()).records), plain(expected));

  store = await h.crash();
  assert.deepEqual(plain((await store.recover()).records), plain(expected));
}

async function truncateAtEndIsNoop(h: StoreHarness): Promise<void> {
  let store = h.store;
  await store.recover();
  const records = txnRecords(1, 12, "r");
  await appendInBatches(h, records.slice(0, 10), 5);
  for (const cut of [10, 50]) {
    await store.truncateAfter(cut);
    assert.equal(store.durableZxid, 10, `truncateAfter(${cut})`);
    const reloaded = await store.reload();
    assert.deepEqual(plain(reloaded.records), plain(records.slice(0, 10)), `after ${cut}`);
    assert.deepEqual(reloaded.notes, []);
  }
  store.append(records.slice(10));
  await h.settle(() => store.durableZxid >= 12);
  store = await h.crash();
  assert.deepEqual(plain((await store.recover()).records), plain(records));
}

async function truncateToSnapshot(h: StoreHarness): Promise<void> {
  let store = h.store;
  await store.recover();
  const records = txnRecords(1, 15, "r");
  await appendInBatches(h, records, 15);
  const image = imageAfter(records.slice(0, 10));
  await store.saveSnapshot(image);
  await store.truncateAfter(10);
  assert.equal(store.durableZxid, 10);
  assert.deepEqual(await h.snapshotZxids(), [10]);
  const reloaded = await store.reload();
  assert.deepEqual(normalise(reloaded.snapshot), normalise(image));
  assert.deepEqual(reloaded.records, []);

  store = await h.crash();
  const recovered = await store.recover();
  assert.deepEqual(normalise(recovered.snapshot), normalise(image));
  assert.deepEqual(recovered.records, []);
  assert.equal(store.durableZxid, 10);
  const retried = txnRecords(11, 2, "retried");
  store.append(retried);
  await h.settle(() => store.durableZxid >= 12);
  store = await h.crash();
  const again = await store.recover();
  assert.equal(again.snapshot?.zxid, 10);
  assert.deepEqual(plain(again.records), plain(retried));
}

async function truncateBelowSnapshot(h: StoreHarness): Promise<void> {
  let store = h.store;
  await store.recover();
  const records = txnRecords(1, 15, "r");
  await appendInBatches(h, records, 5);
  await store.saveSnapshot(imageAfter(records.slice(0, 10)));
  await assert.rejects(store.truncateAfter(9), /newest snapshot already holds the state at 0xa/);
  assert.equal(store.durableZxid, 15);
  const reloaded = await store.reload();
  assert.equal(reloaded.snapshot?.zxid, 10);
  assert.deepEqual(plain(reloaded.records), plain(records.slice(10)));
  // The store goes on as before.
  const more = txnRecords(16, 2, "more");
  store.append(more);
  await h.settle(() => store.durableZxid >= 17);
  store = await h.crash();
  const recovered = await store.recover();
  assert.equal(recovered.snapshot?.zxid, 10);
  assert.deepEqual(plain(recovered.records), plain([...records.slice(10), ...more]));
}

async function installSnapshotThenAppend(h: StoreHarness): Promise<void> {
  let store = h.store;
  await store.recover();
  const seen = new Observer(store);
  const own = txnRecords(1, 8, "own");
  await appendInBatches(h, own.slice(0, 5), 5);
  store.append(own.slice(5)); // still in flight when the image arrives
  const leader = txnRecords(1, 20, "leader");
  const image = imageAfter(leader);
  await store.installSnapshot(image);
  assert.ok(seen.reports.includes(8), "the appends in flight were written first");
  assert.deepEqual(seen.failures, []);
  assert.equal(store.durableZxid, 20);
  assert.deepEqual(await h.snapshotZxids(), [20]);
  assert.equal(await h.logStartZxid(), 0, "no log is left");
  const reloaded = await store.reload();
  assert.deepEqual(normalise(reloaded.snapshot), normalise(image));
  assert.deepEqual(reloaded.records, []);

  store = await h.crash();
  const recovered = await store.recover();
  assert.deepEqual(normalise(recovered.snapshot), normalise(image));
  assert.deepEqual(recovered.records, []);
  // The file store says it found no log after the snapshot; that is all it may say.
  assert.deepEqual(recovered.notes.filter((n) => !/^no txn log after snapshot/.test(n)), []);
  assert.equal(store.durableZxid, 20);

  const next = txnRecords(21, 3, "after the image");
  store.append(next);
  await h.settle(() => store.durableZxid >= 23);
  store = await h.crash();
  const again = await store.recover();
  assert.deepEqual(normalise(again.snapshot), normalise(image));
  assert.deepEqual(plain(again.records), plain(next));
  const tree = DataTree.fromNodes(again.snapshot!.nodes, again.snapshot!.zxid);
  for (const record of again.records) tree.apply(record);
  assert.deepEqual(
    normalise(tree.exportNodes()),
    normalise(imageAfter([...leader, ...next]).nodes),
    "image + replay rebuilds the leader's tree",
  );
}

async function installSnapshotOverDivergedLog(h: StoreHarness): Promise<void> {
  let store = h.store;
  await store.recover();
  const common = txnRecords(zxidOf(1, 1), 5, "common");
  const diverged = txnRecords(zxidOf(2, 1), 4, "never committed");
  await appendInBatches(h, common, 5);
  await appendInBatches(h, diverged, 2);
  // Even a snapshot past the image (the ZAB core never takes one of uncommitted txns) goes.
  await store.saveSnapshot(imageAfter([...common, ...diverged.slice(0, 2)]));
  const leader = [...common, ...txnRecords(zxidOf(1, 6), 2, "leader")];
  const image = imageAfter(leader);
  assert.equal(image.zxid, zxidOf(1, 7));
  await store.installSnapshot(image);
  assert.equal(store.durableZxid, zxidOf(1, 7));
  assert.deepEqual(await h.snapshotZxids(), [zxidOf(1, 7)]);
  const reloaded = await store.reload();
  assert.deepEqual(normalise(reloaded.snapshot), normalise(image));
  assert.deepEqual(reloaded.records, []);

  const epoch3 = txnRecords(zxidOf(3, 1), 2, "epoch 3");
  store.append(epoch3);
  await h.settle(() => store.durableZxid >= zxidOf(3, 2));
  store = await h.crash();
  const recovered = await store.recover();
  assert.deepEqual(normalise(recovered.snapshot), normalise(image));
  assert.deepEqual(plain(recovered.records), plain(epoch3), "nothing of epoch 2 comes back");
  assert.deepEqual(recovered.notes, []);
}
