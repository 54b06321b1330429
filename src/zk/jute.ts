/**
 * Jute, the binary record encoding of Apache ZooKeeper's client protocol, as Java's `DataOutput`
 * writes it: big-endian `int` (4 bytes) and `long` (8 bytes), `boolean` as one byte, `buffer` and
 * `ustring` as an `int` length then the bytes (UTF-8 for strings; length -1 for null), `vector` as
 * an `int` count then the items (count -1 for null).
 *
 * {@linkcode JuteReader} reads untrusted bytes: it never reads past the end, and every malformed
 * input (short data, a negative length other than -1, a length or count larger than what is left,
 * a long that is not a safe JavaScript integer) throws a {@linkcode JuteError}. The writer's
 * inputs come from our own code, so a value out of range there is a bug and throws `RangeError`.
 *
 * @example
 * ```ts
 * import { JuteReader, JuteWriter } from "./jute.ts";
 * const bytes = new JuteWriter().writeInt(7).writeString("/a").finish();
 * const reader = new JuteReader(bytes);
 * reader.readInt(); // 7
 * reader.readString(); // "/a"
 * ```
 * @module
 */

/** Malformed jute input: the bytes cannot be read as the record they should hold. */
export class JuteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JuteError";
  }
}

/** Bytes of a jute `int`. */
export const intBytes = 4;
/** Bytes of a jute `long`. */
export const longBytes = 8;

const int32Min = -0x8000_0000;
const int32Max = 0x7fff_ffff;
/** 2^32: a jute long is written and read as its high and low 32-bit halves. */
const twoTo32 = 0x1_0000_0000;

const utf8Encoder = new TextEncoder();
// Not fatal: Java's `new String(bytes, UTF_8)` replaces malformed sequences with U+FFFD instead of
// failing, and a ZooKeeper server accepts what it would accept.
const utf8Decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/**
 * A growable big-endian byte buffer that writes jute primitives. Every `write*` returns the writer,
 * so calls chain; {@linkcode JuteWriter.finish} returns the bytes written.
 */
export class JuteWriter {
  #bytes: Uint8Array;
  #view: DataView;
  #length = 0;

  constructor(initialBytes = 256) {
    // The ArrayBuffer comes first: asking a typed array for `.buffer` is slow on JavaScriptCore.
    const buffer = new ArrayBuffer(Math.max(16, initialBytes));
    this.#bytes = new Uint8Array(buffer);
    this.#view = new DataView(buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#length;
  }

  /** Writes a 32-bit signed integer; throws `RangeError` outside [-2^31, 2^31 - 1]. */
  writeInt(value: number): this {
    if (!Number.isInteger(value) || value < int32Min || value > int32Max) {
      throw new RangeError(`jute int out of range: ${value}`);
    }
    this.#reserve(intBytes);
    this.#view.setInt32(this.#length, value);
    this.#length += intBytes;
    return this;
  }

  /** Writes a 64-bit signed integer from a safe JavaScript integer (negative ones included). */
  writeLong(value: number): this {
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(`jute long is not a safe integer: ${value}`);
    }
    this.#reserve(longBytes);
    // Two 32-bit halves instead of a bigint: no allocation on the hot path. The high half is the
    // floor, so a negative value gets its two's-complement high word and a low word in [0, 2^32).
    const high = Math.floor(value / twoTo32);
    this.#view.setInt32(this.#length, high);
    this.#view.setUint32(this.#length + intBytes, value - high * twoTo32);
    this.#length += longBytes;
    return this;
  }

  /** Writes a 64-bit signed integer given as a bigint, for values beyond 2^53 (bit patterns). */
  writeLongBig(value: bigint): this {
    if (BigInt.asIntN(64, value) !== value) {
      throw new RangeError(`jute long out of range: ${value}`);
    }
    this.#reserve(longBytes);
    this.#view.setBigInt64(this.#length, value);
    this.#length += longBytes;
    return this;
  }

  /** Writes a boolean as one byte, 1 or 0. */
  writeBool(value: boolean): this {
    this.#reserve(1);
    this.#bytes[this.#length++] = value ? 1 : 0;
    return this;
  }

  /** Writes a length-prefixed byte string; `null` is written as length -1. */
  writeBuffer(value: Uint8Array | null): this {
    if (value === null) return this.writeInt(-1);
    this.writeInt(value.byteLength);
    this.writeRaw(value);
    return this;
  }

  /**
   * Writes a length-prefixed UTF-8 string; `null` is written as length -1. A lone surrogate
   * cannot be encoded and becomes U+FFFD.
   */
  writeString(value: string | null): this {
    return this.writeBuffer(value === null ? null : utf8Encoder.encode(value));
  }

  /** Writes a count then each item with `writeItem`; `null` is written as count -1. */
  writeVector<T>(
    items: readonly T[] | null,
    writeItem: (writer: JuteWriter, item: T) => void,
  ): this {
    if (items === null) return this.writeInt(-1);
    this.writeInt(items.length);
    for (const item of items) writeItem(this, item);
    return this;
  }

  /** Writes a `vector<ustring>`. */
  writeStringVector(items: readonly string[] | null): this {
    return this.writeVector(items, (writer, item) => writer.writeString(item));
  }

  /** Appends bytes as they are, with no length prefix. */
  writeRaw(bytes: Uint8Array): this {
    this.#reserve(bytes.byteLength);
    this.#bytes.set(bytes, this.#length);
    this.#length += bytes.byteLength;
    return this;
  }

  /** Overwrites the int at `offset` of what is already written (to fill in a length prefix). */
  patchInt(offset: number, value: number): this {
    if (offset < 0 || offset + intBytes > this.#length) {
      throw new RangeError(`cannot patch an int at ${offset} of ${this.#length} bytes`);
    }
    this.#view.setInt32(offset, value);
    return this;
  }

  /** The bytes written, copied into an array of exactly their length. */
  finish(): Uint8Array {
    return this.#bytes.slice(0, this.#length);
  }

  /**
   * Forgets what was written so the writer can be used again (one writer serving many records
   * allocates only each record's final copy). A buffer grown past `keepBytes` is dropped, so one
   * large record does not pin its memory.
   */
  reset(keepBytes = 64 * 1024): this {
    this.#length = 0;
    if (this.#bytes.byteLength > keepBytes) {
      const buffer = new ArrayBuffer(keepBytes);
      this.#bytes = new Uint8Array(buffer);
      this.#view = new DataView(buffer);
    }
    return this;
  }

  #reserve(bytes: number): void {
    const needed = this.#length + bytes;
    if (needed <= this.#bytes.byteLength) return;
    let capacity = this.#bytes.byteLength * 2;
    while (capacity < needed) capacity *= 2;
    const buffer = new ArrayBuffer(capacity);
    const grown = new Uint8Array(buffer);
    grown.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = grown;
    this.#view = new DataView(buffer);
  }
}

/**
 * Reads jute primitives from untrusted bytes, front to back. Reads never go past the end: each
 * one checks what is left first and throws {@linkcode JuteError} when the input is malformed.
 * Buffers it returns are copies, so the input may be reused.
 */
export class JuteReader {
  readonly #bytes: Uint8Array;
  #offset = 0;

  constructor(bytes: Uint8Array) {
    // Bytes are read one by one rather than through a DataView: one object less per record.
    this.#bytes = bytes;
  }

  /** Bytes read so far. */
  get offset(): number {
    return this.#offset;
  }

  /** Bytes not yet read. */
  get remaining(): number {
    return this.#bytes.byteLength - this.#offset;
  }

  /** Whether every byte has been read. */
  get done(): boolean {
    return this.remaining === 0;
  }

  /** Reads a 32-bit signed integer. */
  readInt(): number {
    this.#need(intBytes, "an int");
    const value = this.#int32At(this.#offset);
    this.#offset += intBytes;
    return value;
  }

  /** Reads a 64-bit signed integer; throws if it is not a safe JavaScript integer. */
  readLong(): number {
    this.#need(longBytes, "a long");
    const at = this.#offset;
    // high * 2^32 + low is exact inside the safe range, and any long outside it lands outside it
    // too (±2^53 are doubles), so the check below is exact.
    const value = this.#int32At(at) * twoTo32 + (this.#int32At(at + intBytes) >>> 0);
    if (!Number.isSafeInteger(value)) {
      throw new JuteError(`long ${this.readLongBig()} at offset ${at} is not a safe integer`);
    }
    this.#offset += longBytes;
    return value;
  }

  /** Reads a 64-bit signed integer as a bigint, whatever its size. */
  readLongBig(): bigint {
    this.#need(longBytes, "a long");
    const high = BigInt(this.#int32At(this.#offset));
    const low = BigInt(this.#int32At(this.#offset + intBytes) >>> 0);
    this.#offset += longBytes;
    return (high << 32n) | low;
  }

  /** Reads a one-byte boolean; like Java's `readBoolean`, any non-zero byte is true. */
  readBool(): boolean {
    this.#need(1, "a boolean");
    return this.#bytes[this.#offset++] !== 0;
  }

  /** Reads a length-prefixed byte string (a copy); length -1 is `null`. */
  readBuffer(): Uint8Array | null {
    const length = this.#readLength("buffer", 1);
    if (length === null) return null;
    const value = this.#bytes.slice(this.#offset, this.#offset + length);
    this.#offset += length;
    return value;
  }

  /** Reads a length-prefixed UTF-8 string; length -1 is `null`. */
  readString(): string | null {
    const length = this.#readLength("string", 1);
    if (length === null) return null;
    const value = utf8Decoder.decode(this.#bytes.subarray(this.#offset, this.#offset + length));
    this.#offset += length;
    return value;
  }

  /**
   * Reads a count then that many items with `readItem`; count -1 is `null`. `itemBytesMin` is
   * the fewest bytes one item can take: a count that could not fit in what is left is rejected
   * before any item is read, so a forged count cannot make the reader allocate or loop for long.
   */
  readVector<T>(readItem: (reader: JuteReader) => T, itemBytesMin = 1): T[] | null {
    const count = this.#readLength("vector", Math.max(1, itemBytesMin));
    if (count === null) return null;
    const items: T[] = [];
    for (let i = 0; i < count; i++) items.push(readItem(this));
    return items;
  }

  /** Reads a `vector<ustring>` whose items must not be null; a null vector is `null`. */
  readStringVector(): string[] | null {
    return this.readVector((reader) => reader.readRequiredString("vector item"), intBytes);
  }

  /** Reads a string that must not be null; `what` names it in the error. */
  readRequiredString(what: string): string {
    const at = this.#offset;
    const value = this.readString();
    if (value === null) throw new JuteError(`${what} at offset ${at} is null`);
    return value;
  }

  /** Reads an int length (or count) that must be -1 or fit in what is left at `unitBytes` each. */
  #readLength(what: string, unitBytes: number): number | null {
    const at = this.#offset;
    const length = this.readInt();
    if (length === -1) return null;
    if (length < 0) throw new JuteError(`${what} length ${length} at offset ${at} is negative`);
    if (length * unitBytes > this.remaining) {
      throw new JuteError(
        `${what} length ${length} at offset ${at} exceeds the ${this.remaining} bytes left`,
      );
    }
    return length;
  }

  /** The big-endian int32 at `at` (in bounds: callers check first). */
  #int32At(at: number): number {
    const b = this.#bytes;
    return (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
  }

  #need(bytes: number, what: string): void {
    if (this.remaining < bytes) {
      throw new JuteError(
        `input ends at offset ${this.#bytes.byteLength}: ${what} needs ${bytes} bytes, ` +
          `${this.remaining} left`,
      );
    }
  }
}
