import assert from "../assert.ts";
import { AclCache } from "../../src/tree/acl_cache.ts";

const open = () => [{ perms: 31, scheme: "world", id: "anyone" }];
const reader = () => [{ perms: 1, scheme: "world", id: "anyone" }];

Deno.test("AclCache.hold() gives equal ACLs one frozen copy, apart from what it was given", () => {
  const cache = new AclCache();
  const given = open();
  const a = cache.hold(given);
  const b = cache.hold(open());
  assert.equal(a, b);
  assert.notEqual(a, given);
  assert.ok(Object.isFrozen(a) && Object.isFrozen(a[0]));
  given[0].perms = 1;
  assert.equal(a[0].perms, 31, "the caller's array is not the one held");
  assert.notEqual(cache.hold(reader()), a);
  assert.equal(cache.size, 2);
});

Deno.test("AclCache.release() drops an ACL once its last holder is gone, and only then", () => {
  const cache = new AclCache();
  const first = cache.hold(open());
  cache.hold(open());
  cache.hold(reader());
  cache.release(first);
  assert.equal(cache.size, 2, "one holder of the open ACL is left");
  cache.release(open());
  assert.equal(cache.size, 1);
  cache.release(open()); // not held any more: nothing to do
  assert.equal(cache.size, 1);
  assert.notEqual(cache.hold(open()), first, "a dropped ACL is held anew");
});

Deno.test("AclCache tells ACLs apart by every field and by order", () => {
  const cache = new AclCache();
  const two = [open()[0], reader()[0]];
  const acls = [
    open(),
    [{ perms: 31, scheme: "world", id: "any" }],
    [{ perms: 31, scheme: "digest", id: "anyone" }],
    two,
    [...two].reverse(),
  ];
  assert.equal(new Set(acls.map((acl) => cache.hold(acl))).size, acls.length);
});
