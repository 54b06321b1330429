/**
 * Reading a txn log file, the one set of rules shared by recovery (`FileStore.recover`) and
 * inspection (`corral data inspect`); docs/STORAGE.md states them.
 *
 * Each group commit writes its txn records followed by a **commit marker** `{commit: lastZxid}`,
 * in one write that is then synced. A batch counts only once its marker is there, so:
 * - damage, or records without a marker, in the final batch of the **last** file is a torn tail:
 *   a batch whose write a crash interrupted, never acknowledged; it is cut off. A power cut may
 *   persist a batch's pages out of order, so the torn batch's own marker can survive after its
 *   damage: one valid marker after the damage is still the final batch;
 * - damage followed by two or more valid markers is corruption of acknowledged data (a batch is
 *   written only after the one before it was synced), and so is any damage in a file that is not
 *   the last one (a file is rolled only after a completed sync).
 * @module
 */
import type { TxnRecord } from "../tree/txn.ts";
import { bodyToRecord } from "./codec.ts";
import { checkFileHeader, fileHeaderBytes, readRecord, recordHeaderBytes } from "./record.ts";

/** Magic of a txn log file (docs/STORAGE.md). */
export const logMagic = "CORRALLG";

/** The body of a commit marker: the zxid of the batch's last txn. */
export function commitMarkerBody(lastZxid: number): unknown {
  return { commit: lastZxid };
}

function markerZxid(value: unknown): number | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const commit = (value as { commit?: unknown }).commit;
  return typeof commit === "number" && Number.isSafeInteger(commit) ? commit : null;
}

/** The state of a log file: fine, a torn final batch to cut at `offset`, or corrupt at `offset`. */
export type LogScanStatus =
  | { kind: "ok" }
  /** Recovery truncates the file to `offset` (the end of the last committed batch). */
  | { kind: "tornTail"; offset: number; bytes: number; reason: string }
  | { kind: "corrupt"; offset: number; reason: string };

/** What a log file holds: its committed records (with offsets) and its status. */
export interface LogScan {
  records: Array<{ record: TxnRecord; offset: number }>;
  status: LogScanStatus;
}

/** Largest marker body: `{commit: n}` in CBOR is at most 17 bytes. */
const markerBodyBytesMax = 32;

/**
 * Counts valid commit markers starting after `from`, up to `limit`. Used only after damage, to
 * tell the torn final batch (at most its own marker after the damage) from damaged acknowledged
 * data (a later batch's marker too).
 */
function markersAfter(bytes: Uint8Array, from: number, limit: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let found = 0;
  for (
    let offset = from;
    offset + recordHeaderBytes < bytes.byteLength && found < limit;
    offset++
  ) {
    const length = view.getUint32(offset);
    if (length === 0 || length > markerBodyBytesMax) continue;
    const read = readRecord(bytes, offset);
    if (read.kind === "record" && markerZxid(read.value) !== null) {
      found++;
      offset = read.next - 1;
    }
  }
  return found;
}

/**
 * Scans one log file's bytes. `isLast` says whether it is the newest log file, the only one a
 * crash can have left with a torn final batch.
 *
 * @example
 * ```ts
 * import { scanLog } from "./log_scan.ts";
 * const scan = scanLog(new Uint8Array(16), true);
 * scan.status.kind; // "tornTail" or "corrupt" for a file that is all zeros
 * ```
 */
export function scanLog(bytes: Uint8Array, isLast: boolean): LogScan {
  const records: LogScan["records"] = [];
  const problem = checkFileHeader(bytes, logMagic);
  if (problem !== null) {
    const never = isLast && bytes.byteLength <= fileHeaderBytes;
    return {
      records,
      status: never
        ? {
          kind: "tornTail",
          offset: 0,
          bytes: bytes.byteLength,
          reason: `the header was never completely written (${problem})`,
        }
        : { kind: "corrupt", offset: 0, reason: problem },
    };
  }
  let offset = fileHeaderBytes;
  let committedEnd = fileHeaderBytes;
  let batch: LogScan["records"] = [];
  // `at`: where the damage is (reported for corruption); the cut for a torn tail is committedEnd.
  const torn = (reason: string, at = committedEnd): LogScan => ({
    records,
    status: isLast
      ? { kind: "tornTail", offset: committedEnd, bytes: bytes.byteLength - committedEnd, reason }
      : {
        kind: "corrupt",
        offset: at,
        reason: `${reason}, in a log file that is not the last`,
      },
  });
  for (;;) {
    const read = readRecord(bytes, offset);
    if (read.kind === "end") {
      return batch.length === 0 ? { records, status: { kind: "ok" } } : torn(
        `${batch.length} txn record(s) after offset ${committedEnd} have no commit marker (an interrupted batch)`,
      );
    }
    if (read.kind === "damaged") {
      if (markersAfter(bytes, read.offset + 1, 2) >= 2) {
        return {
          records,
          status: {
            kind: "corrupt",
            offset: read.offset,
            reason: `${read.reason}, before acknowledged data`,
          },
        };
      }
      return torn(`record at offset ${read.offset}: ${read.reason}`, read.offset);
    }
    const commit = markerZxid(read.value);
    if (commit !== null) {
      if (batch.length === 0 || batch.at(-1)!.record.zxid !== commit) {
        return {
          records,
          status: {
            kind: "corrupt",
            offset: read.offset,
            reason: "a commit marker that does not close the batch before it",
          },
        };
      }
      records.push(...batch);
      batch = [];
      committedEnd = read.next;
    } else {
      const record = bodyToRecord(read.value);
      if (record === null) {
        return {
          records,
          status: { kind: "corrupt", offset: read.offset, reason: "not a txn record" },
        };
      }
      batch.push({ record, offset: read.offset });
    }
    offset = read.next;
  }
}
