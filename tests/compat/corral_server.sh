#!/usr/bin/env bash
# Runs Corral (the compiled dist/corral) on 127.0.0.1 for the compatibility suites, standalone or
# as a three-node ensemble, with the settings tests/compat/zk_server.sh gives ZooKeeper: tickTime
# 2000, every four-letter word allowed, TTL nodes enabled, containers swept every second (Corral's
# default; ZooKeeper's is a minute, which zk_server.sh shortens to 500 ms).
#
#   corral_server.sh start DIR [standalone|ensemble]   start in DIR (which must not exist yet);
#                                                      print "127.0.0.1:PORT" (the ZooKeeper port
#                                                      of a follower, for an ensemble) once serving
#   corral_server.sh stop DIR                          stop every node started in DIR, delete DIR
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
corral="$root/dist/corral"
start_timeout_s=30

die() { echo "corral_server: $*" >&2; exit 1; }

free_ports() { # free_ports N: N distinct ports the kernel just handed out on 127.0.0.1
  /usr/bin/python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks: s.close()' "$1"
}

mode_of() { # mode_of PORT: the Mode line of srvr, or nothing
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1; printf srvr >&3; cat <&3" 2>/dev/null |
    sed -n 's/^Mode: //p'
}

start() {
  local dir="$1" shape="${2:-standalone}" count=1 i
  [ -x "$corral" ] || die "no $corral: run ./compile.sh first"
  [ ! -e "$dir" ] || die "$dir exists"
  [ "$shape" = standalone ] || [ "$shape" = ensemble ] || die "unknown shape $shape"
  [ "$shape" = ensemble ] && count=3
  mkdir -p "$dir"
  read -r -a ports <<<"$(free_ports $((count * 4)))"
  local members=""
  if [ "$count" = 3 ]; then
    for i in 1 2 3; do
      members+="server.$i=127.0.0.1:${ports[$((i * 4 - 2))]}:${ports[$((i * 4 - 1))]}"$'\n'
    done
  fi
  for i in $(seq 1 "$count"); do
    mkdir -p "$dir/node$i"
    echo "$i" >"$dir/node$i/myid"
    {
      echo "tickTime=2000"
      echo "dataDir=$dir/node$i"
      echo "cborClientPort=${ports[$((i * 4 - 4))]}"
      echo "clientPort=${ports[$((i * 4 - 3))]}"
      echo "clientPortAddress=127.0.0.1"
      echo "extendedTypesEnabled=true"
      echo "4lw.commands.whitelist=*"
      printf '%s' "$members"
    } >"$dir/node$i.cfg"
    "$corral" serve --config "$dir/node$i.cfg" >"$dir/node$i.log" 2>&1 &
    echo $! >>"$dir/pids"
  done
  local deadline=$((SECONDS + start_timeout_s)) port mode
  while [ "$SECONDS" -lt "$deadline" ]; do
    for i in $(seq 1 "$count"); do
      port="${ports[$((i * 4 - 3))]}"
      mode="$(mode_of "$port" || true)"
      # A follower, so an ensemble is judged through the path that forwards writes.
      if [ "$mode" = standalone ] || [ "$mode" = follower ]; then
        echo "127.0.0.1:$port"
        return 0
      fi
    done
    sleep 0.2
  done
  stop "$dir"
  die "not serving within ${start_timeout_s} s"
}

stop() {
  local dir="$1" pid
  [ -d "$dir" ] || return 0
  if [ -f "$dir/pids" ]; then
    while read -r pid; do kill -TERM "$pid" 2>/dev/null || true; done <"$dir/pids"
    for _ in $(seq 1 50); do
      local alive=0
      while read -r pid; do kill -0 "$pid" 2>/dev/null && alive=1; done <"$dir/pids"
      [ "$alive" = 0 ] && break
      sleep 0.1
    done
    while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done <"$dir/pids"
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) [ $# -ge 2 ] || die "usage: corral_server.sh start DIR [standalone|ensemble]"; start "$2" "${3:-standalone}" ;;
  stop) [ $# -eq 2 ] || die "usage: corral_server.sh stop DIR"; stop "$2" ;;
  *) die "usage: corral_server.sh start DIR [standalone|ensemble] | stop DIR" ;;
esac
