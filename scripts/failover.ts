/**
 * Failover measurement of an ensemble of dist/corral: three nodes of the binary on 127.0.0.1
 * with the DEFAULT ensemble settings (no tickTime, initLimit, syncLimit or peerTickTime in their
 * configs), `--clients` writer sessions creating nodes sequentially through the connect string of
 * all three, then
 *
 * - `--kills` rounds: find the serving leader, SIGKILL it at t0, measure t0 to the first
 *   acknowledged write that was invoked (sent) after t0, restart the killed node on its data dir,
 *   wait until all three serve again;
 * - `--stops` rounds: the same with SIGSTOP (the ensemble detects it by timeout); meanwhile an
 *   extra client connected ONLY to the paused leader keeps sending writes; once a new leader
 *   serves and writes resumed, SIGCONT the old leader and wait until it serves again. None of
 *   the writes sent while it was paused may be acknowledged (a deposed leader must not
 *   acknowledge).
 *
 * At the end, with all nodes up, every acknowledged write (and every write a retry confirmed with
 * NodeExists) is read back through each server alone, after a sync. Prints one line per round
 * (kind, victim, ms to the first acknowledgement, lost count, and where the time went: the role
 * lines of the nodes' JSON logs and the writers' reconnects), then
 *
 *     failover kill -9: median X ms (min A, max B) over N, lost 0
 *     failover SIGSTOP: median Y ms (min C, max D) over M, lost 0, deposed-leader acks 0
 *
 * Exits 1 when a write was lost, a deposed leader acknowledged, a round timed out, or the run
 * hit --max-minutes before its last round; 2 on a usage error; 130 on Ctrl-C. Every process is
 * killed on every exit path. Run it through `scripts/failover`, which builds the binary first.
 *
 * Usage: `failover.ts [--kills N] [--stops N] [--clients N] [--max-minutes M] [--json FILE]
 * [--keep-logs]`
 * @module
 */
import { writeFileSync } from "node:fs";
import type { Client } from "../src/client/mod.ts";
import {
  BinaryEnsemble,
  ensurePath,
  type NodeLogEntry,
  readChildren,
  waitUntil,
  within,
  WriteLoad,
  type WriteRecord,
} from "../tests/e2e/_ensemble_binary.ts";
import { integerFlag, machineFacts, parseScriptFlags } from "./_sweep.ts";

const usage = "usage: scripts/failover [--kills N (10)] [--stops N (10)] [--clients N (4)] " +
  "[--max-minutes M (10)] [--json FILE] [--keep-logs]";

/**
 * Session timeout of the writers: 4 s is the least the default tickTime (2 s) grants. It bounds
 * how long a writer connected to a paused leader takes to notice (2/3 of it, by silence).
 */
const writerSessionMs = 4_000;
/**
 * Session timeout of the client connected only to the paused leader: long, so that its
 * connection to the paused process stays open until SIGCONT (it notices silence after 2/3).
 */
const pausedClientSessionMs = 30_000;
/** How often that client sends a write while the leader is paused. */
const pausedWriteEveryMs = 20;
/** Most writes it sends in one round (well under the 1000 a session may have in flight). */
const pausedWritesMax = 500;
/** Writes acknowledged in a round before its failure is injected. */
const warmWritesPerRound = 200;
/** Bounds of the waits of one round. */
const newLeaderMsMax = 30_000;
const firstAckMsMax = 30_000;
const allServingMsMax = 60_000;

type Kind = "kill" | "stop";

interface Phase {
  node: number;
  state: string;
  phase: string;
  serving: boolean;
  /** ms after t0 (the node's log clock against this process's Date.now()). */
  atMs: number;
}

interface Round {
  round: number;
  kind: Kind;
  victim: number;
  newLeader: number | null;
  /** t0 to the first acknowledgement of a write sent after t0, ms. */
  firstAckMs: number | null;
  /** t0 to the new leader's "serving" role line, ms. */
  leaderServingMs: number | null;
  /** t0 to the first role line of a survivor (it noticed the leader was gone), ms. */
  detectMs: number | null;
  /** t0 to every writer having an acknowledgement of a write sent after t0, ms. */
  allWritersMs: number | null;
  /** Each writer's session events from t0 until the victim is brought back, ms after t0. */
  writers: { event: string; atMs: number }[][];
  /** Role lines of every node from t0 until all serve again. */
  phases: Phase[];
  /** Restart (kill) or SIGCONT (stop) to all three serving again, ms. */
  rejoinMs: number | null;
  /** What the victim's log says about how it caught up: DIFF, TRUNC or SNAP. */
  catchUp: string | null;
  /** Stop rounds: writes the paused-leader client sent while it was paused. */
  pausedWrites: number;
  /** Stop rounds: how those ended (ok = acknowledged, a violation). */
  pausedOutcomes: Record<string, number>;
  /** Stop rounds: acknowledgements of writes sent to the paused leader. */
  deposedAcks: number;
  /** SIGCONT to the old leader's first role line, ms. */
  stepDownMs: number | null;
  /** Acknowledged writes of this round missing (or wrong) on some server (filled at the end). */
  lost: number;
  /** Why the round failed, if it did. */
  error: string | null;
}

/** An integer flag >= `min` (default 1), or the default; exits 2 on anything else. */
function positive(text: string | undefined, fallback: number, name: string, min = 1): number {
  return integerFlag("failover", usage, text, fallback, name, min);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2);
}

/** The extra client of a stop round: connected only to the paused leader, writing. */
class PausedLeaderClient {
  readonly sent: { path: string; invokedAt: number; result: string; answeredAt: number }[] = [];
  readonly #client: Client;
  readonly #parent: string;
  readonly #pending: Promise<void>[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(client: Client, parent: string) {
    this.#client = client;
    this.#parent = parent;
  }

  /** Sends one write every `pausedWriteEveryMs` until {@linkcode stop}. */
  start(): void {
    this.#timer = setInterval(() => {
      if (this.sent.length >= pausedWritesMax) return;
      const entry = {
        path: `${this.#parent}/p-${this.sent.length}`,
        invokedAt: performance.now(),
        result: "pending",
        answeredAt: 0,
      };
      this.sent.push(entry);
      this.#pending.push(
        this.#client.create(entry.path, "sent to a paused leader").then(
          () => {
            entry.result = "ok";
            entry.answeredAt = performance.now();
          },
          (error: Error) => {
            entry.result = error.name;
            entry.answeredAt = performance.now();
          },
        ),
      );
    }, pausedWriteEveryMs);
  }

  /** Stops sending (before SIGCONT). */
  stop(): void {
    clearInterval(this.#timer);
  }

  /** Waits (at most `ms`) for every write sent to be answered one way or another. */
  async settle(ms: number): Promise<boolean> {
    return await within(Promise.all(this.#pending), ms, "the paused-leader client's writes")
      .then(() => true, () => false);
  }
}

/** Role lines of every node at or after `t0Wall`, as offsets. */
function phasesSince(ensemble: BinaryEnsemble, t0Wall: number): Phase[] {
  const phases: Phase[] = [];
  for (const node of ensemble.nodes) {
    for (const line of node.lines()) {
      if (line.entry.msg !== "role" || !(line.wallMs >= t0Wall)) continue;
      phases.push({
        node: node.id,
        state: String(line.entry.state),
        phase: String(line.entry.phase),
        serving: line.entry.serving === true,
        atMs: line.wallMs - t0Wall,
      });
    }
  }
  return phases.sort((a, b) => a.atMs - b.atMs);
}

function formatPhases(phases: Phase[]): string {
  return phases.map((p) =>
    `n${p.node} ${p.state.slice(0, 4)}/${p.phase.slice(0, 5)}${p.serving ? "*" : ""} +${p.atMs}`
  ).join(", ");
}

/** When the first write sent at or after `t0` was acknowledged, or null. */
function firstAckAfter(load: WriteLoad, t0: number, from = 0): number | null {
  let best: number | null = null;
  for (let i = from; i < load.records.length; i++) {
    for (const attempt of load.records[i].attempts) {
      if (attempt.result !== "ok" || attempt.invokedAt < t0) continue;
      if (best === null || attempt.answeredAt! < best) best = attempt.answeredAt!;
    }
  }
  return best;
}

/**
 * Index of the oldest record any writer may still be working on, among the first `count`: each
 * writer works on its latest record only, so the writes after t0 are all at or after it.
 */
function oldestInFlight(load: WriteLoad, count: number): number {
  const seen = new Set<number>();
  let oldest = count;
  for (let i = count - 1; i >= 0 && seen.size < load.clients.length; i--) {
    const writer = load.records[i].client;
    if (!seen.has(writer)) {
      seen.add(writer);
      oldest = i;
    }
  }
  return seen.size < load.clients.length ? 0 : oldest;
}

/** Writers with an acknowledgement of a write sent at or after `t0`. */
function writersResumed(load: WriteLoad, t0: number, from = 0): Set<number> {
  const writers = new Set<number>();
  for (let i = from; i < load.records.length; i++) {
    const r = load.records[i];
    if (r.attempts.some((a) => a.result === "ok" && a.invokedAt >= t0)) writers.add(r.client);
  }
  return writers;
}

function catchUpOf(lines: NodeLogEntry[]): string {
  const said: string[] = [];
  if (lines.some((l) => l.entry.msg === "truncating the log (TRUNC from the leader)")) {
    said.push("TRUNC");
  }
  if (lines.some((l) => l.entry.msg === "installing the leader's snapshot (SNAP)")) {
    said.push("SNAP");
  }
  return said.length > 0 ? said.join("+") : "DIFF";
}

// ---- the run --------------------------------------------------------------------------------

let ensemble: BinaryEnsemble | null = null;
let interrupted = false;

async function main(): Promise<number> {
  const values = parseScriptFlags("failover", usage, {
    kills: { type: "string" },
    stops: { type: "string" },
    clients: { type: "string" },
    "max-minutes": { type: "string" },
    json: { type: "string" },
    "keep-logs": { type: "boolean" },
  });
  if (typeof values === "number") return values;
  const kills = positive(values.kills as string | undefined, 10, "kills", 0);
  const stops = positive(values.stops as string | undefined, 10, "stops", 0);
  const clients = positive(values.clients as string | undefined, 4, "clients");
  const maxMinutes = positive(values["max-minutes"] as string | undefined, 10, "max-minutes");
  const jsonFile = values.json as string | undefined;
  const started = performance.now();
  const deadline = started + maxMinutes * 60_000;
  const machine = machineFacts();
  console.log(`failover: ${machine}`);
  console.log(
    `failover: 3 nodes of dist/corral with default settings, ${clients} writers ` +
      `(session ${writerSessionMs} ms), ${kills} kill -9 rounds, ${stops} SIGSTOP rounds, ` +
      `at most ${maxMinutes} min`,
  );

  ensemble = await BinaryEnsemble.start();
  const ens = ensemble;
  console.log(`failover: nodes' configs, data and logs in ${ens.dir}`);
  await ens.waitAllServing(30_000);
  const control = await ens.client(ens.ids(), { sessionTimeoutMs: 20_000 });
  await ensurePath(control, "/f");
  await ensurePath(control, "/f/r0");
  let current = 0;
  const load = await WriteLoad.start({
    connectString: ens.connectString(),
    clients,
    parent: () => `/f/r${current}`,
    clientOptions: { sessionTimeoutMs: writerSessionMs },
    reopenOnExpiry: true,
  });
  const rounds: Round[] = [];
  let stoppedByDeadline = false;
  let failed = false;
  const plan: Kind[] = [...Array(kills).fill("kill"), ...Array(stops).fill("stop")];
  try {
    await waitUntil(() => load.acknowledged.length >= warmWritesPerRound, "warm-up writes", 30_000);
    for (const [index, kind] of plan.entries()) {
      if (interrupted) break;
      if (performance.now() > deadline) {
        stoppedByDeadline = true;
        break;
      }
      const round = await runRound(ens, control, load, index + 1, kind, (r) => current = r);
      rounds.push(round);
      console.log(roundLine(round));
      console.log(`    phases: ${formatPhases(round.phases)}`);
      console.log(`    writers: ${formatWriters(round)}`);
      if (round.error !== null) {
        failed = true;
        console.log(`failover: round ${round.round} failed: ${round.error}`);
        break;
      }
    }
  } finally {
    await load.stop(30_000);
  }

  // ---- the check: every acknowledged write on every server ----------------------------------
  const acknowledged = load.acknowledged;
  const unknown = load.records.filter((r) => r.outcome === "unknown").length;
  const confirmed = acknowledged.filter((r) => r.outcome === "confirmed").length;
  const lostWrites = new Map<string, string[]>();
  let checked = false;
  const crashed = ens.nodes.filter((n) => n.exitedByItself);
  for (const node of crashed) {
    failed = true;
    const reported = rounds.some((r) => r.error?.includes(`node ${node.id} (start`));
    console.log(
      reported
        ? `failover: ENSEMBLE FAILURE: node ${node.id} exited by itself (see above); log ${node.logPath}`
        : `failover: ENSEMBLE FAILURE: ${node.exitReport()}`,
    );
  }
  // With a crashed node, the check reads the others (a quorum still serves).
  const live = ens.nodes.filter((n) => !n.exitedByItself).map((n) => n.id);
  try {
    await ens.waitAllServing(allServingMsMax, live);
    const parents = [...new Set(acknowledged.map((w) => parentOf(w.path)))];
    for (const id of live) {
      const missing = await missingOn(ens, id, parents, acknowledged);
      for (const path of missing) lostWrites.set(path, [...(lostWrites.get(path) ?? []), `n${id}`]);
    }
    checked = true;
  } catch (error) {
    failed = true;
    console.log(`failover: the final check could not run: ${error}\n${ens.describe()}`);
  }
  const byParent = new Map<string, number>();
  for (const path of lostWrites.keys()) {
    byParent.set(parentOf(path), (byParent.get(parentOf(path)) ?? 0) + 1);
  }
  for (const round of rounds) round.lost = byParent.get(`/f/r${round.round}`) ?? 0;
  const lostTotal = lostWrites.size;
  // Writes sent to a paused leader that exist now (never acknowledged: allowed, noted).
  let pausedApplied = 0;
  const readFrom = ens.leader();
  const pausedParents = rounds.filter((r) => r.kind === "stop").map((r) => `/f/s${r.round}`);
  if (checked && readFrom !== null && pausedParents.length > 0) {
    pausedApplied = (await readChildren(ens, readFrom, pausedParents).catch(() => new Set())).size;
  }

  // ---- the report ------------------------------------------------------------------------------
  console.log("");
  console.log("round  kind     victim  new leader  first ack ms  leader serving ms  lost");
  for (const r of rounds) {
    console.log(
      `${String(r.round).padStart(5)}  ${(r.kind === "kill" ? "kill -9" : "SIGSTOP").padEnd(7)}` +
        `  ${String(r.victim).padStart(6)}  ${String(r.newLeader ?? "-").padStart(10)}` +
        `  ${String(r.firstAckMs ?? "-").padStart(12)}  ${
          String(r.leaderServingMs ?? "-").padStart(17)
        }  ${String(r.lost).padStart(4)}` +
        (r.kind === "stop" ? `  deposed acks ${r.deposedAcks}` : "") +
        (r.error === null ? "" : "  FAILED (see above)"),
    );
  }
  for (const [path, on] of [...lostWrites].slice(0, 50)) {
    console.log(`LOST: ${path} missing or wrong on ${on.join(", ")}`);
  }
  const seconds = Math.round((performance.now() - started) / 1000);
  console.log(
    `failover: ${seconds} s, ${acknowledged.length} writes acknowledged (${confirmed} confirmed ` +
      `by NodeExists on a retry), ${unknown} of unknown outcome, ${load.expired} sessions ` +
      `expired, ${pausedApplied} writes sent to a paused leader applied (none acknowledged)`,
  );
  for (const problem of load.problems.slice(0, 20)) console.log(`failover: writer: ${problem}`);
  if (stoppedByDeadline) {
    console.log(
      `failover: --max-minutes ${maxMinutes} ended the run after ${rounds.length} rounds`,
    );
    failed = true;
  }
  if (interrupted) failed = true;
  const summary = (kind: Kind) => {
    const of = rounds.filter((r) => r.kind === kind);
    const times = of.map((r) => r.firstAckMs).filter((t): t is number => t !== null);
    const lost = of.reduce((n, r) => n + r.lost, 0);
    const name = kind === "kill" ? "kill -9" : "SIGSTOP";
    const stats = times.length > 0
      ? `median ${median(times)} ms (min ${Math.min(...times)}, max ${
        Math.max(...times)
      }) over ${times.length}`
      : "no round measured";
    const deposed = of.reduce((n, r) => n + r.deposedAcks, 0);
    const failures = of.filter((r) => r.error !== null).length;
    return {
      line: `failover ${name}: ${stats}, lost ${lost}` +
        (kind === "stop" ? `, deposed-leader acks ${deposed}` : "") +
        (failures > 0 ? `, ${failures} round${failures === 1 ? "" : "s"} FAILED` : ""),
      median: times.length > 0 ? median(times) : null,
      min: times.length > 0 ? Math.min(...times) : null,
      max: times.length > 0 ? Math.max(...times) : null,
      rounds: times.length,
      lost,
      deposed,
      failures,
    };
  };
  const killSummary = summary("kill");
  const stopSummary = summary("stop");
  const deposedTotal = stopSummary.deposed;
  if (lostTotal > 0 || deposedTotal > 0 || !checked) failed = true;
  if (jsonFile) {
    writeFileSync(
      jsonFile,
      JSON.stringify(
        {
          machine,
          settings: { kills, stops, clients, maxMinutes, writerSessionMs, pausedClientSessionMs },
          seconds,
          acknowledged: acknowledged.length,
          confirmed,
          unknown,
          expired: load.expired,
          pausedApplied,
          lost: [...lostWrites.keys()],
          rounds,
          kill: killSummary,
          stop: stopSummary,
          failed,
        },
        null,
        2,
      ) + "\n",
    );
  }
  const keep = failed || values["keep-logs"] === true;
  await ens.close({ keep });
  ensemble = null;
  if (keep) console.log(`failover: node logs kept in ${ens.dir} (node1.log, node2.log, node3.log)`);
  console.log(killSummary.line);
  console.log(stopSummary.line);
  return failed ? 1 : 0;
}

function survivorsOf(ens: BinaryEnsemble, victim: number): number[] {
  return ens.ids().filter((id) => id !== victim);
}

function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/"));
}

/** Acknowledged writes missing, or holding other data, on node `id` (read through it alone). */
async function missingOn(
  ens: BinaryEnsemble,
  id: number,
  parents: string[],
  writes: WriteRecord[],
): Promise<string[]> {
  const found = await readChildren(ens, id, parents, { sessionTimeoutMs: 30_000 });
  const missing = writes.filter((w) => !found.has(w.path)).map((w) => w.path);
  const client = await ens.client([id], { sessionTimeoutMs: 30_000 });
  try {
    await within(client.sync("/"), 30_000, `sync through node ${id}`);
    const present = writes.filter((w) => found.has(w.path));
    const decoder = new TextDecoder();
    for (let i = 0; i < present.length; i += 1000) {
      const slice = present.slice(i, i + 1000);
      const data = await within(
        Promise.all(slice.map((w) => client.getData(w.path))),
        60_000,
        `reads through node ${id}`,
      );
      slice.forEach((w, j) => {
        if (decoder.decode(data[j].data) !== w.data) missing.push(w.path);
      });
    }
  } finally {
    await ens.closeClient(client);
  }
  return missing;
}

async function runRound(
  ens: BinaryEnsemble,
  control: Client,
  load: WriteLoad,
  number: number,
  kind: Kind,
  setRound: (round: number) => void,
): Promise<Round> {
  const round: Round = {
    round: number,
    kind,
    victim: 0,
    newLeader: null,
    firstAckMs: null,
    leaderServingMs: null,
    detectMs: null,
    allWritersMs: null,
    writers: [],
    phases: [],
    rejoinMs: null,
    catchUp: null,
    pausedWrites: 0,
    pausedOutcomes: {},
    deposedAcks: 0,
    stepDownMs: null,
    lost: 0,
    error: null,
  };
  let paused: PausedLeaderClient | null = null;
  let pausedClient: Client | null = null;
  let t0Wall = Date.now();
  try {
    // A fresh parent for this round's writes, made while all serve; then steady load.
    await ens.waitAllServing(allServingMsMax);
    await ensurePath(control, `/f/r${number}`);
    if (kind === "stop") await ensurePath(control, `/f/s${number}`);
    setRound(number);
    const acked = load.acknowledged.length;
    await waitUntil(
      () => (ens.checkAlive(), load.acknowledged.length >= acked + warmWritesPerRound),
      `${warmWritesPerRound} writes before round ${number}`,
      30_000,
    );
    const victim = ens.leader();
    if (victim === null) throw new Error(`no serving leader before round ${number}`);
    round.victim = victim;
    const node = ens.node(victim);
    const generation = node.generation;
    if (kind === "stop") {
      pausedClient = await ens.client([victim], { sessionTimeoutMs: pausedClientSessionMs });
      paused = new PausedLeaderClient(pausedClient, `/f/s${number}`);
    }
    const recordsBefore = load.records.length;
    const eventsBefore = load.events.map((e) => e.length);
    // ---- t0: the failure
    const t0 = performance.now();
    t0Wall = Date.now();
    if (kind === "kill") {
      node.kill("SIGKILL");
    } else {
      await node.pause();
      paused!.start();
    }
    const from = oldestInFlight(load, recordsBefore);
    const newLeader = await ens.waitForLeader({ exclude: [victim], ms: newLeaderMsMax });
    round.newLeader = newLeader;
    await waitUntil(
      () => (ens.checkAlive(survivorsOf(ens, victim)), firstAckAfter(load, t0, from) !== null),
      `a write sent after the ${kind === "kill" ? "kill" : "SIGSTOP"} to be acknowledged`,
      firstAckMsMax,
      () => ens.describe(),
    );
    round.firstAckMs = Math.round(firstAckAfter(load, t0, from)! - t0);
    // Every writer resumes (one on the paused leader notices by silence, after 2/3 of its
    // session timeout), bounded; not resuming is noted, not fatal.
    await waitUntil(
      () => writersResumed(load, t0, from).size === load.clients.length,
      "every writer to resume",
      writerSessionMs * 3,
    ).then(
      () => round.allWritersMs = Math.round(performance.now() - t0),
      () => {},
    );
    round.writers = load.events.map((events, k) =>
      events.slice(eventsBefore[k]).map(([at, event]) => ({ event, atMs: Math.round(at - t0) }))
    );
    // ---- the victim comes back
    const back = performance.now();
    const backWall = Date.now();
    if (kind === "kill") {
      await node.exit();
      await ens.restart(victim);
    } else {
      paused!.stop();
      node.resume();
    }
    await ens.waitAllServing(allServingMsMax);
    round.rejoinMs = Math.round(performance.now() - back);
    // Only what the victim logged since it came back (a paused one keeps its earlier lines).
    round.catchUp = catchUpOf(
      kind === "kill"
        ? node.lines(generation + 1)
        : node.lines(generation).filter((l) => l.wallMs >= backWall),
    );
    if (kind === "stop") {
      const firstLine = node.lines(generation).find((l) =>
        l.entry.msg === "role" && l.wallMs >= backWall
      );
      round.stepDownMs = firstLine ? firstLine.wallMs - backWall : null;
      if (!(await paused!.settle(pausedClientSessionMs))) {
        round.error = "the paused-leader client's writes were not all answered";
      }
    }
  } catch (error) {
    round.error = error instanceof Error ? error.message : String(error);
  } finally {
    paused?.stop();
    if (paused) {
      // Counted on every path: an acknowledgement from a deposed leader is the worst outcome.
      if (round.error !== null) await paused.settle(10_000);
      round.pausedWrites = paused.sent.length;
      for (const write of paused.sent) {
        round.pausedOutcomes[write.result] = (round.pausedOutcomes[write.result] ?? 0) + 1;
      }
      round.deposedAcks = paused.sent.filter((w) => w.result === "ok").length;
    }
    if (pausedClient) await ens.closeClient(pausedClient, 10_000);
    round.phases = phasesSince(ens, t0Wall);
    const survivors = round.phases.filter((p) => p.node !== round.victim);
    round.detectMs = survivors[0]?.atMs ?? null;
    round.leaderServingMs = survivors.find((p) =>
      p.node === round.newLeader && p.state === "LEADING" && p.serving
    )?.atMs ?? null;
  }
  return round;
}

function roundLine(r: Round): string {
  const kind = r.kind === "kill" ? "kill -9" : "SIGSTOP";
  const parts = [
    `${r.error === null ? "" : "FAILED "}round ${r.round} ${kind} of leader n${r.victim} -> ` +
    `n${r.newLeader ?? "?"}`,
    `first ack ${r.firstAckMs ?? "-"} ms`,
    `(detected +${r.detectMs ?? "-"}, new leader serving +${r.leaderServingMs ?? "-"}, ` +
    `all writers +${r.allWritersMs ?? "-"})`,
    `rejoin ${r.rejoinMs ?? "-"} ms by ${r.catchUp ?? "-"}`,
  ];
  if (r.kind === "stop") {
    parts.push(
      `paused-leader client sent ${r.pausedWrites} ${JSON.stringify(r.pausedOutcomes)}, ` +
        `deposed acks ${r.deposedAcks}, stepped down +${r.stepDownMs ?? "-"} ms after SIGCONT`,
    );
  }
  return parts.join(", ");
}

function formatWriters(r: Round): string {
  const short: Record<string, string> = { Disconnected: "down", SyncConnected: "up" };
  return r.writers.map((events, k) =>
    events.length === 0
      ? `w${k} stayed connected`
      : `w${k} ${events.map((e) => `${short[e.event] ?? e.event} +${e.atMs}`).join(" ")}`
  ).join(", ");
}

// ---- signals: every process goes, whatever ends the run --------------------------------------

async function stopEverything(code: number, why: string): Promise<never> {
  if (interrupted) Deno.exit(code); // a second signal: go at once
  interrupted = true;
  console.error(`failover: ${why}; stopping every node`);
  const running = ensemble;
  ensemble = null;
  await running?.close({ keep: true }).catch(() => {});
  if (running) console.error(`failover: node logs kept in ${running.dir}`);
  Deno.exit(code);
}

for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
  Deno.addSignalListener(signal, () => void stopEverything(code, `${signal}`));
}

let code = 1;
try {
  code = await main();
} catch (error) {
  console.error(`failover: ${error instanceof Error ? error.stack : error}`);
  if (ensemble) {
    const running: BinaryEnsemble = ensemble;
    console.error(running.describe());
    ensemble = null;
    await running.close({ keep: true });
    console.error(`failover: node logs kept in ${running.dir}`);
  }
  code = 1;
}
Deno.exit(code);
