/**
 * Generators of protocol messages, written from the schemas in `src/wire/messages.ts`: every
 * valid {@linkcode ClientRequest} and {@linkcode ServerMessage}, in the exact shape the validator
 * returns (defaults filled in), so a round trip can be compared with `deepStrictEqual`.
 * @module
 */
import fc from "fast-check";
import { aclEntriesMax, authBytesMax, ttlMsMax } from "../src/constants.ts";
import type { Acl, CreateMode, ErrorCode, Stat, WatchEventType } from "../src/tree/types.ts";
import { createModes, errorCodes, ttlModes } from "../src/tree/types.ts";
import type {
  AddWatchMode,
  ClientRequest,
  MultiOp,
  MultiResult,
  ServerMessage,
  WatcherType,
} from "../src/wire/messages.ts";

/**
 * True when a path name may contain the UTF-16 code unit `code` (ZooKeeper's PathUtils: no NUL,
 * no control characters, no surrogates or private use, nothing in U+FFF0..U+FFFF).
 */
export function nameCodeUnitAllowed(code: number): boolean {
  return !(code < 0x20 || (code >= 0x7f && code <= 0x9f) || (code >= 0xd800 && code <= 0xf8ff) ||
    code >= 0xfff0);
}

const nameCharArb = fc.oneof(
  { arbitrary: fc.constantFrom(..."abcxyzABC019-_.:@ "), weight: 6 },
  { arbitrary: fc.string({ unit: "grapheme-composite", minLength: 1, maxLength: 1 }), weight: 1 },
).filter((c) => c !== "/" && [...c].every((_, i) => nameCodeUnitAllowed(c.charCodeAt(i))));

/** One path name: not empty, not `.` or `..`, no `/`, only allowed characters. */
export const nameArb: fc.Arbitrary<string> = fc.array(nameCharArb, { minLength: 1, maxLength: 8 })
  .map((chars) => chars.join(""))
  .filter((name) =>
    name !== "." && name !== ".." &&
    [...name].every((_, i) => nameCodeUnitAllowed(name.charCodeAt(i)))
  );

/** A valid absolute path, root included. */
export const pathArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constant("/"), weight: 1 },
  {
    arbitrary: fc.array(nameArb, { minLength: 1, maxLength: 4 }).map((names) =>
      "/" + names.join("/")
    ),
    weight: 9,
  },
);

/** fast-check builds records without a prototype by default; messages are plain objects. */
const plain = { noNullPrototype: true } as const;

/** Any text a client may put in a string field (valid Unicode, so valid UTF-8 on the wire). */
const textArb = fc.string({ unit: "binary", maxLength: 12 });
const bytesArb = fc.uint8Array({ maxLength: 48 });
const xidArb = fc.integer({ min: 0, max: 0x7fffffff });
const versionArb = fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 0x7fffffff }));
/** A getEphemerals prefix: any text after a leading slash (it is matched as a string). */
const prefixArb = textArb.map((text) => "/" + text);

/** An ACL as the validator accepts it (ACL semantics are checked later, at create/setACL). */
export const aclArb: fc.Arbitrary<Acl[]> = fc.array(
  fc.record({ perms: fc.integer({ min: 0, max: 31 }), scheme: textArb, id: textArb }, plain),
  { maxLength: Math.min(4, aclEntriesMax) },
);

const modeArb = fc.constantFrom<CreateMode>(...createModes);

/** One op of a multi. */
export const multiOpArb: fc.Arbitrary<MultiOp> = fc.oneof(
  fc.record({ op: fc.constant("check" as const), path: pathArb, version: versionArb }, plain),
  fc.record({
    op: fc.constant("create" as const),
    path: pathArb,
    data: bytesArb,
    acl: aclArb,
    mode: modeArb,
    ttlMs: fc.integer({ min: 1, max: ttlMsMax }),
    dataNull: fc.boolean(),
  }, plain).map(({ ttlMs, dataNull, ...create }) => ({
    ...create,
    ...(ttlModes.has(create.mode) ? { ttlMs } : {}),
    ...(dataNull ? { data: new Uint8Array(0), dataNull: true as const } : {}),
  })),
  fc.record({
    op: fc.constant("setData" as const),
    path: pathArb,
    data: bytesArb,
    version: versionArb,
    dataNull: fc.boolean(),
  }, plain).map(({ dataNull, ...set }) => ({
    ...set,
    ...(dataNull ? { data: new Uint8Array(0), dataNull: true as const } : {}),
  })),
  fc.record({ op: fc.constant("delete" as const), path: pathArb, version: versionArb }, plain),
);

const withXid = <T extends object>(body: fc.Arbitrary<T>) =>
  fc.tuple(xidArb, body).map(([xid, fields]) => ({ xid, ...fields }) as unknown as ClientRequest);

/** Every valid client request, in the shape `parseRequest` returns. */
export const clientRequestArb: fc.Arbitrary<ClientRequest> = fc.oneof(
  withXid(multiOpArb),
  withXid(
    fc.record({
      op: fc.constantFrom("exists" as const, "getData" as const, "getChildren" as const),
      path: pathArb,
      watch: fc.boolean(),
    }, plain),
  ),
  withXid(
    fc.record({ op: fc.constantFrom("getACL" as const, "sync" as const), path: pathArb }, plain),
  ),
  withXid(
    fc.record({
      op: fc.constant("setACL" as const),
      path: pathArb,
      acl: aclArb,
      version: versionArb,
    }, plain),
  ),
  withXid(
    fc.record(
      { op: fc.constant("multi" as const), ops: fc.array(multiOpArb, { maxLength: 4 }) },
      plain,
    ),
  ),
  withXid(fc.record({ op: fc.constantFrom("ping" as const, "close" as const) }, plain)),
  withXid(
    fc.record({
      op: fc.constant("addAuth" as const),
      scheme: textArb,
      auth: fc.uint8Array({ maxLength: Math.min(64, authBytesMax) }),
    }, plain),
  ),
  withXid(fc.record({
    op: fc.constant("setWatches" as const),
    relativeZxid: fc.maxSafeInteger(),
    dataWatches: fc.array(pathArb, { maxLength: 3 }),
    existWatches: fc.array(pathArb, { maxLength: 3 }),
    childWatches: fc.array(pathArb, { maxLength: 3 }),
    persistentWatches: fc.array(pathArb, { maxLength: 3 }),
    persistentRecursiveWatches: fc.array(pathArb, { maxLength: 3 }),
  }, {
    ...plain,
    requiredKeys: ["op", "relativeZxid", "dataWatches", "existWatches", "childWatches"],
  })),
  withXid(fc.record({
    op: fc.constant("addWatch" as const),
    path: pathArb,
    mode: fc.constantFrom<AddWatchMode>("persistent", "persistentRecursive"),
  }, plain)),
  withXid(fc.record({
    op: fc.constantFrom("removeWatches" as const, "checkWatches" as const),
    path: pathArb,
    type: fc.constantFrom<WatcherType>(
      "children",
      "data",
      "any",
      "persistent",
      "persistentRecursive",
    ),
  }, plain)),
  withXid(fc.record({ op: fc.constant("getEphemerals" as const), prefix: prefixArb }, plain)),
  withXid(
    fc.record({
      op: fc.constantFrom("getAllChildrenNumber" as const, "deleteContainer" as const),
      path: pathArb,
    }, plain),
  ),
  withXid(fc.record({ op: fc.constant("whoAmI" as const) }, plain)),
  withXid(fc.record({
    op: fc.constant("multiRead" as const),
    ops: fc.array(
      fc.record(
        { op: fc.constantFrom("getData" as const, "getChildren" as const), path: pathArb },
        plain,
      ),
      { maxLength: 4 },
    ),
  }, plain)),
);

const safeNat = fc.maxSafeNat();
const errorArb = fc.constantFrom<ErrorCode>(...errorCodes);
const statArb: fc.Arbitrary<Stat> = fc.record({
  czxid: safeNat,
  mzxid: safeNat,
  pzxid: safeNat,
  ctime: safeNat,
  mtime: safeNat,
  version: fc.integer({ min: 0, max: 0x7fffffff }),
  cversion: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
  aversion: fc.integer({ min: 0, max: 0x7fffffff }),
  ephemeralOwner: safeNat,
  dataLength: fc.nat(),
  numChildren: fc.nat(),
}, plain);

const multiResultArb: fc.Arbitrary<MultiResult> = fc.oneof(
  fc.constant({ op: "check" as const }),
  fc.record({ op: fc.constant("create" as const), path: pathArb, stat: statArb }, plain),
  fc.record({ op: fc.constant("setData" as const), stat: statArb }, plain),
  fc.constant({ op: "delete" as const }),
  fc.record({ op: fc.constant("error" as const), err: errorArb, message: textArb }, plain),
);

/** Every message the server sends. */
export const serverMessageArb: fc.Arbitrary<ServerMessage> = fc.oneof(
  fc.record({
    t: fc.constant("connected" as const),
    proto: fc.constant(1),
    sessionId: safeNat,
    password: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    timeoutMs: fc.nat(),
    zxid: safeNat,
    serverId: fc.nat(255),
    limits: fc.record({
      frameBytesMax: fc.nat(),
      dataBytesMax: fc.nat(),
      pendingRequestsMax: fc.nat(),
    }, plain),
  }, plain),
  fc.record({ t: fc.constant("refused" as const), err: errorArb, message: textArb }, plain),
  fc.record({ t: fc.constant("error" as const), err: errorArb, message: textArb }, plain),
  fc.record({
    t: fc.constant("event" as const),
    type: fc.constantFrom<WatchEventType>(
      "NodeCreated",
      "NodeDeleted",
      "NodeDataChanged",
      "NodeChildrenChanged",
    ),
    path: pathArb,
    zxid: safeNat,
  }, plain),
  fc.record(
    {
      t: fc.constant("res" as const),
      xid: xidArb,
      zxid: safeNat,
      err: errorArb,
      message: textArb,
      path: pathArb,
      stat: fc.option(statArb, { nil: null }),
      data: bytesArb,
      children: fc.array(nameArb, { maxLength: 4 }),
      acl: aclArb,
      results: fc.array(multiResultArb, { maxLength: 3 }),
    },
    { requiredKeys: ["t", "xid", "zxid"], noNullPrototype: true },
  ),
);

/**
 * Where to cut a byte stream of `length` bytes into chunks: sorted offsets, empty chunks allowed.
 * Generated as fractions so they shrink towards one whole chunk.
 */
export const cutsArb: fc.Arbitrary<number[]> = fc.array(fc.integer({ min: 0, max: 1000 }), {
  maxLength: 8,
});

/** Splits `bytes` at the fractions `cuts` (per mille of the length). */
export function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const offsets = cuts.map((c) => Math.floor((c / 1000) * bytes.byteLength)).sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const offset of offsets) {
    chunks.push(bytes.slice(start, offset));
    start = offset;
  }
  chunks.push(bytes.slice(start));
  return chunks;
}

/** Concatenates byte arrays. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
