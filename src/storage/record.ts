/**
 * On-disk record framing shared by txn logs and snapshots (docs/STORAGE.md): a file starts with
 * a 16-byte header (8-byte magic, u32 format version, u32 reserved), then records, each a u32
 * big-endian body length, a u32 CRC-32 of the body, and the body (one CBOR item).
 * @module
 */
import { makeCbor } from "../wire/cbor.ts";
import { crc32 } from "./crc32.ts";

/** Bytes of a file header. */
export const fileHeaderBytes = 16;
/** Bytes before each record body: length + checksum. */
export const recordHeaderBytes = 8;
/** Version of the on-disk format written by this build. */
export const storageFormatVersion = 1;
/** Largest record body accepted when reading; anything larger is corruption, not data. */
export const recordBodyBytesMax = 64 * 1024 * 1024;

const cbor = makeCbor();

/** A file header for `magic` (exactly 8 ASCII characters). */
export function fileHeader(magic: string): Uint8Array {
  if (magic.length !== 8) throw new RangeError("a file magic is 8 characters");
  const header = new Uint8Array(fileHeaderBytes);
  header.set(new TextEncoder().encode(magic), 0);
  new DataView(header.buffer).setUint32(8, storageFormatVersion);
  return header;
}

/** Why a file header is not one of ours, or null when it is. */
export function checkFileHeader(bytes: Uint8Array, magic: string): string | null {
  if (bytes.byteLength < fileHeaderBytes) return `shorter than its ${fileHeaderBytes}-byte header`;
  const found = new TextDecoder().decode(bytes.subarray(0, 8));
  if (found !== magic) {
    return `bad magic ${JSON.stringify(found)}, expected ${JSON.stringify(magic)}`;
  }
  const version = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8);
  if (version !== storageFormatVersion) {
    return `format version ${version} is not supported (this build reads ${storageFormatVersion})`;
  }
  return null;
}

/** Encodes `value` as one framed record. */
export function encodeRecord(value: unknown): Uint8Array {
  return frameRecordBody(cbor.encode(value));
}

/** Encodes `value` as a record body: the CBOR item a record frames, without the frame. */
export function encodeRecordBody(value: unknown): Uint8Array {
  return cbor.encode(value);
}

/** Decodes a record body; throws on malformed CBOR or trailing bytes. */
export function decodeRecordBody(body: Uint8Array): unknown {
  return cbor.decode(body);
}

/** Frames a body encoded already (by {@linkcode encodeRecordBody}, or received so). */
export function frameRecordBody(body: Uint8Array): Uint8Array {
  // The ArrayBuffer comes first: asking a typed array for `.buffer` is slow on JavaScriptCore.
  const buffer = new ArrayBuffer(recordHeaderBytes + body.byteLength);
  const out = new Uint8Array(buffer);
  const view = new DataView(buffer);
  view.setUint32(0, body.byteLength);
  view.setUint32(4, crc32(body));
  out.set(body, recordHeaderBytes);
  return out;
}

/** One step of reading records: a value, the clean end, or a damaged record at `offset`. */
export type ReadResult =
  | { kind: "record"; value: unknown; offset: number; next: number }
  | { kind: "end"; offset: number }
  | { kind: "damaged"; offset: number; reason: string };

/**
 * Reads the record at `offset` of `bytes`. A record cut short by the end of the buffer, one whose
 * checksum does not match, or one that is not CBOR is `damaged`; the caller decides whether that
 * is a torn tail or corruption.
 */
export function readRecord(bytes: Uint8Array, offset: number): ReadResult {
  if (offset === bytes.byteLength) return { kind: "end", offset };
  if (bytes.byteLength - offset < recordHeaderBytes) {
    return { kind: "damaged", offset, reason: "record header cut short" };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(offset);
  const checksum = view.getUint32(offset + 4);
  if (length === 0 || length > recordBodyBytesMax) {
    return { kind: "damaged", offset, reason: `implausible record length ${length}` };
  }
  const end = offset + recordHeaderBytes + length;
  if (end > bytes.byteLength) return { kind: "damaged", offset, reason: "record body cut short" };
  const body = bytes.subarray(offset + recordHeaderBytes, end);
  if (crc32(body) !== checksum) return { kind: "damaged", offset, reason: "checksum mismatch" };
  try {
    return { kind: "record", value: cbor.decode(body), offset, next: end };
  } catch (e) {
    return { kind: "damaged", offset, reason: `body is not CBOR: ${(e as Error).message}` };
  }
}
