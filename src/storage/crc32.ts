/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum of every on-disk record.
 * A native one where the runtime has it, about ten times faster than JavaScript on a txn record
 * and a hundred times on a MiB of snapshot: Bun's `Bun.hash.crc32`, else `node:zlib`'s crc32
 * (Deno, Node 22.2 and later). Elsewhere (Node 20), a table-driven one written here, which gives the
 * same results. `node:zlib` is loaded at the first checksum, not with this module: loading it
 * took about 4 ms of every start of the compiled binary, whose runtime has its own.
 * @module
 */
import { createRequire } from "node:module";

const table = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 of `bytes` computed in JavaScript, for runtimes without `zlib.crc32`. */
export function crc32Portable(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.byteLength; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

type Crc32 = (data: Uint8Array) => number;

const bunCrc32 = (globalThis as { Bun?: { hash?: { crc32?: Crc32 } } }).Bun?.hash?.crc32;

/** `node:zlib`'s crc32, or null where it has none; undefined until first asked for. */
let zlibCrc32: Crc32 | null | undefined;

function zlibNative(): Crc32 | null {
  if (zlibCrc32 === undefined) {
    const zlib = createRequire(import.meta.url)("node:zlib") as { crc32?: Crc32 };
    zlibCrc32 = typeof zlib.crc32 === "function" ? zlib.crc32 : null;
  }
  return zlibCrc32;
}

/**
 * CRC-32 of `bytes`, as an unsigned 32-bit integer.
 *
 * @example
 * ```ts
 * import { crc32 } from "./crc32.ts";
 * crc32(new TextEncoder().encode("123456789")); // 0xcbf43926
 * ```
 */
export const crc32: (bytes: Uint8Array) => number = typeof bunCrc32 === "function"
  ? (bytes) => bunCrc32(bytes) >>> 0
  : (bytes) => (zlibNative() ?? crc32Portable)(bytes);
