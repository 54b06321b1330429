import assert from "../assert.ts";
import { allowed, digestId, fixupAcl, ipMatches, validateIpId } from "../../src/tree/acl.ts";
import { Perms } from "../../src/tree/types.ts";

Deno.test("digestId() matches ZooKeeper's DigestAuthenticationProvider", () => {
  // Known value: ZooKeeper's generateDigest("super:test").
  assert.equal(digestId("super:test"), "super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
});

Deno.test("allowed() grants world:anyone, matching digests and ip ranges only for their perms", () => {
  const acl = [
    { perms: Perms.read, scheme: "world", id: "anyone" },
    { perms: Perms.write, scheme: "digest", id: "bob:x" },
    { perms: Perms.delete, scheme: "ip", id: "10.0.0.0/8" },
  ];
  assert.ok(allowed(acl, Perms.read, []));
  assert.ok(!allowed(acl, Perms.write, [{ scheme: "digest", id: "alice:x" }]));
  assert.ok(allowed(acl, Perms.write, [{ scheme: "digest", id: "bob:x" }]));
  assert.ok(allowed(acl, Perms.delete, [{ scheme: "ip", id: "10.1.2.3" }]));
  assert.ok(!allowed(acl, Perms.delete, [{ scheme: "ip", id: "11.1.2.3" }]));
  assert.ok(allowed(acl, Perms.admin, [{ scheme: "super", id: "" }]), "super bypasses");
});

Deno.test("ipMatches() handles exact addresses, CIDR and IPv6", () => {
  assert.ok(ipMatches("127.0.0.1", "127.0.0.1"));
  assert.ok(!ipMatches("127.0.0.1", "127.0.0.2"));
  assert.ok(ipMatches("192.168.0.0/16", "192.168.44.1"));
  assert.ok(ipMatches("0.0.0.0/0", "8.8.8.8"));
  assert.ok(ipMatches("127.0.0.1", "::ffff:127.0.0.1"));
  assert.ok(ipMatches("::1", "::1"));
  assert.ok(ipMatches("fe80::/10", "fe80::1234"));
  assert.equal(validateIpId("300.1.1.1") !== null, true);
  assert.equal(validateIpId("10.0.0.0/33") !== null, true);
});

Deno.test("fixupAcl() expands auth to the session's digests and rejects bad entries", () => {
  const ids = [{ scheme: "ip", id: "127.0.0.1" }, { scheme: "digest", id: "bob:h" }];
  assert.deepEqual(fixupAcl([{ perms: 31, scheme: "auth", id: "" }], ids), [{
    perms: 31,
    scheme: "digest",
    id: "bob:h",
  }]);
  const noAuth = fixupAcl([{ perms: 31, scheme: "auth", id: "" }], [{
    scheme: "ip",
    id: "1.2.3.4",
  }]);
  assert.equal("err" in noAuth && noAuth.err, "InvalidACL");
  for (
    const bad of [
      [],
      [{ perms: 31, scheme: "world", id: "everyone" }],
      [{ perms: 31, scheme: "x", id: "y" }],
      [{ perms: 31, scheme: "digest", id: "nocolon" }],
      [{ perms: 31, scheme: "ip", id: "nope" }],
    ]
  ) {
    const result = fixupAcl(bad, ids);
    assert.equal("err" in result && result.err, "InvalidACL", JSON.stringify(bad));
  }
});
