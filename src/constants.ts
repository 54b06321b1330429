/**
 * Every limit Corral enforces, named in one place (units last), with the relationships between
 * them asserted at load so a bad edit fails at start, not under load.
 * @module
 */
import { assert } from "./assert.ts";

/**
 * Newest version of the CBOR client protocol this build speaks (see docs/PROTOCOL.md); its client
 * asks for it. Version 2 writes the known map keys as small integers.
 */
export const protocolVersion = 2;

/** Oldest client protocol version this build's server still accepts. */
export const protocolVersionMin = 1;

/** Largest znode data accepted by default (ZooKeeper's jute.maxbuffer is about the same). */
export const dataBytesMax = 1024 * 1024;

/** Largest client frame (length prefix excluded). A multi may carry several values. */
export const frameBytesMax = 4 * 1024 * 1024;

/** Longest path, in UTF-8 bytes. */
export const pathBytesMax = 4096;

/** Most ops in one multi. */
export const multiOpsMax = 1000;

/** Most ACL entries on one znode. */
export const aclEntriesMax = 64;

/** Most requests one session may have unanswered; the client learns it in the handshake. */
export const pendingRequestsMax = 1000;

/** Most watch registrations one session may hold (each path and kind counts once). */
export const watchesPerSessionMax = 100_000;

/** Most paths in one setWatches request. */
export const setWatchesPathsMax = 100_000;

/** Most bytes queued towards one client connection before the server drops it as too slow. */
export const connectionOutboxBytesMax = 64 * 1024 * 1024;

/** Default tick length; session timeouts are clamped to [2, 20] ticks. */
export const tickMsDefault = 2000;

/** Session timeout bounds in ticks (REFERENCE §3). */
export const sessionTimeoutTicksMin = 2;
/** Session timeout bounds in ticks (REFERENCE §3). */
export const sessionTimeoutTicksMax = 20;

/** Default CBOR client port. 2181 is left for the ZooKeeper-protocol port of a later issue. */
export const cborClientPortDefault = 2281;

/** Default ZooKeeper-protocol client port (ZooKeeper's own default). */
export const zkClientPortDefault = 2181;

/** Default maximum of concurrent client connections per remote address (0 = unlimited). */
export const maxClientCnxnsDefault = 60;

/** Random bytes in a session password. */
export const sessionPasswordBytes = 16;

/** Most bytes one snapshotRead (online backup) returns. */
export const snapshotReadBytesMax = 1024 * 1024;

/** Most bytes of an auth payload (addAuth). */
export const authBytesMax = 1024;

assert(frameBytesMax >= 2 * dataBytesMax, "a frame holds a full znode value plus overhead");
assert(pathBytesMax < dataBytesMax, "paths are smaller than values");
assert(snapshotReadBytesMax + 1024 < frameBytesMax, "a backup chunk fits in a frame");
assert(sessionTimeoutTicksMin < sessionTimeoutTicksMax, "timeout bounds are ordered");

/** Longest TTL of a TTL node, in ms (ZooKeeper's limit: 40 bits). */
export const ttlMsMax = 2 ** 40 - 1;
