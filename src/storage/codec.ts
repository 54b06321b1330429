/**
 * How txn records, snapshot chunks and epochs are laid out as record bodies (docs/STORAGE.md).
 * Compact arrays rather than maps: these are written for every txn.
 * @module
 */
import type { NodeImage } from "../tree/data_tree.ts";
import type { Txn, TxnRecord } from "../tree/txn.ts";
import { type Acl, type Stat, statFields } from "../tree/types.ts";
import type { SessionImage } from "./types.ts";

/** A txn record as stored: `[zxid, timeMs, sessionId, txn]`. */
export function recordToBody(record: TxnRecord): unknown {
  return [record.zxid, record.timeMs, record.sessionId, record.txn];
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
 * for ZooKeeper's null data. The data is a copy: cbor-x asks every typed array it writes for its
 * `.buffer`, which would leave each of the tree's own small values wrapped in an ArrayBuffer
 * object after every snapshot (see `ownBytes` in the tree).
 */
export function nodeToBody(node: NodeImage): unknown {
  return [
    node.path,
    node.dataNull ? null : node.data.slice(),
    node.acl.map((a) => [a.perms, a.scheme, a.id]),
    statFields.map((f) => node.stat[f]),
  ];
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
