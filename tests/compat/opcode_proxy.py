#!/usr/bin/python3
"""A TCP proxy that counts the ZooKeeper opcodes clients send, for `scripts/compat --trace`.

Usage: opcode_proxy.py --upstream HOST:PORT --out FILE [--fault drop-watch-events]

Listens on a free port of 127.0.0.1, prints "127.0.0.1:PORT" on stdout once it listens, and
forwards every connection to the upstream server unchanged. It reads the client-to-server stream:
the first frame of a connection is the ConnectRequest (counted as `connect`), every later frame
starts with a RequestHeader (xid, type), and a multi (14) is opened to count its operations too
(`multi/create`, ...). A connection that starts with a four-letter word (`ruok`, ...) is counted
as `4lw/<word>`. On SIGTERM or SIGINT it writes the counts, most frequent first, as
"<count> <opcode> <name>" lines to FILE and exits.

It only observes: a frame it cannot parse is counted as `unparsed` and still forwarded.

--fault drop-watch-events makes it a misbehaving server for the judge's own test: it drops every
watch notification (server frames with xid -1), so the suites' watch checks must fail.
"""

import argparse
import asyncio
import collections
import re
import signal
import struct
import sys

OPCODES = {
    0: "notification", 1: "create", 2: "delete", 3: "exists", 4: "getData", 5: "setData",
    6: "getACL", 7: "setACL", 8: "getChildren", 9: "sync", 11: "ping", 12: "getChildren2",
    13: "check", 14: "multi", 15: "create2", 16: "reconfig", 17: "checkWatches",
    18: "removeWatches", 19: "createContainer", 20: "deleteContainer", 21: "createTTL",
    22: "multiRead", 100: "auth", 101: "setWatches", 102: "sasl", 103: "getEphemerals",
    104: "getAllChildrenNumber", 105: "setWatches2", 106: "addWatch", 107: "whoAmI",
    -10: "createSession", -11: "closeSession", -1: "error",
}
FOUR_LETTER_WORDS = {b"ruok", b"stat", b"srvr", b"conf", b"cons", b"crst", b"dump", b"envi",
                     b"gtmk", b"stmk", b"srst", b"wchc", b"wchp", b"wchs", b"mntr", b"isro",
                     b"hash", b"dirs"}
# Requests whose body starts with a path; those on ZooKeeper's own /zookeeper nodes are counted
# apart as well (e.g. Curator reads /zookeeper/config, the ensemble configuration, on connect).
PATH_FIRST = {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 17, 18, 19, 20, 21, 103, 104, 106}
FRAME_BYTES_MAX = 64 * 1024 * 1024
counts = collections.Counter()


class Reader:
    """Reads jute fields from a frame's bytes."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def int(self):
        (value,) = struct.unpack_from(">i", self.data, self.pos)
        self.pos += 4
        return value

    def long(self):
        self.pos += 8

    def bool(self):
        self.pos += 1
        return self.data[self.pos - 1] != 0

    def buffer(self):  # also a ustring: an int length (-1 for null), then the bytes
        length = self.int()
        self.pos += max(length, 0)
        return self.data[self.pos - max(length, 0):self.pos]


def skip_multi_op(r, op):
    """Skips one operation's body inside a multi request."""
    if op in (1, 15, 19, 21):  # create, create2, createContainer, createTTL
        r.buffer()  # path
        r.buffer()  # data
        for _ in range(r.int()):  # ACLs: perms, scheme, id
            r.int()
            r.buffer()
            r.buffer()
        r.int()  # flags
        if op == 21:
            r.long()  # ttl
    elif op in (2, 13):  # delete, check: path, version
        r.buffer()
        r.int()
    elif op == 5:  # setData: path, data, version
        r.buffer()
        r.buffer()
        r.int()
    elif op in (4, 8):  # getData, getChildren in a multiRead: path, watch
        r.buffer()
        r.bool()
    else:
        raise ValueError(op)


def count_frame(frame):
    r = Reader(frame)
    try:
        r.int()  # xid
        op = r.int()
        counts[op] += 1
        if op in PATH_FIRST:
            path = r.buffer().decode("utf-8", "replace")
            if path == "/zookeeper" or path.startswith("/zookeeper/"):
                # A suite's random root (zkCli's quota nodes repeat it) is shown as <root>.
                path = re.sub(r"/compat-[a-z]+-[0-9a-f]{8}", "/<root>", path)
                counts[f"{OPCODES[op]} {path}"] += 1
            r.pos = 8
        if op in (14, 22):
            while True:
                sub_op = r.int()
                done = r.bool()
                r.int()  # err
                if done:
                    break
                counts[f"{OPCODES[op]}/{OPCODES.get(sub_op, sub_op)}"] += 1
                skip_multi_op(r, sub_op)
    except (struct.error, ValueError, KeyError):
        counts["unparsed"] += 1


async def client_to_server(reader, writer):
    first = True
    while True:
        head = await reader.readexactly(4)
        if first and head in FOUR_LETTER_WORDS:
            counts["4lw/" + head.decode()] += 1
            writer.write(head)
            while data := await reader.read(65536):
                writer.write(data)
            return
        (length,) = struct.unpack(">i", head)
        if not 0 <= length <= FRAME_BYTES_MAX:
            counts["unparsed"] += 1
            return
        frame = await reader.readexactly(length)
        if first:
            counts["connect"] += 1
            first = False
        else:
            count_frame(frame)
        writer.write(head + frame)
        await writer.drain()


async def server_to_client(reader, writer, fault):
    if fault != "drop-watch-events":
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        return
    first = True
    while True:
        head = await reader.readexactly(4)
        (length,) = struct.unpack(">i", head)
        if not 0 <= length <= FRAME_BYTES_MAX:  # not framed (a four-letter word's answer)
            writer.write(head)
            while data := await reader.read(65536):
                writer.write(data)
            return
        frame = await reader.readexactly(length)
        if not first and struct.unpack_from(">i", frame)[0] == -1:
            counts["dropped-watch-event"] += 1
            continue
        first = False
        writer.write(head + frame)
        await writer.drain()


async def quietly(coroutine):
    """Runs one direction of a connection; a close or reset just ends it."""
    try:
        await coroutine
    except (asyncio.IncompleteReadError, ConnectionError, OSError):
        pass


async def handle(client_reader, client_writer, upstream, fault):
    host, port = upstream.rsplit(":", 1)
    try:
        server_reader, server_writer = await asyncio.open_connection(host, int(port))
    except OSError:
        client_writer.close()
        return
    tasks = [asyncio.create_task(quietly(client_to_server(client_reader, server_writer))),
             asyncio.create_task(quietly(server_to_client(server_reader, client_writer, fault)))]
    # When either direction ends (a close, a reset, or a four-letter word answered), end both.
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    await asyncio.sleep(0.05)  # let a last answer (a 4lw reply) through before closing
    for task in tasks:
        task.cancel()
    for w in (server_writer, client_writer):
        w.close()


def write_counts(path):
    with open(path, "w") as f:
        for key, n in counts.most_common():
            name = OPCODES.get(key, key) if isinstance(key, int) else key
            f.write(f"{n} {key if isinstance(key, int) else '-'} {name}\n")


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--fault", choices=["drop-watch-events"])
    args = parser.parse_args()
    server = await asyncio.start_server(lambda r, w: handle(r, w, args.upstream, args.fault),
                                        "127.0.0.1", 0)
    print("127.0.0.1:%d" % server.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    write_counts(args.out)
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
