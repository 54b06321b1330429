/**
 * Small helpers of the client: a FIFO queue, a cancellable delay, option and argument checks,
 * and the split of watch paths into setWatches requests. Private to the client folder.
 * @module
 */
import { ttlMsMax } from "../constants.ts";
import type { Acl, CreateMode } from "../tree/types.ts";
import { ttlModes } from "../tree/types.ts";
import { type WatcherType, watcherTypes } from "../wire/messages.ts";
import type { PendingWatchPaths } from "./_watch_registry.ts";
import { BadArgumentsError } from "./errors.ts";

const encoder = new TextEncoder();

/** Largest version a conditional update can name (versions are signed 32-bit). */
export const versionMax = 0x7fffffff;

/** Most paths in one setWatches request the client sends (the server accepts more). */
const setWatchesPathsPerRequestMax = 10_000;

/**
 * First-in first-out queue with O(1) shift.
 *
 * @example
 * ```ts
 * import { Fifo } from "./_util.ts";
 * const queue = new Fifo<number>();
 * queue.push(1);
 * queue.push(2);
 * queue.shift(); // 1
 * ```
 */
export class Fifo<T> {
  #items: T[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  peek(): T | undefined {
    return this.#items[this.#head];
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined as T;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Removes and returns everything, in order. */
  drain(): T[] {
    const items = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return items;
  }
}

/**
 * A promise with a way to stop its timer early.
 *
 * @example
 * ```ts
 * import { type Cancellable, delay } from "./_util.ts";
 * const wait: Promise<void> & Cancellable = delay(1000);
 * wait.cancel();
 * ```
 */
export interface Cancellable {
  cancel(): void;
}

/**
 * Resolves after `ms`; `cancel()` clears the timer (and resolves at once).
 *
 * @example
 * ```ts
 * import { delay } from "./_util.ts";
 * await delay(1);
 * ```
 */
export function delay(ms: number): Promise<void> & Cancellable {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let done!: () => void;
  const promise = new Promise<void>((resolve) => {
    done = resolve;
    timer = setTimeout(resolve, ms);
  }) as Promise<void> & Cancellable;
  promise.cancel = () => {
    clearTimeout(timer);
    done();
  };
  return promise;
}

/**
 * An optional positive integer option, or its default; BadArguments otherwise.
 *
 * @example
 * ```ts
 * import { positiveInt } from "./_util.ts";
 * positiveInt(undefined, 10, "retryDelayMsMin"); // 10
 * ```
 */
export function positiveInt(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new BadArgumentsError(`Option ${name} must be a positive integer, not ${value}`);
  }
  return value;
}

/**
 * A version option: -1 (any) when absent, else an integer in [-1, 2^31); BadArguments otherwise.
 *
 * @example
 * ```ts
 * import { checkVersion } from "./_util.ts";
 * checkVersion(undefined); // -1
 * ```
 */
export function checkVersion(version: number | undefined): number {
  if (version === undefined) return -1;
  if (!Number.isInteger(version) || version < -1 || version > versionMax) {
    throw new BadArgumentsError(
      `A version must be -1 or an integer in [0, ${versionMax}], not ${version}`,
    );
  }
  return version;
}

/**
 * The `ttlMs` of a create: required (an integer in [1, 2^40)) for the TTL modes, absent for the
 * others; BadArguments otherwise.
 *
 * @example
 * ```ts
 * import { checkTtl } from "./_util.ts";
 * checkTtl("persistentWithTtl", 60_000, "/t"); // 60000
 * checkTtl("container", undefined, "/c"); // undefined
 * ```
 */
export function checkTtl(
  mode: CreateMode,
  ttlMs: number | undefined,
  path: string,
): number | undefined {
  if (!ttlModes.has(mode)) {
    if (ttlMs === undefined) return undefined;
    throw new BadArgumentsError(
      `Option ttlMs is only for the modes persistentWithTtl and persistentSequentialWithTtl, not ${mode}`,
      path,
    );
  }
  if (ttlMs === undefined || !Number.isSafeInteger(ttlMs) || ttlMs < 1 || ttlMs > ttlMsMax) {
    throw new BadArgumentsError(
      `Mode ${mode} needs option ttlMs, an integer in [1, ${ttlMsMax}], not ${ttlMs}`,
      path,
    );
  }
  return ttlMs;
}

/**
 * A watch type of removeWatches/checkWatches; BadArguments when it is none.
 *
 * @example
 * ```ts
 * import { checkWatcherType } from "./_util.ts";
 * checkWatcherType("persistentRecursive"); // "persistentRecursive"
 * ```
 */
export function checkWatcherType(type: WatcherType): WatcherType {
  if (!watcherTypes.includes(type)) {
    throw new BadArgumentsError(
      `Unknown watch type ${JSON.stringify(type)}; use one of ${watcherTypes.join(", ")}`,
    );
  }
  return type;
}

/**
 * A plain copy of an ACL (the server judges its content); BadArguments when it is no array.
 *
 * @example
 * ```ts
 * import { checkAcl } from "./_util.ts";
 * checkAcl([{ perms: 31, scheme: "world", id: "anyone" }]);
 * ```
 */
export function checkAcl(acl: readonly Acl[]): Acl[] {
  if (!Array.isArray(acl)) {
    throw new BadArgumentsError("An ACL must be an array of {perms, scheme, id}");
  }
  return acl.map((entry, i) => {
    if (typeof entry !== "object" || entry === null) {
      throw new BadArgumentsError(`acl[${i}] must be {perms, scheme, id}`);
    }
    return { perms: entry.perms, scheme: entry.scheme, id: entry.id };
  });
}

/**
 * A shuffled copy (Fisher-Yates), so clients spread over the ensemble.
 *
 * @example
 * ```ts
 * import { shuffled } from "./_util.ts";
 * shuffled([1, 2, 3]).length; // 3
 * ```
 */
export function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * True when two byte arrays hold the same bytes.
 *
 * @example
 * ```ts
 * import { equalBytes } from "./_util.ts";
 * equalBytes(new Uint8Array([1]), new Uint8Array([1])); // true
 * ```
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The watch lists of one setWatches request, as the protocol names them.
 *
 * @example
 * ```ts
 * import type { SetWatchesLists } from "./_util.ts";
 * const lists: SetWatchesLists = {
 *   dataWatches: ["/a"],
 *   existWatches: [],
 *   childWatches: [],
 *   persistentWatches: [],
 *   persistentRecursiveWatches: ["/app"],
 * };
 * ```
 */
export interface SetWatchesLists {
  dataWatches: string[];
  existWatches: string[];
  childWatches: string[];
  persistentWatches: string[];
  persistentRecursiveWatches: string[];
}

function emptyLists(): SetWatchesLists {
  return {
    dataWatches: [],
    existWatches: [],
    childWatches: [],
    persistentWatches: [],
    persistentRecursiveWatches: [],
  };
}

/**
 * Splits watch paths into setWatches bodies that each fit well within a frame.
 *
 * @example
 * ```ts
 * import { chunkWatches } from "./_util.ts";
 * const paths = { data: ["/a"], exist: [], child: ["/"], persistent: [], persistentRecursive: [] };
 * chunkWatches(paths, 4 * 1024 * 1024);
 * // [{ dataWatches: ["/a"], existWatches: [], childWatches: ["/"], persistentWatches: [],
 * //    persistentRecursiveWatches: [] }]
 * ```
 */
export function chunkWatches(paths: PendingWatchPaths, frameBytesMax: number): SetWatchesLists[] {
  const budgetBytes = Math.max(64 * 1024, Math.floor(frameBytesMax / 2));
  const chunks: SetWatchesLists[] = [];
  let current = emptyLists();
  let bytes = 0;
  let count = 0;
  const lists = [
    ["dataWatches", paths.data],
    ["existWatches", paths.exist],
    ["childWatches", paths.child],
    ["persistentWatches", paths.persistent],
    ["persistentRecursiveWatches", paths.persistentRecursive],
  ] as const;
  for (const [key, list] of lists) {
    for (const path of list) {
      const size = encoder.encode(path).byteLength + 8;
      if (count > 0 && (bytes + size > budgetBytes || count >= setWatchesPathsPerRequestMax)) {
        chunks.push(current);
        current = emptyLists();
        bytes = 0;
        count = 0;
      }
      current[key].push(path);
      bytes += size;
      count++;
    }
  }
  if (count > 0) chunks.push(current);
  return chunks;
}
