import assert from "../assert.ts";
import fc from "fast-check";
import { assertProperty } from "../../props/_props.ts";
import { JuteError, JuteReader, JuteWriter } from "../../src/zk/jute.ts";

/** Bytes as spaced hex, so a mismatch shows where it is. */
function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** Bytes from hex, spaces ignored. */
function fromHex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, "");
  return Uint8Array.from(digits.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

Deno.test("JuteWriter writes ints, longs and booleans big-endian, as Java's DataOutput", () => {
  const bytes = new JuteWriter()
    .writeInt(1)
    .writeInt(-1)
    .writeInt(-0x8000_0000)
    .writeLong(0x01_0203_0405)
    .writeLong(-2)
    .writeLong(Number.MIN_SAFE_INTEGER)
    .writeBool(true)
    .writeBool(false)
    .finish();
  assert.equal(
    hex(bytes),
    "00 00 00 01 ff ff ff ff 80 00 00 00 " +
      "00 00 00 01 02 03 04 05 ff ff ff ff ff ff ff fe ff e0 00 00 00 00 00 01 01 00",
  );
});

Deno.test("JuteWriter writes strings as UTF-8 with an int length, and null as length -1", () => {
  const bytes = new JuteWriter()
    .writeString("é/")
    .writeString("")
    .writeString(null)
    .writeBuffer(new Uint8Array([9]))
    .writeBuffer(null)
    .writeStringVector(["a"])
    .writeStringVector(null)
    .finish();
  assert.equal(
    hex(bytes),
    "00 00 00 03 c3 a9 2f 00 00 00 00 ff ff ff ff 00 00 00 01 09 ff ff ff ff " +
      "00 00 00 01 00 00 00 01 61 ff ff ff ff",
  );
});

Deno.test("JuteWriter rejects numbers its types cannot hold", () => {
  assert.throws(() => new JuteWriter().writeInt(2 ** 31), RangeError);
  assert.throws(() => new JuteWriter().writeInt(-(2 ** 31) - 1), RangeError);
  assert.throws(() => new JuteWriter().writeInt(1.5), RangeError);
  assert.throws(() => new JuteWriter().writeLong(2 ** 53), RangeError);
  assert.throws(() => new JuteWriter().writeLong(Number.NaN), RangeError);
  assert.throws(() => new JuteWriter().writeLongBig(1n << 63n), RangeError);
  assert.equal(
    hex(new JuteWriter().writeLongBig(-(1n << 63n)).finish()),
    "80 00 00 00 00 00 00 00",
  );
});

Deno.test("JuteWriter grows past its initial capacity without losing bytes", () => {
  const writer = new JuteWriter(16);
  for (let i = 0; i < 5000; i++) writer.writeInt(i);
  const reader = new JuteReader(writer.finish());
  for (let i = 0; i < 5000; i++) assert.equal(reader.readInt(), i);
  assert.ok(reader.done);
});

Deno.test("JuteWriter.patchInt() rewrites an int in place and refuses to write past the end", () => {
  const writer = new JuteWriter().writeInt(0).writeBool(true);
  assert.equal(hex(writer.patchInt(0, 1).finish()), "00 00 00 01 01");
  assert.throws(() => writer.patchInt(2, 1), RangeError);
});

Deno.test("JuteReader reads back what JuteWriter wrote, tracking offset and remaining", () => {
  const bytes = new JuteWriter()
    .writeInt(-7)
    .writeLong(-(2 ** 40))
    .writeBool(true)
    .writeBuffer(new Uint8Array([1, 2, 3]))
    .writeString("zoo")
    .writeString(null)
    .writeBuffer(null)
    .finish();
  const reader = new JuteReader(bytes);
  assert.equal(reader.readInt(), -7);
  assert.equal(reader.offset, 4);
  assert.equal(reader.readLong(), -(2 ** 40));
  assert.equal(reader.readBool(), true);
  assert.deepEqual(reader.readBuffer(), new Uint8Array([1, 2, 3]));
  assert.equal(reader.readString(), "zoo");
  assert.equal(reader.remaining, 8);
  assert.equal(reader.readString(), null);
  assert.equal(reader.readBuffer(), null);
  assert.ok(reader.done);
});

Deno.test("JuteReader.readBuffer() returns a copy the caller's input cannot change", () => {
  const bytes = new JuteWriter().writeBuffer(new Uint8Array([5, 6])).finish();
  const value = new JuteReader(bytes).readBuffer();
  bytes.fill(0);
  assert.deepEqual(value, new Uint8Array([5, 6]));
});

Deno.test("JuteReader reads from a view that does not start at the buffer's beginning", () => {
  const backing = fromHex("ff ff 00 00 00 2a ff");
  assert.equal(new JuteReader(backing.subarray(2, 6)).readInt(), 42);
});

Deno.test("JuteReader.readLong() rejects values beyond 2^53; readLongBig() reads them", () => {
  const big = fromHex("00 20 00 00 00 00 00 00"); // 2^53
  assert.throws(() => new JuteReader(big).readLong(), JuteError);
  assert.equal(new JuteReader(big).readLongBig(), 2n ** 53n);
  const min = fromHex("80 00 00 00 00 00 00 00");
  assert.throws(() => new JuteReader(min).readLong(), /not a safe integer/);
  assert.equal(new JuteReader(min).readLongBig(), -(2n ** 63n));
  assert.equal(
    new JuteReader(fromHex("ff e0 00 00 00 00 00 01")).readLong(),
    Number.MIN_SAFE_INTEGER,
  );
});

Deno.test("JuteReader.readBool() takes any non-zero byte as true, as Java's readBoolean does", () => {
  const reader = new JuteReader(fromHex("00 01 02 ff"));
  assert.deepEqual([reader.readBool(), reader.readBool(), reader.readBool(), reader.readBool()], [
    false,
    true,
    true,
    true,
  ]);
});

Deno.test("JuteReader throws JuteError on input cut short, for every primitive at every length", () => {
  const cases: [string, Uint8Array, (reader: JuteReader) => unknown][] = [
    ["int", fromHex("00 00 00 01"), (r) => r.readInt()],
    ["long", fromHex("00 00 00 00 00 00 00 01"), (r) => r.readLong()],
    ["long (bigint)", fromHex("00 00 00 00 00 00 00 01"), (r) => r.readLongBig()],
    ["bool", fromHex("01"), (r) => r.readBool()],
    ["buffer", fromHex("00 00 00 02 01 02"), (r) => r.readBuffer()],
    ["string", fromHex("00 00 00 02 61 62"), (r) => r.readString()],
    ["vector", fromHex("00 00 00 01 00 00 00 01 61"), (r) => r.readStringVector()],
  ];
  for (const [name, whole, read] of cases) {
    assert.doesNotThrow(() => read(new JuteReader(whole)), `${name} reads whole`);
    for (let cut = 0; cut < whole.byteLength; cut++) {
      assert.throws(
        () => read(new JuteReader(whole.subarray(0, cut))),
        JuteError,
        `${name}/${cut}`,
      );
    }
  }
});

Deno.test("JuteReader rejects a negative length other than -1, naming the offset", () => {
  assert.throws(() => new JuteReader(fromHex("ff ff ff fe")).readString(), /length -2 at offset 0/);
  assert.throws(() => new JuteReader(fromHex("80 00 00 00")).readBuffer(), JuteError);
  assert.throws(() => new JuteReader(fromHex("ff ff ff fb")).readStringVector(), /negative/);
});

Deno.test("JuteReader rejects a length beyond the bytes left, and accepts one that fits exactly", () => {
  assert.throws(() => new JuteReader(fromHex("00 00 00 03 61 62")).readString(), /exceeds/);
  assert.throws(
    () => new JuteReader(fromHex("7f ff ff ff 00")).readBuffer(),
    /exceeds the 1 bytes/,
  );
  assert.equal(new JuteReader(fromHex("00 00 00 02 61 62")).readString(), "ab");
});

Deno.test("JuteReader.readVector() rejects a forged count before reading any item", () => {
  let itemsRead = 0;
  const readItem = (reader: JuteReader) => {
    itemsRead++;
    return reader.readInt();
  };
  // 2^31 - 1 items claimed, 8 bytes present.
  const forged = fromHex("7f ff ff ff 00 00 00 01 00 00 00 02");
  assert.throws(() => new JuteReader(forged).readVector(readItem, 4), /vector length 2147483647/);
  // Three items of at least 4 bytes cannot fit in 8 bytes either.
  const three = fromHex("00 00 00 03 00 00 00 01 00 00 00 02");
  assert.throws(() => new JuteReader(three).readVector(readItem, 4), /exceeds/);
  assert.equal(itemsRead, 0);
  assert.deepEqual(
    new JuteReader(fromHex("00 00 00 02 00 00 00 01 00 00 00 02")).readVector(readItem, 4),
    [
      1,
      2,
    ],
  );
  assert.equal(new JuteReader(fromHex("ff ff ff ff")).readVector(readItem), null);
});

Deno.test("JuteReader.readStringVector() rejects a null item", () => {
  assert.throws(
    () => new JuteReader(fromHex("00 00 00 01 ff ff ff ff")).readStringVector(),
    /vector item at offset 4 is null/,
  );
});

Deno.test("JuteReader decodes malformed UTF-8 to U+FFFD, as Java's String constructor does", () => {
  assert.equal(new JuteReader(fromHex("00 00 00 02 61 ff")).readString(), "a\ufffd");
});

/** One primitive value with the writer and reader calls that carry it. */
type Primitive =
  | { kind: "int"; value: number }
  | { kind: "long"; value: number }
  | { kind: "bool"; value: boolean }
  | { kind: "buffer"; value: Uint8Array | null }
  | { kind: "string"; value: string | null }
  | { kind: "strings"; value: string[] | null };

const primitiveArb: fc.Arbitrary<Primitive> = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((value) => ({
    kind: "int" as const,
    value,
  })),
  fc.maxSafeInteger().map((value) => ({ kind: "long" as const, value })),
  fc.boolean().map((value) => ({ kind: "bool" as const, value })),
  fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }).map((value) => ({
    kind: "buffer" as const,
    value,
  })),
  fc.option(fc.string({ unit: "grapheme", maxLength: 20 }), { nil: null }).map((value) => ({
    kind: "string" as const,
    value,
  })),
  fc.option(fc.array(fc.string({ unit: "grapheme", maxLength: 8 }), { maxLength: 5 }), {
    nil: null,
  }).map((value) => ({ kind: "strings" as const, value })),
);

function writePrimitive(writer: JuteWriter, p: Primitive): void {
  switch (p.kind) {
    case "int":
      writer.writeInt(p.value);
      return;
    case "long":
      writer.writeLong(p.value);
      return;
    case "bool":
      writer.writeBool(p.value);
      return;
    case "buffer":
      writer.writeBuffer(p.value);
      return;
    case "string":
      writer.writeString(p.value);
      return;
    case "strings":
      writer.writeStringVector(p.value);
      return;
  }
}

function readPrimitive(reader: JuteReader, kind: Primitive["kind"]): Primitive["value"] {
  switch (kind) {
    case "int":
      return reader.readInt();
    case "long":
      return reader.readLong();
    case "bool":
      return reader.readBool();
    case "buffer":
      return reader.readBuffer();
    case "string":
      return reader.readString();
    case "strings":
      return reader.readStringVector();
  }
}

Deno.test("JuteWriter and JuteReader round-trip any sequence of primitives (property)", () => {
  assertProperty(
    {
      url: import.meta.url,
      testName: "JuteWriter and JuteReader round-trip any sequence of primitives (property)",
    },
    fc.property(fc.array(primitiveArb, { maxLength: 12 }), (values) => {
      const writer = new JuteWriter(16);
      for (const value of values) writePrimitive(writer, value);
      const reader = new JuteReader(writer.finish());
      assert.deepEqual(
        values.map((v) => readPrimitive(reader, v.kind)),
        values.map((v) => v.value),
      );
      assert.ok(reader.done, "nothing is left over");
    }),
    { runs: 300 },
  );
});

Deno.test("JuteReader throws only JuteError on arbitrary bytes (property)", () => {
  const kinds: Primitive["kind"][] = ["int", "long", "bool", "buffer", "string", "strings"];
  assertProperty(
    {
      url: import.meta.url,
      testName: "JuteReader throws only JuteError on arbitrary bytes (property)",
    },
    fc.property(
      fc.uint8Array({ maxLength: 64 }),
      fc.array(fc.constantFrom(...kinds), { minLength: 1, maxLength: 8 }),
      (bytes, reads) => {
        const reader = new JuteReader(bytes);
        try {
          for (const kind of reads) readPrimitive(reader, kind);
        } catch (error) {
          assert.ok(error instanceof JuteError, `unexpected ${error}`);
        }
        assert.ok(reader.offset <= bytes.byteLength, "the reader never moves past the end");
      },
    ),
    { runs: 500 },
  );
});

Deno.test("JuteWriter.reset() starts over; finish() copies, so earlier records keep their bytes", () => {
  const writer = new JuteWriter(16);
  const first = writer.writeInt(1).writeString("/a").finish();
  const second = writer.reset().writeInt(2).finish();
  assert.equal(hex(first), "00 00 00 01 00 00 00 02 2f 61");
  assert.equal(hex(second), "00 00 00 02");
  // A buffer grown past what reset keeps is dropped; the writer still works.
  const big = writer.reset(32).writeRaw(new Uint8Array(100)).finish();
  assert.equal(big.byteLength, 100);
  assert.equal(hex(writer.reset(32).writeInt(3).finish()), "00 00 00 03");
});
