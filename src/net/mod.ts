/**
 * TCP for Corral, on any runtime. The rest of the code base sees only the contract in
 * `types.ts` (sockets, handlers, listeners); each runtime's implementation lives in its own
 * folder (`deno/`, `bun/`, `node/`) and the one contract suite in `tests/net/contract.ts` runs
 * against each. This module is the only place that asks which runtime it is on.
 *
 * Importing it is safe everywhere: the adapters touch runtime globals only when called.
 * @module
 */
import { bunAdapter } from "./bun/adapter.ts";
import { denoAdapter } from "./deno/adapter.ts";
import { nodeAdapter } from "./node/adapter.ts";
import type { NetAdapter } from "./types.ts";

export type { Address, Listener, NetAdapter, Socket, SocketHandlers } from "./types.ts";
export { bunAdapter, denoAdapter, nodeAdapter };

/** The runtimes that have an adapter. */
export type AdapterName = "deno" | "bun" | "node";

/**
 * The adapter native to the running runtime: Bun's on Bun, Deno's on Deno, `node:net` elsewhere.
 * Bun is checked first because Bun also provides Node's globals. The environment variable
 * `CORRAL_NET_ADAPTER` (`bun`, `deno` or `node`) overrides the choice, for comparing adapters on
 * one runtime; `node` works on all three.
 *
 * @example
 * ```ts
 * import { defaultAdapter } from "./mod.ts";
 * const adapter = await defaultAdapter();
 * console.log(adapter.name);
 * ```
 */
export function defaultAdapter(): Promise<NetAdapter> {
  const chosen = adapterFromEnvironment();
  if (chosen !== null) return Promise.resolve(chosen);
  if ("Bun" in globalThis) return Promise.resolve(bunAdapter);
  if ("Deno" in globalThis) return Promise.resolve(denoAdapter);
  return Promise.resolve(nodeAdapter);
}

/**
 * The adapter called `name`, whatever the running runtime (the caller must know it works there:
 * `node` runs everywhere, `deno` and `bun` only on their own runtime).
 *
 * @example
 * ```ts
 * import { adapterByName } from "./mod.ts";
 * const adapter = adapterByName("node");
 * console.log(adapter.name); // "node"
 * ```
 */
export function adapterByName(name: AdapterName): NetAdapter {
  switch (name) {
    case "deno":
      return denoAdapter;
    case "bun":
      return bunAdapter;
    case "node":
      return nodeAdapter;
    default:
      // Reachable only from untyped callers, such as a command line.
      throw new Error(`Unknown net adapter "${name satisfies never}"`);
  }
}

/** The adapter `CORRAL_NET_ADAPTER` names, or null when it is unset or cannot be read. */
function adapterFromEnvironment(): NetAdapter | null {
  let name: string | undefined;
  try {
    name = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
      ?.CORRAL_NET_ADAPTER;
  } catch {
    return null; // Deno without --allow-env
  }
  if (name === undefined || name === "") return null;
  if (name !== "deno" && name !== "bun" && name !== "node") {
    throw new Error(`CORRAL_NET_ADAPTER must be bun, deno or node, not "${name}"`);
  }
  return adapterByName(name);
}
