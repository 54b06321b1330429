import assert from "../assert.ts";
import { applyConfigText, ConfigError, defaultConfig } from "../../src/server/config.ts";

Deno.test("applyConfigText() reads zoo.cfg keys, keeping clientPort's ZooKeeper meaning", () => {
  const config = defaultConfig();
  const warnings = applyConfigText(
    config,
    "# comment\ntickTime=500\ndataDir=/var/corral\ncborClientPort=3000\nclientPort=2181\nmaxClientCnxns=0\n\ninitLimit=5\nserver.1=a:1:2\nbogus=1\n",
    "zoo.cfg",
  );
  assert.equal(config.tickMs, 500);
  assert.equal(config.dataDir, "/var/corral");
  assert.equal(config.dataLogDir, "/var/corral", "dataLogDir follows dataDir unless set");
  assert.equal(config.cborClientPort, 3000);
  assert.equal(config.clientPort, 2181);
  assert.equal(config.maxClientCnxns, 0);
  assert.equal(warnings.length, 3);
  assert.match(warnings[2], /zoo.cfg:10: unknown key bogus/);
});

Deno.test("applyConfigText() names the file and line of a bad value", () => {
  assert.throws(
    () => applyConfigText(defaultConfig(), "tickTime=fast\n", "my.cfg"),
    (e: unknown) => {
      return e instanceof ConfigError && /my\.cfg:1: tickTime must be an integer/.test(e.message);
    },
  );
  assert.throws(
    () => applyConfigText(defaultConfig(), "\nnot a pair\n", "my.cfg"),
    /my\.cfg:2: expected key=value/,
  );
  assert.throws(
    () => applyConfigText(defaultConfig(), "cborClientPort=70000", "c"),
    /\[0, 65535\]/,
  );
});
