import { assertThrows } from "./_assert_throws.ts";
import assert from "../assert.ts";
import { parseConnectString } from "../../src/client/connect_string.ts";
import { BadArgumentsError } from "../../src/client/errors.ts";
import { cborClientPortDefault } from "../../src/constants.ts";

Deno.test("parseConnectString() reads one host and port", () => {
  assert.deepEqual(parseConnectString("127.0.0.1:2300"), {
    hosts: [{ hostname: "127.0.0.1", port: 2300 }],
    chroot: "",
  });
});

Deno.test("parseConnectString() reads several hosts in order and gives portless ones 2281", () => {
  assert.deepEqual(parseConnectString("a:1, b ,c:3").hosts, [
    { hostname: "a", port: 1 },
    { hostname: "b", port: cborClientPortDefault },
    { hostname: "c", port: 3 },
  ]);
  assert.equal(cborClientPortDefault, 2281);
});

Deno.test("parseConnectString() reads IPv6 addresses in brackets, with or without a port", () => {
  assert.deepEqual(parseConnectString("[::1]:2300,[fe80::1]").hosts, [
    { hostname: "::1", port: 2300 },
    { hostname: "fe80::1", port: 2281 },
  ]);
});

Deno.test("parseConnectString() reads a chroot after the host list", () => {
  assert.deepEqual(parseConnectString("h:1,[::1]:2/app/sub"), {
    hosts: [{ hostname: "h", port: 1 }, { hostname: "::1", port: 2 }],
    chroot: "/app/sub",
  });
});

Deno.test("parseConnectString() treats a chroot of / as no chroot", () => {
  assert.equal(parseConnectString("h:1/").chroot, "");
});

Deno.test("parseConnectString() rejects an invalid chroot with the path rule it breaks", () => {
  assertThrows(() => parseConnectString("h:1/app/"), BadArgumentsError, "must not end with /");
  assertThrows(() => parseConnectString("h:1/a//b"), BadArgumentsError, "empty name");
  assertThrows(() => parseConnectString("h:1/a/.."), BadArgumentsError, '".."');
});

Deno.test("parseConnectString() rejects an empty host list or an empty entry", () => {
  assertThrows(() => parseConnectString(""), BadArgumentsError, "names no server");
  assertThrows(() => parseConnectString("/app"), BadArgumentsError, "names no server");
  assertThrows(
    () => parseConnectString("a:1,,b:2"),
    BadArgumentsError,
    "server 2 of the connect string is empty",
  );
  assertThrows(() => parseConnectString(":2281"), BadArgumentsError, "no host name");
});

Deno.test("parseConnectString() rejects bad ports", () => {
  assertThrows(() => parseConnectString("h:abc"), BadArgumentsError, "is not a number");
  assertThrows(() => parseConnectString("h:"), BadArgumentsError, "is not a number");
  assertThrows(() => parseConnectString("h:0"), BadArgumentsError, "outside 1..65535");
  assertThrows(() => parseConnectString("h:65536"), BadArgumentsError, "outside 1..65535");
});

Deno.test("parseConnectString() asks for brackets around a bare IPv6 address", () => {
  assertThrows(() => parseConnectString("::1:2281"), BadArgumentsError, "[address]:port");
  assertThrows(() => parseConnectString("[::1:2281"), BadArgumentsError, 'without closing "]"');
  assertThrows(() => parseConnectString("[::1]x"), BadArgumentsError, 'not ":port"');
});

Deno.test("parseConnectString() errors carry the BadArguments code and say the connect string is invalid", () => {
  try {
    parseConnectString("h:99999");
    assert.fail("expected an error");
  } catch (error) {
    assert.ok(error instanceof BadArgumentsError);
    assert.equal(error.code, "BadArguments");
    assert.match(error.message, /^Invalid connect string: /);
  }
});
