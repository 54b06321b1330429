#!/usr/bin/python3
"""ZooKeeper client compatibility suite built on kazoo (Debian's python3-kazoo).

Usage: /usr/bin/python3 tests/compat/kazoo_suite.py --server HOST:PORT

Prints one line per check, `ok <name>` or `FAIL <name>: <why>`, then `summary kazoo <passed>/<total>`,
and exits non-zero if any check failed. Every printed line is deterministic: no zxids, times, session
ids, ports or sequence numbers (only their order) reach stdout, so the output of one server can be
compared with another's. Diagnostics (tracebacks) go to stderr.

Every znode lives under /compat-kazoo-<random>, deleted at the end. Each check has its own time
bound; a check that overruns it is reported as failed and the suite moves on.

It runs with /usr/bin/python3 because that is where Debian installs kazoo.
"""

import argparse
import os
import random
import sys
import threading
import time
import traceback

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import (BadVersionError, InvalidACLError, NoAuthError,
                              NoChildrenForEphemeralsError, NodeExistsError,
                              NoNodeError, NotEmptyError)
from kazoo.security import (CREATOR_ALL_ACL, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE,
                            make_digest_acl, make_digest_acl_credential)
from kazoo.version import __version__ as KAZOO_VERSION

SUITE = "kazoo"
CHECK_TIMEOUT_S = 15
SESSION_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 10
EVENT_WAIT_S = 5.0
# How long a check waits to be sure that something does NOT happen (a second watch event, a lock
# that must stay unavailable). The real server answers in milliseconds; this is generous.
QUIET_WAIT_S = 0.5
DIGEST_USER = "compat"
DIGEST_PASSWORD = "secret"


class CheckFailed(Exception):
    """A check's expectation did not hold; the message is printed after `FAIL <name>: `."""


def expect(cond, why):
    if not cond:
        raise CheckFailed(why)


def expect_eq(actual, expected, what):
    if actual != expected:
        raise CheckFailed(f"{what}: expected {expected!r}, got {actual!r}")


def expect_raises(exc_type, fn, what):
    try:
        fn()
    except exc_type:
        return
    except Exception as e:  # noqa: BLE001 - the class name is the diagnosis
        raise CheckFailed(f"{what}: expected {exc_type.__name__}, got {type(e).__name__}")
    raise CheckFailed(f"{what}: expected {exc_type.__name__}, got success")


def try_acquire(lock, timeout_s):
    """Lock and Semaphore raise LockTimeout instead of returning False; this returns a bool."""
    from kazoo.exceptions import LockTimeout
    try:
        return lock.acquire(timeout=timeout_s)
    except LockTimeout:
        return False


def wait_for(pred, timeout_s=EVENT_WAIT_S):
    """Polls pred() until it is true or timeout_s passes; returns its last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = pred()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


class Events:
    """Collects watch events (or recipe callbacks) from the client's callback thread."""

    def __init__(self):
        self.items = []
        self.cond = threading.Condition()

    def __call__(self, item, *rest):
        with self.cond:
            self.items.append((item,) + rest if rest else item)
            self.cond.notify_all()

    def wait_count(self, n, timeout_s=EVENT_WAIT_S):
        with self.cond:
            self.cond.wait_for(lambda: len(self.items) >= n, timeout_s)
            return len(self.items) >= n

    def snapshot(self):
        with self.cond:
            return list(self.items)


def event_text(ctx, event):
    return f"{event.type} {ctx.rel(event.path)}"


class Context:
    """The clients and the root shared by the checks."""

    def __init__(self, server):
        self.server = server
        self.root = "/compat-kazoo-%08x" % random.getrandbits(32)
        self.clients = []
        self.zk = self.new_client()  # client A
        self.zk2 = self.new_client()  # client B, another session
        self.zk.create(self.root, b"")  # every check's znodes live below this root

    def new_client(self, chroot=""):
        client = KazooClient(hosts=self.server + chroot, timeout=SESSION_TIMEOUT_S)
        client.start(timeout=CONNECT_TIMEOUT_S)
        self.clients.append(client)
        return client

    def close_client(self, client):
        client.stop()
        client.close()
        if client in self.clients:
            self.clients.remove(client)

    def path(self, *parts):
        return "/".join((self.root,) + parts)

    def rel(self, path):
        """A path with the random root replaced, for printing."""
        return path.replace(self.root, "<root>") if path else path

    def settle(self, client):
        """Makes sure every notification the server sent to `client` before now has been
        dispatched: the server sends a watch event on a connection before the reply to any later
        request on it, and kazoo hands events to the callback thread before it reads on."""
        client.sync("/")
        client.exists("/")
        time.sleep(0.1)


CHECKS = []


def check(name, timeout_s=CHECK_TIMEOUT_S):
    def register(fn):
        CHECKS.append((name, fn, timeout_s))
        return fn
    return register


# --- session and basic reads ------------------------------------------------------------------

@check("session.connect")
def _(ctx):
    session_id, password = ctx.zk.client_id
    expect(session_id != 0, "the session id is 0")
    expect_eq(len(password), 16, "session password length")
    expect(ctx.zk.client_id[0] != ctx.zk2.client_id[0], "two clients got the same session id")
    expect_eq(ctx.zk.state, KazooState.CONNECTED, "client state")


@check("session.root_exists")
def _(ctx):
    stat = ctx.zk.exists("/")
    expect(stat is not None, "exists('/') returned None")
    children = ctx.zk.get_children("/")
    expect("zookeeper" in children, "'/' has no 'zookeeper' child")


@check("four_letter.ruok")
def _(ctx):
    expect_eq(ctx.zk.command(b"ruok"), "imok", "ruok answer")


# --- create / get / set / delete and the stat fields -------------------------------------------

@check("crud.create_returns_path")
def _(ctx):
    path = ctx.zk.create(ctx.path("crud"), b"v1")
    expect_eq(ctx.rel(path), "<root>/crud", "returned path")


@check("crud.create2_stat")
def _(ctx):
    before_ms = time.time() * 1000
    path, stat = ctx.zk.create(ctx.path("c2"), b"hello", include_data=True)
    expect_eq(ctx.rel(path), "<root>/c2", "returned path")
    expect_eq((stat.version, stat.cversion, stat.aversion), (0, 0, 0), "versions")
    expect_eq((stat.dataLength, stat.numChildren, stat.ephemeralOwner), (5, 0, 0),
              "dataLength, numChildren, ephemeralOwner")
    expect(stat.czxid == stat.mzxid == stat.pzxid, "czxid, mzxid and pzxid differ after create")
    expect(stat.ctime == stat.mtime, "ctime != mtime after create")
    # ctime is milliseconds since the epoch (on the same machine, so clocks agree loosely).
    expect(abs(stat.ctime - before_ms) < 120_000, "ctime is not the current time in ms")
    got, got_stat = ctx.zk.get(path)
    expect_eq(got, b"hello", "data")
    expect_eq(got_stat, stat, "stat from get vs stat from create")


@check("crud.set_bumps_version")
def _(ctx):
    path = ctx.path("set")
    _, s0 = ctx.zk.create(path, b"a", include_data=True)
    s1 = ctx.zk.set(path, b"bcd")
    expect_eq(s1.version, 1, "version after one set")
    expect_eq(s1.dataLength, 3, "dataLength after set")
    expect_eq(s1.czxid, s0.czxid, "czxid is unchanged by set")
    expect(s1.mzxid > s0.mzxid, "mzxid did not grow on set")
    expect_eq(s1.pzxid, s0.pzxid, "pzxid is unchanged by set")
    expect_eq((s1.cversion, s1.aversion), (0, 0), "cversion, aversion after set")
    expect(s1.mtime >= s0.mtime and s1.ctime == s0.ctime, "ctime/mtime after set")
    data, s2 = ctx.zk.get(path)
    expect_eq((data, s2), (b"bcd", s1), "get after set")
    s3 = ctx.zk.set(path, b"bcd")  # the same bytes again still count as a change
    expect_eq(s3.version, 2, "version after setting identical data")
    expect(s3.mzxid > s1.mzxid, "mzxid did not grow on identical set")


@check("crud.set_with_version")
def _(ctx):
    path = ctx.path("setv")
    ctx.zk.create(path, b"0")
    expect_eq(ctx.zk.set(path, b"1", version=0).version, 1, "version after set(version=0)")
    expect_raises(BadVersionError, lambda: ctx.zk.set(path, b"x", version=0), "stale set")
    expect_raises(BadVersionError, lambda: ctx.zk.set(path, b"x", version=7), "future set")
    data, stat = ctx.zk.get(path)
    expect_eq((data, stat.version), (b"1", 1), "data and version after rejected sets")
    expect_eq(ctx.zk.set(path, b"2", version=-1).version, 2, "set(version=-1) ignores version")


@check("crud.children_stat")
def _(ctx):
    parent = ctx.path("parent")
    _, p0 = ctx.zk.create(parent, b"p", include_data=True)
    _, c = ctx.zk.create(parent + "/kid", b"", include_data=True)
    p1 = ctx.zk.exists(parent)
    expect_eq((p1.cversion, p1.numChildren), (1, 1), "cversion, numChildren after child create")
    expect_eq(p1.pzxid, c.czxid, "parent pzxid == child czxid")
    expect_eq((p1.version, p1.mzxid), (p0.version, p0.mzxid), "parent data untouched")
    ctx.zk.set(parent + "/kid", b"changed")
    expect_eq(ctx.zk.exists(parent).pzxid, c.czxid, "pzxid unchanged by a child's set")
    ctx.zk.delete(parent + "/kid")
    p2 = ctx.zk.exists(parent)
    expect_eq((p2.cversion, p2.numChildren), (2, 0), "cversion, numChildren after child delete")
    expect(p2.pzxid > p1.pzxid, "pzxid did not grow on child delete")
    expect_eq(ctx.zk.get_children(parent), [], "children after delete")


@check("crud.exists")
def _(ctx):
    expect(ctx.zk.exists(ctx.path("nope")) is None, "exists on a missing node is not None")
    ctx.zk.create(ctx.path("ex"), b"12")
    stat = ctx.zk.exists(ctx.path("ex"))
    expect(stat is not None and stat.dataLength == 2, "exists stat of a present node")


@check("crud.delete_with_version")
def _(ctx):
    path = ctx.path("del")
    ctx.zk.create(path, b"")
    ctx.zk.set(path, b"x")
    expect_raises(BadVersionError, lambda: ctx.zk.delete(path, version=0), "delete stale version")
    expect(ctx.zk.exists(path) is not None, "node gone after rejected delete")
    ctx.zk.delete(path, version=1)
    expect(ctx.zk.exists(path) is None, "node still there after delete")


@check("crud.empty_and_binary_data")
def _(ctx):
    path = ctx.path("bin")
    blob = bytes(range(256)) * 4
    ctx.zk.create(path, blob)
    data, stat = ctx.zk.get(path)
    expect_eq((data == blob, stat.dataLength), (True, 1024), "binary round trip")
    ctx.zk.set(path, b"")
    data, stat = ctx.zk.get(path)
    expect_eq((data, stat.dataLength), (b"", 0), "empty data")


@check("crud.large_data")
def _(ctx):
    path = ctx.path("big")
    blob = os.urandom(1000 * 1000)  # just under jute.maxbuffer's 1 MiB with the packet header
    ctx.zk.create(path, blob)
    data, stat = ctx.zk.get(path)
    expect_eq((data == blob, stat.dataLength), (True, 1000 * 1000), "1 MB round trip")
    ctx.zk.delete(path)


@check("crud.makepath")
def _(ctx):
    path = ctx.zk.create(ctx.path("mk", "a", "b", "c"), b"leaf", makepath=True)
    expect_eq(ctx.rel(path), "<root>/mk/a/b/c", "returned path")
    for p in ("mk", "mk/a", "mk/a/b"):
        data, _ = ctx.zk.get(ctx.path(*p.split("/")))
        expect_eq(data, b"", f"data of the made parent <root>/{p}")
    expect_eq(ctx.zk.get(path)[0], b"leaf", "leaf data")


@check("crud.ensure_path")
def _(ctx):
    path = ctx.path("ens", "x", "y")
    ctx.zk.ensure_path(path)
    expect(ctx.zk.exists(path) is not None, "ensure_path did not create the path")
    ctx.zk.set(path, b"keep")
    ctx.zk.ensure_path(path)  # idempotent: must not fail or reset data
    expect_eq(ctx.zk.get(path)[0], b"keep", "data after a second ensure_path")


@check("crud.get_children_include_data")
def _(ctx):
    parent = ctx.path("gc")
    ctx.zk.create(parent, b"")
    for name in ("b", "a", "c"):
        ctx.zk.create(parent + "/" + name, b"")
    children, stat = ctx.zk.get_children(parent, include_data=True)
    expect_eq(sorted(children), ["a", "b", "c"], "children")
    expect_eq((stat.numChildren, stat.cversion), (3, 3), "numChildren, cversion")


@check("crud.delete_recursive")
def _(ctx):
    ctx.zk.create(ctx.path("rec", "a", "b"), b"", makepath=True)
    ctx.zk.create(ctx.path("rec", "c"), b"")
    ctx.zk.delete(ctx.path("rec"), recursive=True)
    expect(ctx.zk.exists(ctx.path("rec")) is None, "recursive delete left the node")


@check("crud.chroot")
def _(ctx):
    ctx.zk.create(ctx.path("chroot"), b"")
    client = ctx.new_client(chroot=ctx.path("chroot"))
    try:
        expect_eq(client.create("/inside", b"x"), "/inside", "path returned in the chroot")
        expect_eq(ctx.zk.get(ctx.path("chroot", "inside"))[0], b"x", "data seen from outside")
        expect_eq(client.get_children("/"), ["inside"], "children of the chroot's /")
    finally:
        ctx.close_client(client)


# --- errors -------------------------------------------------------------------------------------

@check("errors.no_node")
def _(ctx):
    missing = ctx.path("missing")
    expect_raises(NoNodeError, lambda: ctx.zk.get(missing), "get")
    expect_raises(NoNodeError, lambda: ctx.zk.set(missing, b""), "set")
    expect_raises(NoNodeError, lambda: ctx.zk.delete(missing), "delete")
    expect_raises(NoNodeError, lambda: ctx.zk.get_children(missing), "get_children")
    expect_raises(NoNodeError, lambda: ctx.zk.create(missing + "/child", b""), "create under missing")
    expect_raises(NoNodeError, lambda: ctx.zk.get_acls(missing), "get_acls")


@check("errors.node_exists")
def _(ctx):
    path = ctx.path("dup")
    ctx.zk.create(path, b"first")
    expect_raises(NodeExistsError, lambda: ctx.zk.create(path, b"second"), "second create")
    expect_eq(ctx.zk.get(path)[0], b"first", "data after the failed create")


@check("errors.not_empty")
def _(ctx):
    ctx.zk.create(ctx.path("full", "child"), b"", makepath=True)
    expect_raises(NotEmptyError, lambda: ctx.zk.delete(ctx.path("full")), "delete with a child")
    expect(ctx.zk.exists(ctx.path("full", "child")) is not None, "child gone")


@check("errors.no_children_for_ephemerals")
def _(ctx):
    eph = ctx.zk.create(ctx.path("eph-parent"), b"", ephemeral=True)
    expect_raises(NoChildrenForEphemeralsError, lambda: ctx.zk.create(eph + "/child", b""),
                  "create under an ephemeral")
    expect_raises(NoChildrenForEphemeralsError,
                  lambda: ctx.zk.create(eph + "/child", b"", ephemeral=True),
                  "create an ephemeral under an ephemeral")
    ctx.zk.delete(eph)


@check("errors.bad_arguments")
def _(ctx):
    # Kazoo itself rejects "." and ".." segments and folds "//", so send what only the server
    # judges: control characters, which ZooKeeper's path validation refuses.
    from kazoo.exceptions import BadArgumentsError
    expect_raises(BadArgumentsError, lambda: ctx.zk.create(ctx.path("a\x01b"), b""),
                  "create with a control character in the name")
    expect_raises(BadArgumentsError, lambda: ctx.zk.create(ctx.path("a\x00b"), b""),
                  "create with a NUL in the name")
    expect(ctx.zk.get_children(ctx.root) is not None, "the session broke")


@check("errors.reserved_zookeeper_nodes")
def _(ctx):
    # /zookeeper and /zookeeper/quota are the server's own; deleting them is refused.
    from kazoo.exceptions import BadArgumentsError
    expect_raises(BadArgumentsError, lambda: ctx.zk.delete("/zookeeper"), "delete /zookeeper")
    expect_raises(BadArgumentsError, lambda: ctx.zk.delete("/zookeeper/quota"),
                  "delete /zookeeper/quota")
    expect("quota" in ctx.zk.get_children("/zookeeper"), "/zookeeper has no quota child")


# --- ephemeral and sequential nodes -------------------------------------------------------------

@check("ephemeral.owner")
def _(ctx):
    _, eph = ctx.zk.create(ctx.path("eo"), b"", ephemeral=True, include_data=True)
    expect_eq(eph.ephemeralOwner, ctx.zk.client_id[0], "ephemeralOwner == creating session id")
    _, per = ctx.zk.create(ctx.path("po"), b"", include_data=True)
    expect_eq(per.ephemeralOwner, 0, "ephemeralOwner of a persistent node")
    seen_by_b = ctx.zk2.exists(ctx.path("eo"))
    expect_eq(seen_by_b.ephemeralOwner, ctx.zk.client_id[0], "ephemeralOwner seen by client B")


@check("ephemeral.vanish_on_close")
def _(ctx):
    owner = ctx.new_client()
    path = owner.create(ctx.path("vanish"), b"", ephemeral=True)
    owner.create(ctx.path("vanish-seq-"), b"", ephemeral=True, sequence=True)
    events = Events()
    expect(ctx.zk2.exists(path, watch=events) is not None, "B does not see the ephemeral")
    ctx.close_client(owner)
    expect(events.wait_count(1), "B saw no event when the owner's session closed")
    expect_eq([event_text(ctx, e) for e in events.snapshot()], ["DELETED <root>/vanish"], "events")
    expect(ctx.zk2.exists(path) is None, "ephemeral still there after its session closed")
    left = [c for c in ctx.zk2.get_children(ctx.root) if c.startswith("vanish")]
    expect_eq(left, [], "ephemerals left after close")


@check("sequential.names")
def _(ctx):
    parent = ctx.path("seq")
    ctx.zk.create(parent, b"")
    paths = [ctx.zk.create(parent + "/job-", b"", sequence=True) for _ in range(3)]
    paths.append(ctx.zk2.create(parent + "/job-", b"", sequence=True, ephemeral=True))
    suffixes = []
    for p in paths:
        name = p.rsplit("/", 1)[1]
        expect(name.startswith("job-") and len(name) == 14 and name[4:].isdigit(),
               "a sequential name is not prefix + 10 digits")
        suffixes.append(int(name[4:]))
    expect(all(a < b for a, b in zip(suffixes, suffixes[1:])), "suffixes do not increase")
    expect_eq(sorted(ctx.zk.get_children(parent)), sorted(p.rsplit("/", 1)[1] for p in paths),
              "children are the returned names")


@check("sequential.counter_counts_creates")
def _(ctx):
    # ZooKeeper stores in the parent the number of children ever created under it and uses it as
    # the suffix; deletes do not advance it. The cversion that clients see is derived from it as
    # 2 * creates - numChildren (creates plus deletes), so after [seq, plain, delete plain] the
    # next suffix is 2 while the reported cversion is 3.
    parent = ctx.path("seqc")
    ctx.zk.create(parent, b"")
    first = ctx.zk.create(parent + "/n-", b"", sequence=True)
    ctx.zk.create(parent + "/plain", b"")
    ctx.zk.delete(parent + "/plain")
    expect_eq(ctx.zk.exists(parent).cversion, 3, "cversion before the second sequential create")
    second = ctx.zk.create(parent + "/n-", b"", sequence=True)
    expect_eq([p[-10:] for p in (first, second)], ["0000000000", "0000000002"], "suffixes")
    expect_eq(ctx.zk.exists(parent).cversion, 4, "cversion at the end")


# --- watches ------------------------------------------------------------------------------------

@check("watch.data_changed_once")
def _(ctx):
    path = ctx.path("wd")
    ctx.zk.create(path, b"0")
    events = Events()
    ctx.zk.get(path, watch=events)
    ctx.zk2.set(path, b"1")
    expect(events.wait_count(1), "no event after B's set")
    ctx.zk2.set(path, b"2")  # the watch was one-shot: this must not fire it again
    ctx.settle(ctx.zk)
    expect_eq([event_text(ctx, e) for e in events.snapshot()], ["CHANGED <root>/wd"], "events")
    expect_eq(ctx.zk.get(path)[0], b"2", "data after the event")


@check("watch.exists_created")
def _(ctx):
    path = ctx.path("wc")
    events = Events()
    expect(ctx.zk.exists(path, watch=events) is None, "node exists already")
    ctx.zk2.create(path, b"")
    expect(events.wait_count(1), "no event after B's create")
    ctx.zk2.set(path, b"x")
    ctx.settle(ctx.zk)
    expect_eq([event_text(ctx, e) for e in events.snapshot()], ["CREATED <root>/wc"], "events")


@check("watch.exists_deleted")
def _(ctx):
    path = ctx.path("wx")
    ctx.zk.create(path, b"")
    events = Events()
    ctx.zk.exists(path, watch=events)
    ctx.zk2.delete(path)
    expect(events.wait_count(1), "no event after B's delete")
    ctx.settle(ctx.zk)
    expect_eq([event_text(ctx, e) for e in events.snapshot()], ["DELETED <root>/wx"], "events")


@check("watch.data_deleted")
def _(ctx):
    path = ctx.path("wdd")
    ctx.zk.create(path, b"")
    events = Events()
    ctx.zk.get(path, watch=events)
    ctx.zk2.delete(path)
    expect(events.wait_count(1), "no event after B's delete")
    ctx.settle(ctx.zk)
    expect_eq([event_text(ctx, e) for e in events.snapshot()], ["DELETED <root>/wdd"], "events")


@check("watch.children_once")
def _(ctx):
    parent = ctx.path("wk")
    ctx.zk.create(parent, b"")
    events = Events()
    ctx.zk.get_children(parent, watch=events)
    ctx.zk2.set(parent, b"data change is not a child change")
    ctx.zk2.create(parent + "/a", b"")
    expect(events.wait_count(1), "no event after B's child create")
    ctx.zk2.create(parent + "/b", b"")
    ctx.settle(ctx.zk)
    expect_eq([event_text(ctx, e) for e in events.snapshot()], ["CHILD <root>/wk"], "events")


@check("watch.children_parent_deleted")
def _(ctx):
    parent = ctx.path("wkp")
    ctx.zk.create(parent, b"")
    events = Events()
    ctx.zk.get_children(parent, watch=events)
    ctx.zk2.delete(parent)
    expect(events.wait_count(1), "no event after B deleted the watched parent")
    ctx.settle(ctx.zk)
    expect_eq([event_text(ctx, e) for e in events.snapshot()], ["DELETED <root>/wkp"], "events")


@check("watch.both_kinds_on_one_node")
def _(ctx):
    # A data watch and a child watch on the same node are separate: a child create fires only the
    # child watch, and a later delete of the node fires the data watch with DELETED.
    path = ctx.path("wb")
    ctx.zk.create(path, b"")
    data_events, child_events = Events(), Events()
    ctx.zk.get(path, watch=data_events)
    ctx.zk.get_children(path, watch=child_events)
    ctx.zk2.create(path + "/c", b"")
    expect(child_events.wait_count(1), "no child event")
    ctx.zk2.delete(path + "/c")
    ctx.zk2.delete(path)
    expect(data_events.wait_count(1), "no data event")
    ctx.settle(ctx.zk)
    expect_eq([event_text(ctx, e) for e in child_events.snapshot()], ["CHILD <root>/wb"], "child")
    expect_eq([event_text(ctx, e) for e in data_events.snapshot()], ["DELETED <root>/wb"], "data")


@check("watch.own_write_fires")
def _(ctx):
    # A client's own write triggers its own watch too.
    path = ctx.path("wo")
    ctx.zk.create(path, b"")
    events = Events()
    ctx.zk.get(path, watch=events)
    ctx.zk.set(path, b"mine")
    expect(events.wait_count(1), "own set did not fire the watch")
    expect_eq([event_text(ctx, e) for e in events.snapshot()], ["CHANGED <root>/wo"], "events")


# --- transactions (multi) -----------------------------------------------------------------------

@check("transaction.commit")
def _(ctx):
    base = ctx.path("tx")
    ctx.zk.create(base, b"")
    ctx.zk.create(base + "/old", b"")
    ctx.zk.create(base + "/checked", b"")
    t = ctx.zk.transaction()
    t.create(base + "/new", b"n")
    t.create(base + "/new/child", b"c")
    t.set_data(base + "/new", b"n2")
    t.check(base + "/checked", 0)
    t.delete(base + "/old")
    t.create(base + "/s-", b"", sequence=True)
    results = t.commit()
    shown = [type(r).__name__ if not isinstance(r, (str, bool)) else
             (ctx.rel(r)[:-10] + "<seq>" if r.endswith(tuple("0123456789")) else ctx.rel(r))
             if isinstance(r, str) else r for r in results]
    expect_eq(shown, ["<root>/tx/new", "<root>/tx/new/child", "ZnodeStat", True, True,
                      "<root>/tx/s-<seq>"], "results")
    expect_eq(results[2].version, 1, "version in the set_data result")
    expect_eq(ctx.zk.get(base + "/new")[0], b"n2", "data written by the transaction")
    expect(ctx.zk.exists(base + "/old") is None, "deleted node still there")
    expect_eq(sorted(ctx.zk.get_children(base))[:3], ["checked", "new", "s-" + results[5][-10:]],
              "children")


@check("transaction.rollback")
def _(ctx):
    base = ctx.path("txf")
    ctx.zk.create(base, b"")
    ctx.zk.create(base + "/keep", b"orig")
    stat_before = ctx.zk.exists(base)
    t = ctx.zk.transaction()
    t.create(base + "/would-be", b"")
    t.set_data(base + "/keep", b"changed")
    t.check(base + "/keep", 5)  # fails: version is 0
    t.delete(base + "/keep")
    results = t.commit()
    expect_eq([type(r).__name__ for r in results],
              ["RolledBackError", "RolledBackError", "BadVersionError", "RuntimeInconsistency"],
              "per-operation results")
    expect(ctx.zk.exists(base + "/would-be") is None, "the create before the failure persisted")
    expect_eq(ctx.zk.get(base + "/keep")[0], b"orig", "the set before the failure persisted")
    expect_eq(ctx.zk.exists(base).cversion, stat_before.cversion, "parent cversion moved")


@check("transaction.errors")
def _(ctx):
    base = ctx.path("txe")
    ctx.zk.create(base, b"")
    t = ctx.zk.transaction()
    t.create(base + "/a", b"")
    t.create(base + "/a", b"")  # NodeExists inside the same transaction
    results = t.commit()
    expect_eq([type(r).__name__ for r in results], ["RolledBackError", "NodeExistsError"],
              "duplicate create")
    t = ctx.zk.transaction()
    t.delete(base + "/missing")
    results = t.commit()
    expect_eq([type(r).__name__ for r in results], ["NoNodeError"], "delete missing")
    expect_eq(ctx.zk.get_children(base), [], "children after failed transactions")


@check("transaction.watches_fire")
def _(ctx):
    base = ctx.path("txw")
    ctx.zk.create(base, b"")
    events = Events()
    ctx.zk.get_children(base, watch=events)
    t = ctx.zk2.transaction()
    t.create(base + "/x", b"")
    t.create(base + "/y", b"")
    t.commit()
    expect(events.wait_count(1), "no child event from a committed transaction")
    ctx.settle(ctx.zk)
    expect_eq([event_text(ctx, e) for e in events.snapshot()], ["CHILD <root>/txw"], "events")


# --- ACLs and authentication --------------------------------------------------------------------

@check("acl.digest")
def _(ctx):
    path = ctx.path("secret")
    acl = make_digest_acl(DIGEST_USER, DIGEST_PASSWORD, all=True)
    ctx.zk.create(path, b"hidden", acl=[acl])
    stranger = ctx.new_client()
    try:
        expect_raises(NoAuthError, lambda: stranger.get(path), "get without auth")
        expect_raises(NoAuthError, lambda: stranger.set(path, b"x"), "set without auth")
        expect_raises(NoAuthError, lambda: stranger.create(path + "/c", b""),
                      "create child without auth")
        expect(stranger.exists(path) is not None, "exists needs no permission")
        stranger.add_auth("digest", f"{DIGEST_USER}:wrong-password")
        expect_raises(NoAuthError, lambda: stranger.get(path), "get with a wrong password")
        stranger.add_auth("digest", f"{DIGEST_USER}:{DIGEST_PASSWORD}")
        expect_eq(stranger.get(path)[0], b"hidden", "get with auth")
    finally:
        ctx.close_client(stranger)
    ctx.zk.add_auth("digest", f"{DIGEST_USER}:{DIGEST_PASSWORD}")
    expect_eq(ctx.zk.get(path)[0], b"hidden", "get after the owner authenticated")


@check("acl.get_acls")
def _(ctx):
    path = ctx.path("acl-read")
    acl = make_digest_acl(DIGEST_USER, DIGEST_PASSWORD, all=True)
    ctx.zk.create(path, b"", acl=[acl] + READ_ACL_UNSAFE)
    acls, stat = ctx.zk.get_acls(path)  # A is authenticated as the digest user (acl.digest)
    shown = sorted((a.id.scheme, a.id.id, a.perms) for a in acls)
    cred = make_digest_acl_credential(DIGEST_USER, DIGEST_PASSWORD)
    expect_eq(shown, sorted([("digest", cred, 31), ("world", "anyone", 1)]), "ACL list")
    expect_eq(stat.aversion, 0, "aversion")
    acls, _ = ctx.zk.get_acls("/")
    expect_eq([(a.id.scheme, a.id.id, a.perms) for a in acls], [("world", "anyone", 31)], "/")


@check("acl.get_acls_hides_digests_without_admin")
def _(ctx):
    # Since the fix for CVE-2019-0201, getACL needs READ, and a caller without ADMIN sees digest
    # ids with the hash replaced by "x".
    path = ctx.path("acl-hidden")
    acl = make_digest_acl(DIGEST_USER, DIGEST_PASSWORD, all=True)
    ctx.zk.create(path, b"", acl=[acl] + READ_ACL_UNSAFE)
    acls, _ = ctx.zk2.get_acls(path)
    expect_eq(sorted((a.id.scheme, a.id.id, a.perms) for a in acls),
              [("digest", DIGEST_USER + ":x", 31), ("world", "anyone", 1)], "ACL list seen by B")
    ctx.zk.create(path + "-noread", b"", acl=[acl])
    expect_raises(NoAuthError, lambda: ctx.zk2.get_acls(path + "-noread"), "get_acls without READ")


@check("acl.set_acls")
def _(ctx):
    path = ctx.path("acl-set")
    ctx.zk.create(path, b"")
    expect_eq(ctx.zk.set_acls(path, OPEN_ACL_UNSAFE, version=0).aversion, 1, "aversion")
    expect_raises(BadVersionError, lambda: ctx.zk.set_acls(path, OPEN_ACL_UNSAFE, version=0),
                  "set_acls with a stale version")
    stat = ctx.zk.set_acls(path, READ_ACL_UNSAFE)
    expect_eq((stat.aversion, stat.version), (2, 0), "aversion, version after set_acls")
    # The permission check comes before the version check.
    expect_raises(NoAuthError, lambda: ctx.zk.set_acls(path, OPEN_ACL_UNSAFE, version=0),
                  "set_acls without ADMIN and a stale version")
    expect_raises(NoAuthError, lambda: ctx.zk2.set(path, b"x"), "write to a read-only node")
    # world:anyone has only READ now, so even ADMIN (set_acls) is refused.
    expect_raises(NoAuthError, lambda: ctx.zk2.set_acls(path, OPEN_ACL_UNSAFE), "set_acls by B")
    expect_eq(ctx.zk2.get(path)[0], b"", "read allowed")


@check("acl.creator_all")
def _(ctx):
    # CREATOR_ALL_ACL ("auth" scheme) needs an authenticated session; the stored ACL names the
    # creator's digest identity.
    anon = ctx.new_client()
    try:
        expect_raises(InvalidACLError,
                      lambda: anon.create(ctx.path("creator-anon"), b"", acl=CREATOR_ALL_ACL),
                      "auth ACL without authentication")
        anon.add_auth("digest", f"{DIGEST_USER}:{DIGEST_PASSWORD}")
        anon.create(ctx.path("creator"), b"", acl=CREATOR_ALL_ACL)
        acls, _ = anon.get_acls(ctx.path("creator"))
        cred = make_digest_acl_credential(DIGEST_USER, DIGEST_PASSWORD)
        expect_eq([(a.id.scheme, a.id.id, a.perms) for a in acls], [("digest", cred, 31)], "ACL")
    finally:
        ctx.close_client(anon)
    expect_raises(NoAuthError, lambda: ctx.zk2.get(ctx.path("creator")), "get by another client")


@check("acl.delete_needs_parent_permission")
def _(ctx):
    parent = ctx.path("acl-parent")
    ctx.zk.create(parent, b"")
    ctx.zk.create(parent + "/child", b"")
    ctx.zk.set_acls(parent, [make_digest_acl(DIGEST_USER, DIGEST_PASSWORD, all=True)] +
                    READ_ACL_UNSAFE)
    expect_raises(NoAuthError, lambda: ctx.zk2.delete(parent + "/child"), "delete by B")
    expect(ctx.zk2.exists(parent + "/child") is not None, "child gone")


@check("acl.bad_auth_scheme")
def _(ctx):
    # An unknown scheme makes ZooKeeper answer AuthFailed and close the session.
    client = KazooClient(hosts=ctx.server, timeout=SESSION_TIMEOUT_S)
    client.start(timeout=CONNECT_TIMEOUT_S)
    try:
        from kazoo.exceptions import AuthFailedError
        expect_raises(AuthFailedError, lambda: client.add_auth("nosuchscheme", "x"),
                      "add_auth with an unknown scheme")
    finally:
        client.stop()
        client.close()


# --- sync ---------------------------------------------------------------------------------------

@check("sync.read_after_write")
def _(ctx):
    path = ctx.path("sync")
    ctx.zk.create(path, b"")
    ctx.zk.set(path, b"v1")
    expect_eq(ctx.zk2.sync(path), path, "sync returns the path")
    expect_eq(ctx.zk2.get(path)[0], b"v1", "B reads A's write after sync")


# --- recipes ------------------------------------------------------------------------------------

@check("recipe.lock_exclusive")
def _(ctx):
    # If the lock were not exclusive, B's acquire(timeout) would succeed while A holds it, and B's
    # blocking acquire would finish before A's release: both are checked below.
    path = ctx.path("lock")
    lock_a = ctx.zk.Lock(path, "A")
    lock_b = ctx.zk2.Lock(path, "B")
    expect(try_acquire(lock_a, 5), "A could not take a free lock")
    expect(not try_acquire(lock_b, QUIET_WAIT_S), "B took the lock while A held it")
    acquired = threading.Event()
    order = []

    def take():
        if try_acquire(lock_b, 10):
            order.append("B acquired")
            acquired.set()
    thread = threading.Thread(target=take, daemon=True)
    thread.start()
    time.sleep(QUIET_WAIT_S)
    expect(not acquired.is_set(), "B's blocking acquire returned while A held the lock")
    expect_eq(lock_a.contenders(), ["A", "B"], "contenders in order")
    order.append("A released")
    lock_a.release()
    expect(acquired.wait(EVENT_WAIT_S), "B did not get the lock after A released it")
    expect_eq(order, ["A released", "B acquired"], "order")
    lock_b.release()
    expect_eq(ctx.zk.get_children(path), [], "lock nodes left")


@check("recipe.lock_released_by_session_close")
def _(ctx):
    # The lock node is ephemeral: closing the holder's session must hand the lock on.
    path = ctx.path("lock2")
    holder = ctx.new_client()
    expect(try_acquire(holder.Lock(path, "H"), 5), "holder could not lock")
    waiter = ctx.zk2.Lock(path, "W")
    expect(not try_acquire(waiter, QUIET_WAIT_S), "waiter locked while held")
    ctx.close_client(holder)
    expect(try_acquire(waiter, EVENT_WAIT_S), "lock not free after the holder's session closed")
    waiter.release()


@check("recipe.read_write_lock")
def _(ctx):
    path = ctx.path("rwlock")
    read_a = ctx.zk.ReadLock(path, "RA")
    read_b = ctx.zk2.ReadLock(path, "RB")
    write_b = ctx.zk2.WriteLock(path, "WB")
    expect(try_acquire(read_a, 5), "first read lock")
    expect(try_acquire(read_b, 5), "two readers must share")
    read_b.release()
    expect(not try_acquire(write_b, QUIET_WAIT_S), "writer got in beside a reader")
    read_a.release()
    expect(try_acquire(write_b, 5), "writer blocked after the reader left")
    write_b.release()


@check("recipe.election")
def _(ctx):
    path = ctx.path("election")
    leaders = []
    stop = {"A": threading.Event(), "B": threading.Event()}
    elected = threading.Condition()

    def lead(name):
        with elected:
            leaders.append(name)
            elected.notify_all()
        stop[name].wait(10)

    election_a = ctx.zk.Election(path, "A")
    election_b = ctx.zk2.Election(path, "B")
    thread_a = threading.Thread(target=election_a.run, args=(lead, "A"), daemon=True)
    thread_a.start()
    with elected:
        expect(elected.wait_for(lambda: len(leaders) == 1, EVENT_WAIT_S), "A was not elected")
    thread_b = threading.Thread(target=election_b.run, args=(lead, "B"), daemon=True)
    thread_b.start()
    expect(wait_for(lambda: len(election_a.contenders()) == 2), "B did not join the election")
    expect_eq(election_b.contenders(), ["A", "B"], "contenders")
    time.sleep(QUIET_WAIT_S)
    expect_eq(leaders, ["A"], "leaders while A leads")  # two leaders at once would show here
    stop["A"].set()
    with elected:
        expect(elected.wait_for(lambda: len(leaders) == 2, EVENT_WAIT_S), "B never led")
    expect_eq(leaders, ["A", "B"], "leaders")
    stop["B"].set()
    thread_a.join(5)
    thread_b.join(5)


@check("recipe.queue")
def _(ctx):
    path = ctx.path("queue")
    producer = ctx.zk.Queue(path)
    consumer = ctx.zk2.Queue(path)
    producer.put(b"low-1", priority=50)
    producer.put(b"high", priority=10)
    producer.put(b"low-2", priority=50)
    expect_eq(len(consumer), 3, "queue length")
    got = [consumer.get() for _ in range(3)]
    expect_eq(got, [b"high", b"low-1", b"low-2"], "priority then FIFO order")
    expect(consumer.get() is None, "get on an empty queue")


@check("recipe.locking_queue")
def _(ctx):
    path = ctx.path("lqueue")
    queue_a = ctx.zk.LockingQueue(path)
    queue_b = ctx.zk2.LockingQueue(path)
    queue_a.put_all([b"one", b"two"])
    expect_eq(queue_b.get(timeout=5), b"one", "B's first item")
    expect(queue_b.holds_lock(), "B does not hold the item's lock")
    # A must skip the item B holds, and get nothing once "two" is also taken.
    expect_eq(queue_a.get(timeout=5), b"two", "A's item")
    queue_a.release()  # give "two" back unconsumed
    expect_eq(queue_b.consume(), True, "B consumes its item")
    expect_eq(queue_b.get(timeout=5), b"two", "the released item comes back")
    expect(queue_b.consume(), "B consumes the second item")
    expect_eq(len(queue_a), 0, "queue length at the end")
    expect(queue_a.get(timeout=QUIET_WAIT_S) is None, "get on an empty queue")


@check("recipe.barrier")
def _(ctx):
    path = ctx.path("barrier")
    barrier_a = ctx.zk.Barrier(path)
    barrier_b = ctx.zk2.Barrier(path)
    barrier_a.create()
    expect(not barrier_b.wait(timeout=QUIET_WAIT_S), "B passed a raised barrier")
    passed = threading.Event()
    thread = threading.Thread(target=lambda: barrier_b.wait(timeout=10) and passed.set(),
                              daemon=True)
    thread.start()
    time.sleep(QUIET_WAIT_S)
    expect(not passed.is_set(), "B's wait returned while the barrier stood")
    barrier_a.remove()
    expect(passed.wait(EVENT_WAIT_S), "B still waits after the barrier was removed")


@check("recipe.double_barrier")
def _(ctx):
    path = ctx.path("dbarrier")
    barrier_a = ctx.zk.DoubleBarrier(path, 2, "A")
    barrier_b = ctx.zk2.DoubleBarrier(path, 2, "B")
    entered = threading.Event()
    thread = threading.Thread(target=lambda: (barrier_a.enter(), entered.set()), daemon=True)
    thread.start()
    time.sleep(QUIET_WAIT_S)
    expect(not entered.is_set(), "A entered alone although two are needed")
    barrier_b.enter()
    expect(entered.wait(EVENT_WAIT_S), "A did not enter once B arrived")
    left = threading.Event()
    thread = threading.Thread(target=lambda: (barrier_a.leave(), left.set()), daemon=True)
    thread.start()
    time.sleep(QUIET_WAIT_S)
    expect(not left.is_set(), "A left while B was still inside")
    barrier_b.leave()
    expect(left.wait(EVENT_WAIT_S), "A could not leave after B left")


@check("recipe.counter", timeout_s=30)
def _(ctx):
    # Counter is a read-modify-write guarded by the node's version: lost updates (a set that did
    # not check the version) would make the total come out short.
    path = ctx.path("counter")
    counters = [ctx.zk.Counter(path), ctx.zk2.Counter(path)]
    increments_each = 25
    errors = []

    def bump(counter):
        try:
            for _ in range(increments_each):
                counter += 1
        except Exception as e:  # noqa: BLE001
            errors.append(type(e).__name__)
    threads = [threading.Thread(target=bump, args=(c,), daemon=True) for c in counters]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    expect_eq(errors, [], "errors while incrementing")
    expect_eq(ctx.zk.Counter(path).value, 2 * increments_each, "total")
    float_counter = ctx.zk2.Counter(ctx.path("fcounter"), default=0.0)
    float_counter += 1.5
    float_counter -= 0.25
    expect_eq(ctx.zk.Counter(ctx.path("fcounter"), default=0.0).value, 1.25, "float counter")


@check("recipe.party")
def _(ctx):
    path = ctx.path("party")
    party_a = ctx.zk.Party(path, "alice")
    party_b = ctx.zk2.Party(path, "bob")
    party_a.join()
    party_b.join()
    expect_eq(sorted(ctx.zk.Party(path)), ["alice", "bob"], "members")
    expect_eq(len(party_a), 2, "size")
    party_a.leave()
    expect_eq(list(party_b), ["bob"], "members after alice left")
    shallow = ctx.zk.ShallowParty(path + "-shallow", "carol")
    shallow.join()
    expect_eq(list(ctx.zk2.ShallowParty(path + "-shallow")), ["carol"], "shallow party")
    party_b.leave()
    shallow.leave()


@check("recipe.semaphore")
def _(ctx):
    path = ctx.path("semaphore")
    third = ctx.new_client()
    try:
        sem_a = ctx.zk.Semaphore(path, "A", max_leases=2)
        sem_b = ctx.zk2.Semaphore(path, "B", max_leases=2)
        sem_c = third.Semaphore(path, "C", max_leases=2)
        expect(try_acquire(sem_a, 5) and try_acquire(sem_b, 5), "two leases of two")
        expect(not try_acquire(sem_c, QUIET_WAIT_S), "a third lease was granted")
        expect_eq(sorted(sem_c.lease_holders()), ["A", "B"], "lease holders")
        sem_a.release()
        expect(try_acquire(sem_c, EVENT_WAIT_S), "no lease after one was released")
        expect_eq(sorted(sem_b.lease_holders()), ["B", "C"], "lease holders after the swap")
        sem_b.release()
        sem_c.release()
    finally:
        ctx.close_client(third)


@check("recipe.data_watch")
def _(ctx):
    path = ctx.path("datawatch")
    ctx.zk.create(path, b"v0")
    seen = Events()
    ctx.zk.DataWatch(path, lambda data, stat, *rest: seen(data))
    expect(seen.wait_count(1), "no initial callback")
    ctx.zk2.set(path, b"v1")
    expect(seen.wait_count(2), "no callback after B's set")
    ctx.zk2.delete(path)
    expect(seen.wait_count(3), "no callback after B's delete")
    expect_eq(seen.snapshot(), [b"v0", b"v1", None], "callbacks")


@check("recipe.children_watch")
def _(ctx):
    path = ctx.path("childwatch")
    ctx.zk.create(path, b"")
    ctx.zk.create(path + "/a", b"")
    seen = Events()
    ctx.zk.ChildrenWatch(path, lambda children: seen(sorted(children)))
    expect(seen.wait_count(1), "no initial callback")
    ctx.zk2.create(path + "/b", b"")
    expect(seen.wait_count(2), "no callback after B's create")
    ctx.zk2.delete(path + "/a")
    expect(seen.wait_count(3), "no callback after B's delete")
    expect_eq(seen.snapshot(), [["a"], ["a", "b"], ["b"]], "callbacks")


@check("recipe.tree_cache")
def _(ctx):
    from kazoo.recipe.cache import TreeCache, TreeEvent
    path = ctx.path("tree")
    ctx.zk.create(path + "/a", b"1", makepath=True)
    cache = TreeCache(ctx.zk, path)
    events = Events()
    names = {v: k for k, v in vars(TreeEvent).items() if k.isupper() and isinstance(v, int)}
    cache.listen(lambda e: events(names[e.event_type] + (" " + ctx.rel(e.event_data.path)
                                                         if e.event_data else "")))
    cache.start()
    try:
        expect(wait_for(lambda: "INITIALIZED" in events.snapshot()), "cache never initialised")
        # One change at a time: a node created and deleted at once may never be seen at all.
        ctx.zk2.create(path + "/b", b"2")
        expect(wait_for(lambda: len(events.snapshot()) >= 4), "no event for B's create")
        ctx.zk2.set(path + "/a", b"1b")
        expect(wait_for(lambda: len(events.snapshot()) >= 5), "no event for B's set")
        ctx.zk2.delete(path + "/b")
        expect(wait_for(lambda: len(events.snapshot()) >= 6), "no event for B's delete")
        ctx.settle(ctx.zk)
        expect_eq(events.snapshot(), ["NODE_ADDED <root>/tree", "NODE_ADDED <root>/tree/a",
                                      "INITIALIZED", "NODE_ADDED <root>/tree/b",
                                      "NODE_UPDATED <root>/tree/a", "NODE_REMOVED <root>/tree/b"],
                  "events")
        expect_eq(cache.get_data(path + "/a").data, b"1b", "cached data")
    finally:
        cache.close()


# --- driver -------------------------------------------------------------------------------------

def run_check(ctx, name, fn, timeout_s):
    outcome = {}

    def body():
        try:
            fn(ctx)
            outcome["ok"] = True
        except CheckFailed as e:
            outcome["why"] = ctx.rel(str(e))
        except Exception as e:  # noqa: BLE001 - a client error is a failed check, not a crash
            outcome["why"] = f"unexpected {type(e).__name__}"
            traceback.print_exc(file=sys.stderr)
    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        return f"timed out after {timeout_s} s"
    return None if outcome.get("ok") else outcome.get("why", "no outcome")


def cleanup(ctx):
    try:
        client = ctx.new_client()
        client.add_auth("digest", f"{DIGEST_USER}:{DIGEST_PASSWORD}")
        if client.exists(ctx.root):
            client.delete(ctx.root, recursive=True)
        if client.exists(ctx.root):
            print(f"cleanup left {ctx.root} behind", file=sys.stderr)
    except Exception:  # noqa: BLE001 - cleanup is best effort; stderr says why
        traceback.print_exc(file=sys.stderr)
    for client in list(ctx.clients):
        try:
            ctx.close_client(client)
        except Exception:  # noqa: BLE001
            pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", required=True, help="host:port of the server under test")
    parser.add_argument("--only", help="run only the checks whose name contains this text")
    args = parser.parse_args()
    print(f"kazoo {KAZOO_VERSION}", file=sys.stderr)
    try:
        ctx = Context(args.server)
    except Exception as e:  # noqa: BLE001
        print(f"FAIL session.connect: unexpected {type(e).__name__}")
        print(f"summary {SUITE} 0/1")
        sys.stdout.flush()
        os._exit(1)
    passed = total = 0
    for name, fn, timeout_s in CHECKS:
        if args.only and args.only not in name:
            continue
        total += 1
        why = run_check(ctx, name, fn, timeout_s)
        if why is None:
            passed += 1
            print(f"ok {name}", flush=True)
        else:
            print(f"FAIL {name}: {why}", flush=True)
    cleanup(ctx)
    print(f"summary {SUITE} {passed}/{total}", flush=True)
    # os._exit: a check that timed out may have left a thread blocked in a client call.
    os._exit(0 if passed == total else 1)


if __name__ == "__main__":
    main()
