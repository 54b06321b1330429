/**
 * Seeded bugs for the twins of the properties: each wraps a correct implementation and breaks one
 * promise, without touching `src/`. A property must catch every one of them (DESIGN.md, "Testing
 * the guarantees": a property that cannot fail is a defect).
 * @module
 */
import { Replica } from "../src/replica/replica.ts";
import type { ReplicaAction } from "../src/replica/types.ts";
import type { ServerMessage } from "../src/wire/messages.ts";
import type { SteppableReplica } from "./_harness.ts";

type Send = Extract<ReplicaAction, { type: "send" }>;
type EventMessage = Extract<ServerMessage, { t: "event" }>;

const isSend = (action: ReplicaAction): action is Send => action.type === "send";
const isEvent = (action: ReplicaAction): action is Send & { message: EventMessage } =>
  isSend(action) && action.message.t === "event";
const isResponse = (action: ReplicaAction): action is Send =>
  isSend(action) && action.message.t === "res";

/** A bug expressed as a rewrite of the actions one `step` returns. */
export type ActionsBug = (actions: ReplicaAction[]) => ReplicaAction[];

/** A real replica (tickMs 100) whose every `step` output goes through `bug`. */
export function replicaWithBug(bug: ActionsBug): () => SteppableReplica {
  return () => {
    const replica = new Replica({ serverId: 1, tickMs: 100, sessionIdBase: 1 });
    return { step: (event) => bug(replica.step(event)), tree: replica.tree };
  };
}

/** Every watch event is sent twice: a one-shot watch that fires twice. */
export const watchFiresTwice: ActionsBug = (actions) =>
  actions.flatMap((a) => (isEvent(a) ? [a, a] : [a]));

/** NodeChildrenChanged is never sent: child watches are registered but never fire. */
export const childWatchNeverFires: ActionsBug = (actions) =>
  actions.filter((a) => !(isEvent(a) && a.message.type === "NodeChildrenChanged"));

/** The first two responses to one connection within a step go out in the wrong order. */
export const responsesSwapped: ActionsBug = (actions) => {
  const out = [...actions];
  for (let i = 0; i < out.length; i++) {
    if (!isResponse(out[i])) continue;
    const j = out.findIndex((a, k) =>
      k > i && isResponse(a) && a.connId === (out[i] as Send).connId
    );
    if (j > i) {
      [out[i], out[j]] = [out[j], out[i]];
      return out;
    }
  }
  return out;
};

/** Events are sent after the responses of the same step: a client sees a change before its event. */
export const eventAfterResponse: ActionsBug = (actions) => [
  ...actions.filter((a) => !isEvent(a)),
  ...actions.filter(isEvent),
];

function offByOne(path: string): string {
  const match = /^(.*?)(\d{10})$/.exec(path);
  return match ? match[1] + String(Number(match[2]) + 1).padStart(10, "0") : path;
}

/** The sequence suffix reported to the creator is one more than the node's real name. */
export const sequentialSuffixOffByOne: ActionsBug = (actions) =>
  actions.map((action) => {
    if (!isResponse(action)) return action;
    const message = action.message as Extract<ServerMessage, { t: "res" }>;
    if (message.path === undefined && message.results === undefined) return action;
    const results = message.results?.map((
      r,
    ) => (r.op === "create" ? { ...r, path: offByOne(r.path) } : r));
    const path = message.path === undefined ? undefined : offByOne(message.path);
    return {
      ...action,
      message: { ...message, ...(path ? { path } : {}), ...(results ? { results } : {}) },
    };
  });
