/**
 * The linearizability checker (`linearizable.ts`): hand-written histories that must pass or fail,
 * a property over random concurrent histories from a correct sequential server that must all
 * pass, its seeded-bug twins that must be caught, and a performance smoke on a large history.
 *
 * The sequential server here is a plain znode tree written for these tests, independently of the
 * checker's model (`_lin_model.ts`) and of `src/tree`, so the two cross-check each other.
 * @module
 */
import fc from "fast-check";
import assert from "../../tests/assert.ts";
import type { CreateMode, Stat } from "../../src/tree/types.ts";
import type {
  ClientRequest,
  MultiOp,
  MultiResult,
  ResponseMessage,
} from "../../src/wire/messages.ts";
import { assertFindsBug, assertProperty } from "../_props.ts";
import type { History, HistoryOp, HistorySession, Outcome } from "./history.ts";
import { checkLinearizable } from "./linearizable.ts";
import { zeroStat } from "./committed.ts";

type Body = ClientRequest extends infer R ? R extends { xid: number } ? Omit<R, "xid"> : never
  : never;

const text = (s: string) => new TextEncoder().encode(s);
const acl = [{ perms: 31, scheme: "world", id: "anyone" }];

function stat(fields: Partial<Stat> = {}): Stat {
  return {
    ...zeroStat(),
    ...fields,
  };
}

// ---- hand-written histories -------------------------------------------------------------------

interface OpSpec {
  client?: number;
  session?: number;
  connection?: number;
  /** [invoked, completed]; completed is ignored for unknown/pending ops. */
  at: [number, number];
  req: Body;
  /** Response fields (ok), an error code, or "unknown". */
  ok?: Partial<ResponseMessage>;
  err?: string;
  unknown?: true;
}

function history(specs: OpSpec[], sessions: HistorySession[] = []): History {
  const ops = specs.map((spec, index): HistoryOp => {
    const outcome: Outcome = spec.unknown ? "unknown" : spec.err ? "error" : "ok";
    const xid = index + 1;
    const response: ResponseMessage | null = spec.unknown ? null : {
      t: "res",
      xid,
      zxid: 0,
      ...(spec.err ? { err: spec.err as ResponseMessage["err"], message: spec.err } : spec.ok),
    };
    return {
      index,
      client: spec.client ?? 1,
      sessionId: spec.session ?? 0x10 + (spec.client ?? 1),
      connection: spec.connection ?? 1,
      server: 1,
      xid,
      request: { xid, ...spec.req } as ClientRequest,
      invoked: spec.at[0],
      completed: spec.unknown ? null : spec.at[1],
      invokedMs: spec.at[0],
      completedMs: spec.unknown ? null : spec.at[1],
      outcome,
      response,
    };
  });
  return { ops, events: [], sessions, committed: [] };
}

const create = (path: string, data = "", mode: CreateMode = "persistent"): Body => ({
  op: "create",
  path,
  data: text(data),
  acl,
  mode,
});
const setData = (path: string, data: string, version = -1): Body => ({
  op: "setData",
  path,
  data: text(data),
  version,
});
const sync = (path = "/"): Body => ({ op: "sync", path });
const getData = (path: string): Body => ({ op: "getData", path, watch: false });
const exists = (path: string): Body => ({ op: "exists", path, watch: false });

function assertPasses(h: History): void {
  const result = checkLinearizable(h);
  assert.deepEqual(result.violations, [], result.violations.map((v) => v.message).join("\n"));
}

function assertFails(h: History): string {
  const result = checkLinearizable(h);
  assert.equal(result.violations.length, 1, "expected one violation");
  assert.equal(result.violations[0].check, "linearizable");
  return result.violations[0].message;
}

Deno.test("checkLinearizable() accepts sequential ok ops and their synced reads", () => {
  const h = history([
    { at: [1, 2], req: create("/a", "x"), ok: { path: "/a", stat: stat({ dataLength: 1 }) } },
    { at: [3, 4], req: setData("/a", "yy", 0), ok: { stat: stat({ version: 1, dataLength: 2 }) } },
    { at: [5, 6], req: sync(), ok: { path: "/" } },
    {
      at: [7, 8],
      req: getData("/a"),
      ok: { data: text("yy"), stat: stat({ version: 1, dataLength: 2 }) },
    },
    { at: [9, 10], req: { op: "delete", path: "/a", version: 1 }, ok: {} },
    { at: [11, 12], req: sync(), ok: { path: "/" } },
    { at: [13, 14], req: exists("/a"), ok: { stat: null } },
    { at: [15, 16], req: getData("/a"), err: "NoNode" },
  ]);
  const result = checkLinearizable(h);
  assert.deepEqual(result.violations, []);
  assert.equal(result.checked, 6);
});

Deno.test("checkLinearizable() rejects a stale synced read and names the ops", () => {
  const specs: OpSpec[] = [
    { at: [1, 2], req: create("/a", "x"), ok: { path: "/a" } },
    { at: [3, 4], req: setData("/a", "y"), ok: { stat: stat({ version: 1, dataLength: 1 }) } },
    { client: 2, at: [5, 6], req: sync(), ok: { path: "/" } },
    {
      client: 2,
      at: [7, 8],
      req: getData("/a"),
      ok: { data: text("x"), stat: stat({ dataLength: 1 }) },
    },
  ];
  const message = assertFails(history(specs));
  assert.match(message, /#3 c2 .*getData \/a ok \[5, 8\]/);
  // The ops that cannot come next, and the last ones ordered before them.
  assert.deepEqual(checkLinearizable(history(specs)).violations[0].ops, [0, 1, 3]);
  // The same read without the sync is not judged here (checkReads judges plain reads).
  assertPasses(history(specs.filter((_, i) => i !== 2)));
  // And a sync on another connection does not count.
  specs[3].connection = 2;
  assertPasses(history(specs));
});

Deno.test("checkLinearizable() rejects two concurrent conditional setData that both succeed", () => {
  const specs: OpSpec[] = [
    { at: [1, 2], req: create("/a"), ok: { path: "/a" } },
    { at: [3, 6], req: setData("/a", "b", 0), ok: { stat: stat({ version: 1, dataLength: 1 }) } },
    {
      client: 2,
      at: [4, 7],
      req: setData("/a", "c", 0),
      ok: { stat: stat({ version: 1, dataLength: 1 }) },
    },
  ];
  assertFails(history(specs));
  specs[2].err = "BadVersion";
  assertPasses(history(specs));
});

Deno.test("checkLinearizable() accepts an unknown create that a later synced read saw", () => {
  const specs: OpSpec[] = [
    { at: [1, 2], req: create("/a", "x"), unknown: true },
    { client: 2, at: [5, 6], req: sync(), ok: { path: "/" } },
    {
      client: 2,
      at: [7, 8],
      req: getData("/a"),
      ok: { data: text("x"), stat: stat({ dataLength: 1 }) },
    },
  ];
  assertPasses(history(specs));
  // Without the unknown create, the read saw a node nobody made.
  assertFails(history(specs.slice(1)));
});

Deno.test("checkLinearizable() accepts an unknown create that nobody saw", () => {
  assertPasses(history([
    { at: [1, 2], req: create("/a", "x"), unknown: true },
    { client: 2, at: [5, 6], req: sync(), ok: { path: "/" } },
    { client: 2, at: [7, 8], req: exists("/a"), ok: { stat: null } },
  ]));
});

Deno.test("checkLinearizable() explains a BadVersion by an unknown write, and only by one", () => {
  const specs: OpSpec[] = [
    { at: [1, 2], req: create("/a"), ok: { path: "/a" } },
    { at: [3, 4], req: setData("/a", "lost"), unknown: true },
    { client: 2, at: [10, 11], req: setData("/a", "z", 0), err: "BadVersion" },
  ];
  assertPasses(history(specs));
  assertFails(history(specs.filter((_, i) => i !== 1)));
});

Deno.test("checkLinearizable() rejects a synced read that sees an ephemeral after its session closed", () => {
  const owner = 0x11;
  const specs: OpSpec[] = [
    {
      at: [1, 2],
      req: create("/e", "", "ephemeral"),
      ok: { path: "/e", stat: stat({ ephemeralOwner: owner }) },
    },
    { at: [3, 4], req: { op: "close" }, ok: {} },
    { client: 2, at: [5, 6], req: sync(), ok: { path: "/" } },
    { client: 2, at: [7, 8], req: exists("/e"), ok: { stat: stat({ ephemeralOwner: owner }) } },
  ];
  assertFails(history(specs));
  // Concurrent with the close, the read may see it.
  specs[2].at = [2.5, 2.6];
  assertPasses(history(specs));
  // A session the client saw expire: learned at 4 through the session event.
  const expired = specs.filter((_, i) => i !== 1);
  expired[1].at = [5, 6];
  const event: HistorySession = {
    client: 1,
    sessionId: owner,
    connection: 1,
    server: 1,
    kind: "expired",
    at: 4,
    atMs: 4,
  };
  assertFails(history(expired, [event]));
  // A session whose end nobody learned may or may not have ended.
  assertPasses(history(expired));
  expired[2].ok = { stat: null };
  assertPasses(history(expired));
});

Deno.test("checkLinearizable() rejects an op of a session after the session ended", () => {
  // The read shows session 0x11 ended (its ephemeral is gone), so its later create cannot be.
  const specs: OpSpec[] = [
    { at: [1, 2], req: create("/e", "", "ephemeral"), ok: { path: "/e" } },
    { client: 2, at: [3, 4], req: sync(), ok: { path: "/" } },
    { client: 2, at: [5, 6], req: exists("/e"), ok: { stat: null } },
    { at: [7, 8], req: create("/f", "", "ephemeral"), ok: { path: "/f" } },
  ];
  assertFails(history(specs));
  specs[3].session = 0x99;
  assertPasses(history(specs));
});

Deno.test("checkLinearizable() rejects a NodeExists that no create can explain", () => {
  const specs: OpSpec[] = [
    { at: [1, 2], req: create("/a"), err: "NodeExists" },
    { client: 2, at: [3, 4], req: create("/a"), ok: { path: "/a" } },
  ];
  assertFails(history(specs));
  specs[1].at = [0, 4];
  assertPasses(history(specs));
});

Deno.test("checkLinearizable() rejects two sequential creates given one name", () => {
  const name = "/q/n-0000000000";
  const specs: OpSpec[] = [
    { at: [1, 2], req: create("/q"), ok: { path: "/q" } },
    { at: [3, 6], req: create("/q/n-", "", "persistentSequential"), ok: { path: name } },
    { client: 2, at: [4, 7], req: create("/q/n-", "", "persistentSequential"), ok: { path: name } },
  ];
  assertFails(history(specs));
  specs[2].ok = { path: "/q/n-0000000001" };
  assertPasses(history(specs));
});

Deno.test("checkLinearizable() rejects an order that real time forbids", () => {
  const specs: OpSpec[] = [
    { at: [1, 2], req: create("/a"), ok: { path: "/a" } },
    { at: [3, 4], req: setData("/a", "A"), ok: { stat: stat({ version: 2, dataLength: 1 }) } },
    {
      client: 2,
      at: [5, 8],
      req: setData("/a", "B"),
      ok: { stat: stat({ version: 1, dataLength: 1 }) },
    },
  ];
  assertFails(history(specs));
  specs[2].at = [2.5, 8];
  assertPasses(history(specs));
});

Deno.test("checkLinearizable() judges multi results and the op a failed multi names", () => {
  const specs: OpSpec[] = [
    { at: [1, 2], req: create("/a"), ok: { path: "/a" } },
    {
      at: [3, 4],
      req: {
        op: "multi",
        ops: [{ op: "check", path: "/a", version: 0 }, {
          op: "create",
          path: "/b",
          data: text(""),
          acl,
          mode: "persistent",
        }],
      },
      ok: { results: [{ op: "check" }, { op: "create", path: "/b", stat: stat() }] },
    },
    {
      at: [5, 6],
      req: {
        op: "multi",
        ops: [{ op: "setData", path: "/a", data: text("q"), version: 0 }, {
          op: "create",
          path: "/b",
          data: text(""),
          acl,
          mode: "persistent",
        }],
      },
      err: "NodeExists",
    },
  ];
  const results = (err: string, index: number): MultiResult[] =>
    [0, 1].map((i) => ({
      op: "error",
      err: (i === index ? err : i < index ? "RolledBack" : "RuntimeInconsistency") as "NodeExists",
      message: "",
    }));
  const withResults = history(specs);
  withResults.ops[2].response!.results = results("NodeExists", 1);
  assertPasses(withResults);
  // The same failure blamed on op 0 (setData at version 0, which holds) is impossible.
  withResults.ops[2].response!.results = results("BadVersion", 0);
  assertFails(withResults);
});

Deno.test("checkLinearizable() compares getChildren and the children counts it tracks", () => {
  const specs: OpSpec[] = [
    { at: [1, 2], req: create("/d"), ok: { path: "/d" } },
    { at: [3, 4], req: create("/d/x"), ok: { path: "/d/x" } },
    { client: 2, at: [5, 6], req: create("/d/y"), ok: { path: "/d/y" } },
    { client: 3, at: [7, 8], req: sync(), ok: { path: "/" } },
    {
      client: 3,
      at: [9, 10],
      req: { op: "getChildren", path: "/d", watch: false },
      ok: { children: ["y", "x"], stat: stat({ numChildren: 2, cversion: 2 }) },
    },
    {
      client: 3,
      at: [11, 12],
      req: getData("/d"),
      ok: { data: text(""), stat: stat({ numChildren: 2, cversion: 2 }) },
    },
  ];
  assertPasses(history(specs));
  specs[5].ok = { data: text(""), stat: stat({ numChildren: 1, cversion: 2 }) };
  assertFails(history(specs));
  specs[5].ok = { data: text(""), stat: stat({ numChildren: 2, cversion: 2 }) };
  specs[4].ok = { children: ["x"], stat: stat({ numChildren: 2, cversion: 2 }) };
  assertFails(history(specs));
});

Deno.test("checkLinearizable() drops errors that tell nothing", () => {
  assertPasses(history([
    { at: [1, 2], req: create("/a"), err: "SessionExpired" },
    { at: [3, 4], req: create("/a"), err: "ConnectionLoss" },
    { at: [5, 6], req: setData("/a", "x"), err: "NoAuth" },
    { client: 2, at: [7, 8], req: sync(), ok: { path: "/" } },
    { client: 2, at: [9, 10], req: exists("/a"), ok: { stat: null } },
  ]));
});

/** /a created, eight concurrent blind setData of unknown outcome, then a synced read of `read`. */
function eightBlindWrites(read: Partial<ResponseMessage>): OpSpec[] {
  const specs: OpSpec[] = [{ at: [1, 2], req: create("/a"), ok: { path: "/a" } }];
  for (let c = 1; c <= 8; c++) {
    specs.push({ client: c, at: [3 + c, 30 + c], req: setData("/a", `w${c}`), unknown: true });
  }
  specs.push({ client: 9, at: [50, 51], req: sync(), ok: { path: "/" } });
  specs.push({ client: 9, at: [52, 53], req: getData("/a"), ok: read });
  return specs;
}

Deno.test("checkLinearizable() reports an exceeded search budget, never a silent pass", () => {
  // A read no order explains (version 9 after eight writes): the search must try them all.
  const specs = eightBlindWrites({ data: text("w1"), stat: stat({ version: 9, dataLength: 2 }) });
  const result = checkLinearizable(history(specs), { maxStates: 50 });
  assert.equal(result.violations.length, 1);
  assert.match(result.violations[0].message, /^linearizability search budget exceeded/);
  assert.match(assertFails(history(specs)), /^no linearization/);
});

Deno.test("checkLinearizable() decides by the committed order what the search cannot, and only if it verifies", () => {
  // The budget history above, but the read is explained: the eight unknown writes took effect in
  // the order 8, 7, ..., 1, which the committed txns say. The search alone runs out of budget.
  const specs = eightBlindWrites({
    data: text("w1"),
    stat: stat({ version: 8, dataLength: 2, mzxid: 9 }),
  });
  const h = history(specs);
  h.ops[0].response!.zxid = 1;
  h.ops.at(-1)!.response!.zxid = 9;
  h.committed.push({
    zxid: 1,
    timeMs: 0,
    sessionId: 0x11,
    txn: {
      type: "create",
      path: "/a",
      data: new Uint8Array(0),
      acl,
      ephemeralOwner: 0,
      parentCversion: 1,
    },
  });
  for (let c = 8; c >= 1; c--) {
    h.committed.push({
      zxid: 10 - c,
      timeMs: 0,
      sessionId: 0x10 + c,
      txn: { type: "setData", path: "/a", data: text(`w${c}`), version: 9 - c },
    });
  }
  const messages = (options: Parameters<typeof checkLinearizable>[1]) =>
    checkLinearizable(h, { maxStates: 50, ...options }).violations.map((v) => v.message);
  assert.match(messages({ witness: false }).join("\n"), /^linearizability search budget exceeded/);
  assert.deepEqual(messages({}), []);
  // A committed order the history contradicts (w2 last, but the read saw w1) proves nothing: the
  // search runs and meets its budget, as without the witness; with the full budget it finds the
  // order itself (w1 last).
  const committed = h.committed.map((record) => ({ ...record }));
  [h.committed[7].txn, h.committed[8].txn] = [h.committed[8].txn, h.committed[7].txn];
  assert.match(messages({}).join("\n"), /^linearizability search budget exceeded/);
  assert.deepEqual(checkLinearizable(h).violations, []);
  // A read no order explains (version 9 after eight writes) fails even beside the true order.
  h.committed = committed;
  h.ops.at(-1)!.response!.stat = stat({ version: 9, dataLength: 2, mzxid: 9 });
  assert.match(
    checkLinearizable(h).violations.map((v) => v.message).join("\n"),
    /^no linearization/,
  );
});

// ---- a correct sequential server, and random concurrent histories from it ---------------------

interface Znode {
  data: Uint8Array;
  version: number;
  aversion: number;
  cversion: number;
  owner: number;
  children: Set<string>;
  czxid: number;
}

/** What a generated history may get wrong on purpose (the seeded-bug twins). */
export type Bug = "none" | "staleRead" | "versionOffByOne" | "phantomWrite" | "ephemeralSurvives";

/** A plain znode tree that answers requests one at a time, as REFERENCE §1-§2 say. */
class SequentialServer {
  zxid = 0;
  #nodes = new Map<string, Znode>();

  constructor(readonly bug: Bug) {
    for (const path of ["/", "/zookeeper", "/zookeeper/config", "/zookeeper/quota"]) {
      this.#add(path, new Uint8Array(0), 0, false);
    }
    // Children present from the start were never created (cversion = 2 * created - children).
    for (const node of this.#nodes.values()) node.cversion = -node.children.size || 0;
    this.#nodes.get("/zookeeper/config")!.aversion = -1;
  }

  /** Answers `request` from `session`, applying it. */
  execute(request: Body, session: number): Omit<ResponseMessage, "t" | "xid"> {
    switch (request.op) {
      case "getData": {
        const node = this.#nodes.get(request.path);
        if (!node) return this.#err("NoNode");
        return { zxid: this.zxid, data: node.data, stat: this.#stat(node) };
      }
      case "exists": {
        const node = this.#nodes.get(request.path);
        return { zxid: this.zxid, stat: node ? this.#stat(node) : null };
      }
      case "getChildren": {
        const node = this.#nodes.get(request.path);
        if (!node) return this.#err("NoNode");
        return { zxid: this.zxid, children: [...node.children], stat: this.#stat(node) };
      }
      case "sync":
        return { zxid: this.zxid, path: request.path };
      case "close":
        this.endSession(session);
        return { zxid: this.zxid };
      case "setACL": {
        const node = this.#nodes.get(request.path);
        if (!node) return this.#err("NoNode");
        if (request.version !== -1 && request.version !== node.aversion) {
          return this.#err("BadVersion");
        }
        node.aversion++;
        return { zxid: ++this.zxid, stat: this.#stat(node) };
      }
      case "multi":
        return this.#multi(request.ops, session);
      case "create":
      case "delete":
      case "setData":
      case "check": {
        const result = this.#step(request, session);
        if (result.op === "error") return this.#err(result.err);
        this.zxid++;
        if (result.op === "create") {
          return { zxid: this.zxid, path: result.path, stat: result.stat };
        }
        if (result.op === "setData") return { zxid: this.zxid, stat: result.stat };
        return { zxid: this.zxid };
      }
      default:
        throw new Error(`unexpected ${request.op}`);
    }
  }

  /** closeSession: the session's ephemerals go (unless the seeded bug keeps them). */
  endSession(session: number): void {
    this.zxid++;
    if (this.bug === "ephemeralSurvives") return;
    for (const [path, node] of [...this.#nodes]) if (node.owner === session) this.#remove(path);
  }

  /** A deep copy of the tree, to undo a write (the phantom-write bug). */
  snapshot(): Map<string, Znode> {
    return new Map([...this.#nodes].map(([p, n]) => [p, { ...n, children: new Set(n.children) }]));
  }

  restore(snapshot: Map<string, Znode>): void {
    this.#nodes = snapshot;
  }

  #multi(ops: MultiOp[], session: number): Omit<ResponseMessage, "t" | "xid"> {
    const before = this.snapshot();
    const results: MultiResult[] = [];
    for (let i = 0; i < ops.length; i++) {
      const result = this.#step(ops[i], session);
      if (result.op === "error") {
        this.#nodes = before;
        const failed = ops.map((_, j): MultiResult => ({
          op: "error",
          err: j === i ? result.err : j < i ? "RolledBack" : "RuntimeInconsistency",
          message: "",
        }));
        return { ...this.#err(result.err), results: failed };
      }
      results.push(result);
    }
    return { zxid: ++this.zxid, results };
  }

  #step(op: MultiOp, session: number): MultiResult {
    const error = (
      err: "NoNode" | "NodeExists" | "BadVersion" | "NotEmpty" | "NoChildrenForEphemerals",
    ) => ({ op: "error", err, message: err }) as const;
    const node = this.#nodes.get(op.path);
    switch (op.op) {
      case "create": {
        const parentPath = op.path.slice(0, op.path.lastIndexOf("/")) || "/";
        const parent = this.#nodes.get(parentPath);
        if (!parent) return error("NoNode");
        if (parent.owner !== 0) return error("NoChildrenForEphemerals");
        const sequential = op.mode.endsWith("Sequential");
        const ever = (parent.cversion + parent.children.size) / 2;
        const path = sequential ? op.path + String(ever).padStart(10, "0") : op.path;
        if (this.#nodes.has(path)) return error("NodeExists");
        const created = this.#add(path, op.data, op.mode.startsWith("ephemeral") ? session : 0);
        return { op: "create", path, stat: this.#stat(created) };
      }
      case "delete":
        if (!node) return error("NoNode");
        if (op.version !== -1 && op.version !== node.version) return error("BadVersion");
        if (node.children.size > 0) return error("NotEmpty");
        this.#remove(op.path);
        return { op: "delete" };
      case "setData":
        if (!node) return error("NoNode");
        if (op.version !== -1 && op.version !== node.version) return error("BadVersion");
        node.data = op.data;
        node.version++;
        return { op: "setData", stat: this.#stat(node) };
      case "check":
        if (!node) return error("NoNode");
        if (op.version !== -1 && op.version !== node.version) return error("BadVersion");
        return { op: "check" };
    }
  }

  #add(path: string, data: Uint8Array, owner: number, counted = true): Znode {
    const node: Znode = {
      data,
      version: 0,
      aversion: 0,
      cversion: 0,
      owner,
      children: new Set(),
      czxid: this.zxid + 1,
    };
    this.#nodes.set(path, node);
    if (path !== "/") {
      const parent = this.#nodes.get(path.slice(0, path.lastIndexOf("/")) || "/")!;
      parent.children.add(path.slice(path.lastIndexOf("/") + 1));
      if (counted) parent.cversion++;
    }
    return node;
  }

  #remove(path: string): void {
    this.#nodes.delete(path);
    const parent = this.#nodes.get(path.slice(0, path.lastIndexOf("/")) || "/")!;
    parent.children.delete(path.slice(path.lastIndexOf("/") + 1));
    parent.cversion++;
  }

  #stat(node: Znode): Stat {
    return stat({
      czxid: node.czxid,
      version: node.version,
      aversion: node.aversion,
      cversion: node.cversion,
      ephemeralOwner: node.owner,
      dataLength: node.data.byteLength,
      numChildren: node.children.size,
    });
  }

  #err(err: string): Omit<ResponseMessage, "t" | "xid"> {
    return { zxid: this.zxid, err: err as ResponseMessage["err"], message: err };
  }
}

/** A small seeded generator (mulberry32): the histories come from one fast-check integer. */
function rng(seed: number): { int(n: number): number; chance(p: number): boolean } {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { int: (n) => Math.floor(next() * n), chance: (p) => next() < p };
}

/** Shape of a generated run. */
interface RunShape {
  seed: number;
  clients: number;
  /** Client requests to send in all. */
  ops: number;
  pipeline: number;
  /** Chance that a chosen connection-loss moment drops the connection. */
  lossRate: number;
  /** How many of {@linkcode paths} the clients use (fewer: more contention). */
  pathCount: number;
  bug: Bug;
}

interface InFlight {
  op: HistoryOp;
  body: Body;
  applied: boolean;
}

interface Client {
  id: number;
  session: number;
  connection: number;
  inFlight: InFlight[];
  alive: boolean;
}

const paths = ["/a", "/b", "/c", "/d", "/d/x", "/d/y", "/q"];

/**
 * A random concurrent run against {@linkcode SequentialServer}: clients pipeline requests, each
 * applied atomically at a random moment inside its window (in send order per client); connections
 * drop (outcomes become unknown, unapplied requests may apply later or never), sessions close or
 * expire. The seeded `bug` damages what clients observe.
 */
function generate(shape: RunShape): History {
  const r = rng(shape.seed);
  const server = new SequentialServer(shape.bug);
  const ops: HistoryOp[] = [];
  const sessions: HistorySession[] = [];
  const limbo: InFlight[] = [];
  const seen: string[] = [];
  let clock = 0;
  let nextSession = 0x100;
  let dataCounter = 0;
  let setDataCount = 0;
  const phantomAt = r.int(4);
  const clients: Client[] = [];
  const event = (c: Client, kind: HistorySession["kind"]) => {
    clock++;
    sessions.push({
      client: c.id,
      sessionId: c.session,
      connection: c.connection,
      server: 1,
      kind,
      at: clock,
      atMs: clock,
    });
  };
  const newSession = (c: Client) => {
    c.session = nextSession++;
    c.connection++;
    event(c, "created");
  };
  for (let id = 0; id < shape.clients; id++) {
    const c: Client = { id, session: 0, connection: 0, inFlight: [], alive: true };
    clients.push(c);
    newSession(c);
  }
  const used = paths.slice(0, shape.pathCount);
  const path = () =>
    r.chance(0.15) && seen.length > 0 ? seen[r.int(seen.length)] : used[r.int(used.length)];
  const data = () => text(`d${dataCounter++}`);
  const version = () => r.chance(0.5) ? -1 : r.int(3);
  const step = (): MultiOp => {
    const p = path();
    switch (r.int(4)) {
      case 0: {
        const modes: CreateMode[] = [
          "persistent",
          "ephemeral",
          "persistentSequential",
          "ephemeralSequential",
        ];
        const mode = p === "/q" ? modes[r.int(4)] : modes[r.int(2)];
        return {
          op: "create",
          path: mode.endsWith("Sequential") ? "/q/n-" : p,
          data: data(),
          acl,
          mode,
        };
      }
      case 1:
        return { op: "delete", path: p, version: version() };
      case 2:
        return { op: "setData", path: p, data: data(), version: version() };
      default:
        return { op: "check", path: p, version: version() };
    }
  };
  const request = (): Body[] => {
    const roll = r.int(20);
    if (roll < 8) {
      const read = (["getData", "exists", "getChildren"] as const)[r.int(3)];
      const body = {
        op: read,
        path: read === "getChildren" ? ["/", "/d", "/q"][r.int(3)] : path(),
        watch: false,
      };
      return r.chance(0.8) ? [sync(), body] : [body];
    }
    if (roll < 10) return [{ op: "multi", ops: [step(), step()] }];
    if (roll < 11) return [{ op: "setACL", path: path(), acl, version: version() }];
    return [step()];
  };
  const send = (c: Client, body: Body) => {
    clock++;
    const op: HistoryOp = {
      index: ops.length,
      client: c.id,
      sessionId: c.session,
      connection: c.connection,
      server: 1,
      xid: ops.length + 1,
      request: { xid: ops.length + 1, ...body } as ClientRequest,
      invoked: clock,
      completed: null,
      invokedMs: clock,
      completedMs: null,
      outcome: "pending",
      response: null,
    };
    ops.push(op);
    c.inFlight.push({ op, body, applied: false });
  };
  const ended = new Set<number>();
  const endSession = (session: number) => {
    server.endSession(session);
    ended.add(session);
  };
  const apply = (f: InFlight) => {
    clock++;
    f.applied = true;
    if (ended.has(f.op.sessionId)) {
      const err = "SessionExpired" as const;
      f.op.response = { t: "res", xid: f.op.xid, zxid: server.zxid, err, message: err };
      return;
    }
    if (f.body.op === "close") ended.add(f.op.sessionId);
    const before = shape.bug === "phantomWrite" ? server.snapshot() : null;
    const response = server.execute(f.body, f.op.sessionId);
    if (before && f.body.op === "setData" && !response.err && setDataCount++ === phantomAt) {
      server.restore(before); // one ok setData is answered but forgotten
    }
    if (
      shape.bug === "versionOffByOne" && f.body.op === "setData" && response.stat && r.chance(0.2)
    ) {
      response.stat = { ...response.stat, version: response.stat.version + 1 };
    }
    if (response.path && response.path.startsWith("/q/")) seen.push(response.path);
    f.op.response = { t: "res", xid: f.op.xid, ...response };
  };
  const respond = (c: Client) => {
    const f = c.inFlight.shift()!;
    clock++;
    f.op.completed = clock;
    f.op.completedMs = clock;
    f.op.outcome = f.op.response!.err ? "error" : "ok";
    if (f.body.op === "close") {
      event(c, "closed");
      newSession(c);
    }
  };
  const loseConnection = (c: Client) => {
    // A client that may have closed its session gives it up and starts a new one.
    const closing = c.inFlight.some((f) => f.body.op === "close");
    for (const f of c.inFlight) {
      f.op.outcome = "unknown";
      if (!f.applied && f.body.op !== "close" && r.chance(0.5)) limbo.push(f);
    }
    for (const f of c.inFlight) if (!limbo.includes(f)) f.op.response = null;
    c.inFlight = [];
    c.connection++;
    if (closing) newSession(c);
  };
  let sent = 0;
  while (sent < shape.ops || clients.some((c) => c.inFlight.length > 0)) {
    const c = clients[r.int(clients.length)];
    const roll = r.int(100);
    if (!c.alive) continue;
    const closing = c.inFlight.some((f) => f.body.op === "close");
    if (roll < 40 && sent < shape.ops && c.inFlight.length < shape.pipeline && !closing) {
      const bodies = r.chance(0.02) ? [{ op: "close" } as Body] : request();
      for (const body of bodies) send(c, body);
      sent += bodies.length;
    } else if (roll < 70) {
      const next = c.inFlight.find((f) => !f.applied);
      if (next) apply(next);
    } else if (roll < 95) {
      if (c.inFlight.length > 0 && c.inFlight[0].applied) respond(c);
    } else if (roll < 97 && c.inFlight.length > 0 && r.chance(shape.lossRate)) {
      loseConnection(c);
    } else if (roll < 98 && limbo.length > 0) {
      const f = limbo.splice(r.int(limbo.length), 1)[0];
      apply(f);
    } else if (roll === 98 && r.chance(0.3)) {
      // The session expires; the client learns it and starts a new one.
      endSession(c.session);
      for (const f of c.inFlight) {
        f.op.outcome = f.applied ? "unknown" : "error";
        f.op.response = f.applied
          ? null
          : { t: "res", xid: f.op.xid, zxid: server.zxid, err: "SessionExpired", message: "" };
        if (!f.applied) f.op.completed = f.op.completedMs = ++clock;
      }
      c.inFlight = [];
      event(c, "expired");
      newSession(c);
    } else if (roll === 99 && r.chance(0.1) && clients.filter((x) => x.alive).length > 1) {
      // The session expires and the client never hears of it (it stops).
      endSession(c.session);
      for (const f of c.inFlight) if (!f.applied) f.op.response = null;
      c.inFlight = [];
      c.alive = false;
    }
  }
  for (const f of limbo) if (f.op.response && !f.applied) f.op.response = null;
  for (const op of ops) {
    if (op.outcome === "unknown" || op.outcome === "pending") op.response = null;
  }
  const history = { ops, events: [], sessions, committed: [] };
  if (shape.bug === "staleRead") makeStaleRead(history);
  return history;
}

/**
 * Damages one synced getData: it answers what the node held before a setData that completed
 * before the sync was sent. Data is unique per write, so no order can explain it.
 */
function makeStaleRead(h: History): void {
  const byPath = new Map<string, HistoryOp[]>();
  for (const op of h.ops) {
    const req = op.request;
    if (req.op === "setData" && op.outcome === "ok" && op.response?.stat?.version! >= 1) {
      byPath.set(req.path, [...byPath.get(req.path) ?? [], op]);
    }
  }
  const lastSync = new Map<string, HistoryOp>();
  for (const op of h.ops) {
    const key = `${op.client}/${op.connection}`;
    if (op.request.op === "sync" && op.outcome === "ok") lastSync.set(key, op);
    if (op.request.op !== "getData" || op.outcome !== "ok" || !lastSync.has(key)) continue;
    const syncOp = lastSync.get(key)!;
    const writes = (byPath.get(op.request.path) ?? []).filter((w) => w.completed! < syncOp.invoked);
    // The write before the last such setData on this path left data another setData replaced.
    const older = writes.slice(0, -1).filter((w) =>
      w.response!.stat!.version + 1 === writes[writes.length - 1].response!.stat!.version
    );
    if (older.length === 0) continue;
    const stale = older[older.length - 1];
    const request = stale.request as Extract<ClientRequest, { op: "setData" }>;
    op.response = { ...op.response!, data: request.data, stat: stale.response!.stat };
    return;
  }
}

const shapes = (bug: Bug) =>
  fc.record({
    seed: fc.integer(),
    clients: fc.integer({ min: 2, max: 4 }),
    ops: fc.integer({ min: 5, max: 60 }),
    pipeline: fc.integer({ min: 1, max: 4 }),
    lossRate: fc.constantFrom(0.1, 1),
    pathCount: fc.integer({ min: 1, max: bug === "none" ? paths.length : 3 }),
    bug: fc.constant(bug),
  });

function acceptsHistory(shape: RunShape): void {
  // With and without the witness: the search must accept on its own what the witness accepts.
  const history = generate(shape);
  for (const witness of [true, false]) {
    const result = checkLinearizable(history, { witness });
    assert.deepEqual(result.violations.map((v) => v.message), [], `witness: ${witness}`);
  }
}

const propertyName =
  "checkLinearizable() accepts every concurrent history of a correct sequential server";
Deno.test(propertyName, () => {
  assertProperty(
    { url: import.meta.url, testName: propertyName },
    fc.property(shapes("none"), acceptsHistory),
    { runs: 300 },
  );
});

const bugs: [string, Bug][] = [
  ["checkLinearizable() catches a synced read that returns stale data", "staleRead"],
  ["checkLinearizable() catches a setData that reports a version off by one", "versionOffByOne"],
  ["checkLinearizable() catches an ok write that never took effect", "phantomWrite"],
  ["checkLinearizable() catches an ephemeral that outlives its session", "ephemeralSurvives"],
];
for (const [name, bug] of bugs) {
  Deno.test(name, () => {
    assertFindsBug(
      { url: import.meta.url, testName: name },
      fc.property(shapes(bug), acceptsHistory),
      { runs: 300 },
    );
  });
}

Deno.test("checkLinearizable() decides a 2,000-op history with 8 pipelining clients and unknowns", () => {
  let unknown = 0;
  for (const seed of [1, 2, 3]) {
    const h = generate({
      seed,
      clients: 8,
      ops: 2000,
      pipeline: 4,
      lossRate: 0.07,
      pathCount: paths.length,
      bug: "none",
    });
    unknown += h.ops.filter((op) => op.outcome === "unknown" || op.outcome === "pending").length;
    const result = checkLinearizable(h);
    assert.deepEqual(result.violations.map((v) => v.message), []);
    assert.ok(result.checked > 1000);
  }
  assert.ok(unknown >= 100, `only ${unknown} unknown ops in three runs`);
});
