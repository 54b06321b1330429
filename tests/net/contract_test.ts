/**
 * Runs the net contract suite under Deno against the two adapters that work here: Deno's own
 * and `node:net` through Deno's Node compatibility. Bun's adapter runs under Bun, through
 * `scripts/test_net_runtimes`.
 * @module
 */
import assert from "node:assert/strict";
import { adapterByName, defaultAdapter } from "../../src/net/mod.ts";
import { denoAdapter } from "../../src/net/deno/adapter.ts";
import { nodeAdapter } from "../../src/net/node/adapter.ts";
import { netContract } from "./contract.ts";

for (const adapter of [denoAdapter, nodeAdapter]) {
  for (const { name, fn } of netContract(adapter)) {
    Deno.test(`${adapter.name}Adapter: ${name}`, fn);
  }
}

Deno.test("defaultAdapter() picks the Deno adapter under Deno", async () => {
  assert.equal(await defaultAdapter(), denoAdapter);
});

Deno.test("adapterByName() returns the adapter with that name", () => {
  for (const name of ["deno", "bun", "node"] as const) {
    assert.equal(adapterByName(name).name, name);
  }
});
