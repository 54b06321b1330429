import assert from "../assert.ts";
import { SessionTable } from "../../src/session/session_table.ts";

Deno.test("SessionTable expires a session one tick after its timeout, in its bucket", () => {
  const sessions = new SessionTable(100);
  sessions.add(1, 250, new Uint8Array(16), 0); // ceil(250/100) = 3 ticks, +1 for rounding
  assert.deepEqual(sessions.expiredAt(3), []);
  assert.deepEqual(sessions.expiredAt(4), [1]);
});

Deno.test("SessionTable.touch() moves the session to a later bucket", () => {
  const sessions = new SessionTable(100);
  sessions.add(1, 200, new Uint8Array(16), 0);
  sessions.add(2, 200, new Uint8Array(16), 0);
  assert.ok(sessions.touch(1, 2));
  assert.deepEqual(sessions.expiredAt(3), [2]);
  assert.deepEqual(sessions.expiredAt(5), [1, 2]);
});

Deno.test("SessionTable.markClosing() stops expiry and touch; remove() forgets", () => {
  const sessions = new SessionTable(100);
  sessions.add(1, 200, new Uint8Array(16), 0);
  sessions.markClosing(1);
  assert.deepEqual(sessions.expiredAt(100), []);
  assert.equal(sessions.touch(1, 5), false);
  sessions.remove(1);
  assert.equal(sessions.get(1), undefined);
  assert.equal(sessions.size, 0);
});
