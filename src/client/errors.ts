/**
 * Errors the client rejects with: one {@linkcode CorralError} subclass per {@linkcode ErrorCode}
 * (REFERENCE §2), so callers can tell them apart with `instanceof` or by `code`, and
 * {@linkcode MultiError} for a multi that failed as a whole.
 * @module
 */
import type { ErrorCode } from "../tree/types.ts";
import type { MultiResult } from "../wire/messages.ts";

/**
 * Base class of every error the client reports for an operation.
 *
 * @example
 * ```ts
 * import { CorralError, NoNodeError } from "./errors.ts";
 * const error: CorralError = new NoNodeError("/a does not exist", "/a");
 * console.log(error.code, error.path); // "NoNode" "/a"
 * ```
 */
export class CorralError extends Error {
  /** The protocol's error code. */
  readonly code: ErrorCode;
  /** The path the failed operation named (as the caller gave it, chroot stripped), if any. */
  // `declare` so an error without a path has no `path` property at all.
  declare readonly path?: string;

  /** Builds the error from the server\'s message and the path the operation named, if any. */
  constructor(code: ErrorCode, message: string, path?: string) {
    super(message);
    this.name = "CorralError";
    this.code = code;
    if (path !== undefined) Object.defineProperty(this, "path", { value: path, enumerable: true });
  }
}

/**
 * The node does not exist.
 *
 * @example
 * ```ts
 * import { NoNodeError } from "./errors.ts";
 * new NoNodeError("/a does not exist", "/a").code; // "NoNode"
 * ```
 */
export class NoNodeError extends CorralError {
  /** Builds the error from the server\'s message and the path the operation named, if any. */
  constructor(message: string, path?: string) {
    super("NoNode", message, path);
    this.name = "NoNodeError";
  }
}

/**
 * A create named a node that already exists.
 *
 * @example
 * ```ts
 * import { NodeExistsError } from "./errors.ts";
 * new NodeExistsError("/a already exists", "/a").code; // "NodeExists"
 * ```
 */
export class NodeExistsError extends CorralError {
  /** Builds the error from the server\'s message and the path the operation named, if any. */
  constructor(message: string, path?: string) {
    super("NodeExists", message, path);
    this.name = "NodeExistsError";
  }
}

/**
 * A conditional update named a version the node is not at.
 *
 * @example
 * ```ts
 * import { BadVersionError } from "./errors.ts";
 * new BadVersionError("/a is at version 2, not 1", "/a").code; // "BadVersion"
 * ```
 */
export class BadVersionError extends CorralError {
  /** Builds the error from the server\'s message and the path the operation named, if any. */
  constructor(message: string, path?: string) {
    super("BadVersion", message, path);
    this.name = "BadVersionError";
  }
}

/**
 * A delete named a node that still has children.
 *
 * @example
 * ```ts
 * import { NotEmptyError } from "./errors.ts";
 * new NotEmptyError("/a has 1 children", "/a").code; // "NotEmpty"
 * ```
 */
export class NotEmptyError extends CorralError {
  /** Builds the error from the server\'s message and the path the operation named, if any. */
  constructor(message: string, path?: string) {
    super("NotEmpty", message, path);
    this.name = "NotEmptyError";
  }
}

/**
 * A create named a parent that is ephemeral, and ephemerals cannot have children.
 *
 * @example
 * ```ts
 * import { NoChildrenForEphemeralsError } from "./errors.ts";
 * new NoChildrenForEphemeralsError("/e is ephemeral", "/e/x").code; // "NoChildrenForEphemerals"
 * ```
 */
export class NoChildrenForEphemeralsError extends CorralError {
  /** Builds the error from the server\'s message and the path the operation named, if any. */
  constructor(message: string, path?: string) {
    super("NoChildrenForEphemerals", message, path);
    this.name = "NoChildrenForEphemeralsError";
  }
}

/**
 * The session lacks the permission the operation needs (REFERENCE §5).
 *
 * @example
 * ```ts
 * import { NoAuthError } from "./errors.ts";
 * new NoAuthError("no READ permission on /a", "/a").code; // "NoAuth"
 * ```
 */
export class NoAuthError extends CorralError {
  /** Builds the error from the server\'s message and the path the operation named, if any. */
  constructor(message: string, path?: string) {
    super("NoAuth", message, path);
    this.name = "NoAuthError";
  }
}

/**
 * An ACL given to create or setACL is not valid.
 *
 * @example
 * ```ts
 * import { InvalidACLError } from "./errors.ts";
 * new InvalidACLError("unknown ACL scheme", "/a").code; // "InvalidACL"
 * ```
 */
export class InvalidACLError extends CorralError {
  /** Builds the error from the server\'s message and the path the operation named, if any. */
  constructor(message: string, path?: string) {
    super("InvalidACL", message, path);
    this.name = "InvalidACLError";
  }
}

/**
 * The request is malformed: a bad path, data over the limit, an unknown option.
 *
 * @example
 * ```ts
 * import { BadArgumentsError } from "./errors.ts";
 * new BadArgumentsError("invalid path \"a\": must start with /", "a").code; // "BadArguments"
 * ```
 */
export class BadArgumentsError extends CorralError {
  /** Builds the error from the server\'s message and the path the operation named, if any. */
  constructor(message: string, path?: string) {
    super("BadArguments", message, path);
    this.name = "BadArgumentsError";
  }
}

/**
 * The session has expired (or the client is closed): it is gone for good (REFERENCE §3).
 *
 * @example
 * ```ts
 * import { SessionExpiredError } from "./errors.ts";
 * new SessionExpiredError("session 0x1 has expired").code; // "SessionExpired"
 * ```
 */
export class SessionExpiredError extends CorralError {
  /** Builds the error from the server\'s message and the path the operation named, if any. */
  constructor(message: string, path?: string) {
    super("SessionExpired", message, path);
    this.name = "SessionExpiredError";
  }
}

/**
 * The session is now attached to another connection.
 *
 * @example
 * ```ts
 * import { SessionMovedError } from "./errors.ts";
 * new SessionMovedError("session moved").code; // "SessionMoved"
 * ```
 */
export class SessionMovedError extends CorralError {
  /** Builds the error from the server\'s message and the path the operation named, if any. */
  constructor(message: string, path?: string) {
    super("SessionMoved", message, path);
    this.name = "SessionMovedError";
  }
}

/**
 * The connection broke before the answer arrived: the operation may or may not have taken effect.
 *
 * @example
 * ```ts
 * import { ConnectionLossError } from "./errors.ts";
 * new ConnectionLossError("connection lost").code; // "ConnectionLoss"
 * ```
 */
export class ConnectionLossError extends CorralError {
  /** Builds the error from the server\'s message and the path the operation named, if any. */
  constructor(message: string, path?: string) {
    super("ConnectionLoss", message, path);
    this.name = "ConnectionLossError";
  }
}

/**
 * The operation did not complete in time.
 *
 * @example
 * ```ts
 * import { OperationTimeoutError } from "./errors.ts";
 * new OperationTimeoutError("timed out").code; // "OperationTimeout"
 * ```
 */
export class OperationTimeoutError extends CorralError {
  /** Builds the error from the server\'s message and the path the operation named, if any. */
  constructor(message: string, path?: string) {
    super("OperationTimeout", message, path);
    this.name = "OperationTimeoutError";
  }
}

/**
 * A frame could not be encoded or decoded (the server says `MarshallingError`).
 *
 * @example
 * ```ts
 * import { MarshallingFailedError } from "./errors.ts";
 * new MarshallingFailedError("a request must be a CBOR map").code; // "MarshallingError"
 * ```
 */
export class MarshallingFailedError extends CorralError {
  /** Builds the error from the server\'s message and the path the operation named, if any. */
  constructor(message: string, path?: string) {
    super("MarshallingError", message, path);
    this.name = "MarshallingFailedError";
  }
}

/**
 * The server does not implement the operation.
 *
 * @example
 * ```ts
 * import { UnimplementedError } from "./errors.ts";
 * new UnimplementedError("unknown op").code; // "Unimplemented"
 * ```
 */
export class UnimplementedError extends CorralError {
  /** Builds the error from the server\'s message and the path the operation named, if any. */
  constructor(message: string, path?: string) {
    super("Unimplemented", message, path);
    this.name = "UnimplementedError";
  }
}

/**
 * A write was sent to a server in read-only mode.
 *
 * @example
 * ```ts
 * import { NotReadOnlyError } from "./errors.ts";
 * new NotReadOnlyError("server is read-only").code; // "NotReadOnly"
 * ```
 */
export class NotReadOnlyError extends CorralError {
  /** Builds the error from the server\'s message and the path the operation named, if any. */
  constructor(message: string, path?: string) {
    super("NotReadOnly", message, path);
    this.name = "NotReadOnlyError";
  }
}

/**
 * The server shed load: too many requests in flight.
 *
 * @example
 * ```ts
 * import { ThrottledError } from "./errors.ts";
 * new ThrottledError("more than 1000 requests in flight").code; // "Throttled"
 * ```
 */
export class ThrottledError extends CorralError {
  /** Builds the error from the server\'s message and the path the operation named, if any. */
  constructor(message: string, path?: string) {
    super("Throttled", message, path);
    this.name = "ThrottledError";
  }
}

/**
 * An addAuth was refused (unknown scheme or malformed credentials).
 *
 * @example
 * ```ts
 * import { AuthFailedError } from "./errors.ts";
 * new AuthFailedError("digest auth must be \"user:password\"").code; // "AuthFailed"
 * ```
 */
export class AuthFailedError extends CorralError {
  /** Builds the error from the server\'s message and the path the operation named, if any. */
  constructor(message: string, path?: string) {
    super("AuthFailed", message, path);
    this.name = "AuthFailedError";
  }
}

/**
 * In a failed multi: this op was valid but is undone because a later op failed.
 *
 * @example
 * ```ts
 * import { RolledBackError } from "./errors.ts";
 * new RolledBackError("rolled back").code; // "RolledBack"
 * ```
 */
export class RolledBackError extends CorralError {
  /** Builds the error from the server\'s message and the path the operation named, if any. */
  constructor(message: string, path?: string) {
    super("RolledBack", message, path);
    this.name = "RolledBackError";
  }
}

/**
 * In a failed multi: this op was not attempted because an earlier op failed.
 *
 * @example
 * ```ts
 * import { RuntimeInconsistencyError } from "./errors.ts";
 * new RuntimeInconsistencyError("not attempted").code; // "RuntimeInconsistency"
 * ```
 */
export class RuntimeInconsistencyError extends CorralError {
  /** Builds the error from the server\'s message and the path the operation named, if any. */
  constructor(message: string, path?: string) {
    super("RuntimeInconsistency", message, path);
    this.name = "RuntimeInconsistencyError";
  }
}

/**
 * The server failed in a way that is not the request's fault (ZooKeeper's SystemError), such
 * as refusing a client that has seen a newer zxid than it has.
 *
 * @example
 * ```ts
 * import { SystemFailureError } from "./errors.ts";
 * new SystemFailureError("server is behind the client").code; // "SystemError"
 * ```
 */
export class SystemFailureError extends CorralError {
  /** Builds the error from the server\'s message and the path the operation named, if any. */
  constructor(message: string, path?: string) {
    super("SystemError", message, path);
    this.name = "SystemFailureError";
  }
}

/**
 * The server does not know the session.
 *
 * @example
 * ```ts
 * import { UnknownSessionError } from "./errors.ts";
 * new UnknownSessionError("unknown session").code; // "UnknownSession"
 * ```
 */
export class UnknownSessionError extends CorralError {
  /** Builds the error from the server\'s message and the path the operation named, if any. */
  constructor(message: string, path?: string) {
    super("UnknownSession", message, path);
    this.name = "UnknownSessionError";
  }
}

/**
 * removeWatches or checkWatches named a watch the session does not hold.
 *
 * @example
 * ```ts
 * import { NoWatcherError } from "./errors.ts";
 * new NoWatcherError("no data watch on /a", "/a").code; // "NoWatcher"
 * ```
 */
export class NoWatcherError extends CorralError {
  /** Builds the error from the server\'s message and the path the operation named, if any. */
  constructor(message: string, path?: string) {
    super("NoWatcher", message, path);
    this.name = "NoWatcherError";
  }
}

/**
 * The server does not change its membership at run time (reconfig).
 *
 * @example
 * ```ts
 * import { ReconfigDisabledError } from "./errors.ts";
 * new ReconfigDisabledError("reconfig is disabled").code; // "ReconfigDisabled"
 * ```
 */
export class ReconfigDisabledError extends CorralError {
  /** Builds the error from the server\'s message and the path the operation named, if any. */
  constructor(message: string, path?: string) {
    super("ReconfigDisabled", message, path);
    this.name = "ReconfigDisabledError";
  }
}

/**
 * One side broke the protocol (an unexpected frame, a response out of order).
 *
 * @example
 * ```ts
 * import { ProtocolViolationError } from "./errors.ts";
 * new ProtocolViolationError("response xid 7, expected 6").code; // "ProtocolError"
 * ```
 */
export class ProtocolViolationError extends CorralError {
  /** Builds the error from the server\'s message and the path the operation named, if any. */
  constructor(message: string, path?: string) {
    super("ProtocolError", message, path);
    this.name = "ProtocolViolationError";
  }
}

/** Constructor shape shared by every per-code subclass. */
type ErrorClass = new (message: string, path?: string) => CorralError;

// A Record over ErrorCode: adding a code to the protocol without a class here fails `deno check`.
const errorClasses: Record<ErrorCode, ErrorClass> = {
  NoNode: NoNodeError,
  NodeExists: NodeExistsError,
  BadVersion: BadVersionError,
  NotEmpty: NotEmptyError,
  NoChildrenForEphemerals: NoChildrenForEphemeralsError,
  NoAuth: NoAuthError,
  InvalidACL: InvalidACLError,
  BadArguments: BadArgumentsError,
  SessionExpired: SessionExpiredError,
  SessionMoved: SessionMovedError,
  ConnectionLoss: ConnectionLossError,
  OperationTimeout: OperationTimeoutError,
  MarshallingError: MarshallingFailedError,
  Unimplemented: UnimplementedError,
  NotReadOnly: NotReadOnlyError,
  Throttled: ThrottledError,
  AuthFailed: AuthFailedError,
  RolledBack: RolledBackError,
  RuntimeInconsistency: RuntimeInconsistencyError,
  SystemError: SystemFailureError,
  UnknownSession: UnknownSessionError,
  NoWatcher: NoWatcherError,
  ReconfigDisabled: ReconfigDisabledError,
  ProtocolError: ProtocolViolationError,
};

/**
 * Builds the subclass of {@linkcode CorralError} that stands for `code`. A code this build does
 * not know (a newer server) becomes a plain {@linkcode CorralError} carrying it.
 *
 * @example
 * ```ts
 * import { errorFor, NoNodeError } from "./errors.ts";
 * const error = errorFor("NoNode", "/a does not exist", "/a");
 * console.log(error instanceof NoNodeError); // true
 * ```
 */
export function errorFor(code: ErrorCode, message: string, path?: string): CorralError {
  const ErrorClass = Object.hasOwn(errorClasses, code) ? errorClasses[code] : undefined;
  return ErrorClass ? new ErrorClass(message, path) : new CorralError(code, message, path);
}

/**
 * A multi that failed as a whole: nothing was applied. `code` is the failing op's code,
 * `failedIndex` its position, and `results` says for every op what happened to it (the ops
 * before the failing one are `RolledBack`, those after it `RuntimeInconsistency`).
 *
 * @example
 * ```ts
 * import { MultiError } from "./errors.ts";
 * const error = new MultiError("NoNode", "multi op 1 failed: /b does not exist", {
 *   failedIndex: 1,
 *   results: [
 *     { op: "error", err: "RolledBack", message: "rolled back" },
 *     { op: "error", err: "NoNode", message: "/b does not exist" },
 *   ],
 *   path: "/b",
 * });
 * console.log(error.code, error.failedIndex); // "NoNode" 1
 * ```
 */
export class MultiError extends CorralError {
  /** Per-op outcome, one entry per op of the multi, in order. */
  readonly results: MultiResult[];
  /** Index of the op that failed. */
  readonly failedIndex: number;

  /** Builds the error from the server\'s message and the path the operation named, if any. */
  constructor(
    code: ErrorCode,
    message: string,
    details: { results: MultiResult[]; failedIndex: number; path?: string },
  ) {
    super(code, message, details.path);
    this.name = "MultiError";
    this.results = details.results;
    this.failedIndex = details.failedIndex;
  }
}
