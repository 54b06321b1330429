/**
 * How txn records, snapshot chunks and epochs are laid out as record bodies (docs/STORAGE.md).
 * Compact arrays rather than maps: these are written for every txn.
 * @module
 */
import type { NodeImage } from "../tree/data_tree.ts";
import type { Txn, TxnRecord } from "../tree/txn.ts";
import { type Acl, type Stat, statFields } from "../tree/types.ts";
import { encodeRecordBody } from "./record.ts";
import type { SessionImage } from "./types.ts";

/** A txn record as stored: `[zxid, timeMs, sessionId, txn]`. */
export function recordToBody(record: TxnRecord): unknown {
  return [record.zxid, record.timeMs, record.sessionId, record.txn];
}

/**
 * The encoded body of every txn record encoded or received so far, while the record lives. A txn
 * goes to the log and, on a leader, to every learner in a PROPOSAL that carries these same bytes
 * (src/ensemble/node.ts), so each member encodes each txn at most once. Records are never changed
 * once made, so the bytes stay true.
 */
const recordBytes = new WeakMap<TxnRecord, Uint8Array>();

/** The body of `record` (`recordToBody` as CBOR), encoded the first time it is asked for. */
export function encodedRecordBody(record: TxnRecord): Uint8Array {
  let bytes = recordBytes.get(record);
  if (bytes === undefined) {
    bytes = encodeRecordBody(recordToBody(record));
    recordBytes.set(record, bytes);
  }
  return bytes;
}

/**
 * Notes that `bytes` is the body of `record`, as when a learner has checked a record it received
 * as bytes: its log then gets those bytes without encoding them again.
 */
export function rememberRecordBody(record: TxnRecord, bytes: Uint8Array): void {
  recordBytes.set(record, bytes);
}

function isInt(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value);
}

/** The record in a body, or null when the body is not a txn record. */
export function bodyToRecord(body: unknown): TxnRecord | null {
  if (!Array.isArray(body) || body.length !== 4) return null;
  const [zxid, timeMs, sessionId, txn] = body;
  if (!isInt(zxid) || !isInt(timeMs) || !isInt(sessionId)) return null;
  if (typeof txn !== "object" || txn === null || typeof (txn as Txn).type !== "string") return null;
  return { zxid, timeMs, sessionId, txn: txn as Txn };
}

/**
 * A node as stored: `[path, data, [[perms, scheme, id], ...], [stat fields...]]`; `data` is null
 * for ZooKeeper's null data. See {@linkcode nodesToBodies}, which is cheaper for many nodes.
 */
export function nodeToBody(node: NodeImage): unknown {
  return nodesToBodies([node])[0];
}

/**
 * The bodies of `nodes`, as {@linkcode nodeToBody} writes each. The tree's small values must not
 * be asked for their `.buffer` (on JavaScriptCore that moves them out of line for good), so
 * src/wire/cbor.ts writes a small array from a fresh copy, one allocation per value. Here the
 * values are copied first, packed into one ArrayBuffer for all of them, and the views into it are
 * written as they are. A value with a non-zero `byteOffset` is a view already (one restored from a
 * snapshot) and is written as it is, so a snapshot of a restored tree copies nothing.
 */
export function nodesToBodies(nodes: readonly NodeImage[]): unknown[] {
  let bytes = 0;
  for (const node of nodes) if (mayLackBuffer(node)) bytes += node.data.byteLength;
  const packed = new ArrayBuffer(bytes);
  let offset = 0;
  return nodes.map((node) => {
    let data = node.dataNull ? null : node.data;
    if (mayLackBuffer(node)) {
      data = new Uint8Array(packed, offset, node.data.byteLength);
      data.set(node.data);
      offset += node.data.byteLength;
    }
    return [
      node.path,
      data,
      node.acl.map((a) => [a.perms, a.scheme, a.id]),
      statFields.map((f) => node.stat[f]),
    ];
  });
}

/** True when the node's value may be a small typed array without an ArrayBuffer of its own yet. */
function mayLackBuffer(node: NodeImage): boolean {
  return !node.dataNull && node.data.byteLength > 0 && node.data.byteOffset === 0;
}

/** The node in a body, or null when malformed. */
export function bodyToNode(body: unknown): NodeImage | null {
  if (!Array.isArray(body) || body.length !== 4) return null;
  const [path, data, acl, stat] = body;
  if (
    typeof path !== "string" || !(data instanceof Uint8Array || data === null) ||
    !Array.isArray(acl) || !Array.isArray(stat)
  ) return null;
  if (stat.length !== statFields.length || !stat.every(isInt)) return null;
  const acls: Acl[] = [];
  for (const entry of acl) {
    if (
      !Array.isArray(entry) || !isInt(entry[0]) || typeof entry[1] !== "string" ||
      typeof entry[2] !== "string"
    ) return null;
    acls.push({ perms: entry[0], scheme: entry[1], id: entry[2] });
  }
  const out = {} as Stat;
  statFields.forEach((f, i) => out[f] = stat[i]);
  return data === null
    ? { path, data: new Uint8Array(0), acl: acls, stat: out, dataNull: true }
    : { path, data, acl: acls, stat: out };
}

/** A session as stored: `[id, timeoutMs, password]`. */
export function sessionToBody(session: SessionImage): unknown {
  return [session.id, session.timeoutMs, session.password];
}

/** The session in a body, or null when malformed. */
export function bodyToSession(body: unknown): SessionImage | null {
  if (!Array.isArray(body) || body.length !== 3) return null;
  const [id, timeoutMs, password] = body;
  if (!isInt(id) || !isInt(timeoutMs) || !(password instanceof Uint8Array)) return null;
  return { id, timeoutMs, password };
}
