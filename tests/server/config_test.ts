import assert from "../assert.ts";
import {
  applyConfigText,
  checkConfig,
  ConfigError,
  defaultConfig,
  ensembleOptions,
  type ServerConfig,
} from "../../src/server/config.ts";

Deno.test("applyConfigText() reads zoo.cfg keys, keeping clientPort's ZooKeeper meaning", () => {
  const config = defaultConfig();
  const warnings = applyConfigText(
    config,
    "# comment\ntickTime=500\ndataDir=/var/corral\ncborClientPort=3000\nclientPort=2999\nmaxClientCnxns=0\n\ninitLimit=5\nserver.1=a:1:2\nbogus=1\nautopurge.purgeInterval=1\n",
    "zoo.cfg",
  );
  assert.equal(config.tickMs, 500);
  assert.equal(config.dataDir, "/var/corral");
  assert.equal(config.dataLogDir, "/var/corral", "dataLogDir follows dataDir unless set");
  assert.equal(config.cborClientPort, 3000);
  assert.equal(config.clientPort, 2999);
  assert.equal(config.maxClientCnxns, 0);
  assert.equal(config.initLimit, 5);
  assert.equal(warnings.length, 3, warnings.join("\n"));
  assert.match(warnings[0], /zoo.cfg:10: unknown key bogus/);
  assert.match(warnings[1], /zoo.cfg:11: autopurge.purgeInterval is not used by Corral yet/);
  assert.match(warnings[2], /zoo.cfg:9: a single server.N line .*running standalone/);
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

Deno.test("applyConfigText() reads fsync.warningthresholdms; the default is ZooKeeper's 1000", () => {
  assert.equal(defaultConfig().fsyncWarningMs, 1000);
  const config = defaultConfig();
  assert.deepEqual(applyConfigText(config, "fsync.warningthresholdms=250\n", "zoo.cfg"), []);
  assert.equal(config.fsyncWarningMs, 250);
  assert.throws(
    () => applyConfigText(defaultConfig(), "fsync.warningthresholdms=soon\n", "zoo.cfg"),
    /zoo\.cfg:1: fsync\.warningthresholdms must be an integer/,
  );
  assert.throws(
    () => applyConfigText(defaultConfig(), "fsync.warningthresholdms=0\n", "zoo.cfg"),
    /fsync\.warningthresholdms/,
  );
});

Deno.test("applyConfigText() reads forceSync, yes or no; the default is yes, as ZooKeeper's", () => {
  assert.equal(defaultConfig().forceSync, true);
  const config = defaultConfig();
  assert.deepEqual(applyConfigText(config, "forceSync=no\n", "zoo.cfg"), []);
  assert.equal(config.forceSync, false);
  assert.deepEqual(applyConfigText(config, "forceSync=yes\n", "zoo.cfg"), []);
  assert.equal(config.forceSync, true);
  assert.throws(
    () => applyConfigText(defaultConfig(), "forceSync=off\n", "zoo.cfg"),
    /zoo\.cfg:1: forceSync must be yes or no, not "off"/,
  );
});

const three =
  "server.1=10.0.0.1:2888:3888\nserver.2=10.0.0.2:2888:3888\nserver.3=10.0.0.3:2888:3888\n";

Deno.test("defaultConfig() is standalone: no members, default limits, peer tick 100 ms", () => {
  const config = defaultConfig();
  assert.deepEqual(config.ensemble, []);
  assert.equal(config.initLimit, null);
  assert.equal(config.syncLimit, null);
  assert.equal(config.peerTickMs, 100);
  assert.equal(ensembleOptions(config), undefined);
  assert.deepEqual(checkConfig(config), []);
});

Deno.test("applyConfigText() reads server.N lines: roles, IPv6, limits and peerTickTime", () => {
  const config = defaultConfig();
  const warnings = applyConfigText(
    config,
    [
      "tickTime=200",
      "initLimit=10",
      "syncLimit=3",
      "peerTickTime=50",
      "server.1=zk1.example.com:2888:3888",
      "server.2 = zk2:2889:3889:participant",
      "server.3=[::1]:2890:3890",
      "server.0=zk4:2891:3891:observer",
      "myid=2",
    ].join("\n"),
    "zoo.cfg",
  );
  assert.deepEqual(warnings, []);
  assert.deepEqual(config.ensemble, [
    { id: 1, host: "zk1.example.com", peerPort: 2888, electionPort: 3888, observer: false },
    { id: 2, host: "zk2", peerPort: 2889, electionPort: 3889, observer: false },
    { id: 3, host: "::1", peerPort: 2890, electionPort: 3890, observer: false },
    { id: 0, host: "zk4", peerPort: 2891, electionPort: 3891, observer: true },
  ]);
  assert.equal(config.ensembleFrom, "zoo.cfg");
  assert.equal(config.serverId, 2);
  assert.equal(config.serverIdFrom, "zoo.cfg:9");
  assert.deepEqual(checkConfig(config), []);
  assert.deepEqual(ensembleOptions(config), {
    members: config.ensemble,
    peerTickMs: 50,
    initLimitMs: 2000,
    syncLimitMs: 600,
  });
  const options = ensembleOptions(config);
  assert.ok(options && options.members[0] !== config.ensemble[0], "the members are copies");
});

Deno.test("ensembleOptions() leaves unset initLimit and syncLimit to the defaults", () => {
  const config = defaultConfig();
  applyConfigText(config, three, "zoo.cfg");
  const options = ensembleOptions(config);
  assert.deepEqual(options, { members: config.ensemble, peerTickMs: 100 });
  assert.ok(options && !("initLimitMs" in options) && !("syncLimitMs" in options));
  config.syncLimit = 4;
  config.tickMs = 1000; // --tick-ms applies after the file: the limits follow the final tick
  assert.equal(ensembleOptions(config)?.syncLimitMs, 4000);
});

Deno.test("applyConfigText() accepts ZooKeeper 3.5's ;clientPort suffix and ignores it with a warning", () => {
  const config = defaultConfig();
  const warnings = applyConfigText(
    config,
    "server.1=a:2888:3888;2181\nserver.2=b:2888:3888:participant;0.0.0.0:2181\nserver.3=c:2888:3888\n",
    "zoo.cfg",
  );
  assert.equal(config.ensemble.length, 3);
  assert.deepEqual(config.ensemble[1], {
    id: 2,
    host: "b",
    peerPort: 2888,
    electionPort: 3888,
    observer: false,
  });
  assert.equal(warnings.length, 2);
  assert.match(
    warnings[0],
    /^zoo\.cfg:1: server\.1: the client address after ";" \(2181\) is ignored/,
  );
  assert.match(warnings[1], /^zoo\.cfg:2: server\.2: .*\(0\.0\.0\.0:2181\) is ignored/);
});

Deno.test("applyConfigText() runs a single server.N line standalone, with a warning", () => {
  const config = defaultConfig();
  const warnings = applyConfigText(config, "tickTime=2000\nserver.1=a:2888:3888\n", "one.cfg");
  assert.deepEqual(config.ensemble, []);
  assert.equal(ensembleOptions(config), undefined);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /^one\.cfg:2: a single server\.N line .*standalone/);
  assert.throws(
    () => applyConfigText(defaultConfig(), "server.1=a:2888:2888\n", "one.cfg"),
    /one\.cfg:1: server\.1: peerPort and electionPort must differ/,
    "a single line is still checked",
  );
});

Deno.test("applyConfigText() rejects malformed server.N lines, naming the file and line", () => {
  const cases: [string, RegExp][] = [
    ["server.x=a:2888:3888", /z\.cfg:2: server\.x: the server id must be an integer in \[0, 255\]/],
    ["server.256=a:2888:3888", /z\.cfg:2: server\.256: .*\[0, 255\], not "256"/],
    ["server.-1=a:2888:3888", /z\.cfg:2: server\.-1: the server id/],
    ["server.=a:2888:3888", /z\.cfg:2: server\.: the server id/],
    ["server.4=a:2888", /z\.cfg:2: server\.4 must be host:peerPort:electionPort/],
    ["server.4=a", /z\.cfg:2: server\.4 must be host:peerPort:electionPort/],
    ["server.4=a:1:2:observer:x", /z\.cfg:2: server\.4 must be host:peerPort:electionPort/],
    ["server.4=[::1:2888:3888", /z\.cfg:2: server\.4 must be host:peerPort:electionPort/],
    ["server.4=:2888:3888", /z\.cfg:2: server\.4: the host is empty/],
    ["server.4=[]:2888:3888", /z\.cfg:2: server\.4: the host is empty/],
    ["server.4=a:0:3888", /z\.cfg:2: server\.4: peerPort must be in \[1, 65535\], not 0/],
    ["server.4=a:2888:65536", /z\.cfg:2: server\.4: electionPort must be in \[1, 65535\]/],
    ["server.4=a:x:3888", /z\.cfg:2: server\.4: peerPort must be an integer, not "x"/],
    [
      "server.4=a:2888:3888:leader",
      /z\.cfg:2: server\.4: the role must be participant or observer/,
    ],
    ["server.4=a:2888:2888", /z\.cfg:2: server\.4: peerPort and electionPort must differ/],
    ["group.1=1:2:3", /z\.cfg:2: group\.1: hierarchical quorums .* not supported/],
    ["weight.1=1", /z\.cfg:2: weight\.1: hierarchical quorums/],
    ["dynamicConfigFile=zoo.cfg.dynamic", /z\.cfg:2: dynamicConfigFile: .*not supported/],
    ["initLimit=ten", /z\.cfg:2: initLimit must be an integer/],
    ["initLimit=0", /z\.cfg:2: initLimit must be in \[1, 100000\]/],
    ["syncLimit=-2", /z\.cfg:2: syncLimit must be in \[1, 100000\]/],
    ["peerTickTime=0", /z\.cfg:2: peerTickTime must be in \[1, 60000\]/],
  ];
  for (const [line, message] of cases) {
    assert.throws(
      () =>
        applyConfigText(
          defaultConfig(),
          `server.1=a:1888:1889\n${line}\nserver.9=b:1:2\n`,
          "z.cfg",
        ),
      (e: unknown) => e instanceof ConfigError && message.test(e.message),
      line,
    );
  }
});

Deno.test("applyConfigText() rejects duplicate ids and shared host:port pairs, naming both lines", () => {
  const cases: [string, RegExp][] = [
    [
      "server.1=a:2888:3888\nserver.2=b:2888:3888\nserver.1=c:2888:3888\n",
      /d\.cfg:3: server\.1 is defined twice \(first at d\.cfg:1\)/,
    ],
    [
      "server.1=a:2888:3888\nserver.2=b:2888:3888\nserver.3=a:2888:3889\n",
      /d\.cfg:3: server\.3 uses a:2888, already used by server\.1 \(d\.cfg:1\)/,
    ],
    [
      "server.1=a:2888:3888\n# peer port of 2 is 1's election port\nserver.2=A:3888:4888\nserver.3=c:2888:3888\n",
      /d\.cfg:3: server\.2 uses A:3888, already used by server\.1 \(d\.cfg:1\)/,
    ],
    [
      "server.1=a:2888:3888:observer\nserver.2=b:2888:3888:observer\n",
      /d\.cfg: the ensemble has no voting member/,
    ],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => applyConfigText(defaultConfig(), text, "d.cfg"),
      (e: unknown) => e instanceof ConfigError && message.test(e.message),
      text,
    );
  }
  const config = defaultConfig();
  applyConfigText(
    config,
    "server.1=a:2888:3888\nserver.2=b:2888:3888\nserver.3=c:2888:3888\n",
    "d",
  );
  assert.equal(config.ensemble.length, 3, "the same ports on different hosts are fine");
});

Deno.test("applyConfigText() only warns about an even number of voters", () => {
  const evenCases: [string, RegExp][] = [
    [
      "server.1=a:1:2\nserver.2=b:1:2\n",
      /e\.cfg: 2 voting members need 2 for a quorum and tolerate 0 failures, no more than 1 would/,
    ],
    [
      "server.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\nserver.4=d:1:2\nserver.5=e:1:2:observer\n",
      /e\.cfg: 4 voting members need 3 for a quorum and tolerate 1 failure, no more than 3 would/,
    ],
  ];
  for (const [text, message] of evenCases) {
    const config = defaultConfig();
    const warnings = applyConfigText(config, text, "e.cfg");
    assert.ok(config.ensemble.length >= 2, "the ensemble is kept");
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(warnings[0], message);
  }
  for (const text of [three, `${three}server.4=d:1:2:observer\n`]) {
    assert.deepEqual(applyConfigText(defaultConfig(), text, "e.cfg"), [], text);
  }
});

function ensembleConfig(extra = ""): ServerConfig {
  const config = defaultConfig();
  applyConfigText(config, `${three}${extra}`, "zoo.cfg");
  return config;
}

Deno.test("checkConfig() requires myid to be one of the members, saying which ids exist", () => {
  const config = ensembleConfig("myid=4\n");
  assert.throws(
    () => checkConfig(config),
    (e: unknown) =>
      e instanceof ConfigError &&
      /myid 4 \(from zoo\.cfg:4\) is not a member of the ensemble in zoo\.cfg, whose server ids are 1, 2, 3/
        .test(e.message),
  );
  const defaulted = ensembleConfig();
  defaulted.ensemble = defaulted.ensemble.slice(1);
  assert.throws(() => checkConfig(defaulted), /myid 1 \(the default\) is not a member/);
  const fromFlag = ensembleConfig();
  fromFlag.serverId = 3;
  fromFlag.serverIdFrom = "--id";
  assert.deepEqual(checkConfig(fromFlag), []);
  fromFlag.serverId = 7;
  assert.throws(() => checkConfig(fromFlag), /myid 7 \(from --id\) is not a member/);
});

Deno.test("checkConfig() warns when initLimit or syncLimit is under 3 peer ticks", () => {
  const config = ensembleConfig("tickTime=100\nsyncLimit=2\nmyid=1\n");
  const warnings = checkConfig(config);
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(warnings[0], /zoo\.cfg: syncLimit is 200 ms, under 3 peer ticks of 100 ms/);
  const slow = ensembleConfig("peerTickTime=5000\n");
  assert.equal(checkConfig(slow).length, 2, "the defaults (10 s and 1 s) against 5 s peer ticks");
});
