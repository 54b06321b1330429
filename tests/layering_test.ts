/**
 * Keeps the module arrows of docs/ARCHITECTURE.md one-way: each folder of src/ may import only
 * the folders listed for it (plus the shared root files src/assert.ts and src/constants.ts).
 * @module
 */
import assert from "./assert.ts";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const allowed: Record<string, string[]> = {
  tree: [],
  session: ["tree"],
  watch: ["tree"],
  wire: ["tree"],
  storage: ["tree", "wire"],
  net: [],
  zab: ["tree"],
  sim: ["tree", "zab", "storage", "replica", "wire", "ensemble"],
  replica: ["tree", "session", "watch", "wire", "storage"],
  ensemble: ["tree", "wire", "storage", "replica", "zab"],
  zk: ["tree"],
  server: ["tree", "session", "watch", "wire", "storage", "net", "replica", "ensemble", "zk"],
  client: ["tree", "wire", "net"],
  bench: ["tree", "net", "client", "zk"],
  cli: ["tree", "wire", "net", "replica", "server", "client", "storage", "bench"],
};

const root = resolve(dirname(new URL(import.meta.url).pathname), "..", "src");

function* sourceFiles(dir: string): Iterable<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (path.endsWith(".ts")) yield path;
  }
}

/** The src/ folder a file belongs to ("" for the shared root files). */
function folderOf(file: string): string {
  const parts = relative(root, file).split("/");
  return parts.length === 1 ? "" : parts[0];
}

/** The layering violations in `src/`: "file imports target". */
export function layeringViolations(): string[] {
  const violations: string[] = [];
  for (const file of sourceFiles(root)) {
    const from = folderOf(file);
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(/(?:import|export)[^;]*?from\s+"(\.[^"]+)"/g)) {
      const target = resolve(dirname(file), match[1]);
      if (!target.startsWith(root)) continue;
      const to = folderOf(target);
      if (to === "" || to === from) continue;
      if (from === "" || !(allowed[from] ?? []).includes(to)) {
        violations.push(`${relative(root, file)} imports ${relative(root, target)}`);
      }
    }
  }
  return violations;
}

Deno.test("src/ imports follow the one-way module map", () => {
  assert.deepEqual(layeringViolations(), []);
});

Deno.test("every src/ folder is in the module map", () => {
  const folders = readdirSync(root).filter((name) => statSync(join(root, name)).isDirectory());
  assert.deepEqual(folders.filter((f) => !(f in allowed)), []);
});

Deno.test("only src/wire/cbor.ts imports cbor-x in src/, and nothing imports its native-loading root", () => {
  const top = resolve(root, "..");
  const offenders: string[] = [];
  for (const dir of ["src", "tests", "props", "scripts"]) {
    let files: string[] = [];
    try {
      files = [...sourceFiles(join(top, dir))];
    } catch {
      continue;
    }
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      if (/from\s+"cbor-x"/.test(text)) {
        offenders.push(`${relative(top, file)} imports the cbor-x root`);
      }
      if (dir === "src" && /from\s+"cbor-x\//.test(text) && !file.endsWith("src/wire/cbor.ts")) {
        offenders.push(`${relative(top, file)} imports cbor-x directly; use src/wire/cbor.ts`);
      }
    }
  }
  assert.deepEqual(offenders, []);
});
