#!/usr/bin/env bash
# Installs what the ZooKeeper client compatibility suites need, and only what is missing:
#   Debian: zookeeper (server, zkCli.sh, Java client jars), python3-kazoo, Apache Curator's
#           framework/recipes/client jars, and a JDK (javac) for the Curator suite;
#   npm:    node-zookeeper-client (a pinned devDependency in package.json and package-lock.json).
# Idempotent and quiet: prints one line saying what it did; the package managers' output goes to
# .tmp/compat-install.log and is shown only on failure.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mkdir -p "$root/.tmp"
log="$root/.tmp/compat-install.log"
: >"$log"

apt_packages=(zookeeper python3-kazoo libcurator-framework-java libcurator-recipes-java
  libcurator-client-java)
command -v javac >/dev/null 2>&1 || apt_packages+=(openjdk-17-jdk-headless)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

fail() {
  echo "compat install: $1 (log: ${log#"$root"/})" >&2
  tail -n 20 "$log" >&2
  exit 1
}

missing=()
for package in "${apt_packages[@]}"; do installed "$package" || missing+=("$package"); done
did=()
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || fail "need root to install ${missing[*]}"
  # Bounded: a package mirror that does not answer must not hang the suite forever.
  timeout 300 apt-get update -qq >>"$log" 2>&1 || fail "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq \
    "${missing[@]}" >>"$log" 2>&1 || fail "apt-get install ${missing[*]} failed"
  did+=("apt: ${missing[*]}")
fi

if [ ! -f "$root/node_modules/node-zookeeper-client/package.json" ]; then
  # As scripts/bootstrap does (which skips npm when its lockfile stamp is current): install the
  # lockfile's pinned versions without touching package.json or the lockfile.
  (cd "$root" && timeout 600 npm install --no-save --no-audit --no-fund --loglevel=error) >>"$log" 2>&1 ||
    fail "npm install failed"
  [ -f "$root/node_modules/node-zookeeper-client/package.json" ] ||
    fail "node-zookeeper-client is still missing: is it in package.json's devDependencies?"
  did+=("npm: node-zookeeper-client")
fi

if [ ${#did[@]} -eq 0 ]; then
  echo "compat install: everything already installed"
else
  echo "compat install: installed ${did[*]}"
fi
