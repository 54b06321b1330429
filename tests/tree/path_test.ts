import assert from "../assert.ts";
import {
  baseName,
  parentOf,
  sequenceSuffix,
  validatePath,
  withChroot,
  withoutChroot,
} from "../../src/tree/path.ts";

Deno.test("validatePath() accepts absolute paths and the root", () => {
  for (const path of ["/", "/a", "/a/b", "/a-b_c.d", "/ünï/cødé", "/a/.b", "/a/b..c"]) {
    assert.equal(validatePath(path), null, path);
  }
});

Deno.test("validatePath() rejects what ZooKeeper rejects, saying why", () => {
  const cases: Array<[string, RegExp]> = [
    ["", /empty/],
    ["a", /start with \//],
    ["/a/", /end with \//],
    ["/a//b", /empty name/],
    ["/a/./b", /"\."/],
    ["/a/..", /"\.\."/],
    ["/a\u0000b", /invalid character/],
    ["/a\u0007", /invalid character/],
    ["/\ud800", /invalid character/],
    ["/" + "x".repeat(5000), /longer than/],
  ];
  for (const [path, why] of cases) {
    assert.match(validatePath(path) ?? "valid", why, JSON.stringify(path));
  }
});

Deno.test("parentOf() and baseName() split a path", () => {
  assert.equal(parentOf("/a"), "/");
  assert.equal(parentOf("/a/b/c"), "/a/b");
  assert.equal(baseName("/a/b/c"), "c");
});

Deno.test("sequenceSuffix() pads to 10 digits like ZooKeeper's %010d", () => {
  assert.equal(sequenceSuffix(0), "0000000000");
  assert.equal(sequenceSuffix(7), "0000000007");
  assert.equal(sequenceSuffix(2147483647), "2147483647");
  assert.equal(sequenceSuffix(2147483648), "-2147483648");
});

Deno.test("withChroot() and withoutChroot() confine paths to the chroot", () => {
  assert.equal(withChroot("/app", "/"), "/app");
  assert.equal(withChroot("/app", "/x"), "/app/x");
  assert.equal(withChroot("", "/x"), "/x");
  assert.equal(withoutChroot("/app", "/app"), "/");
  assert.equal(withoutChroot("/app", "/app/x"), "/x");
  assert.equal(withoutChroot("/app", "/apple"), null);
  assert.equal(withoutChroot("/app", "/other"), null);
});

Deno.test("validatePath() judges a sequential path with its counter appended", () => {
  assert.equal(validatePath("/q/", true), null);
  assert.equal(validatePath("/q/job-", true), null);
  assert.match(validatePath("/q/", false) ?? "", /end with/);
  assert.match(validatePath("/q//", true) ?? "", /empty name/);
});
