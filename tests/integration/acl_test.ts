/**
 * Access control over real TCP (REFERENCE §5): the world, digest, auth and ip schemes, the
 * permission each operation needs, setACL's version check and invalid ACLs.
 * @module
 */
import assert from "../assert.ts";
import { assertRejects } from "../client/_assert_throws.ts";
import type { SessionEvent } from "../../src/client/mod.ts";
import {
  AuthFailedError,
  BadVersionError,
  InvalidACLError,
  NoAuthError,
} from "../../src/client/errors.ts";
import { digestId } from "../../src/tree/acl.ts";
import { type Acl, creatorAllAcl, openAcl, Perms, readOnlyAcl } from "../../src/tree/types.ts";
import { until, withServer } from "./_helpers.ts";

function digestAcl(userPassword: string, perms: number = Perms.all): Acl[] {
  return [{ perms, scheme: "digest", id: digestId(userPassword) }];
}

Deno.test("world:anyone read-only ACL lets anyone read and nobody write, create, delete or administer", async () => {
  await withServer(async ({ open }) => {
    const owner = await open();
    const other = await open();
    await owner.create("/open", "x", { acl: openAcl });
    await owner.create("/open/child");
    await owner.setACL("/open", readOnlyAcl);
    assert.equal(new TextDecoder().decode((await other.getData("/open")).data), "x");
    assert.deepEqual(await other.getChildren("/open"), ["child"]);
    assert.deepEqual((await other.getACL("/open")).acl, [...readOnlyAcl]);
    await assertRejects(other.setData("/open", "y"), NoAuthError, "WRITE");
    await assertRejects(other.create("/open/new"), NoAuthError, "CREATE");
    await assertRejects(other.delete("/open/child"), NoAuthError, "DELETE");
    await assertRejects(other.setACL("/open", openAcl), NoAuthError, "ADMIN");
  });
});

Deno.test("Each operation needs its own permission: READ, WRITE, CREATE, DELETE, ADMIN", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    const only = async (name: string, perms: number) => {
      await client.create(`/${name}`, "", { acl: [{ perms, scheme: "world", id: "anyone" }] });
      return `/${name}`;
    };
    // Children made before the ACL narrows, so delete has something to try.
    const read = await only("read", Perms.read);
    await assertRejects(client.setData(read, "x"), NoAuthError);
    assert.equal((await client.getData(read)).stat.version, 0);

    const write = await only("write", Perms.write);
    await assertRejects(client.getData(write), NoAuthError, "READ");
    await assertRejects(client.getChildren(write), NoAuthError, "READ");
    await assertRejects(client.getACL(write), NoAuthError, "READ or ADMIN");
    assert.equal((await client.setData(write, "x")).version, 1);
    // exists needs no permission at all.
    assert.notEqual(await client.exists(write), null);

    const create = await only("create", Perms.create);
    await client.create(`${create}/child`);
    await assertRejects(client.delete(`${create}/child`), NoAuthError, "DELETE");

    await client.create("/del", "", { acl: openAcl });
    await client.create("/del/child");
    await client.setACL("/del", [{ perms: Perms.delete, scheme: "world", id: "anyone" }]);
    await assertRejects(client.create("/del/other"), NoAuthError, "CREATE");
    await client.delete("/del/child");

    const admin = await only("admin", Perms.admin);
    assert.deepEqual((await client.getACL(admin)).acl, [{
      perms: Perms.admin,
      scheme: "world",
      id: "anyone",
    }]);
    await client.setACL(admin, openAcl);
    await client.getData(admin);
  });
});

Deno.test("digest ACLs admit sessions that added the matching user:password", async () => {
  await withServer(async ({ open }) => {
    const bob = await open({ auth: [{ scheme: "digest", auth: "bob:secret" }] });
    const anonymous = await open();
    const impostor = await open();
    await impostor.addAuth("digest", "bob:wrong");
    await bob.create("/bob", "private", { acl: digestAcl("bob:secret") });
    assert.equal(new TextDecoder().decode((await bob.getData("/bob")).data), "private");
    await assertRejects(anonymous.getData("/bob"), NoAuthError);
    await assertRejects(impostor.getData("/bob"), NoAuthError);
    await anonymous.addAuth("digest", "bob:secret");
    assert.equal((await anonymous.getData("/bob")).stat.version, 0);
  });
});

Deno.test("The auth scheme grants the creator's authenticated identities, and needs one", async () => {
  await withServer(async ({ open }) => {
    const alice = await open();
    const other = await open();
    await assertRejects(
      alice.create("/mine", "", { acl: creatorAllAcl }),
      InvalidACLError,
      "addAuth",
    );
    await alice.addAuth("digest", "alice:pw");
    await alice.create("/mine", "", { acl: creatorAllAcl });
    assert.deepEqual((await alice.getACL("/mine")).acl, digestAcl("alice:pw"));
    await assertRejects(other.getData("/mine"), NoAuthError);
  });
});

Deno.test("ip ACLs match the connection's address", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    await client.create("/local", "", {
      acl: [{ perms: Perms.all, scheme: "ip", id: "127.0.0.1" }],
    });
    await client.create("/loopback", "", {
      acl: [{ perms: Perms.all, scheme: "ip", id: "127.0.0.0/8" }],
    });
    await client.create("/elsewhere", "", {
      acl: [{ perms: Perms.all, scheme: "ip", id: "10.0.0.0/8" }],
    });
    await client.getData("/local");
    await client.getData("/loopback");
    await assertRejects(client.getData("/elsewhere"), NoAuthError);
  });
});

Deno.test("Client.setACL() checks the ACL version and bumps aversion", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    await client.create("/v");
    const readAdmin = [{ perms: Perms.read | Perms.admin, scheme: "world", id: "anyone" }];
    const stat = await client.setACL("/v", readAdmin, { version: 0 });
    assert.equal(stat.aversion, 1);
    assert.equal(stat.version, 0);
    await assertRejects(client.setACL("/v", openAcl, { version: 0 }), BadVersionError);
    const { acl, stat: after } = await client.getACL("/v");
    assert.deepEqual(acl, readAdmin);
    assert.equal(after.aversion, 1);
  });
});

Deno.test("Invalid ACLs are refused with InvalidACLError", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    await assertRejects(client.create("/bad", "", { acl: [] }), InvalidACLError);
    await assertRejects(
      client.create("/bad", "", { acl: [{ perms: 31, scheme: "nope", id: "x" }] }),
      InvalidACLError,
    );
    await assertRejects(
      client.create("/bad", "", { acl: [{ perms: 31, scheme: "world", id: "me" }] }),
      InvalidACLError,
    );
    await assertRejects(
      client.create("/bad", "", { acl: [{ perms: 0, scheme: "world", id: "anyone" }] }),
      InvalidACLError,
    );
    await assertRejects(
      client.create("/bad", "", { acl: [{ perms: 31, scheme: "ip", id: "300.1.1.1" }] }),
      InvalidACLError,
    );
    await client.create("/good");
    await assertRejects(
      client.setACL("/good", [{ perms: 31, scheme: "digest", id: "no-colon" }]),
      InvalidACLError,
    );
    assert.equal(await client.exists("/bad"), null);
  });
});

Deno.test("A refused addAuth rejects with AuthFailedError and emits AuthFailed; the session goes on", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    const states: SessionEvent[] = [];
    client.on("state", (state) => states.push(state));
    await assertRejects(client.addAuth("kerberos", "x"), AuthFailedError);
    await assertRejects(client.addAuth("digest", "no-colon"), AuthFailedError);
    assert.deepEqual(states, ["AuthFailed", "AuthFailed"]);
    assert.equal(client.state, "SyncConnected");
    await client.create("/still-works");
  });
});

Deno.test("Credentials are sent again after a reconnect", async () => {
  await withServer(async ({ open }) => {
    const client = await open();
    await client.addAuth("digest", "carol:pw");
    await client.create("/carol", "", { acl: digestAcl("carol:pw") });
    const states: SessionEvent[] = [];
    client.on("state", (state) => states.push(state));
    client._testDropConnection();
    await until(() => states.includes("SyncConnected"), "the session to resume");
    assert.equal((await client.getData("/carol")).stat.version, 0);
  });
});
