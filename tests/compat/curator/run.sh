#!/usr/bin/env bash
# Builds (if needed) and runs the Curator suite: run.sh --server HOST:PORT [--only TEXT]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
classpath="$("$here/build.sh")"
exec java -Xmx256m -cp "$classpath" CuratorSuite "$@"
