/**
 * The model-based property of the replica: random schedules of client operations from several
 * sessions, ticks and storage completions, run against a replica and against the reference model
 * in `_model.ts`, comparing after every command what each connection received, which txns wait
 * for storage, and the whole applied tree.
 *
 * A schedule opens 2-4 sessions (one connection each), often creates a few persistent nodes, then
 * runs a list of commands (fast-check's `fc.commands`, which shrinks by dropping commands and
 * simplifying each). Each request either makes everything outstanding durable right after
 * (`flush`) or leaves it in flight so later requests pipeline behind it; `durable` commands then
 * complete the oldest persisted batches. On each tick every session pings, as idle clients do,
 * except those the schedule has made silent or disconnected: those expire. A schedule never ends
 * its last talking session, so it cannot run dry. After the schedule, everything is made durable
 * and the clock runs until every session has expired and every ephemeral is gone.
 * @module
 */
import fc from "fast-check";
import assert from "../tests/assert.ts";
import type { CreateMode } from "../src/tree/types.ts";
import type { ClientRequest, MultiOp } from "../src/wire/messages.ts";
import { type Delivery, ReplicaModel, statOf } from "./_model.ts";
import { canonicalOrder, ReplicaHarness, type SteppableReplica } from "./_harness.ts";
import { commandsReplayPath } from "./_props.ts";

/** Tick length of the replica under test. */
export const tickMs = 100;

/** The few values znodes hold, by index (so counterexamples print short). */
const dataValues = [new Uint8Array(0), Uint8Array.of(1), Uint8Array.of(2, 3, 4)];

/** A fixed path, or the n-th sequential node created so far (modulo how many there are). */
type PathRef = string | { seq: number };

type WriteSpec =
  | { op: "create"; path: PathRef; mode: CreateMode; data: number }
  | { op: "delete"; path: PathRef; version: number }
  | { op: "setData"; path: PathRef; data: number; version: number }
  | { op: "check"; path: PathRef; version: number };

type RequestSpec =
  | WriteSpec
  | { op: "exists" | "getData" | "getChildren"; path: PathRef; watch: boolean }
  | { op: "multi"; ops: WriteSpec[] }
  | { op: "ping" }
  | { op: "close" };

type CommandSpec =
  | { kind: "request"; slot: number; request: RequestSpec; flush: boolean }
  | { kind: "tick"; ticks: number }
  | { kind: "durable"; batches: number }
  | { kind: "disconnect"; slot: number }
  /** The session stops pinging and sending: the next ticks expire it. */
  | { kind: "silence"; slot: number };

// ---- generators -------------------------------------------------------------------------------

const slotArb = fc.integer({ min: 0, max: 3 });
const seqRefArb = fc.nat(7).map((seq): PathRef => ({ seq }));
const weighted = <T>(...choices: [T, number][]): fc.Arbitrary<T> =>
  fc.oneof(...choices.map(([value, weight]) => ({ arbitrary: fc.constant(value), weight })));
// Mostly nodes that can exist (their parents are often there), sometimes deeper ones.
const nodePathArb: fc.Arbitrary<PathRef> = fc.oneof(
  { arbitrary: weighted<PathRef>(["/a", 3], ["/b", 2], ["/a/b", 3], ["/a/b/c", 1]), weight: 9 },
  { arbitrary: seqRefArb, weight: 2 },
);
const readPathArb: fc.Arbitrary<PathRef> = fc.oneof(
  {
    arbitrary: weighted<PathRef>(["/a", 3], ["/b", 2], ["/a/b", 3], ["/a/b/c", 1], ["/", 1]),
    weight: 10,
  },
  { arbitrary: seqRefArb, weight: 2 },
);
// Plain creates name a node of the path space; sequential ones append to `/a/s-` or `/s-`.
const createArb = fc.oneof(
  {
    arbitrary: fc.record({
      path: weighted<PathRef>(["/a", 4], ["/b", 2], ["/a/b", 3], ["/a/b/c", 1]),
      mode: weighted<CreateMode>(["persistent", 3], ["ephemeral", 1]),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      path: weighted<PathRef>(["/a/s-", 2], ["/s-", 1]),
      mode: fc.constantFrom<CreateMode>("persistentSequential", "ephemeralSequential"),
    }),
    weight: 2,
  },
);
const versionArb = fc.constantFrom(-1, 0, 1, 2);
const dataArb = fc.nat(dataValues.length - 1);

const writeArb: fc.Arbitrary<WriteSpec> = fc.oneof(
  {
    arbitrary: fc.tuple(createArb, dataArb).map(([{ path, mode }, data]) => ({
      op: "create" as const,
      path,
      mode,
      data,
    })),
    weight: 6,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("delete" as const),
      path: nodePathArb,
      version: versionArb,
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("setData" as const),
      path: nodePathArb,
      data: dataArb,
      version: versionArb,
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("check" as const),
      path: nodePathArb,
      version: versionArb,
    }),
    weight: 1,
  },
);

const requestArb: fc.Arbitrary<RequestSpec> = fc.oneof(
  { arbitrary: writeArb, weight: 20 },
  {
    arbitrary: fc.record({
      op: fc.constantFrom("exists" as const, "getData" as const, "getChildren" as const),
      path: readPathArb,
      watch: weighted([true, 3], [false, 1]),
    }),
    weight: 16,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("multi" as const),
      ops: fc.array(writeArb, { minLength: 1, maxLength: 3 }),
    }),
    weight: 6,
  },
  { arbitrary: fc.constant({ op: "ping" as const }), weight: 2 },
  { arbitrary: fc.constant({ op: "close" as const }), weight: 1 },
);

const commandSpecArb: fc.Arbitrary<CommandSpec> = fc.oneof(
  {
    // Shrinks towards flushing at once, the simplest schedule.
    arbitrary: fc.record({
      kind: fc.constant("request" as const),
      slot: slotArb,
      request: requestArb,
      flush: fc.constantFrom(true, false),
    }),
    weight: 40,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("tick" as const),
      ticks: fc.integer({ min: 1, max: 3 }),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("durable" as const),
      batches: fc.integer({ min: 1, max: 3 }),
    }),
    weight: 7,
  },
  { arbitrary: fc.record({ kind: fc.constant("disconnect" as const), slot: slotArb }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("silence" as const), slot: slotArb }), weight: 1 },
);

// ---- running one command ----------------------------------------------------------------------

function resolve(ref: PathRef, model: ReplicaModel): string {
  if (typeof ref === "string") return ref;
  const made = model.sequentialPaths;
  return made.length === 0 ? "/a/s-0000000000" : made[ref.seq % made.length];
}

function toMultiOp(spec: WriteSpec, model: ReplicaModel): MultiOp {
  const path = resolve(spec.path, model);
  switch (spec.op) {
    case "create":
      return {
        op: "create",
        path,
        data: dataValues[spec.data],
        acl: [{ perms: 31, scheme: "world", id: "anyone" }],
        mode: spec.mode,
      };
    case "setData":
      return { op: "setData", path, data: dataValues[spec.data], version: spec.version };
    case "delete":
      return { op: "delete", path, version: spec.version };
    case "check":
      return { op: "check", path, version: spec.version };
  }
}

function toRequest(spec: RequestSpec, model: ReplicaModel, xid: number): ClientRequest {
  switch (spec.op) {
    case "exists":
    case "getData":
    case "getChildren":
      return { xid, op: spec.op, path: resolve(spec.path, model), watch: spec.watch };
    case "multi":
      return { xid, op: "multi", ops: spec.ops.map((op) => toMultiOp(op, model)) };
    case "ping":
    case "close":
      return { xid, op: spec.op };
    default:
      return { xid, ...toMultiOp(spec, model) };
  }
}

function describePath(ref: PathRef): string {
  return typeof ref === "string" ? ref : `<sequential #${ref.seq}>`;
}

function describeRequest(spec: RequestSpec): string {
  switch (spec.op) {
    case "create":
      return `create ${describePath(spec.path)} ${spec.mode} data#${spec.data}`;
    case "setData":
      return `setData ${describePath(spec.path)} data#${spec.data} v${spec.version}`;
    case "delete":
    case "check":
      return `${spec.op} ${describePath(spec.path)} v${spec.version}`;
    case "exists":
    case "getData":
    case "getChildren":
      return `${spec.op} ${describePath(spec.path)}${spec.watch ? " watch" : ""}`;
    case "multi":
      return `multi[${spec.ops.map(describeRequest).join("; ")}]`;
    default:
      return spec.op;
  }
}

/** Rethrows an assertion failure with what was being compared in front of its diff. */
function expectEqual(actual: unknown, expected: unknown, what: string): void {
  try {
    assert.deepStrictEqual(actual, expected);
  } catch (e) {
    if (e instanceof assert.AssertionError) e.message = `${what}\n${e.message}`;
    throw e;
  }
}

function replicaTreeView(replica: SteppableReplica): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  for (const path of replica.tree.paths()) {
    const found = replica.tree.getData(path)!;
    view[path] = { data: [...found.data], stat: found.stat };
  }
  return view;
}

function modelTreeView(model: ReplicaModel): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  for (const [path, node] of model.appliedTree) {
    view[path] = { data: [...node.data], stat: statOf(model.appliedTree, path) };
  }
  return view;
}

/** Compares everything observable after a command: deliveries, txns in flight, the tree. */
function compare(model: ReplicaModel, harness: ReplicaHarness, after: string): void {
  const expected = model.takeDeliveries();
  const actual = harness.takeDeliveries();
  const byConnection = (deliveries: Map<number, Delivery[]>) => {
    const out: Record<string, unknown> = {};
    for (let slot = 0; slot < model.slotCount; slot++) {
      const list = deliveries.get(slot) ?? [];
      if (list.length > 0) out[`session #${slot}`] = canonicalOrder(list);
    }
    return out;
  };
  expectEqual(
    byConnection(actual),
    byConnection(expected),
    `after ${after}: what each connection received (actual vs model)`,
  );
  expectEqual(
    harness.outstandingZxids,
    model.pendingZxids,
    `after ${after}: txns waiting for storage`,
  );
  expectEqual(
    replicaTreeView(harness.replica),
    modelTreeView(model),
    `after ${after}: the applied tree`,
  );
}

/**
 * The model side of a schedule: the reference model, plus the sessions the schedule has made
 * silent (they neither ping nor send anything more, so they expire).
 */
interface ScheduleModel {
  model: ReplicaModel;
  silent: Set<number>;
}

/** Each live session sends a ping, as a client does when idle (except the silent ones). */
function heartbeat(world: ScheduleModel, harness: ReplicaHarness): void {
  for (let slot = 0; slot < world.model.slotCount; slot++) {
    if (!world.model.isConnected(slot) || world.silent.has(slot)) continue;
    const request: ClientRequest = { xid: harness.nextXid(slot), op: "ping" };
    harness.request(slot, request, world.model.nowMs);
    world.model.request(slot, request);
  }
}

class ReplicaCommand implements fc.Command<ScheduleModel, ReplicaHarness> {
  constructor(readonly spec: CommandSpec) {}

  check({ model, silent }: Readonly<ScheduleModel>): boolean {
    const spec = this.spec;
    const talking = (slot: number) =>
      slot < model.slotCount && model.isConnected(slot) && !silent.has(slot);
    // A schedule ends a session only while another one keeps talking, so it never runs dry.
    const othersTalking = (slot: number) =>
      Array.from({ length: model.slotCount }, (_, other) => other).some((other) =>
        other !== slot && talking(other)
      );
    switch (spec.kind) {
      case "request":
        return talking(spec.slot) && (spec.request.op !== "close" || othersTalking(spec.slot));
      case "disconnect":
      case "silence":
        return talking(spec.slot) && othersTalking(spec.slot);
      case "durable":
        return model.pendingZxids.length > 0;
      case "tick":
        return true;
    }
  }

  run(world: ScheduleModel, harness: ReplicaHarness): void {
    const { model } = world;
    const spec = this.spec;
    switch (spec.kind) {
      case "request": {
        const request = toRequest(spec.request, model, harness.nextXid(spec.slot));
        harness.request(spec.slot, request, model.nowMs);
        model.request(spec.slot, request);
        if (spec.flush) settle(model, harness);
        break;
      }
      case "tick":
        for (let i = 0; i < spec.ticks; i++) {
          heartbeat(world, harness);
          model.tick();
          harness.tick(model.nowMs);
        }
        break;
      case "durable": {
        const zxid = harness.makeDurable(spec.batches);
        if (zxid !== null) model.durable(zxid);
        break;
      }
      case "disconnect":
        harness.disconnect(spec.slot);
        model.disconnect(spec.slot);
        break;
      case "silence":
        world.silent.add(spec.slot);
        break;
    }
    compare(model, harness, this.toString());
  }

  toString(): string {
    const spec = this.spec;
    switch (spec.kind) {
      case "request":
        return `#${spec.slot} ${describeRequest(spec.request)}${spec.flush ? "" : " (in flight)"}`;
      case "tick":
        return `tick x${spec.ticks}`;
      case "durable":
        return `durable ${spec.batches} batch(es)`;
      case "disconnect":
        return `#${spec.slot} disconnects`;
      case "silence":
        return `#${spec.slot} falls silent`;
    }
  }
}

/** Makes everything outstanding durable, in one storage completion. */
function settle(model: ReplicaModel, harness: ReplicaHarness): void {
  const zxid = harness.makeDurable(Number.MAX_SAFE_INTEGER);
  if (zxid !== null) model.durable(zxid);
}

/** Opens one session per requested timeout, in both the replica and the model. */
function openSessions(model: ReplicaModel, harness: ReplicaHarness, timeoutsMs: number[]): void {
  const ids = new Set<number>();
  for (const timeoutMs of timeoutsMs) {
    const { connected } = harness.connect(timeoutMs, model.nowMs);
    const sessionId = connected.sessionId as number;
    assert.ok(
      Number.isSafeInteger(sessionId) && sessionId > 0 && !ids.has(sessionId),
      "session ids are new and positive",
    );
    ids.add(sessionId);
    model.openSession(sessionId, timeoutMs);
    expectEqual(
      { timeoutMs: connected.timeoutMs, zxid: connected.zxid },
      { timeoutMs: model.negotiatedTimeoutMs(timeoutMs), zxid: model.appliedZxid },
      "the handshake: negotiated timeout (clamped to [2, 20] ticks) and last zxid",
    );
  }
}

/**
 * The property: for any schedule, the replica made by `makeReplica` behaves exactly like the
 * reference model.
 */
export function replicaMatchesModel(makeReplica: () => SteppableReplica) {
  return fc.property(
    // Timeouts below 2 ticks and above 20 are clamped.
    fc.array(fc.constantFrom(100, 200, 350, 1000, 5000), { minLength: 2, maxLength: 4 }),
    // Most schedules start from a few persistent nodes, so that early ops find something.
    fc.subarray(["/a", "/a/b", "/b"]),
    fc.commands([commandSpecArb.map((spec) => new ReplicaCommand(spec))], {
      maxCommands: 100,
      size: "max",
      replayPath: commandsReplayPath(),
    }),
    (timeoutsMs, prelude, commands) => {
      const model = new ReplicaModel(tickMs);
      const harness = new ReplicaHarness(makeReplica());
      openSessions(model, harness, timeoutsMs);
      for (const path of prelude) {
        new ReplicaCommand({
          kind: "request",
          slot: 0,
          request: { op: "create", path, mode: "persistent", data: 0 },
          flush: true,
        }).run({ model, silent: new Set() }, harness);
      }
      fc.modelRun(() => ({ model: { model, silent: new Set<number>() }, real: harness }), commands);
      // Then quiet: everything becomes durable and every session, idle now, expires.
      settle(model, harness);
      compare(model, harness, "the schedule, once everything is durable");
      for (let tick = 1; tick <= 22; tick++) {
        model.tick();
        harness.tick(model.nowMs);
        settle(model, harness);
        compare(model, harness, `the schedule and ${tick} idle tick(s)`);
      }
      for (const [path, node] of model.appliedTree) {
        assert.equal(
          node.ephemeralOwner,
          0,
          `every session expired, yet ephemeral ${path} is left`,
        );
      }
    },
  );
}
