/**
 * The records of Apache ZooKeeper's client protocol (`zookeeper.jute`, ZooKeeper 3.9), both ways:
 * a server decodes requests and encodes replies, a client encodes requests and decodes replies.
 *
 * The stream is a sequence of frames, each a 4-byte big-endian payload length and the payload
 * ({@linkcode encodeFrame}, {@linkcode FrameReader}). The first payload a client sends is a bare
 * `ConnectRequest`, answered by a bare `ConnectResponse`; after that, each request payload is a
 * `RequestHeader` (xid, opcode) and the opcode's record, and each reply a `ReplyHeader` (xid, zxid,
 * error code) and, when the error code is 0, the reply record for the request's opcode. A reply
 * does not name its record: the client knows it from the xid it sent ({@linkcode decodeReply}).
 *
 * Every `encode*` here returns a complete frame; every `decode*` takes one frame's payload and
 * returns a result value instead of throwing on malformed input. Field order follows
 * `zookeeper.jute`; multi and multiRead follow `MultiOperationRecord` and `MultiResponse`.
 *
 * @example
 * ```ts
 * import { decodeRequest, encodeRequest } from "./records.ts";
 * const frame = encodeRequest(1, { op: "getData", path: "/a", watch: false });
 * const decoded = decodeRequest(frame.subarray(4));
 * // decoded.ok && decoded.request: { op: "getData", path: "/a", watch: false }
 * ```
 * @module
 */
import { type Acl, isEphemeralOwner, type Stat } from "../tree/types.ts";
import { intBytes, JuteError, JuteReader, JuteWriter } from "./jute.ts";
import { KeeperCode, OpCode, type OpName, opNameOf, Xid } from "./codes.ts";

// ---------------------------------------------------------------------------------------------
// Frames

/** Bytes of a frame's length prefix. */
export const frameHeaderBytes = 4;

/** Wraps `payload` in a frame: its length as a 4-byte big-endian int, then the payload. */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(frameHeaderBytes + payload.byteLength);
  new DataView(frame.buffer).setInt32(0, payload.byteLength);
  frame.set(payload, frameHeaderBytes);
  return frame;
}

/** What {@linkcode FrameReader.push} yields: one frame's payload, or why the stream is unusable. */
export type FrameReadResult =
  | { ok: true; payload: Uint8Array }
  | { ok: false; reason: string };

/**
 * Splits a byte stream into frame payloads. A declared length that is negative or above
 * `frameBytesMax` is reported once as an error value and the reader then ignores the stream: the
 * next frame's start is unknown, so the connection must be closed (ZooKeeper's "Len error").
 * A payload may be a view of the chunk just pushed, so decode it before reusing that chunk (the
 * decoders here copy what they return); what the reader keeps between pushes is its own copy.
 *
 * @example
 * ```ts
 * import { encodeFrame, FrameReader } from "./records.ts";
 * const reader = new FrameReader(1024);
 * const [result] = reader.push(encodeFrame(new Uint8Array([1, 2])));
 * // result: { ok: true, payload: Uint8Array [1, 2] }
 * ```
 */
export class FrameReader {
  /** Chunks received and not yet split; joined only once a whole frame (or prefix) is there. */
  #chunks: Uint8Array[] = [];
  #bytes = 0;
  /** Bytes needed before splitting can make progress: a prefix, or a prefix and its payload. */
  #needed = frameHeaderBytes;
  #failed = false;

  /** `frameBytesMax` is the largest payload accepted, length prefix excluded. */
  constructor(readonly frameBytesMax: number) {
    if (!Number.isSafeInteger(frameBytesMax) || frameBytesMax < 0) {
      throw new RangeError(`frameBytesMax must be a non-negative integer, got ${frameBytesMax}`);
    }
  }

  /** Bytes held that do not yet form a whole frame. */
  get bufferedBytes(): number {
    return this.#bytes;
  }

  /** Whether an oversized length has been seen (every later push yields nothing). */
  get failed(): boolean {
    return this.#failed;
  }

  /** Appends `chunk` and returns the payload of every frame it completes, in order. */
  push(chunk: Uint8Array): FrameReadResult[] {
    if (this.#failed || chunk.byteLength === 0) return [];
    if (this.#bytes === 0) {
      // Nothing held (the usual case: whole frames per chunk): split the chunk itself, and keep
      // a copy of its unfinished tail only, so a few leftover bytes do not pin the whole chunk.
      const results: FrameReadResult[] = [];
      const offset = this.#split(chunk, results);
      if (!this.#failed && offset < chunk.byteLength) {
        this.#chunks = [chunk.slice(offset)];
        this.#bytes = chunk.byteLength - offset;
      }
      return results;
    }
    // Kept as it is: adapters hand a chunk over for good (src/net/types.ts).
    this.#chunks.push(chunk);
    this.#bytes += chunk.byteLength;
    if (this.#bytes < this.#needed) return [];
    const buffer = this.#chunks.length === 1 ? this.#chunks[0] : joinBytes(this.#chunks);
    const results: FrameReadResult[] = [];
    const offset = this.#split(buffer, results);
    // Copy the tail so a few leftover bytes do not pin a large chunk in memory.
    const rest = this.#failed ? new Uint8Array(0) : buffer.slice(offset);
    this.#chunks = rest.byteLength > 0 ? [rest] : [];
    this.#bytes = rest.byteLength;
    return results;
  }

  /** Splits whole frames off `buffer`; returns the offset of the first byte not consumed. */
  #split(buffer: Uint8Array, results: FrameReadResult[]): number {
    let offset = 0;
    this.#needed = frameHeaderBytes;
    while (buffer.byteLength - offset >= frameHeaderBytes) {
      const length = (buffer[offset] << 24) | (buffer[offset + 1] << 16) |
        (buffer[offset + 2] << 8) | buffer[offset + 3];
      if (length < 0 || length > this.frameBytesMax) {
        this.#failed = true;
        results.push({
          ok: false,
          reason: `frame length ${length} is outside [0, ${this.frameBytesMax}]`,
        });
        return buffer.byteLength;
      }
      const end = offset + frameHeaderBytes + length;
      if (end > buffer.byteLength) {
        this.#needed = end - offset;
        break;
      }
      results.push({ ok: true, payload: buffer.subarray(offset + frameHeaderBytes, end) });
      offset = end;
    }
    return offset;
  }
}

function joinBytes(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** Writes a frame through `write`: a length placeholder, the payload, then the real length. */
function frameOf(write: (writer: JuteWriter) => void): Uint8Array {
  // One writer for every frame (they are built one at a time, synchronously): each frame then
  // allocates only its final copy.
  const writer = frameWriter.reset().writeInt(0);
  write(writer);
  return writer.patchInt(0, writer.length - frameHeaderBytes).finish();
}

const frameWriter = new JuteWriter(1024);

/** A decoded value, or why the bytes could not be decoded. */
export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Runs `read` over `payload`, turning a {@linkcode JuteError} into an error value. */
function decodeWith<T>(payload: Uint8Array, read: (reader: JuteReader) => T): Decoded<T> {
  try {
    return { ok: true, value: read(new JuteReader(payload)) };
  } catch (error) {
    if (error instanceof JuteError) return { ok: false, reason: error.message };
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Shared records: headers, Stat, ACL, ClientInfo

/** `RequestHeader`: the request's xid (echoed in its reply) and its opcode. */
export interface RequestHeader {
  xid: number;
  /** An {@linkcode OpCode}. */
  type: number;
}

/** `ReplyHeader`: the request's xid, the zxid the server had reached, and an error code. */
export interface ReplyHeader {
  xid: number;
  zxid: number;
  /** A {@linkcode KeeperCode}; 0 means a reply record follows. */
  err: number;
}

/** `MultiHeader`: what precedes each op of a multi and each of its results. */
interface MultiHeader {
  type: number;
  done: boolean;
  err: number;
}

/** Bytes of an encoded `Stat`: six longs and five ints. */
export const statBytes = 6 * 8 + 5 * intBytes;

/**
 * Writes Corral's {@linkcode Stat} as jute's `Stat`, in jute's field order: czxid, mzxid, ctime,
 * mtime, version, cversion, aversion, ephemeralOwner, dataLength, numChildren, pzxid. As
 * ZooKeeper shows clients (`DataTree.getClientEphemeralOwner`), a container or TTL node has
 * `ephemeralOwner` 0: its type is the server's business.
 */
export function writeStat(writer: JuteWriter, stat: Stat): void {
  writer.writeLong(stat.czxid).writeLong(stat.mzxid).writeLong(stat.ctime).writeLong(stat.mtime);
  writer.writeInt(stat.version).writeInt(stat.cversion).writeInt(stat.aversion);
  writer.writeLong(isEphemeralOwner(stat.ephemeralOwner) ? stat.ephemeralOwner : 0);
  writer.writeInt(stat.dataLength).writeInt(stat.numChildren);
  writer.writeLong(stat.pzxid);
}

/** Reads jute's `Stat` into Corral's {@linkcode Stat}. */
export function readStat(reader: JuteReader): Stat {
  const czxid = reader.readLong();
  const mzxid = reader.readLong();
  const ctime = reader.readLong();
  const mtime = reader.readLong();
  const version = reader.readInt();
  const cversion = reader.readInt();
  const aversion = reader.readInt();
  const ephemeralOwner = reader.readLong();
  const dataLength = reader.readInt();
  const numChildren = reader.readInt();
  const pzxid = reader.readLong();
  return {
    czxid,
    mzxid,
    pzxid,
    ctime,
    mtime,
    version,
    cversion,
    aversion,
    ephemeralOwner,
    dataLength,
    numChildren,
  };
}

/** Writes Corral's flat {@linkcode Acl} as jute's `ACL`: `int perms` then `Id {scheme, id}`. */
export function writeAcl(writer: JuteWriter, acl: Acl): void {
  writer.writeInt(acl.perms).writeString(acl.scheme).writeString(acl.id);
}

/**
 * Reads jute's `ACL` into Corral's flat {@linkcode Acl}. A null scheme or id reads as empty: kazoo
 * writes every empty string as null (its CREATOR_ALL_ACL is `auth` with id ""), and ZooKeeper
 * takes the null and judges the ACL itself (InvalidACL where it matters).
 */
export function readAcl(reader: JuteReader): Acl {
  const perms = reader.readInt();
  const scheme = reader.readString() ?? "";
  const id = reader.readString() ?? "";
  return { perms, scheme, id };
}

/** Fewest bytes of one encoded ACL: perms and two empty strings. */
const aclBytesMin = 3 * intBytes;

function writeAclVector(writer: JuteWriter, acl: readonly Acl[]): void {
  writer.writeVector(acl, writeAcl);
}

/** Reads a `vector<ACL>`; a null vector reads as empty (ZooKeeper rejects both alike). */
function readAclVector(reader: JuteReader): Acl[] {
  return reader.readVector(readAcl, aclBytesMin) ?? [];
}

/** Reads a `vector<ustring>`; a null vector reads as empty. */
function readStrings(reader: JuteReader): string[] {
  return reader.readStringVector() ?? [];
}

/** Reads a buffer where null carries no meaning of its own; null reads as empty. */
function readBytes(reader: JuteReader): Uint8Array {
  return reader.readBuffer() ?? new Uint8Array(0);
}

/** `ClientInfo`, one identity of a session, as whoAmI reports it. */
export interface ClientInfo {
  authScheme: string;
  user: string;
}

// ---------------------------------------------------------------------------------------------
// Connect

/**
 * `ConnectRequest`, the first payload of a connection (no request header). `readOnly` is a
 * trailing boolean that clients older than ZooKeeper 3.4 omit; it is `undefined` when absent.
 */
export interface ConnectRequest {
  protocolVersion: number;
  lastZxidSeen: number;
  /** Requested session timeout, ms. */
  timeOut: number;
  /** 0 for a new session. */
  sessionId: number;
  /** Session password; a null buffer reads as empty. */
  passwd: Uint8Array;
  readOnly?: boolean;
}

/**
 * `ConnectResponse`, the server's first payload. `readOnly` is trailing: ZooKeeper writes it only
 * to clients whose request carried it, so leave it `undefined` for those that did not.
 */
export interface ConnectResponse {
  protocolVersion: number;
  /** Negotiated session timeout, ms (0 when the session has expired). */
  timeOut: number;
  sessionId: number;
  passwd: Uint8Array;
  readOnly?: boolean;
}

/** Encodes a connect request as a complete frame. */
export function encodeConnectRequest(request: ConnectRequest): Uint8Array {
  return frameOf((writer) => {
    writer.writeInt(request.protocolVersion).writeLong(request.lastZxidSeen);
    writer.writeInt(request.timeOut).writeLong(request.sessionId).writeBuffer(request.passwd);
    if (request.readOnly !== undefined) writer.writeBool(request.readOnly);
  });
}

/** Decodes a connect request payload; a missing trailing `readOnly` is accepted. */
export function decodeConnectRequest(payload: Uint8Array): Decoded<ConnectRequest> {
  return decodeWith(payload, (reader) => {
    const request: ConnectRequest = {
      protocolVersion: reader.readInt(),
      lastZxidSeen: reader.readLong(),
      timeOut: reader.readInt(),
      sessionId: reader.readLong(),
      passwd: readBytes(reader),
    };
    if (!reader.done) request.readOnly = reader.readBool();
    return request;
  });
}

/** Encodes a connect response as a complete frame. */
export function encodeConnectResponse(response: ConnectResponse): Uint8Array {
  return frameOf((writer) => {
    writer.writeInt(response.protocolVersion).writeInt(response.timeOut);
    writer.writeLong(response.sessionId).writeBuffer(response.passwd);
    if (response.readOnly !== undefined) writer.writeBool(response.readOnly);
  });
}

/** Decodes a connect response payload; a missing trailing `readOnly` is accepted. */
export function decodeConnectResponse(payload: Uint8Array): Decoded<ConnectResponse> {
  return decodeWith(payload, (reader) => {
    const response: ConnectResponse = {
      protocolVersion: reader.readInt(),
      timeOut: reader.readInt(),
      sessionId: reader.readLong(),
      passwd: readBytes(reader),
    };
    if (!reader.done) response.readOnly = reader.readBool();
    return response;
  });
}

// ---------------------------------------------------------------------------------------------
// Request records

/** `CreateRequest`: the body of create, create2 and createContainer. */
export interface CreateRequest {
  path: string;
  /** ZooKeeper keeps null data apart from empty data, and getData returns it as null. */
  data: Uint8Array | null;
  /** A null vector on the wire reads as empty. */
  acl: Acl[];
  /** A `CreateFlag` (codes.ts). */
  flags: number;
}

/** `CreateTTLRequest`: a create with a time to live, ms. */
export interface CreateTTLRequest extends CreateRequest {
  ttl: number;
}

/** A path and an expected version: `DeleteRequest` and `CheckVersionRequest`. */
export interface PathVersionRequest {
  path: string;
  /** -1 matches any version. */
  version: number;
}

/** A path and a watch flag: `ExistsRequest`, `GetDataRequest`, `GetChildren(2)Request`. */
export interface PathWatchRequest {
  path: string;
  watch: boolean;
}

/**
 * A path alone: `GetACLRequest`, `SyncRequest`, `GetAllChildrenNumberRequest`, and
 * deleteContainer's `DeleteContainerRequest` (which writes its path as a buffer: the same bytes).
 */
export interface PathRequest {
  path: string;
}

/** `SetDataRequest`. */
export interface SetDataRequest {
  path: string;
  data: Uint8Array | null;
  version: number;
}

/** `SetACLRequest`. */
export interface SetACLRequest {
  path: string;
  acl: Acl[];
  version: number;
}

/** A path and a `WatcherType` (codes.ts): `CheckWatchesRequest` and `RemoveWatchesRequest`. */
export interface WatcherTypeRequest {
  path: string;
  type: number;
}

/** `AddWatchRequest`. */
export interface AddWatchRequest {
  path: string;
  /** An `AddWatchMode` (codes.ts). */
  mode: number;
}

/** `GetEphemeralsRequest`; ZooKeeper treats a null or blank prefix as "all". */
export interface GetEphemeralsRequest {
  prefixPath: string | null;
}

/** `AuthPacket` (sent with xid -4). */
export interface AuthPacket {
  /** Always 0 in practice. */
  type: number;
  scheme: string;
  /** A null buffer reads as empty. */
  auth: Uint8Array;
}

/** `SetWatches` (sent with xid -8 after a reconnect): the watches to restore. */
export interface SetWatches {
  relativeZxid: number;
  dataWatches: string[];
  existWatches: string[];
  childWatches: string[];
}

/** `SetWatches2`: {@linkcode SetWatches} with persistent and persistent recursive watches. */
export interface SetWatches2 extends SetWatches {
  persistentWatches: string[];
  persistentRecursiveWatches: string[];
}

/** `ReconfigRequest`; the server lists are null when not given (incremental vs. bulk). */
export interface ReconfigRequest {
  joiningServers: string | null;
  leavingServers: string | null;
  newMembers: string | null;
  /** -1 for "whatever the current config is". */
  curConfigId: number;
}

/** `GetSASLRequest`: one SASL token (a null buffer reads as empty). */
export interface GetSASLRequest {
  token: Uint8Array;
}

/** The ops of a multi: `MultiOperationRecord` of write ops. */
export interface MultiRequest {
  ops: MultiOp[];
}

/** The ops of a multiRead: `MultiOperationRecord` of read ops. */
export interface MultiReadRequest {
  ops: MultiReadOp[];
}

/** The body of ping, closeSession and whoAmI: nothing. */
export type EmptyRequest = Record<never, never>;

/** Each client opcode's request record, keyed by the opcode's name. */
export interface RequestBodies {
  create: CreateRequest;
  create2: CreateRequest;
  createContainer: CreateRequest;
  createTTL: CreateTTLRequest;
  delete: PathVersionRequest;
  deleteContainer: PathRequest;
  exists: PathWatchRequest;
  getData: PathWatchRequest;
  setData: SetDataRequest;
  getACL: PathRequest;
  setACL: SetACLRequest;
  getChildren: PathWatchRequest;
  getChildren2: PathWatchRequest;
  sync: PathRequest;
  check: PathVersionRequest;
  multi: MultiRequest;
  multiRead: MultiReadRequest;
  reconfig: ReconfigRequest;
  checkWatches: WatcherTypeRequest;
  removeWatches: WatcherTypeRequest;
  addWatch: AddWatchRequest;
  getEphemerals: GetEphemeralsRequest;
  getAllChildrenNumber: PathRequest;
  auth: AuthPacket;
  setWatches: SetWatches;
  setWatches2: SetWatches2;
  sasl: GetSASLRequest;
  ping: EmptyRequest;
  closeSession: EmptyRequest;
  whoAmI: EmptyRequest;
}

/** The name of an opcode a client may send. */
export type RequestOp = keyof RequestBodies;

/** A request whose opcode Corral does not know; its body is left unread. */
export interface UnknownRequest {
  op: "unknown";
  type: number;
}

/** A decoded request body, tagged with its opcode's name. */
export type ZkRequest =
  | { [K in RequestOp]: { op: K } & RequestBodies[K] }[RequestOp]
  | UnknownRequest;

/** The ops a multi may hold (as `MultiOperationRecord` reads them). */
export type MultiOp = Extract<
  ZkRequest,
  { op: "create" | "create2" | "createContainer" | "createTTL" | "delete" | "setData" | "check" }
>;

/** The ops a multiRead may hold. */
export type MultiReadOp = Extract<ZkRequest, { op: "getChildren" | "getData" }>;

/** How one record is written and read (the tag of a tagged union is not part of it). */
interface BodyCodec<T> {
  write(writer: JuteWriter, body: T): void;
  read(reader: JuteReader): T;
}

const createCodec: BodyCodec<CreateRequest> = {
  write(writer, body) {
    writer.writeString(body.path).writeBuffer(body.data);
    writeAclVector(writer, body.acl);
    writer.writeInt(body.flags);
  },
  read: (reader) => ({
    path: reader.readRequiredString("path"),
    data: reader.readBuffer(),
    acl: readAclVector(reader),
    flags: reader.readInt(),
  }),
};

const createTTLCodec: BodyCodec<CreateTTLRequest> = {
  write(writer, body) {
    createCodec.write(writer, body);
    writer.writeLong(body.ttl);
  },
  read: (reader) => ({ ...createCodec.read(reader), ttl: reader.readLong() }),
};

const pathCodec: BodyCodec<PathRequest> = {
  write: (writer, body) => writer.writeString(body.path),
  read: (reader) => ({ path: reader.readRequiredString("path") }),
};

const pathVersionCodec: BodyCodec<PathVersionRequest> = {
  write: (writer, body) => writer.writeString(body.path).writeInt(body.version),
  read: (reader) => ({ path: reader.readRequiredString("path"), version: reader.readInt() }),
};

const pathWatchCodec: BodyCodec<PathWatchRequest> = {
  write: (writer, body) => writer.writeString(body.path).writeBool(body.watch),
  read: (reader) => ({ path: reader.readRequiredString("path"), watch: reader.readBool() }),
};

const setDataCodec: BodyCodec<SetDataRequest> = {
  write: (writer, body) =>
    writer.writeString(body.path).writeBuffer(body.data).writeInt(body.version),
  read: (reader) => ({
    path: reader.readRequiredString("path"),
    data: reader.readBuffer(),
    version: reader.readInt(),
  }),
};

const setACLCodec: BodyCodec<SetACLRequest> = {
  write(writer, body) {
    writer.writeString(body.path);
    writeAclVector(writer, body.acl);
    writer.writeInt(body.version);
  },
  read: (reader) => ({
    path: reader.readRequiredString("path"),
    acl: readAclVector(reader),
    version: reader.readInt(),
  }),
};

const watcherTypeCodec: BodyCodec<WatcherTypeRequest> = {
  write: (writer, body) => writer.writeString(body.path).writeInt(body.type),
  read: (reader) => ({ path: reader.readRequiredString("path"), type: reader.readInt() }),
};

const addWatchCodec: BodyCodec<AddWatchRequest> = {
  write: (writer, body) => writer.writeString(body.path).writeInt(body.mode),
  read: (reader) => ({ path: reader.readRequiredString("path"), mode: reader.readInt() }),
};

const setWatchesCodec: BodyCodec<SetWatches> = {
  write(writer, body) {
    writer.writeLong(body.relativeZxid).writeStringVector(body.dataWatches);
    writer.writeStringVector(body.existWatches).writeStringVector(body.childWatches);
  },
  read: (reader) => ({
    relativeZxid: reader.readLong(),
    dataWatches: readStrings(reader),
    existWatches: readStrings(reader),
    childWatches: readStrings(reader),
  }),
};

const setWatches2Codec: BodyCodec<SetWatches2> = {
  write(writer, body) {
    setWatchesCodec.write(writer, body);
    writer.writeStringVector(body.persistentWatches);
    writer.writeStringVector(body.persistentRecursiveWatches);
  },
  read: (reader) => ({
    ...setWatchesCodec.read(reader),
    persistentWatches: readStrings(reader),
    persistentRecursiveWatches: readStrings(reader),
  }),
};

const reconfigCodec: BodyCodec<ReconfigRequest> = {
  write(writer, body) {
    writer.writeString(body.joiningServers).writeString(body.leavingServers);
    writer.writeString(body.newMembers).writeLong(body.curConfigId);
  },
  read: (reader) => ({
    joiningServers: reader.readString(),
    leavingServers: reader.readString(),
    newMembers: reader.readString(),
    curConfigId: reader.readLong(),
  }),
};

const emptyCodec: BodyCodec<EmptyRequest> = {
  write() {},
  read: () => ({}),
};

const multiOpNames: ReadonlySet<string> = new Set<MultiOp["op"]>([
  "create",
  "create2",
  "createContainer",
  "createTTL",
  "delete",
  "setData",
  "check",
]);

const multiReadOpNames: ReadonlySet<string> = new Set<MultiReadOp["op"]>([
  "getChildren",
  "getData",
]);

/**
 * The codec of a `MultiOperationRecord` whose ops are named in `allowed`: each op is a
 * `MultiHeader {type, done: false, err: -1}` and the op's record; a header with `done` set ends
 * the list (ZooKeeper writes `{-1, true, -1}` and reads only `done`). ZooKeeper rejects a mix of
 * read and write ops, and so does this: multi takes only writes, multiRead only reads.
 */
function multiCodec<Op extends MultiOp | MultiReadOp>(
  kind: string,
  allowed: ReadonlySet<string>,
): BodyCodec<{ ops: Op[] }> {
  return {
    write(writer, body) {
      for (const op of body.ops) {
        writeMultiHeader(writer, { type: OpCode[op.op], done: false, err: -1 });
        codecOf(op.op).write(writer, op);
      }
      writeMultiHeader(writer, { type: -1, done: true, err: -1 });
    },
    read(reader) {
      const ops: Op[] = [];
      for (let header = readMultiHeader(reader); !header.done; header = readMultiHeader(reader)) {
        const name = opNameOf.get(header.type);
        if (name === undefined || !allowed.has(name)) {
          throw new JuteError(
            `op type ${header.type} (${name ?? "unknown"}) is not allowed in a ${kind}`,
          );
        }
        ops.push({ op: name, ...(codecOf(name as RequestOp).read(reader) as object) } as Op);
      }
      return { ops };
    },
  };
}

function writeMultiHeader(writer: JuteWriter, header: MultiHeader): void {
  writer.writeInt(header.type).writeBool(header.done).writeInt(header.err);
}

function readMultiHeader(reader: JuteReader): MultiHeader {
  return { type: reader.readInt(), done: reader.readBool(), err: reader.readInt() };
}

/** Every client opcode's record codec. */
const requestCodecs: { readonly [K in RequestOp]: BodyCodec<RequestBodies[K]> } = {
  create: createCodec,
  create2: createCodec,
  createContainer: createCodec,
  createTTL: createTTLCodec,
  delete: pathVersionCodec,
  deleteContainer: pathCodec,
  exists: pathWatchCodec,
  getData: pathWatchCodec,
  setData: setDataCodec,
  getACL: pathCodec,
  setACL: setACLCodec,
  getChildren: pathWatchCodec,
  getChildren2: pathWatchCodec,
  sync: pathCodec,
  check: pathVersionCodec,
  multi: multiCodec<MultiOp>("multi", multiOpNames),
  multiRead: multiCodec<MultiReadOp>("multiRead", multiReadOpNames),
  reconfig: reconfigCodec,
  checkWatches: watcherTypeCodec,
  removeWatches: watcherTypeCodec,
  addWatch: addWatchCodec,
  getEphemerals: {
    write: (writer, body) => writer.writeString(body.prefixPath),
    read: (reader) => ({ prefixPath: reader.readString() }),
  },
  getAllChildrenNumber: pathCodec,
  auth: {
    write: (writer, body) =>
      writer.writeInt(body.type).writeString(body.scheme).writeBuffer(body.auth),
    read: (reader) => ({
      type: reader.readInt(),
      scheme: reader.readRequiredString("auth scheme"),
      auth: readBytes(reader),
    }),
  },
  setWatches: setWatchesCodec,
  setWatches2: setWatches2Codec,
  sasl: {
    write: (writer, body) => writer.writeBuffer(body.token),
    read: (reader) => ({ token: readBytes(reader) }),
  },
  ping: emptyCodec,
  closeSession: emptyCodec,
  whoAmI: emptyCodec,
};

/** The codec of `op`, widened so a request of any op can go through it. */
function codecOf(op: RequestOp): BodyCodec<unknown> {
  return requestCodecs[op] as BodyCodec<unknown>;
}

function isRequestOp(name: OpName | undefined): name is RequestOp {
  return name !== undefined && Object.hasOwn(requestCodecs, name);
}

/**
 * Encodes a request (header and body) as a complete frame. The opcode comes from `request.op`
 * (`type` for an unknown one, which gets no body). Pass the special xids of `Xid` for ping, auth
 * and setWatches.
 */
export function encodeRequest(xid: number, request: ZkRequest): Uint8Array {
  return frameOf((writer) => {
    if (request.op === "unknown") {
      writer.writeInt(xid).writeInt(request.type);
      return;
    }
    writer.writeInt(xid).writeInt(OpCode[request.op]);
    codecOf(request.op).write(writer, request);
  });
}

/** What {@linkcode decodeRequest} returns. */
export type DecodedRequest =
  | { ok: true; header: RequestHeader; request: ZkRequest }
  | {
    ok: false;
    /** The request's xid when the payload was long enough to hold it, so it can be answered. */
    xid: number | null;
    /** The opcode when it could be read. */
    type: number | null;
    reason: string;
  };

/**
 * Decodes one request payload (after the connect). Never throws for bad input: a payload too
 * short for its record, or with a bad length, gives an error value carrying the xid if it could
 * be read (answer it with `MarshallingError`). An opcode that is not a client request (including
 * notification, createSession and error) decodes as `{ op: "unknown", type }`. Bytes after the
 * record are ignored, as ZooKeeper ignores them.
 */
export function decodeRequest(payload: Uint8Array): DecodedRequest {
  const reader = new JuteReader(payload);
  let xid: number | null = null;
  let type: number | null = null;
  try {
    xid = reader.readInt();
    type = reader.readInt();
    const name = opNameOf.get(type);
    let request: ZkRequest;
    if (isRequestOp(name)) {
      // The body's own object gains the op: no copy of it per request.
      request = requestCodecs[name].read(reader) as ZkRequest;
      request.op = name;
    } else {
      request = { op: "unknown", type };
    }
    return { ok: true, header: { xid, type }, request };
  } catch (error) {
    if (!(error instanceof JuteError)) throw error;
    return { ok: false, xid, type, reason: error.message };
  }
}

// ---------------------------------------------------------------------------------------------
// Reply records

/**
 * One result of a multi or multiRead (`OpResult`). ZooKeeper reports a failed multi as results
 * that are all `error`: `err` 0 for the ops before the failing one (rolled back), the failing op's
 * own code, and `RuntimeInconsistency` for the ops after it; the reply header's `err` stays 0.
 * createTTL and createContainer results come back as `create2`.
 */
export type MultiResult =
  | { op: "create"; path: string }
  | { op: "create2"; path: string; stat: Stat }
  | { op: "delete" }
  | { op: "setData"; stat: Stat }
  | { op: "check" }
  | { op: "getChildren"; children: string[] }
  | { op: "getData"; data: Uint8Array | null; stat: Stat }
  | { op: "error"; err: number };

/** Each reply record, keyed by its jute name. */
export interface ResponseBodies {
  /** The reply to create. */
  CreateResponse: { path: string };
  /** The reply to create2, createTTL and createContainer. */
  Create2Response: { path: string; stat: Stat };
  /**
   * One Stat: jute's `ExistsResponse`, `SetDataResponse` and `SetACLResponse` (the replies to
   * exists, setData, setACL, and a check sent alone).
   */
  StatResponse: { stat: Stat };
  /** The reply to getData, and to reconfig (the new config as data). */
  GetDataResponse: { data: Uint8Array | null; stat: Stat };
  GetACLResponse: { acl: Acl[]; stat: Stat };
  GetChildrenResponse: { children: string[] };
  GetChildren2Response: { children: string[]; stat: Stat };
  SyncResponse: { path: string };
  GetEphemeralsResponse: { ephemerals: string[] };
  GetAllChildrenNumberResponse: { totalNumber: number };
  WhoAmIResponse: { clientInfo: ClientInfo[] };
  /** An error code as a record: a multi op's failure, and (with 0) the reply to addWatch. */
  ErrorResponse: { err: number };
  /** The reply to sasl. */
  SetSASLResponse: { token: Uint8Array };
  /** The reply to multi and multiRead. */
  MultiResponse: { results: MultiResult[] };
  /** A watch notification (xid -1): an `EventType` and a `KeeperState` (codes.ts), and a path. */
  WatcherEvent: { type: number; state: number; path: string };
}

/** The jute name of a reply record. */
export type ResponseRecord = keyof ResponseBodies;

/** A reply body, tagged with its record's name. */
export type ZkResponse = {
  [K in ResponseRecord]: { record: K } & ResponseBodies[K];
}[ResponseRecord];

/** The reply record of each opcode that has one (see ZooKeeper's `FinalRequestProcessor`). */
const replyRecordByOp: Readonly<Partial<Record<OpName, ResponseRecord>>> = Object.freeze({
  notification: "WatcherEvent",
  create: "CreateResponse",
  create2: "Create2Response",
  createTTL: "Create2Response",
  createContainer: "Create2Response",
  exists: "StatResponse",
  setData: "StatResponse",
  setACL: "StatResponse",
  check: "StatResponse",
  getData: "GetDataResponse",
  reconfig: "GetDataResponse",
  getACL: "GetACLResponse",
  getChildren: "GetChildrenResponse",
  getChildren2: "GetChildren2Response",
  sync: "SyncResponse",
  multi: "MultiResponse",
  multiRead: "MultiResponse",
  getEphemerals: "GetEphemeralsResponse",
  getAllChildrenNumber: "GetAllChildrenNumberResponse",
  whoAmI: "WhoAmIResponse",
  addWatch: "ErrorResponse",
  sasl: "SetSASLResponse",
});

/**
 * The record a successful reply to opcode `type` carries, or `null` when it carries none (delete,
 * deleteContainer, ping, closeSession, auth, setWatches, setWatches2, checkWatches, removeWatches)
 * or the opcode is unknown.
 */
export function responseRecordOf(type: number): ResponseRecord | null {
  const name = opNameOf.get(type);
  return (name !== undefined && replyRecordByOp[name]) || null;
}

type MultiResultBodies = { [K in MultiResult["op"]]: Omit<Extract<MultiResult, { op: K }>, "op"> };

const multiResultCodecs: { readonly [K in MultiResult["op"]]: BodyCodec<MultiResultBodies[K]> } = {
  create: {
    write: (writer, body) => writer.writeString(body.path),
    read: (reader) => ({ path: reader.readRequiredString("path") }),
  },
  create2: {
    write: (writer, body) => writeStat(writer.writeString(body.path), body.stat),
    read: (reader) => ({ path: reader.readRequiredString("path"), stat: readStat(reader) }),
  },
  delete: emptyCodec,
  check: emptyCodec,
  setData: { write: (writer, body) => writeStat(writer, body.stat), read: readStatBody },
  getChildren: {
    write: (writer, body) => writer.writeStringVector(body.children),
    read: (reader) => ({ children: readStrings(reader) }),
  },
  getData: {
    write: (writer, body) => writeStat(writer.writeBuffer(body.data), body.stat),
    read: (reader) => ({ data: reader.readBuffer(), stat: readStat(reader) }),
  },
  error: {
    write: (writer, body) => writer.writeInt(body.err),
    read: (reader) => ({ err: reader.readInt() }),
  },
};

function readStatBody(reader: JuteReader): { stat: Stat } {
  return { stat: readStat(reader) };
}

function isMultiResultOp(name: OpName | undefined): name is MultiResult["op"] {
  return name !== undefined && Object.hasOwn(multiResultCodecs, name);
}

/**
 * `MultiResponse`: each result is a `MultiHeader {type, done: false, err}` (`type` -1 and `err`
 * the code for an error result, `err` 0 otherwise) and the result's record; `{-1, true, -1}` ends
 * the list. As in ZooKeeper, an error result's code is read from its `ErrorResponse`.
 */
const multiResponseCodec: BodyCodec<{ results: MultiResult[] }> = {
  write(writer, body) {
    for (const result of body.results) {
      const err = result.op === "error" ? result.err : KeeperCode.Ok;
      writeMultiHeader(writer, { type: OpCode[result.op], done: false, err });
      (multiResultCodecs[result.op] as BodyCodec<unknown>).write(writer, result);
    }
    writeMultiHeader(writer, { type: -1, done: true, err: -1 });
  },
  read(reader) {
    const results: MultiResult[] = [];
    for (let header = readMultiHeader(reader); !header.done; header = readMultiHeader(reader)) {
      const name = opNameOf.get(header.type);
      if (!isMultiResultOp(name)) {
        throw new JuteError(`result type ${header.type} is not valid in a MultiResponse`);
      }
      const body = multiResultCodecs[name].read(reader) as object;
      results.push({ op: name, ...body } as MultiResult);
    }
    return { results };
  },
};

/** Every reply record's codec. */
const responseCodecs: { readonly [K in ResponseRecord]: BodyCodec<ResponseBodies[K]> } = {
  CreateResponse: multiResultCodecs.create,
  Create2Response: multiResultCodecs.create2,
  StatResponse: multiResultCodecs.setData,
  GetDataResponse: multiResultCodecs.getData,
  GetACLResponse: {
    write: (writer, body) => {
      writeAclVector(writer, body.acl);
      writeStat(writer, body.stat);
    },
    read: (reader) => ({ acl: readAclVector(reader), stat: readStat(reader) }),
  },
  GetChildrenResponse: multiResultCodecs.getChildren,
  GetChildren2Response: {
    write: (writer, body) => writeStat(writer.writeStringVector(body.children), body.stat),
    read: (reader) => ({ children: readStrings(reader), stat: readStat(reader) }),
  },
  SyncResponse: multiResultCodecs.create,
  GetEphemeralsResponse: {
    write: (writer, body) => writer.writeStringVector(body.ephemerals),
    read: (reader) => ({ ephemerals: readStrings(reader) }),
  },
  GetAllChildrenNumberResponse: {
    write: (writer, body) => writer.writeInt(body.totalNumber),
    read: (reader) => ({ totalNumber: reader.readInt() }),
  },
  WhoAmIResponse: {
    write: (writer, body) =>
      writer.writeVector(body.clientInfo, (w, info) => {
        w.writeString(info.authScheme).writeString(info.user);
      }),
    read: (reader) => ({
      clientInfo: reader.readVector((r) => ({
        authScheme: r.readRequiredString("authScheme"),
        user: r.readRequiredString("user"),
      }), 2 * intBytes) ?? [],
    }),
  },
  ErrorResponse: multiResultCodecs.error,
  SetSASLResponse: {
    write: (writer, body) => writer.writeBuffer(body.token),
    read: (reader) => ({ token: readBytes(reader) }),
  },
  MultiResponse: multiResponseCodec,
  WatcherEvent: {
    write: (writer, body) => writer.writeInt(body.type).writeInt(body.state).writeString(body.path),
    read: (reader) => ({
      type: reader.readInt(),
      state: reader.readInt(),
      path: reader.readRequiredString("path"),
    }),
  },
};

/**
 * Encodes a reply as a complete frame: the header, then `response` if given. ZooKeeper sends no
 * record when `header.err` is not 0, so pass `null` then; a watch notification is
 * `{ xid: -1, zxid, err: 0 }` with a `WatcherEvent`.
 */
export function encodeReply(header: ReplyHeader, response: ZkResponse | null = null): Uint8Array {
  return frameOf((writer) => {
    writer.writeInt(header.xid).writeLong(header.zxid).writeInt(header.err);
    if (response !== null) {
      (responseCodecs[response.record] as BodyCodec<unknown>).write(writer, response);
    }
  });
}

/** What {@linkcode decodeReply} returns. */
export type DecodedReply =
  | { ok: true; header: ReplyHeader; response: ZkResponse | null }
  | { ok: false; xid: number | null; reason: string };

/**
 * Decodes one reply payload (after the connect response), for a client. A reply does not say
 * which record it holds, so `requestTypeOf(xid)` must give the opcode of the request that xid
 * answers. Notifications (xid -1) hold a `WatcherEvent`; replies to ping, auth and setWatches and
 * replies with a non-zero `err` hold nothing.
 */
export function decodeReply(
  payload: Uint8Array,
  requestTypeOf: (xid: number) => number | undefined,
): DecodedReply {
  const reader = new JuteReader(payload);
  let xid: number | null = null;
  try {
    xid = reader.readInt();
    const header: ReplyHeader = { xid, zxid: reader.readLong(), err: reader.readInt() };
    const record = replyRecordFor(header, requestTypeOf);
    if (record === null) return { ok: true, header, response: null };
    const body = responseCodecs[record].read(reader) as object;
    return { ok: true, header, response: { record, ...body } as ZkResponse };
  } catch (error) {
    if (!(error instanceof JuteError)) throw error;
    return { ok: false, xid, reason: error.message };
  }
}

/** Which record follows `header`, or null for none. */
function replyRecordFor(
  header: ReplyHeader,
  requestTypeOf: (xid: number) => number | undefined,
): ResponseRecord | null {
  if (header.xid === Xid.notification) return "WatcherEvent";
  if (header.err !== KeeperCode.Ok) return null;
  if (header.xid === Xid.ping || header.xid === Xid.auth || header.xid === Xid.setWatches) {
    return null;
  }
  const type = requestTypeOf(header.xid);
  if (type === undefined) throw new JuteError(`no request is waiting for xid ${header.xid}`);
  return responseRecordOf(type);
}
