/**
 * The vocabulary of the data model shared by the tree, the replica, the wire protocol and the
 * client: stat, ACL, create modes, error codes and watch event types (REFERENCE §1, §2, §4, §5).
 * @module
 */

/** Metadata of one znode (REFERENCE §1). Times are ms since the epoch, taken from the txn. */
export interface Stat {
  /** zxid of the txn that created the node. */
  czxid: number;
  /** zxid of the last data change. */
  mzxid: number;
  /** zxid of the last change of the children list. */
  pzxid: number;
  /** Creation time, ms since the epoch. */
  ctime: number;
  /** Last data change time, ms since the epoch. */
  mtime: number;
  /** Number of data changes. */
  version: number;
  /** Number of children-list changes. */
  cversion: number;
  /** Number of ACL changes. */
  aversion: number;
  /** Owning session id for an ephemeral, 0 otherwise. */
  ephemeralOwner: number;
  /** Bytes of data. */
  dataLength: number;
  /** Number of children. */
  numChildren: number;
}

/** A Stat with every field 0: a node before any txn touched it. */
export function zeroStat(): Stat {
  return {
    czxid: 0,
    mzxid: 0,
    pzxid: 0,
    ctime: 0,
    mtime: 0,
    version: 0,
    cversion: 0,
    aversion: 0,
    ephemeralOwner: 0,
    dataLength: 0,
    numChildren: 0,
  };
}

/**
 * How many children were ever created under a node: the number a sequential child is named by.
 * ZooKeeper stores this count and reports `cversion` as `2 * creates - numChildren` (so a delete
 * counts as a change too); Corral keeps the reported `cversion` and recovers the count from it. The
 * system nodes start below zero for it: "/" holds /zookeeper and /zookeeper holds quota and config
 * from the start, none of them created.
 */
export function childrenCreated(stat: Readonly<Stat>): number {
  return Math.floor((stat.cversion + stat.numChildren) / 2);
}

/** Every {@linkcode Stat} field, in ZooKeeper's order (the storage codec keeps this order). */
export const statFields: readonly (keyof Stat)[] = [
  "czxid",
  "mzxid",
  "pzxid",
  "ctime",
  "mtime",
  "version",
  "cversion",
  "aversion",
  "ephemeralOwner",
  "dataLength",
  "numChildren",
];

/** Permission bits (REFERENCE §5). */
export const Perms = {
  read: 1,
  write: 2,
  create: 4,
  delete: 8,
  admin: 16,
  all: 31,
} as const;

/** One ACL entry: who (`scheme:id`) may do what (`perms`). */
export interface Acl {
  /** Bitwise OR of {@linkcode Perms}. */
  perms: number;
  /** `world`, `auth`, `digest`, `ip` or `super`. */
  scheme: string;
  /** Scheme-specific identity, e.g. `anyone`, `user:base64digest`, `10.0.0.0/8`. */
  id: string;
}

/** Anyone may do anything: ZooKeeper's OPEN_ACL_UNSAFE. */
export const openAcl: readonly Acl[] = Object.freeze([
  Object.freeze({ perms: Perms.all, scheme: "world", id: "anyone" }),
]);

/** Anyone may read: ZooKeeper's READ_ACL_UNSAFE. */
export const readOnlyAcl: readonly Acl[] = Object.freeze([
  Object.freeze({ perms: Perms.read, scheme: "world", id: "anyone" }),
]);

/** Every permission for the identities the session authenticated: ZooKeeper's CREATOR_ALL_ACL. */
export const creatorAllAcl: readonly Acl[] = Object.freeze([
  Object.freeze({ perms: Perms.all, scheme: "auth", id: "" }),
]);

/**
 * How a znode is created (REFERENCE §1), with ZooKeeper's extended types: a `container` is
 * removed by the server once it has had children and has none left; a TTL node is removed once
 * it has no children and has not changed for its TTL (opt-in, as in ZooKeeper).
 */
export type CreateMode =
  | "persistent"
  | "persistentSequential"
  | "ephemeral"
  | "ephemeralSequential"
  | "container"
  | "persistentWithTtl"
  | "persistentSequentialWithTtl";

/** All create modes, for validation. */
export const createModes: readonly CreateMode[] = [
  "persistent",
  "persistentSequential",
  "ephemeral",
  "ephemeralSequential",
  "container",
  "persistentWithTtl",
  "persistentSequentialWithTtl",
];

/** Create modes that append a sequence number. */
export const sequentialModes: ReadonlySet<CreateMode> = new Set<CreateMode>([
  "persistentSequential",
  "ephemeralSequential",
  "persistentSequentialWithTtl",
]);

/** Create modes that take a TTL. */
export const ttlModes: ReadonlySet<CreateMode> = new Set<CreateMode>([
  "persistentWithTtl",
  "persistentSequentialWithTtl",
]);

/** Create modes whose node belongs to the session. */
export const ephemeralModes: ReadonlySet<CreateMode> = new Set<CreateMode>([
  "ephemeral",
  "ephemeralSequential",
]);

/**
 * `Stat.ephemeralOwner` of a container. Like ZooKeeper, Corral keeps a node's extended type in
 * this field (so snapshots and logs need nothing new), but in JavaScript-safe numbers: a container
 * is -1 and a TTL node is `-(1 + ttlMs)`; session ids are positive. The ZooKeeper listener
 * translates both to ZooKeeper's own bit patterns.
 */
export const containerOwner = -1;

/** `Stat.ephemeralOwner` of a TTL node with `ttlMs` (see {@linkcode containerOwner}). */
export function ttlOwner(ttlMs: number): number {
  return -(1 + ttlMs);
}

/** The TTL of a node with this `ephemeralOwner`, or 0 when it is not a TTL node. */
export function ttlOf(ephemeralOwner: number): number {
  return ephemeralOwner < containerOwner ? -ephemeralOwner - 1 : 0;
}

/** True when `ephemeralOwner` names a session (the node is an ephemeral). */
export function isEphemeralOwner(ephemeralOwner: number): boolean {
  return ephemeralOwner > 0;
}

/** Errors a client can tell apart (REFERENCE §2), plus the multi-specific ones. */
export type ErrorCode =
  | "NoNode"
  | "NodeExists"
  | "BadVersion"
  | "NotEmpty"
  | "NoChildrenForEphemerals"
  | "NoAuth"
  | "InvalidACL"
  | "BadArguments"
  | "SessionExpired"
  | "SessionMoved"
  | "ConnectionLoss"
  | "OperationTimeout"
  | "MarshallingError"
  | "Unimplemented"
  | "NotReadOnly"
  | "Throttled"
  | "AuthFailed"
  | "RolledBack"
  | "RuntimeInconsistency"
  | "SystemError"
  | "UnknownSession"
  | "NoWatcher"
  | "ReconfigDisabled"
  | "ProtocolError";

/** All error codes, for validation of what comes off the wire. */
export const errorCodes: readonly ErrorCode[] = [
  "NoNode",
  "NodeExists",
  "BadVersion",
  "NotEmpty",
  "NoChildrenForEphemerals",
  "NoAuth",
  "InvalidACL",
  "BadArguments",
  "SessionExpired",
  "SessionMoved",
  "ConnectionLoss",
  "OperationTimeout",
  "MarshallingError",
  "Unimplemented",
  "NotReadOnly",
  "Throttled",
  "AuthFailed",
  "RolledBack",
  "RuntimeInconsistency",
  "SystemError",
  "UnknownSession",
  "NoWatcher",
  "ReconfigDisabled",
  "ProtocolError",
];

/** Watch event types (REFERENCE §4). */
export type WatchEventType =
  | "NodeCreated"
  | "NodeDeleted"
  | "NodeDataChanged"
  | "NodeChildrenChanged";

/** Which table a watch lives in: data (getData/exists) or child (getChildren). */
export type WatchKind = "data" | "exist" | "child";

/** An error the tree or the request pipeline reports for one operation. */
export interface OpError {
  err: ErrorCode;
  message: string;
}

/** Builds an {@linkcode OpError}. */
export function opError(err: ErrorCode, message: string): OpError {
  return { err, message };
}
