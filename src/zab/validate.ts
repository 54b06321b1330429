/**
 * Turns a value decoded from a peer link into a typed {@linkcode PeerMessage}, or rejects it.
 * The ZAB core trusts its input's types (a string zxid would compare wrongly, an epoch past
 * {@linkcode zxidEpochMax} would throw in `makeZxid`), so a host validates every message from the
 * network here first. `SNAP.image` is left `unknown`: the host checks it when it installs it.
 *
 * The result is rebuilt from the checked fields only: extra fields are dropped, and a field is
 * read only if it is the value's own property (a `__proto__` key cannot smuggle one in).
 * @module
 */
import type { Acl } from "../tree/types.ts";
import { type Txn, type TxnRecord, zxidEpochMax } from "../tree/txn.ts";
import { ttlMsMax } from "../constants.ts";
import { validatePath } from "../tree/path.ts";
import type { Ack, PeerMessage } from "./messages.ts";
import type { Notification, ServerState, Vote } from "./types.ts";
import { NO_VOTE } from "./election.ts";

/** Why a value was rejected (internal: every public entry point returns null instead). */
class Malformed extends Error {}

function fail(message: string): never {
  throw new Malformed(message);
}

type Fields = Record<string, unknown>;

function isRecord(value: unknown): value is Fields {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Uint8Array);
}

function record(value: unknown, what: string): Fields {
  if (!isRecord(value)) fail(`${what} must be a map`);
  return value;
}

/** An own property of `obj` (inherited ones count as missing). */
function field(obj: Fields, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** A safe integer in [min, max]. */
function int(obj: Fields, key: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const value = field(obj, key);
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    fail(`"${key}" must be an integer in [${min}, ${max}]`);
  }
  return value;
}

function zxid(obj: Fields, key: string): number {
  return int(obj, key);
}

function epoch(obj: Fields, key: string): number {
  return int(obj, key, 0, zxidEpochMax);
}

function serverId(obj: Fields, key: string): number {
  return int(obj, key, 0, 255);
}

function bool(obj: Fields, key: string): boolean {
  const value = field(obj, key);
  if (typeof value !== "boolean") fail(`"${key}" must be a boolean`);
  return value;
}

function str(obj: Fields, key: string): string {
  const value = field(obj, key);
  if (typeof value !== "string") fail(`"${key}" must be a string`);
  return value;
}

function bytes(obj: Fields, key: string): Uint8Array {
  const value = field(obj, key);
  if (!(value instanceof Uint8Array)) fail(`"${key}" must be a byte string`);
  return value;
}

function path(obj: Fields): string {
  const value = str(obj, "path");
  const problem = validatePath(value);
  if (problem !== null) fail(`"path" ${problem}`);
  return value;
}

function acl(obj: Fields): Acl[] {
  const value = field(obj, "acl");
  if (!Array.isArray(value)) fail(`"acl" must be an array`);
  return value.map((entry, i) => {
    const e = record(entry, `acl[${i}]`);
    return { perms: int(e, "perms", 0, 31), scheme: str(e, "scheme"), id: str(e, "id") };
  });
}

const serverStates: readonly ServerState[] = ["LOOKING", "FOLLOWING", "LEADING", "OBSERVING"];

function vote(value: unknown): Vote {
  const v = record(value, "vote");
  // An observer that has learned nothing yet proposes no one (election.ts NO_VOTE); refusing it
  // kept a late observer from ever hearing the leader (found by the ensemble e2e tests).
  const none = field(v, "leader") === NO_VOTE.leader && field(v, "zxid") === NO_VOTE.zxid &&
    field(v, "epoch") === NO_VOTE.epoch;
  if (none) {
    return { ...NO_VOTE };
  }
  return { leader: serverId(v, "leader"), zxid: zxid(v, "zxid"), epoch: epoch(v, "epoch") };
}

function notification(value: unknown): Notification {
  const n = record(value, "notification");
  const state = field(n, "state");
  if (typeof state !== "string" || !(serverStates as readonly string[]).includes(state)) {
    fail(`"state" must be one of ${serverStates.join(", ")}`);
  }
  return { round: int(n, "round"), state: state as ServerState, vote: vote(field(n, "vote")) };
}

/** The `dataNull` flag of a create or setData txn: absent, or true with empty data. */
function nullData(t: Record<string, unknown>): { dataNull?: true } {
  const flag = field(t, "dataNull");
  if (flag === undefined) return {};
  if (flag !== true) fail(`"dataNull" must be true when present`);
  return { dataNull: true };
}

/** One txn; `nested` is true inside a multi, which admits neither a multi nor a session txn. */
function txn(value: unknown, nested: boolean): Txn {
  const t = record(value, "txn");
  const type = field(t, "type");
  switch (type) {
    case "create":
      return {
        type,
        path: path(t),
        data: bytes(t, "data"),
        acl: acl(t),
        // A session, 0, or a container (-1) or TTL node (-(1 + ttlMs)): tree/types.ts.
        ephemeralOwner: int(t, "ephemeralOwner", -(1 + ttlMsMax)),
        // The system nodes start below zero (tree/types.ts childrenCreated); ZooKeeper's counter
        // is a signed 32-bit int.
        parentCversion: int(t, "parentCversion", -(2 ** 31)),
        ...nullData(t),
      };
    case "delete":
      return { type, path: path(t) };
    case "setData":
      return {
        type,
        path: path(t),
        data: bytes(t, "data"),
        version: int(t, "version"),
        ...nullData(t),
      };
    case "setACL":
      return { type, path: path(t), acl: acl(t), aversion: int(t, "aversion") };
    case "check":
      return { type, path: path(t), version: int(t, "version", -1) };
    case "multi": {
      if (nested) fail("a multi cannot nest a multi");
      const txns = field(t, "txns");
      if (!Array.isArray(txns)) fail(`"txns" must be an array`);
      return { type, txns: txns.map((inner) => txn(inner, true)) };
    }
    case "createSession":
      if (nested) fail("a multi cannot nest a session txn");
      return {
        type,
        sessionId: int(t, "sessionId"),
        timeoutMs: int(t, "timeoutMs"),
        password: bytes(t, "password"),
      };
    case "closeSession":
      if (nested) fail("a multi cannot nest a session txn");
      return { type, sessionId: int(t, "sessionId") };
    default:
      fail(`unknown txn type ${JSON.stringify(type)}`);
  }
}

function txnRecord(value: unknown): TxnRecord {
  const r = record(value, "record");
  return {
    zxid: zxid(r, "zxid"),
    timeMs: int(r, "timeMs"),
    sessionId: int(r, "sessionId"),
    txn: txn(field(r, "txn"), false),
  };
}

function message(value: unknown): PeerMessage {
  const m = record(value, "message");
  const type = field(m, "type");
  switch (type) {
    case "FOLLOWERINFO":
      return { type, acceptedEpoch: epoch(m, "acceptedEpoch"), observer: bool(m, "observer") };
    case "LEADERINFO":
      return { type, epoch: epoch(m, "epoch") };
    case "ACKEPOCH":
      return {
        type,
        epoch: epoch(m, "epoch"),
        currentEpoch: epoch(m, "currentEpoch"),
        lastZxid: zxid(m, "lastZxid"),
        baseZxid: zxid(m, "baseZxid"),
      };
    case "DIFF":
      return { type, lastZxid: zxid(m, "lastZxid") };
    case "TRUNC":
      return { type, zxid: zxid(m, "zxid") };
    case "SNAP":
      if (!Object.hasOwn(m, "image")) fail(`"image" is missing`);
      return { type, zxid: zxid(m, "zxid"), image: m["image"] };
    case "NEWLEADER":
      return { type, epoch: epoch(m, "epoch") };
    case "UPTODATE":
      return { type, zxid: zxid(m, "zxid") };
    case "PROPOSAL":
      return { type, record: txnRecord(field(m, "record")) };
    case "ACK": {
      const ack: Ack = { type, zxid: zxid(m, "zxid") };
      if (field(m, "newLeader") !== undefined) ack.newLeader = bool(m, "newLeader");
      return ack;
    }
    case "COMMIT":
      return { type, zxid: zxid(m, "zxid") };
    case "INFORM":
      return { type, record: txnRecord(field(m, "record")) };
    case "PING":
      return { type };
    case "NOTIFICATION":
      return { type, notification: notification(field(m, "notification")) };
    default:
      fail(`unknown message type ${JSON.stringify(type)}`);
  }
}

/**
 * The {@linkcode PeerMessage} `value` describes, checked field by field (types, ranges, the
 * ServerState names, the txn shapes of src/tree/txn.ts), or `null` when anything is malformed.
 * Never throws on any input.
 *
 * @example
 * ```ts
 * import { parsePeerMessage } from "./validate.ts";
 * parsePeerMessage({ type: "COMMIT", zxid: 4294967297 }); // { type: "COMMIT", zxid: 4294967297 }
 * parsePeerMessage({ type: "COMMIT", zxid: -1 }); // null
 * ```
 */
export function parsePeerMessage(value: unknown): PeerMessage | null {
  try {
    return message(value);
  } catch (error) {
    if (error instanceof Malformed) return null;
    // Decoded CBOR is plain data, so nothing else can throw here: anything that does is a bug.
    throw error;
  }
}
