#!/usr/bin/env python3
"""Memcache traffic for tests/live/memcache_memcached.sh (python3 stdlib only).

usage: memcache_client.py PORT OUT.json

Talks to memcached on 127.0.0.1:PORT with the text protocol over TCP (one
exchange at a time, then a pipelined burst), the binary protocol over TCP
and the text protocol over UDP (8-byte frame header; replies spanning
several datagrams). Writes what went over the wire for each exchange to
OUT.json: a list of {"proto", "transport", "name", "req", "resp"} where req
and resp are the byte counts of the memcache payload (UDP: without the frame
header), so the test can check the events against them.
"""
import json
import socket
import struct
import sys

PORT = int(sys.argv[1])
OUT = sys.argv[2]
HOST = "127.0.0.1"
log = []


def record(proto, transport, name, req, resp, **extra):
    log.append(dict(proto=proto, transport=transport, name=name, req=len(req),
                    resp=len(resp) if resp is not None else None, **extra))


# ---- text over TCP, one exchange at a time --------------------------------

def recv_until(sock, buf, done):
    while not done(buf):
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("memcached closed the connection")
        buf += chunk
    return buf


def text_tcp():
    s = socket.create_connection((HOST, PORT))
    big = b"z" * 20000

    def x(name, req, multi=False):
        resp = recv_until(s, b"", (lambda b: b.endswith(b"END\r\n")) if multi
                          else (lambda b: b.endswith(b"\r\n")))
        record("text", "tcp", name, req, resp, reply=resp[:60].decode("latin-1"))
        return resp

    def send(name, req, multi=False):
        s.sendall(req)
        return x(name, req, multi)

    send("set k1", b"set k1 5 0 5\r\nhello\r\n")
    send("set k2", b"set k2 0 0 2\r\nhi\r\n")
    send("add k1", b"add k1 0 0 1\r\nx\r\n")
    send("get k1 k2 nosuch", b"get k1 k2 nosuch\r\n", multi=True)
    send("gets k1", b"gets k1\r\n", multi=True)
    send("append k1", b"append k1 0 0 3\r\n w!\r\n")
    send("incr miss", b"incr n 1\r\n")
    send("set n", b"set n 0 0 1\r\n7\r\n")
    send("incr n", b"incr n 3\r\n")
    send("decr n", b"decr n 20\r\n")
    send("touch k1", b"touch k1 100\r\n")
    send("delete k1", b"delete k1\r\n")
    send("delete k1 again", b"delete k1\r\n")
    send("set big", b"set big 0 0 %d\r\n" % len(big) + big + b"\r\n")
    send("get big", b"get big\r\n", multi=True)
    send("stats", b"stats\r\n", multi=True)
    send("version", b"version\r\n")
    send("verbosity", b"verbosity 1\r\n")
    send("bogus", b"bogus command\r\n")
    s.sendall(b"quit\r\n")
    record("text", "tcp", "quit", b"quit\r\n", None)
    s.recv(10)
    s.close()


def text_pipelined(n):
    """n sets and n gets in one write; replies read afterwards."""
    s = socket.create_connection((HOST, PORT))
    req = b"".join(b"set p%d 0 0 3\r\nv%02d\r\nget p%d\r\n" % (i, i % 100, i) for i in range(n))
    s.sendall(req)
    want = n * len(b"STORED\r\n") + sum(len(b"VALUE p%d 0 3\r\nv%02d\r\nEND\r\n" % (i, i % 100))
                                        for i in range(n))
    got = recv_until(s, b"", lambda b: len(b) >= want)
    if len(got) != want:
        raise SystemExit(f"pipelined: got {len(got)} bytes, want {want}")
    log.append(dict(proto="text", transport="tcp", name="pipelined", count=n))
    s.close()


# ---- binary over TCP -------------------------------------------------------

def bpkt(op, key=b"", val=b"", extras=b"", opaque=0):
    return struct.pack(">BBHBBHIIQ", 0x80, op, len(key), len(extras), 0, 0,
                       len(key) + len(extras) + len(val), opaque, 0) + extras + key + val


def read_bin(s, buf):
    buf = recv_until(s, buf, lambda b: len(b) >= 24)
    total = 24 + struct.unpack(">I", buf[8:12])[0]
    buf = recv_until(s, buf, lambda b: len(b) >= total)
    return buf[:total], buf[total:]


def binary_tcp():
    s = socket.create_connection((HOST, PORT))
    rest = b""

    def x(name, req, replies=1, until_empty_key=False):
        nonlocal rest
        s.sendall(req)
        resp = b""
        pkts = []
        while True:
            p, rest = read_bin(s, rest)
            pkts.append(p)
            resp += p
            if until_empty_key:
                if struct.unpack(">H", p[2:4])[0] == 0:
                    break
            elif len(pkts) == replies:
                break
        return pkts

    def one(name, op, key=b"", val=b"", extras=b"", opaque=0, **kw):
        req = bpkt(op, key, val, extras, opaque)
        pkts = x(name, req, **kw)
        status = struct.unpack(">H", pkts[0][6:8])[0]
        record("binary", "tcp", name, req, b"".join(pkts), status=status, opaque=opaque,
               packets=len(pkts))

    one("set bk", 0x01, b"bk", b"binval", struct.pack(">II", 7, 0), opaque=1)
    one("get bk", 0x00, b"bk", opaque=2)
    one("get miss", 0x00, b"nosuch", opaque=3)
    one("add bk", 0x02, b"bk", b"x", struct.pack(">II", 0, 0), opaque=4)
    one("incr bc", 0x05, b"bc", extras=struct.pack(">QQI", 5, 10, 0), opaque=5)
    one("incr bc again", 0x05, b"bc", extras=struct.pack(">QQI", 5, 10, 0), opaque=6)
    # quiet gets: the miss gets no reply at all; the NOOP flushes
    q1, q2, nop = bpkt(0x09, b"bk", opaque=7), bpkt(0x09, b"nosuch", opaque=8), bpkt(0x0a, opaque=9)
    pkts = x("getq", q1 + q2 + nop, replies=2)
    record("binary", "tcp", "getq hit", q1, pkts[0], opaque=7)
    record("binary", "tcp", "getq miss", q2, None, opaque=8)
    record("binary", "tcp", "noop", nop, pkts[1], opaque=9)
    one("version", 0x0b, opaque=10)
    one("stat", 0x10, opaque=11, until_empty_key=True)
    one("delete bk", 0x04, b"bk", opaque=12)
    s.close()


# ---- text over UDP ---------------------------------------------------------

def text_udp():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(5)
    big = b"u" * 5000

    def x(rid, name, req):
        u.sendto(struct.pack(">HHHH", rid, 0, 1, 0) + req, (HOST, PORT))
        parts, total = {}, None
        while total is None or len(parts) < total:
            d, _ = u.recvfrom(65536)
            r, seq, total, _ = struct.unpack(">HHHH", d[:8])
            if r != rid:
                raise SystemExit(f"udp: reply for request {r}, want {rid}")
            parts[seq] = d[8:]
        resp = b"".join(parts[i] for i in range(total))
        record("text", "udp", name, req, resp, datagrams=total, reply=resp[:60].decode("latin-1"))

    x(101, "set u1", b"set u1 3 0 5\r\nhello\r\n")
    x(102, "set ubig", b"set ubig 0 0 %d\r\n" % len(big) + big + b"\r\n")
    x(103, "get ubig", b"get ubig\r\n")
    x(104, "get u1", b"get u1\r\n")
    x(105, "incr miss", b"incr nosuch 1\r\n")
    x(106, "stats", b"stats\r\n")
    x(107, "delete u1", b"delete u1\r\n")
    u.close()


text_tcp()
text_pipelined(200)
binary_tcp()
text_udp()
with open(OUT, "w") as f:
    json.dump(log, f, indent=1)
