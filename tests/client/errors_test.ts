import assert from "../assert.ts";
import {
  AuthFailedError,
  BadArgumentsError,
  BadVersionError,
  ConnectionLossError,
  CorralError,
  errorFor,
  InvalidACLError,
  MarshallingFailedError,
  MultiError,
  NoAuthError,
  NoChildrenForEphemeralsError,
  NodeExistsError,
  NoNodeError,
  NotEmptyError,
  NotReadOnlyError,
  NoWatcherError,
  OperationTimeoutError,
  ProtocolViolationError,
  ReconfigDisabledError,
  RolledBackError,
  RuntimeInconsistencyError,
  SessionExpiredError,
  SessionMovedError,
  SystemFailureError,
  ThrottledError,
  UnimplementedError,
  UnknownSessionError,
} from "../../src/client/errors.ts";
import { type ErrorCode, errorCodes } from "../../src/tree/types.ts";

const expected: Record<ErrorCode, new (message: string, path?: string) => CorralError> = {
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

Deno.test("errorFor() builds the subclass of each error code, carrying code, message and path", () => {
  for (const code of errorCodes) {
    const error = errorFor(code, `something about ${code}`, "/a/b");
    assert.ok(error instanceof expected[code], `${code} -> ${error.constructor.name}`);
    assert.ok(error instanceof CorralError);
    assert.ok(error instanceof Error);
    assert.equal(error.code, code);
    assert.equal(error.message, `something about ${code}`);
    assert.equal(error.path, "/a/b");
  }
});

Deno.test("errorFor() gives every code a distinct class whose name ends in Error", () => {
  const names = new Set(errorCodes.map((code) => errorFor(code, "m").name));
  assert.equal(names.size, errorCodes.length);
  for (const name of names) assert.match(name, /^[A-Z][A-Za-z]+Error$/);
});

Deno.test("errorFor() leaves path unset when none is given", () => {
  const error = errorFor("NoNode", "gone");
  assert.equal(error.path, undefined);
  assert.equal("path" in error, false);
});

Deno.test("errorFor() turns a code this build does not know into a plain CorralError", () => {
  const error = errorFor("FromTheFuture" as ErrorCode, "new server");
  assert.equal(error.constructor, CorralError);
  assert.equal(error.code, "FromTheFuture");
});

Deno.test("MultiError carries the failing op's code, its index and every op's result", () => {
  const results = [
    { op: "error" as const, err: "RolledBack" as const, message: "rolled back" },
    { op: "error" as const, err: "BadVersion" as const, message: "/b is at version 2, not 1" },
    { op: "error" as const, err: "RuntimeInconsistency" as const, message: "not attempted" },
  ];
  const error = new MultiError("BadVersion", "multi op 1 failed", {
    results,
    failedIndex: 1,
    path: "/b",
  });
  assert.ok(error instanceof CorralError);
  assert.equal(error.code, "BadVersion");
  assert.equal(error.failedIndex, 1);
  assert.equal(error.path, "/b");
  assert.deepEqual(error.results, results);
  assert.equal(error.name, "MultiError");
});
