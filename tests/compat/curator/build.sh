#!/usr/bin/env bash
# Compiles CuratorSuite.java against Debian's Curator and ZooKeeper jars into .tmp/compat-curator/
# (git-ignored). Prints the classpath to run it with; recompiles only when the source is newer.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="$root/.tmp/compat-curator"
jars=/usr/share/java
# The jars' manifests name their own dependencies (guava, slf4j-api, zookeeper-jute, netty, ...);
# slf4j-nop keeps SLF4J from warning on stderr about a missing binding.
classpath="$jars/curator-recipes.jar:$jars/curator-framework.jar:$jars/curator-client.jar"
classpath="$classpath:$jars/zookeeper.jar:$jars/zookeeper-jute.jar:$jars/slf4j-nop.jar"
for jar in curator-recipes curator-framework curator-client zookeeper; do
  [ -r "$jars/$jar.jar" ] || { echo "curator/build: $jars/$jar.jar is missing: run tests/compat/install.sh" >&2; exit 1; }
done
if [ ! -f "$out/CuratorSuite.class" ] || [ "$here/CuratorSuite.java" -nt "$out/CuratorSuite.class" ]; then
  mkdir -p "$out"
  javac -nowarn -encoding UTF-8 -d "$out" -cp "$classpath" "$here/CuratorSuite.java" >&2
fi
echo "$out:$classpath"
