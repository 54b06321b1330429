/**
 * A tiny command-line flag parser: `--name value`, `--name=value`, `-x`, `-x value`, bundled
 * short booleans (`-es`), repeatable flags and `--` to end flags. It knows nothing about Corral's
 * commands; each command hands it its own list of {@linkcode FlagSpec}s.
 *
 * A flag that takes a value always takes the next argument, even one starting with `-`, so
 * `-v -1` means version -1. A lone `-` is an argument, not a flag.
 * @module
 */

/** How a flag is written and what value it carries. */
export interface FlagSpec {
  /** Long name without dashes: `server` for `--server`. */
  name: string;
  /** Optional one-letter alias without the dash: `s` for `-s`. */
  short?: string;
  /** `boolean` flags take no value; `string` and `integer` flags take exactly one. */
  kind: "boolean" | "string" | "integer";
  /** True when the flag may be given several times; its values are collected in order. */
  multiple?: boolean;
  /** Placeholder shown in help for the value: `HOST:PORT`. */
  valueName?: string;
  /** One sentence for help. */
  description: string;
}

/** A mistake in how a command was typed: exit code 2 and a hint to use `--help`. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Value of one parsed flag. */
export type FlagValue = boolean | string | number | string[] | number[];

/** The flags and positional arguments of one command line. */
export class ParsedArgs {
  /** Values by long flag name; absent flags are absent. */
  readonly flags: ReadonlyMap<string, FlagValue>;
  /** Arguments that are not flags or flag values, in order. */
  readonly positionals: readonly string[];

  constructor(flags: Map<string, FlagValue>, positionals: string[]) {
    this.flags = flags;
    this.positionals = positionals;
  }

  /** True when the boolean flag `name` was given. */
  bool(name: string): boolean {
    return this.flags.get(name) === true;
  }

  /** The value of string flag `name` (the last one when repeated), or `undefined`. */
  str(name: string): string | undefined {
    const value = this.flags.get(name);
    if (Array.isArray(value)) return value.length > 0 ? String(value[value.length - 1]) : undefined;
    return typeof value === "string" ? value : undefined;
  }

  /** The value of integer flag `name`, or `undefined`. */
  int(name: string): number | undefined {
    const value = this.flags.get(name);
    return typeof value === "number" ? value : undefined;
  }

  /** Every value of repeatable string flag `name`, in order (empty when absent). */
  list(name: string): string[] {
    const value = this.flags.get(name);
    if (Array.isArray(value)) return value.map(String);
    return typeof value === "string" ? [value] : [];
  }
}

/** Parses `text` as a safe integer, or returns `null`. */
export function parseInteger(text: string): number | null {
  if (!/^-?\d{1,16}$/.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : null;
}

function convert(spec: FlagSpec, text: string, written: string): string | number {
  if (spec.kind !== "integer") return text;
  const value = parseInteger(text);
  if (value === null) throw new UsageError(`${written} needs an integer, not "${text}"`);
  return value;
}

function store(flags: Map<string, FlagValue>, spec: FlagSpec, value: string | number | true): void {
  if (!spec.multiple) {
    flags.set(spec.name, value);
    return;
  }
  const previous = flags.get(spec.name);
  const list = (Array.isArray(previous) ? previous : []) as (string | number)[];
  flags.set(spec.name, [...list, value as string | number] as string[] | number[]);
}

/**
 * Parses `args` against `specs`. Throws {@linkcode UsageError} on an unknown flag, a missing
 * value, a value given to a boolean flag, or a non-integer value for an integer flag.
 *
 * @example
 * ```ts
 * import { parseArgs } from "./args.ts";
 * const parsed = parseArgs(["-s", "/a", "--server", "127.0.0.1:2281"], [
 *   { name: "stat", short: "s", kind: "boolean", description: "Print the stat." },
 *   { name: "server", kind: "string", description: "Where to connect." },
 * ]);
 * parsed.bool("stat"); // true
 * parsed.positionals; // ["/a"]
 * ```
 */
export function parseArgs(args: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const byLong = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short as string, s]));
  const flags = new Map<string, FlagValue>();
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const spec = byLong.get(name);
      if (!spec) throw new UsageError(`unknown flag --${name}`);
      if (spec.kind === "boolean") {
        if (eq >= 0) throw new UsageError(`--${name} takes no value`);
        store(flags, spec, true);
        continue;
      }
      let text: string;
      if (eq >= 0) text = arg.slice(eq + 1);
      else if (i + 1 < args.length) text = args[++i];
      else throw new UsageError(`--${name} needs a value`);
      store(flags, spec, convert(spec, text, `--${name}`));
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      i = parseShort(args, i, byShort, flags);
      continue;
    }
    positionals.push(arg);
  }
  return new ParsedArgs(flags, positionals);
}

/** Parses the short-flag group at `args[i]`; returns the index of the last argument consumed. */
function parseShort(
  args: readonly string[],
  i: number,
  byShort: Map<string, FlagSpec>,
  flags: Map<string, FlagValue>,
): number {
  const group = args[i].slice(1);
  for (let j = 0; j < group.length; j++) {
    const letter = group[j];
    const spec = byShort.get(letter);
    if (!spec) throw new UsageError(`unknown flag -${letter}`);
    if (spec.kind === "boolean") {
      store(flags, spec, true);
      continue;
    }
    // A value flag ends the group: `-v3` or `-v 3`.
    const rest = group.slice(j + 1);
    if (rest !== "") {
      store(flags, spec, convert(spec, rest, `-${letter}`));
      return i;
    }
    if (i + 1 >= args.length) throw new UsageError(`-${letter} needs a value`);
    store(flags, spec, convert(spec, args[i + 1], `-${letter}`));
    return i + 1;
  }
  return i;
}
