/**
 * Runs the net contract suite outside Deno's test runner, so Bun and Node can run it against
 * their adapters. Usage: `bun tests/net/run_contract.ts bun`, or for Node, bundle it first
 * (`bun build tests/net/run_contract.ts --target=node --outfile=.tmp/run_contract.mjs`) and run
 * `node .tmp/run_contract.mjs node`.
 *
 * Prints `ok - NAME` or `FAIL - NAME: error` per case, then one `N passed, M failed` line, and
 * exits with status 1 if any case failed (2 on a bad command line).
 * @module
 */
import process from "node:process";
import { adapterByName, type AdapterName, defaultAdapter } from "../../src/net/mod.ts";
import { type ContractCase, netContract } from "./contract.ts";

const adapterNames: readonly AdapterName[] = ["deno", "bun", "node"];

async function main(argument: string | undefined): Promise<number> {
  if (!adapterNames.includes(argument as AdapterName)) {
    console.error(`Usage: run_contract.ts ${adapterNames.join("|")} (got ${argument})`);
    return 2;
  }
  const adapter = adapterByName(argument as AdapterName);
  let passed = 0;
  let failed = 0;
  for (const { name, fn } of [...netContract(adapter), pickedByDefault(adapter.name)]) {
    try {
      await fn();
      passed++;
      console.log(`ok - ${adapter.name}Adapter: ${name}`);
    } catch (error) {
      failed++;
      console.log(`FAIL - ${adapter.name}Adapter: ${name}: ${oneLine(error)}`);
      // The stack goes to stderr so stdout keeps exactly one line per case.
      if (error instanceof Error && error.stack) console.error(error.stack);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

/**
 * The command line names the adapter native to the runtime running this script (as in the
 * usages above), so the runner can also check that defaultAdapter() picks the same one.
 */
function pickedByDefault(expectedName: string): ContractCase {
  return {
    name: "is what defaultAdapter() picks on this runtime",
    async fn() {
      const picked = await defaultAdapter();
      if (picked.name !== expectedName) {
        throw new Error(`defaultAdapter() picked ${picked.name}, not ${expectedName}`);
      }
    },
  };
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.replaceAll(/\s*\n\s*/g, " ");
}

// process.exit, not exitCode: a socket an adapter failed to close must not keep the run alive.
process.exit(await main(process.argv[2]));
