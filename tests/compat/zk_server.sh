#!/usr/bin/env bash
# Runs a real, standalone Apache ZooKeeper 3.8 (Debian's `zookeeper` package) on 127.0.0.1, so the
# compatibility suites can record what ZooKeeper itself does.
#
#   zk_server.sh start DIR [--trace]   start a server whose files all live in DIR (which must not
#                                      exist yet); print "127.0.0.1:PORT" once it answers `ruok`
#   zk_server.sh stop DIR              stop the server started in DIR and delete DIR
#   zk_server.sh run [--trace]         start in a temporary folder, print the address, and stay in
#                                      the foreground until Ctrl-C, then stop and clean up
#
# The server: a free port on 127.0.0.1, a fresh dataDir, tickTime 2000, fsync on (forceSync=yes),
# every four-letter word allowed, extended types (TTL nodes) enabled, the admin HTTP server off.
# The container manager looks for empty containers and expired TTL nodes every 500 ms instead of
# every minute, so that the suites can watch containers and TTL nodes go within seconds.
# --trace turns on debug logging of FinalRequestProcessor: DIR/server.log then shows every request
# the server applied ("Processing request:: ... type:create2 ..."), handy when debugging a suite.
# (scripts/compat --trace counts opcodes with tests/compat/opcode_proxy.py instead, which also sees
# the packets ZooKeeper does not log, such as auth and the ConnectRequest.)
set -euo pipefail

zk_jar=/usr/share/java/zookeeper.jar # its manifest's Class-Path names every dependency jar
start_timeout_s=30
stop_timeout_s=10

die() { echo "zk_server: $*" >&2; exit 1; }

free_port() { # a port the kernel just handed out on 127.0.0.1; the tiny race is retried by start
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

ruok() { # ruok PORT: succeeds when the server answers "imok"
  local answer
  answer="$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1; printf ruok >&3; cat <&3" 2>/dev/null)" || return 1
  [ "$answer" = "imok" ]
}

write_config() { # write_config DIR PORT
  cat >"$1/zoo.cfg" <<EOF
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$1/data
clientPort=$2
clientPortAddress=127.0.0.1
forceSync=yes
4lw.commands.whitelist=*
extendedTypesEnabled=true
admin.enableServer=false
maxClientCnxns=0
EOF
}

start() { # start DIR [--trace]
  local dir="$1" trace="${2:-}" port attempt logging
  [ -n "$dir" ] || die "start needs a folder"
  [ ! -e "$dir" ] || die "$dir already exists"
  [ -r "$zk_jar" ] || die "$zk_jar is missing: run tests/compat/install.sh"
  mkdir -p "$dir/data"
  # Without a binding SLF4J logs nothing; with --trace, slf4j-simple writes debug lines to stderr.
  logging=(-cp "$zk_jar")
  if [ "$trace" = "--trace" ]; then
    logging=(-cp "$zk_jar:/usr/share/java/slf4j-simple.jar"
      -Dorg.slf4j.simpleLogger.defaultLogLevel=info
      -Dorg.slf4j.simpleLogger.log.org.apache.zookeeper.server.FinalRequestProcessor=debug)
  fi
  for attempt in 1 2 3; do
    port="$(free_port)"
    write_config "$dir" "$port"
    # setsid: the server gets its own process group, so Ctrl-C in the caller's terminal reaches
    # the caller's trap (which stops the server in order) rather than killing it mid-way.
    setsid java -Xmx512m -Dzookeeper.extendedTypesEnabled=true \
      -Dznode.container.checkIntervalMs=500 "${logging[@]}" \
      org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" \
      >"$dir/server.log" 2>&1 </dev/null &
    echo $! >"$dir/pid"
    echo "$port" >"$dir/port"
    for _ in $(seq 1 $((start_timeout_s * 10))); do
      if ruok "$port"; then echo "127.0.0.1:$port"; return 0; fi
      kill -0 "$(cat "$dir/pid")" 2>/dev/null || break
      sleep 0.1
    done
    stop_pid "$dir"
    echo "zk_server: attempt $attempt on port $port failed; server log tail:" >&2
    tail -n 5 "$dir/server.log" >&2 || true
    rm -rf "$dir/data" && mkdir -p "$dir/data"
  done
  die "ZooKeeper did not start"
}

stop_pid() { # stop_pid DIR: SIGTERM, then SIGKILL after a bounded wait
  local pid
  [ -f "$1/pid" ] || return 0
  pid="$(cat "$1/pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 $((stop_timeout_s * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$1/pid"
}

stop() { # stop DIR
  local dir="$1"
  [ -n "$dir" ] || die "stop needs a folder"
  [ -d "$dir" ] || return 0
  stop_pid "$dir"
  rm -rf "$dir"
}

run() { # run [--trace]
  local dir
  dir="$(mktemp -u -d "${TMPDIR:-/tmp}/corral-zk.XXXXXX")"
  trap 'stop "$dir"' EXIT
  trap 'exit 130' INT TERM
  start "$dir" "${1:-}"
  echo "zk_server: running in $dir; Ctrl-C stops it" >&2
  while kill -0 "$(cat "$dir/pid")" 2>/dev/null; do sleep 1; done
  die "the server exited on its own; see $dir/server.log"
}

case "${1:-}" in
  start) start "${2:-}" "${3:-}" ;;
  stop) stop "${2:-}" ;;
  run) run "${2:-}" ;;
  *) die "usage: zk_server.sh start DIR [--trace] | stop DIR | run [--trace]" ;;
esac
