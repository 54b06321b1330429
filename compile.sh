#!/usr/bin/env bash
# Builds dist/corral: one self-contained executable of the `corral` command (src/cli/main.ts),
# runnable with nothing else installed (no node_modules, no Deno, no Bun).
#
# By default Bun compiles it, to bytecode. With DENORT_BIN set (a denort runtime binary, for a machine that
# cannot fetch one), Deno compiles it instead; `deno compile` reads DENORT_BIN itself.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"
# shellcheck source=./scripts/bootstrap
source scripts/bootstrap
mkdir -p dist
out=dist/corral
if [ -n "${DENORT_BIN:-}" ]; then
  "$DENO" compile -A --output "$out" src/cli/main.ts >&2
else
  # --bytecode ships JavaScriptCore bytecode instead of source to parse at every start: the
  # binary answers `--version` in about 30 ms instead of 80 (it needs --format=esm for the
  # top-level await of main.ts).
  "$BUN" build --compile --minify --bytecode --format=esm src/cli/main.ts --outfile "$out" >&2
fi
bytes="$(wc -c <"$out" | tr -d ' ')"
echo "$root/$out ($((bytes / 1024 / 1024)) MiB, $bytes bytes)"
