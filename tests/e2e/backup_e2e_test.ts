/**
 * End-to-end: an online backup with the compiled binary alone in an empty folder — serve, write,
 * `corral snapshot save`, stop, `corral snapshot restore` into a new data directory, serve from
 * it, and read every znode back.
 * @module
 */
import assert from "../assert.ts";
import { join } from "node:path";
import { copyBinary, ensureBinary, type Proc, runBinary, startServe } from "./_binary.ts";

Deno.test("compiled corral binary saves a backup, restores it, and serves the restored state", async () => {
  await ensureBinary();
  const home = copyBinary();
  const procs: Proc[] = [];
  try {
    const first = await startServe(home);
    procs.push(first.proc);
    const env = { CORRAL_SERVER: `127.0.0.1:${first.port}` };
    const corral = (...args: string[]) => runBinary(home, args, { env });
    for (const [path, data] of [["/app", "config"], ["/app/a", "alpha"], ["/b", "beta"]]) {
      assert.equal((await corral("create", path, data)).code, 0);
    }
    assert.equal((await corral("set", "/b", "beta2")).code, 0);
    const statBefore = JSON.parse((await corral("stat", "/b", "--json")).stdout).stat;

    const saved = await corral("snapshot", "save", "backup.snap");
    assert.equal(saved.code, 0, saved.stderr);
    assert.match(
      saved.stdout,
      /^Snapshot saved at zxid 0x[0-9a-f]+: \d+ znodes, \d+ sessions, \d+ bytes -> backup\.snap\n$/,
    );
    first.proc.kill("SIGTERM");
    assert.equal((await first.proc.exit()).code, 0, first.proc.stderr);

    const status = await corral("snapshot", "status", "backup.snap", "--json");
    assert.equal(status.code, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).nodeCount, 4 + 3);

    const restoredDir = join(home.dir, "restored");
    const restored = await corral("snapshot", "restore", "backup.snap", "--data-dir", restoredDir);
    assert.equal(restored.code, 0, restored.stderr);
    const inspected = await corral("data", "inspect", restoredDir);
    assert.equal(inspected.code, 0, inspected.stdout + inspected.stderr);
    assert.match(inspected.stdout, /Recovery: would succeed: load snapshot\./);

    const second = await startServe(home, ["--data-dir", restoredDir]);
    procs.push(second.proc);
    const env2 = { CORRAL_SERVER: `127.0.0.1:${second.port}` };
    const corral2 = (...args: string[]) => runBinary(home, args, { env: env2 });
    assert.deepEqual(await corral2("get", "/app/a"), { code: 0, stdout: "alpha\n", stderr: "" });
    assert.deepEqual(await corral2("get", "/b"), { code: 0, stdout: "beta2\n", stderr: "" });
    const statAfter = JSON.parse((await corral2("stat", "/b", "--json")).stdout).stat;
    assert.deepEqual(statAfter, statBefore);
    const ls = await corral2("ls", "-R", "/app");
    assert.equal(ls.stdout, "/app\n/app/a\n");
    second.proc.kill("SIGTERM");
    assert.equal((await second.proc.exit()).code, 0, second.proc.stderr);
  } finally {
    for (const proc of procs) {
      proc.kill("SIGKILL");
      await proc.exit();
    }
    home.remove();
  }
});
