/**
 * A {@linkcode TxnStore} that keeps records in memory: durable as soon as they are appended, for
 * the life of the process. It still reports durability asynchronously, once per batch, so the
 * replica's ordering and batching behave as they will with a file store.
 * @module
 */
import { assert } from "../assert.ts";
import type { TxnRecord } from "../tree/txn.ts";
import type { TxnStore } from "./types.ts";

/**
 * In-memory txn store.
 *
 * @example
 * ```ts
 * import { MemoryStore } from "./memory_store.ts";
 * const store = new MemoryStore();
 * store.onDurable((zxid) => console.log("durable up to", zxid));
 * ```
 */
export class MemoryStore implements TxnStore {
  readonly records: TxnRecord[] = [];
  #durableZxid = 0;
  #callback: ((zxid: number) => void) | null = null;
  #scheduled = false;
  #closed = false;

  get durableZxid(): number {
    return this.#durableZxid;
  }

  append(records: readonly TxnRecord[]): void {
    assert(!this.#closed, "no append after close");
    for (const record of records) {
      const last = this.records.at(-1)?.zxid ?? 0;
      assert(record.zxid > last, `zxid ${record.zxid} follows ${last}`);
      this.records.push(record);
    }
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      if (this.#closed || this.records.length === 0) return;
      this.#durableZxid = this.records.at(-1)!.zxid;
      this.#callback?.(this.#durableZxid);
    });
  }

  onDurable(callback: (zxid: number) => void): void {
    this.#callback = callback;
  }

  onFailure(_callback: (zxid: number, error: Error) => void): void {
    // Memory does not fail: nothing to report.
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}
