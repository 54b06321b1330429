#!/usr/bin/env bash
# ZooKeeper client compatibility suite built on Apache ZooKeeper's own CLI, zkCli.sh (Debian's
# `zookeeper` package).
#
#   zkcli_suite.sh --server HOST:PORT [--only TEXT]   compare with tests/compat/expected/zkcli.txt
#   zkcli_suite.sh --server HOST:PORT --record        rewrite that file (against real ZooKeeper!)
#
# Each check drives one or more long-lived zkCli sessions (A, B, C: separate ZooKeeper sessions)
# through their standard input, one command at a time: after every command the suite sends a
# marker command (`stat` of a path that does not exist) and waits until the marker's error line
# appears, so each command's output is cut out exactly, watch events included. The output is then
# normalised (log noise dropped; the random root shown as <root>; zxids, session ids and sequence
# suffixes replaced by labels that keep only their equalities and order; times hidden; unordered
# lists sorted) and compared with what real ZooKeeper 3.8 printed, recorded in
# tests/compat/expected/zkcli.txt.
#
# The checks run in order and build on one another (e.g. whoami expects acl_digest's addauth), so
# --only is for debugging. Prints `ok <name>` or `FAIL <name>: <why>` per check, then `summary zkcli <passed>/<total>`;
# exits non-zero if any check failed. Every znode lives under /compat-zkcli-<random>, deleted at the
# end (quota nodes under /zookeeper/quota too).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
expected_file="$here/expected/zkcli.txt"
zkcli=/usr/share/zookeeper/bin/zkCli.sh
command_timeout_s=10
start_timeout_s=30 # a JVM start on a busy 2-core machine can take many seconds
event_timeout_s=5
sweep_timeout_s=15
digest_user=compat
digest_password=secret
# base64(sha1("compat:secret")), the id ZooKeeper stores for that digest user.
digest_id="compat:vsMoek7F1sUFrzDIF24UBo9/apc="

server=""
only=""
record=0
while [ $# -gt 0 ]; do
  case "$1" in
    --server) server="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --record) record=1; shift ;;
    *) echo "usage: zkcli_suite.sh --server HOST:PORT [--only TEXT] [--record]" >&2; exit 2 ;;
  esac
done
[ -n "$server" ] || { echo "usage: zkcli_suite.sh --server HOST:PORT [--only TEXT] [--record]" >&2; exit 2; }
[ -x "$zkcli" ] || { echo "zkcli_suite: $zkcli is missing: run tests/compat/install.sh" >&2; exit 2; }

R="/compat-zkcli-$(printf '%08x' "$(( (RANDOM << 16) ^ RANDOM ))")"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/compat-zkcli.XXXXXX")"
declare -A cli_pid cli_fd cli_read
marker=0

# --- zkCli sessions -------------------------------------------------------------------------------

cli_start() { # cli_start NAME: a zkCli process reading commands from a FIFO
  local name="$1" fd
  mkfifo "$tmp/$name.in"
  : >"$tmp/$name.out"
  # CLIENT_JVMFLAGS: a small heap; zkCli's own log goes nowhere (no SLF4J binding on the path).
  CLIENT_JVMFLAGS="-Xmx128m" "$zkcli" -server "$server" <"$tmp/$name.in" >>"$tmp/$name.out" 2>&1 &
  cli_pid[$name]=$!
  exec {fd}>"$tmp/$name.in"
  cli_fd[$name]=$fd
  cli_read[$name]=0
  cli_send "$name" "" "$start_timeout_s" || return 1
}

cli_stop() { # cli_stop NAME: quit, then a bounded wait, then SIGKILL
  local name="$1" pid="${cli_pid[$1]:-}" fd="${cli_fd[$1]:-}"
  [ -n "$pid" ] || return 0
  { echo "quit" >&"$fd"; } 2>/dev/null || true
  exec {fd}>&- # closing the FIFO's write end is an end of input for zkCli, too
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "cli_pid[$name]"
}

# cli_send NAME COMMAND [TIMEOUT_S]: runs COMMAND (may be empty) in session NAME and puts the raw lines it
# produced (everything the session printed since the previous marker) into $cli_out. Fails on a
# timeout. (Not called in a subshell: it keeps the marker count and read positions.)
cli_out=""
cli_send() {
  local name="$1" cmd="$2" timeout_s="${3:-$command_timeout_s}" mark line_no deadline
  marker=$((marker + 1))
  mark="/zkcli-marker-$marker"
  if [ -n "$cmd" ]; then printf '%s\n' "$cmd" >&"${cli_fd[$name]}"; fi
  printf 'stat %s\n' "$mark" >&"${cli_fd[$name]}"
  deadline=$((SECONDS + timeout_s))
  while :; do
    line_no="$(grep -nxF "Node does not exist: $mark" "$tmp/$name.out" | head -n 1 | cut -d: -f1)"
    [ -n "$line_no" ] && break
    if [ $SECONDS -ge $deadline ] || ! kill -0 "${cli_pid[$name]}" 2>/dev/null; then
      cli_out="@timeout"
      return 1
    fi
    sleep 0.02
  done
  cli_out=""
  if [ "$line_no" -gt $((cli_read[$name] + 1)) ]; then # (sed would print line a for a range a,b<a)
    cli_out="$(sed -n "$((cli_read[$name] + 1)),$((line_no - 1))p" "$tmp/$name.out")"
  fi
  cli_read[$name]=$line_no
}

# --- what a check body uses -------------------------------------------------------------------------

buffer=""
timed_out=0

run() { # run NAME COMMAND: runs a command; its output becomes part of the check's output
  cli_send "$1" "$2" || timed_out=1
  buffer+="$cli_out"$'\n'
}

run_sorted() { # run_sorted NAME COMMAND: like run, with the output lines sorted (unordered output)
  cli_send "$1" "$2" || timed_out=1
  buffer+="$(noise_filter <<<"$cli_out" | LC_ALL=C sort)"$'\n'
}

run_quiet() { # run_quiet NAME COMMAND: runs a command whose output does not matter
  cli_send "$1" "$2" || timed_out=1
}

note() { buffer+="$1"$'\n'; } # adds a line of the suite's own to the check's output

wait_event() { # wait_event NAME [COUNT]: waits until COUNT watch events arrived in NAME's output
  local name="$1" want="${2:-1}" deadline got
  deadline=$((SECONDS + event_timeout_s))
  while :; do
    got="$(tail -n +"$((cli_read[$name] + 1))" "$tmp/$name.out" | grep 'WatchedEvent' | grep -vc 'type:None' || true)"
    [ "$got" -ge "$want" ] && return 0
    [ $SECONDS -ge $deadline ] && return 0 # the comparison will show the missing event
    sleep 0.02
  done
}

wait_gone() { # wait_gone NAME PATH: polls until PATH no longer exists (container/TTL sweeps)
  local name="$1" path="$2" deadline
  deadline=$((SECONDS + sweep_timeout_s))
  while :; do
    cli_send "$name" "stat $path" || { timed_out=1; return; }
    if grep -qxF "Node does not exist: $path" <<<"$cli_out"; then note "(gone: ${path/#$R/<root>})"; return; fi
    if [ $SECONDS -ge $deadline ]; then note "(still there: ${path/#$R/<root>})"; return; fi
    sleep 0.2
  done
}

# --- normalisation ----------------------------------------------------------------------------------

noise_filter() { # drops zkCli's start-up, log and connection-state lines and blank lines
  grep -vE '^(SLF4J:|Connecting to |Welcome to ZooKeeper!|JLine support is (disabled|enabled)|WATCHER::$|$)' |
    grep -vE 'WatchedEvent state:[A-Za-z]+ type:None path:null' || true
}

normalise() { # stdin: a check's raw output; stdout: the comparable text
  noise_filter | awk -v root="$R" '
    function label(map, prefix, value) {
      if (!(value in map)) { map[value] = prefix (++count[prefix]) }
      return map[value]
    }
    { gsub(root, "<root>") }
    /^(cZxid|mZxid|pZxid) = 0x[0-9a-f]+$/ && $3 != "0x0" { $3 = label(zxid, "z", $3) }
    /^ephemeralOwner = 0x[0-9a-f]+$/ && $3 != "0x0" { $3 = label(session, "session", $3) }
    /^(ctime|mtime) = / { $0 = $1 " = <time>" }
    /^\[.*\]$/ { # an unordered list: sort its items
      n = split(substr($0, 2, length($0) - 2), items, ", ")
      for (i = 2; i <= n; i++) { v = items[i]; j = i - 1
        while (j > 0 && items[j] > v) { items[j + 1] = items[j]; j-- } items[j + 1] = v }
      s = ""; for (i = 1; i <= n; i++) s = s (i > 1 ? ", " : "") items[i]
      $0 = "[" s "]"
    }
    { lines[NR] = $0 }
    END {
      # Sequence suffixes (10 digits ending a path) are shown by rank: <seq1> is the smallest.
      for (i = 1; i <= NR; i++) {
        rest = lines[i]
        while (match(rest, /[^0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]([^0-9]|$)/)) {
          seqs[substr(rest, RSTART + 1, 10)] = 1
          rest = substr(rest, RSTART + 11)
        }
      }
      n = 0; for (s in seqs) sorted[++n] = s
      for (i = 2; i <= n; i++) { v = sorted[i]; j = i - 1
        while (j > 0 && sorted[j] > v) { sorted[j + 1] = sorted[j]; j-- } sorted[j + 1] = v }
      for (i = 1; i <= n; i++) rank[sorted[i]] = i
      for (i = 1; i <= NR; i++) {
        line = lines[i]; out = ""
        while (match(line, /[^0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]([^0-9]|$)/)) {
          out = out substr(line, 1, RSTART) "<seq" rank[substr(line, RSTART + 1, 10)] ">"
          line = substr(line, RSTART + 11)
        }
        print out line
      }
    }'
}

# --- the checks ---------------------------------------------------------------------------------------
# Each check_<name> function runs commands; its normalised output is compared with the recording.

check_create() {
  run A "create $R/a hello"
  run A "create $R/a again"
  run A "create $R/missing/child x"
  run A "get $R/a"
}

check_get_s() {
  # After a create, czxid = mzxid = pzxid (one label), versions 0, dataLength 5.
  run A "get -s $R/a"
}

check_set() {
  run A "set $R/a world"
  run A "get $R/a"
  run A "set -s $R/a again"
}

check_set_version() {
  run A "set -v 2 $R/a v3"
  run A "set -v 2 $R/a stale"
  run A "get -s $R/a"
}

check_stat() {
  run A "stat $R/a"
  run A "stat $R/nope"
}

check_ephemeral() {
  # ephemeralOwner is a session label, the same one for both ephemerals of session A.
  run A "create -e $R/eph one"
  run A "create -e $R/eph2 two"
  run A "stat $R/eph"
  run B "stat $R/eph2"
  run A "create $R/eph/child x"
  run A "getEphemerals $R"
}

check_sequential() {
  # The ranks in the Created lines show the suffixes increase in creation order.
  run A "create $R/seq"
  run A "create -s $R/seq/job- a"
  run A "create -s $R/seq/job- b"
  run B "create -s -e $R/seq/job- c"
  run A "create -s $R/seq/job- d"
  run A "ls $R/seq"
}

check_container() {
  # A container goes once its last child is deleted (ZooKeeper's sweep; every 500 ms here).
  run A "create -c $R/cont"
  run A "create $R/cont/kid"
  run A "stat $R/cont"
  run A "delete $R/cont/kid"
  wait_gone A "$R/cont"
  run A "create -c -s $R/cont2"
}

check_ttl() {
  # A TTL node without children goes once unmodified for its TTL (1 s here).
  run A "create -t 1000 $R/ttl data"
  run A "get -s $R/ttl"
  wait_gone A "$R/ttl"
  run A "create -t 1000 -e $R/ttl-eph x"
}

check_ls() {
  run A "create $R/tree"
  run A "create $R/tree/b"
  run A "create $R/tree/a"
  run A "create $R/tree/a/x y"
  run A "ls $R/tree"
  run A "ls -s $R/tree"
  run_sorted A "ls -R $R/tree"
  run A "ls $R/nope"
}

check_get_all_children_number() {
  run A "getAllChildrenNumber $R/tree"
  run A "getAllChildrenNumber $R/tree/a/x"
}

check_delete() {
  run A "delete $R/tree"
  run A "delete -v 5 $R/tree/a/x"
  run A "delete -v 0 $R/tree/a/x"
  run A "delete $R/tree/b"
  run A "delete $R/nope"
  run A "ls $R/tree"
}

check_deleteall() {
  run A "create $R/tree/a/x2"
  run A "deleteall $R/tree"
  run A "stat $R/tree"
}

check_sync() {
  run A "set $R/a synced"
  run B "sync $R/a"
  run B "get $R/a"
}

check_acl_digest() {
  # A authenticates and protects a node; B, unauthenticated, is refused data but may read the ACL
  # (world:anyone:r), where it sees the digest's hash replaced by "x" (it lacks ADMIN).
  run A "addauth digest $digest_user:$digest_password"
  run A "create $R/acl secret"
  run A "setAcl $R/acl digest:$digest_id:cdrwa,world:anyone:r"
  run A "getAcl $R/acl"
  run A "get $R/acl"
  run B "getAcl $R/acl"
  run B "set $R/acl stolen"
  run B "create $R/acl/child x"
  run B "setAcl $R/acl world:anyone:cdrwa"
}

check_acl_auth_scheme() {
  # auth:: stands for every identity the session has authenticated as.
  run A "create $R/acl2 x auth::cdrwa"
  run A "getAcl -s $R/acl2"
  run B "get $R/acl2"
  run B "create $R/acl3 x auth::cdrwa"
}

check_set_acl_version() {
  # aclVersion counts setAcl calls; -v checks it. Once ADMIN is gone, setAcl is refused.
  run A "create $R/aclv x"
  run A "setAcl -v 0 $R/aclv world:anyone:cdrwa"
  run A "setAcl -v 0 $R/aclv world:anyone:cdrwa"
  run A "setAcl -s $R/aclv world:anyone:cdrw"
  run A "setAcl $R/aclv world:anyone:cdrwa"
}

check_set_acl_recursive() {
  run A "create $R/aclr x"
  run A "create $R/aclr/c1 x"
  run A "setAcl -R $R/aclr world:anyone:r,digest:$digest_id:cdrwa"
  run A "getAcl $R/aclr/c1"
  run B "set $R/aclr/c1 y"
}

check_addauth_then_allowed() {
  # <root>/acl2 grants everything to the digest user only. A wrong password is not refused by
  # addauth (it just adds another identity), but it does not open the node; the right one does.
  run C "get $R/acl2"
  run C "addauth digest $digest_user:wrong"
  run C "get $R/acl2"
  run C "addauth digest $digest_user:$digest_password"
  run C "get $R/acl2"
  run C "getAcl $R/acl2"
}

check_whoami() {
  run_sorted A "whoami"
  run_sorted B "whoami"
}

check_watch_data() {
  # One event for two changes: the watch is one-shot. A's `sync` afterwards guarantees that any
  # second event would have been printed before its reply.
  run A "create $R/w 0"
  run A "get -w $R/w"
  run B "set $R/w 1"
  wait_event A
  run B "set $R/w 2"
  run A "sync $R/w"
}

check_watch_exists() {
  run A "stat -w $R/w-new"
  run B "create $R/w-new x"
  wait_event A
  run A "stat -w $R/w-new"
  run B "delete $R/w-new"
  wait_event A
  run A "sync $R"
}

check_watch_children() {
  run A "create $R/wc"
  run A "ls -w $R/wc"
  run B "set $R/wc data-is-not-a-child-change"
  run B "create $R/wc/k1"
  wait_event A
  run B "create $R/wc/k2"
  run A "sync $R/wc"
}

check_add_watch_recursive() {
  # A persistent recursive watch reports every change below it, again and again; removewatches
  # ends it (the client prints PersistentWatchRemoved), and a second removewatches finds none.
# (After each removewatches the suite waits for that event and syncs, so it is printed in place.)
  run A "create $R/pw"
  run A "addWatch $R/pw"
  run B "create $R/pw/c"
  run B "create $R/pw/c/d"
  run B "set $R/pw/c/d 1"
  run B "set $R/pw/c/d 2"
  run B "delete $R/pw/c/d"
  wait_event A 5
  run A "sync $R/pw"
  run A "removewatches $R/pw"
  wait_event A # the client's own PersistentWatchRemoved event arrives asynchronously
  run A "sync $R/pw"
  run B "set $R/pw/c after"
  run A "sync $R/pw"
  run A "removewatches $R/pw"
}

check_add_watch_persistent() {
  run A "create $R/pw1"
  run A "addWatch -m PERSISTENT $R/pw1"
  run B "set $R/pw1 1"
  run B "create $R/pw1/kid"
  run B "set $R/pw1/kid grandchild-data-is-not-seen"
  run B "set $R/pw1 2"
  wait_event A 3
  run A "sync $R/pw1"
  run A "removewatches $R/pw1 -a"
  wait_event A
  run A "sync $R/pw1"
}

check_remove_watches_one_shot() {
  run A "create $R/rw"
  run A "get -w $R/rw"
  run A "ls -w $R/rw"
  run A "removewatches $R/rw -d"
  wait_event A # the client's own DataWatchRemoved event arrives asynchronously
  run A "sync $R/rw"
  run B "set $R/rw 1"
  run B "create $R/rw/c"
  wait_event A 1
  run A "sync $R/rw"
  run A "removewatches $R/rw -d"
}

check_quota() {
  run A "create $R/q"
  run A "setquota -n 2 $R/q"
  run A "listquota $R/q"
  run A "create $R/q/c1"
  run A "create $R/q/c2"
  run A "create $R/q/c3"
  run A "delquota $R/q"
  run A "listquota $R/q"
}

check_config() {
  # A standalone server has no dynamic configuration: /zookeeper/config is empty, with zeroed
  # zxids and aclVersion -1.
  run A "config -s"
}

check_reserved() {
  run A "ls /zookeeper"
  run A "delete /zookeeper"
  run A "delete /zookeeper/quota"
}

check_close_removes_ephemerals() {
  # A's session ends (the zkCli process quits): its ephemerals vanish for B.
  cli_stop A
  run B "stat $R/eph"
  run B "getEphemerals $R"
  run B "ls $R/seq"
}

checks=(
  create get_s set set_version stat ephemeral sequential container ttl ls
  get_all_children_number delete deleteall sync acl_digest acl_auth_scheme set_acl_version
  set_acl_recursive addauth_then_allowed whoami watch_data watch_exists watch_children
  add_watch_recursive add_watch_persistent remove_watches_one_shot quota config reserved
  close_removes_ephemerals
)

# --- driver -------------------------------------------------------------------------------------------

cleanup() {
  local name
  if [ -n "${cli_pid[Z]:-}" ] || cli_start Z 2>/dev/null; then
    cli_send Z "addauth digest $digest_user:$digest_password"
    cli_send Z "deleteall $R"
    cli_send Z "deleteall /zookeeper/quota$R"
    cli_send Z "stat $R"
    grep -qxF "Node does not exist: $R" <<<"$cli_out" || echo "zkcli_suite: cleanup left $R behind" >&2
  fi
  for name in "${!cli_pid[@]}"; do cli_stop "$name"; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

expected_of() { # expected_of NAME: the recorded block for a check
  awk -v name="=== $1" '$0 == name { on = 1; next } /^=== / { on = 0 } on' "$expected_file"
}

first_difference() { # first_difference EXPECTED ACTUAL: "line N: expected '...', got '...'"
  awk 'NR == FNR { e[FNR] = $0; ne = FNR; next } { a[FNR] = $0; na = FNR }
    END { n = ne > na ? ne : na
      for (i = 1; i <= n; i++) if (e[i] != a[i] || (i > ne) != (i > na)) {
        printf "line %d: expected %s, got %s", i, (i > ne ? "nothing" : "\047" e[i] "\047"),
          (i > na ? "nothing" : "\047" a[i] "\047"); exit } }' "$1" "$2"
}

main() {
  local name passed=0 total=0 actual recorded=""
  if ! { cli_start A && cli_start B && cli_start C; }; then
    echo "FAIL connect: zkCli could not connect"; echo "summary zkcli 0/1"; exit 1
  fi
  run_quiet A "create $R"
  if [ "$record" = 0 ] && [ ! -f "$expected_file" ]; then
    echo "zkcli_suite: $expected_file is missing; record it with --record" >&2; exit 2
  fi
  for name in "${checks[@]}"; do
    if [ -n "$only" ] && [[ "$name" != *"$only"* ]]; then continue; fi
    buffer=""; timed_out=0
    "check_$name"
    actual="$(normalise <<<"$buffer")"
    total=$((total + 1))
    if [ "$record" = 1 ]; then
      recorded+="=== $name"$'\n'"$actual"$'\n'
      echo "recorded $name"
      continue
    fi
    printf '%s\n' "$actual" >"$tmp/actual"
    expected_of "$name" >"$tmp/expected"
    if [ "$timed_out" = 1 ]; then
      echo "FAIL $name: a command timed out after ${command_timeout_s} s"
    elif cmp -s "$tmp/expected" "$tmp/actual"; then
      passed=$((passed + 1)); echo "ok $name"
    else
      echo "FAIL $name: $(first_difference "$tmp/expected" "$tmp/actual")"
      { echo "--- $name: expected"; cat "$tmp/expected"; echo "--- $name: actual"; cat "$tmp/actual"; } >&2
    fi
  done
  if [ "$record" = 1 ]; then
    mkdir -p "$(dirname "$expected_file")"
    {
      echo "# zkCli.sh output recorded from Apache ZooKeeper $(zk_version) by tests/compat/zkcli_suite.sh --record."
      echo "# Normalised: <root> is the suite's random root; zN, sessionN and seqN label zxids, session"
      echo "# ids and sequence suffixes (seqN by rank); times are <time>; unordered lists are sorted."
      printf '%s' "$recorded"
    } >"$expected_file"
    echo "summary zkcli $total/$total (recorded into ${expected_file#"$here"/})"
    exit 0
  fi
  echo "summary zkcli $passed/$total"
  [ "$passed" = "$total" ]
}

zk_version() { dpkg-query -W -f='${Version}' zookeeper 2>/dev/null || echo unknown; }

main
