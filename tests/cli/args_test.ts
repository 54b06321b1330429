import assert from "../assert.ts";
import { type FlagSpec, parseArgs, parseInteger, UsageError } from "../../src/cli/args.ts";

const specs: FlagSpec[] = [
  { name: "stat", short: "s", kind: "boolean", description: "" },
  { name: "watch", short: "w", kind: "boolean", description: "" },
  { name: "version", short: "v", kind: "integer", description: "" },
  { name: "server", kind: "string", description: "" },
  { name: "auth", kind: "string", multiple: true, description: "" },
];

Deno.test("parseArgs() separates flags from positionals in any order", () => {
  const parsed = parseArgs(["/a", "-s", "--server", "h:1", "data"], specs);
  assert.deepEqual(parsed.positionals, ["/a", "data"]);
  assert.equal(parsed.bool("stat"), true);
  assert.equal(parsed.bool("watch"), false);
  assert.equal(parsed.str("server"), "h:1");
});

Deno.test("parseArgs() reads --name=value and bundled short booleans", () => {
  const parsed = parseArgs(["--server=h:2", "-sw", "/a"], specs);
  assert.equal(parsed.str("server"), "h:2");
  assert.equal(parsed.bool("stat"), true);
  assert.equal(parsed.bool("watch"), true);
});

Deno.test("parseArgs() gives a value flag the next argument even when it starts with a dash", () => {
  assert.equal(parseArgs(["-v", "-1", "/a"], specs).int("version"), -1);
  assert.equal(parseArgs(["-v3", "/a"], specs).int("version"), 3);
  assert.equal(parseArgs(["--version", "7"], specs).int("version"), 7);
});

Deno.test("parseArgs() collects a repeatable flag in order", () => {
  const parsed = parseArgs(["--auth", "digest:a:1", "--auth=digest:b:2"], specs);
  assert.deepEqual(parsed.list("auth"), ["digest:a:1", "digest:b:2"]);
  assert.deepEqual(parseArgs([], specs).list("auth"), []);
});

Deno.test("parseArgs() treats everything after -- and a lone - as positionals", () => {
  assert.deepEqual(parseArgs(["/a", "--", "-s", "--x"], specs).positionals, ["/a", "-s", "--x"]);
  assert.deepEqual(parseArgs(["-"], specs).positionals, ["-"]);
});

Deno.test("parseArgs() rejects unknown flags, missing values and bad integers", () => {
  const cases: [string[], RegExp][] = [
    [["--bogus"], /unknown flag --bogus/],
    [["-x"], /unknown flag -x/],
    [["--server"], /--server needs a value/],
    [["-v"], /-v needs a value/],
    [["-v", "two"], /-v needs an integer, not "two"/],
    [["--stat=yes"], /--stat takes no value/],
  ];
  for (const [args, message] of cases) {
    assert.throws(
      () => parseArgs(args, specs),
      (e: unknown) => e instanceof UsageError && message.test(e.message),
    );
  }
});

Deno.test("parseInteger() accepts safe integers only", () => {
  assert.equal(parseInteger("42"), 42);
  assert.equal(parseInteger("-1"), -1);
  assert.equal(parseInteger("1.5"), null);
  assert.equal(parseInteger(""), null);
  assert.equal(parseInteger("99999999999999999"), null);
});
