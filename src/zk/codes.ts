/**
 * The numbers of Apache ZooKeeper's client protocol (3.9 vocabulary), with their names: opcodes
 * (`ZooDefs.OpCode`), special xids (`ClientCnxn`), error codes (`KeeperException.Code`), watch
 * event types and keeper states (`Watcher.Event`), create-mode flags (`CreateMode`), addWatch modes
 * (`ZooDefs.AddWatchModes`) and removeWatches watcher types (`Watcher.WatcherType`); and how
 * Corral's {@linkcode ErrorCode} names map onto ZooKeeper's error numbers.
 *
 * Each table is a frozen object from name to number, with a map back from number to name.
 *
 * @example
 * ```ts
 * import { KeeperCode, OpCode, opNameOf, zkCodeOf } from "./codes.ts";
 * OpCode.getData; // 4
 * opNameOf.get(4); // "getData"
 * zkCodeOf("NoNode") === KeeperCode.NoNode; // true
 * ```
 * @module
 */
import type { ErrorCode } from "../tree/types.ts";

/** Inverts a name -> number table into number -> name. */
function namesOf<K extends string>(table: Readonly<Record<K, number>>): ReadonlyMap<number, K> {
  const names = new Map<number, K>();
  for (const name of Object.keys(table) as K[]) names.set(table[name], name);
  return names;
}

/** Request types (`ZooDefs.OpCode`), as sent in a `RequestHeader`. */
export const OpCode = Object.freeze(
  {
    notification: 0,
    create: 1,
    delete: 2,
    exists: 3,
    getData: 4,
    setData: 5,
    getACL: 6,
    setACL: 7,
    getChildren: 8,
    sync: 9,
    ping: 11,
    getChildren2: 12,
    check: 13,
    multi: 14,
    create2: 15,
    reconfig: 16,
    checkWatches: 17,
    removeWatches: 18,
    createContainer: 19,
    deleteContainer: 20,
    createTTL: 21,
    multiRead: 22,
    auth: 100,
    setWatches: 101,
    sasl: 102,
    getEphemerals: 103,
    getAllChildrenNumber: 104,
    setWatches2: 105,
    addWatch: 106,
    whoAmI: 107,
    createSession: -10,
    closeSession: -11,
    error: -1,
  } as const,
);

/** The name of an opcode. */
export type OpName = keyof typeof OpCode;

/** Opcode number -> name. */
export const opNameOf: ReadonlyMap<number, OpName> = namesOf(OpCode);

/**
 * Xids with a fixed meaning (`ClientCnxn`): a server-sent watch notification, and the xids the
 * client uses for pings, auth packets and setWatches, whose replies carry the same xid.
 */
export const Xid = Object.freeze(
  {
    notification: -1,
    ping: -2,
    auth: -4,
    setWatches: -8,
  } as const,
);

/** The name of a special xid. */
export type XidName = keyof typeof Xid;

/** Special xid number -> name. */
export const xidNameOf: ReadonlyMap<number, XidName> = namesOf(Xid);

/** Error codes (`KeeperException.Code`), as sent in a `ReplyHeader` or a multi `ErrorResponse`. */
export const KeeperCode = Object.freeze(
  {
    Ok: 0,
    SystemError: -1,
    RuntimeInconsistency: -2,
    DataInconsistency: -3,
    ConnectionLoss: -4,
    MarshallingError: -5,
    Unimplemented: -6,
    OperationTimeout: -7,
    BadArguments: -8,
    UnknownSession: -12,
    NewConfigNoQuorum: -13,
    ReconfigInProgress: -14,
    APIError: -100,
    NoNode: -101,
    NoAuth: -102,
    BadVersion: -103,
    NoChildrenForEphemerals: -108,
    NodeExists: -110,
    NotEmpty: -111,
    SessionExpired: -112,
    InvalidCallback: -113,
    InvalidACL: -114,
    AuthFailed: -115,
    SessionMoved: -118,
    NotReadOnly: -119,
    EphemeralOnLocalSession: -120,
    NoWatcher: -121,
    RequestTimeout: -122,
    ReconfigDisabled: -123,
    SessionClosedRequireSasl: -124,
    QuotaExceeded: -125,
    Throttled: -127,
  } as const,
);

/** The name of a ZooKeeper error code. */
export type KeeperCodeName = keyof typeof KeeperCode;

/** Error code number -> name. */
export const keeperCodeNameOf: ReadonlyMap<number, KeeperCodeName> = namesOf(KeeperCode);

/**
 * Corral's error names as ZooKeeper numbers. Two have no ZooKeeper counterpart of their own:
 *
 * - `RolledBack` (a multi op before the one that failed) is 0, `Ok`: ZooKeeper's `DataTree`
 *   reports those ops as an `ErrorResult` carrying `Ok`, the failing op with its own code and
 *   the ops after it with `RuntimeInconsistency`; the Java client skips `Ok` error results when
 *   it looks for the cause. So 0 here only makes sense inside a multi's results.
 * - `ProtocolError` (a request Corral could not understand) is `MarshallingError`.
 */
const zkCodeByName: Readonly<Record<ErrorCode, number>> = Object.freeze({
  NoNode: KeeperCode.NoNode,
  NodeExists: KeeperCode.NodeExists,
  BadVersion: KeeperCode.BadVersion,
  NotEmpty: KeeperCode.NotEmpty,
  NoChildrenForEphemerals: KeeperCode.NoChildrenForEphemerals,
  NoAuth: KeeperCode.NoAuth,
  InvalidACL: KeeperCode.InvalidACL,
  BadArguments: KeeperCode.BadArguments,
  SessionExpired: KeeperCode.SessionExpired,
  SessionMoved: KeeperCode.SessionMoved,
  ConnectionLoss: KeeperCode.ConnectionLoss,
  OperationTimeout: KeeperCode.OperationTimeout,
  MarshallingError: KeeperCode.MarshallingError,
  Unimplemented: KeeperCode.Unimplemented,
  NotReadOnly: KeeperCode.NotReadOnly,
  Throttled: KeeperCode.Throttled,
  AuthFailed: KeeperCode.AuthFailed,
  RolledBack: KeeperCode.Ok,
  RuntimeInconsistency: KeeperCode.RuntimeInconsistency,
  SystemError: KeeperCode.SystemError,
  UnknownSession: KeeperCode.UnknownSession,
  NoWatcher: KeeperCode.NoWatcher,
  ReconfigDisabled: KeeperCode.ReconfigDisabled,
  ProtocolError: KeeperCode.MarshallingError,
});

/**
 * The ZooKeeper error number for a Corral {@linkcode ErrorCode}. `RolledBack` maps to 0 (`Ok`),
 * which is what ZooKeeper puts in the `ErrorResponse` of a multi op that was undone because a
 * later op failed; `ProtocolError` maps to `MarshallingError`.
 */
export function zkCodeOf(code: ErrorCode): number {
  return zkCodeByName[code];
}

/**
 * The Corral {@linkcode ErrorCode} for a ZooKeeper error number, or `undefined` for 0 (`Ok`: not
 * an error, or a rolled-back op inside a multi's results, which the caller must judge) and for
 * codes Corral has no name for.
 */
export function errorCodeOfZk(code: number): ErrorCode | undefined {
  if (code === KeeperCode.Ok) return undefined;
  if (code === KeeperCode.MarshallingError) return "MarshallingError";
  const name = keeperCodeNameOf.get(code);
  return name !== undefined && name in zkCodeByName ? name as ErrorCode : undefined;
}

/** Watch event types (`Watcher.Event.EventType`), as sent in a `WatcherEvent`. */
export const EventType = Object.freeze(
  {
    None: -1,
    NodeCreated: 1,
    NodeDeleted: 2,
    NodeDataChanged: 3,
    NodeChildrenChanged: 4,
    DataWatchRemoved: 5,
    ChildWatchRemoved: 6,
    PersistentWatchRemoved: 7,
  } as const,
);

/** The name of a watch event type. */
export type EventTypeName = keyof typeof EventType;

/** Event type number -> name. */
export const eventTypeNameOf: ReadonlyMap<number, EventTypeName> = namesOf(EventType);

/** Session states (`Watcher.Event.KeeperState`), as sent in a `WatcherEvent`. */
export const KeeperState = Object.freeze(
  {
    Disconnected: 0,
    SyncConnected: 3,
    AuthFailed: 4,
    ConnectedReadOnly: 5,
    SaslAuthenticated: 6,
    Expired: -112,
    Closed: 7,
  } as const,
);

/** The name of a keeper state. */
export type KeeperStateName = keyof typeof KeeperState;

/** Keeper state number -> name. */
export const keeperStateNameOf: ReadonlyMap<number, KeeperStateName> = namesOf(KeeperState);

/** Create modes (`CreateMode`), as sent in the `flags` of a create request. */
export const CreateFlag = Object.freeze(
  {
    persistent: 0,
    ephemeral: 1,
    persistentSequential: 2,
    ephemeralSequential: 3,
    container: 4,
    persistentWithTtl: 5,
    persistentSequentialWithTtl: 6,
  } as const,
);

/** The name of a create mode. */
export type CreateFlagName = keyof typeof CreateFlag;

/** Create flag number -> name. */
export const createFlagNameOf: ReadonlyMap<number, CreateFlagName> = namesOf(CreateFlag);

/** Modes of an addWatch request (`ZooDefs.AddWatchModes`). */
export const AddWatchMode = Object.freeze(
  {
    persistent: 0,
    persistentRecursive: 1,
  } as const,
);

/** The name of an addWatch mode. */
export type AddWatchModeName = keyof typeof AddWatchMode;

/** AddWatch mode number -> name. */
export const addWatchModeNameOf: ReadonlyMap<number, AddWatchModeName> = namesOf(AddWatchMode);

/**
 * Watcher types of checkWatches and removeWatches (`Watcher.WatcherType`). ZooKeeper 3.9 added
 * `persistent` (4) and `persistentRecursive` (5) to remove one kind of persistent watch alone.
 */
export const WatcherType = Object.freeze(
  {
    children: 1,
    data: 2,
    any: 3,
    persistent: 4,
    persistentRecursive: 5,
  } as const,
);

/** The name of a watcher type. */
export type WatcherTypeName = keyof typeof WatcherType;

/** Watcher type number -> name. */
export const watcherTypeNameOf: ReadonlyMap<number, WatcherTypeName> = namesOf(WatcherType);
