#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# tests/bounds/make_flood.py - writes an adversarial pcap (Ethernet/IPv4)
# that tries every way we know to make packetbeat grow without bound:
#
#   syn        half-open TCP connections: a SYN and nothing else
#   oneseg     SYN plus one segment carrying an unfinished request (bytes the
#              tracker must keep for the parser)
#   pending    connections that pipeline requests nobody answers (HTTP,
#              Redis, MySQL, PostgreSQL, Memcache), many per connection
#   dns        DNS queries over UDP that are never answered
#   chunked    HTTP responses (and requests) with endless chunked bodies
#   frag       IPv4 fragments of datagrams that never complete
#   huge       messages whose length field is near 2^32 (MySQL: 2^24-1),
#              followed by megabytes of body: MySQL, PostgreSQL, MongoDB,
#              Cassandra, Thrift (framed), Memcache (set with huge bytes),
#              HTTP (huge Content-Length)
#
# Usage: make_flood.py OUT.pcap [--scale N] [--seed S]
# --scale multiplies every count (1 = about 300k packets, 40 MB).
# Packet times advance 10 us a packet from a fixed start, so the file is the
# same for the same arguments. Stdlib only.
import argparse
import random
import struct
import sys

SERVER = bytes([192, 168, 77, 1])
ETH = bytes.fromhex("020000000001" "020000000002" "0800")
ETH_REV = bytes.fromhex("020000000002" "020000000001" "0800")
REC = struct.Struct("<IIII")
IPH = struct.Struct("!BBHHHBBH4s4s")
TCPH = struct.Struct("!HHIIBBHHH")
UDPH = struct.Struct("!HHHH")

SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01

PORTS = {"http": 80, "redis": 6379, "mysql": 3306, "pgsql": 5432, "mongodb": 27017,
         "cassandra": 9042, "thrift": 9090, "memcache": 11211, "dns": 53}


class Writer:
    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        self.ts = 1_700_000_000 * 1_000_000
        self.n = 0
        self.bytes = 0
        self.buf = []

    def frame(self, data):
        self.ts += 10
        self.buf.append(REC.pack(self.ts // 1_000_000, self.ts % 1_000_000, len(data),
                                 len(data)))
        self.buf.append(data)
        self.n += 1
        self.bytes += len(data) + 16
        if len(self.buf) >= 4096:
            self.flush()

    def flush(self):
        self.f.write(b"".join(self.buf))
        self.buf = []

    def close(self):
        self.flush()
        self.f.close()


def ip4(src, dst, proto, payload, ident=0, frag=0):
    """IPv4 header (checksum left 0: packetbeat does not verify it)."""
    return IPH.pack(0x45, 0, 20 + len(payload), ident & 0xFFFF, frag, 64, proto, 0, src,
                    dst) + payload


def client_ip(i):
    """A distinct client address per block of 50000 ports."""
    h = i // 50000
    return bytes([10, (h >> 8) & 0xFF, h & 0xFF, 1 + (h % 250)])


def client_port(i):
    return 1024 + i % 50000


class Conn:
    """One TCP connection from a fresh client to SERVER:port."""

    def __init__(self, w, idx, port):
        self.w = w
        self.cip = client_ip(idx)
        self.cport = client_port(idx)
        self.port = port
        self.cseq = (idx * 7919) & 0xFFFFFFFF
        self.sseq = (idx * 104729) & 0xFFFFFFFF

    def send(self, payload=b"", flags=ACK | PSH, to_server=True):
        if to_server:
            tcp = TCPH.pack(self.cport, self.port, self.cseq, self.sseq, 5 << 4, flags, 65535,
                            0, 0)
            pkt = ETH + ip4(self.cip, SERVER, 6, tcp + payload)
            self.cseq = (self.cseq + len(payload) + (1 if flags & (SYN | FIN) else 0)) \
                & 0xFFFFFFFF
        else:
            tcp = TCPH.pack(self.port, self.cport, self.sseq, self.cseq, 5 << 4, flags, 65535,
                            0, 0)
            pkt = ETH_REV + ip4(SERVER, self.cip, 6, tcp + payload)
            self.sseq = (self.sseq + len(payload) + (1 if flags & (SYN | FIN) else 0)) \
                & 0xFFFFFFFF
        self.w.frame(pkt)

    def send_split(self, payload, to_server=True, mss=1460):
        for off in range(0, len(payload), mss):
            self.send(payload[off:off + mss], to_server=to_server)


# ---- request bodies ----

def http_get(i):
    return b"GET /flood/%d HTTP/1.1\r\nHost: victim\r\nUser-Agent: flood\r\n\r\n" % i


def redis_cmd(i):
    key = b"key:%d" % i
    return b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(key), key)


def mysql_query(i):
    q = b"\x03SELECT * FROM flood WHERE id = %d" % i
    return struct.pack("<I", len(q))[:3] + b"\x00" + q


def pgsql_query(i):
    q = b"SELECT * FROM flood WHERE id = %d\x00" % i
    return b"Q" + struct.pack("!I", len(q) + 4) + q


def memcache_get(i):
    return b"get key:%d\r\n" % i


def dns_query(i):
    name = b"".join(bytes([len(p)]) + p for p in (b"h%d" % i, b"flood", b"example")) + b"\x00"
    return struct.pack("!HHHHHH", i & 0xFFFF, 0x0100, 1, 0, 0, 0) + name + b"\x00\x01\x00\x01"


PENDING = [("http", http_get), ("redis", redis_cmd), ("mysql", mysql_query),
           ("pgsql", pgsql_query), ("memcache", memcache_get)]


# ---- the flood parts ----

def part_syn(w, base, n):
    ports = list(PORTS.values())
    for i in range(n):
        c = Conn(w, base + i, ports[i % len(ports)] if ports[i % len(ports)] != 53 else 80)
        c.send(flags=SYN)
    return base + n


def part_oneseg(w, base, n, rnd):
    pad = bytes(rnd.getrandbits(8) % 26 + 97 for _ in range(1200))
    starts = {
        80: b"POST /upload HTTP/1.1\r\nHost: victim\r\nX-Pad: " + pad,
        6379: b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$100000\r\n" + pad,
        3306: struct.pack("<I", 60000)[:3] + b"\x00\x03SELECT '" + pad,
        5432: b"Q" + struct.pack("!I", 60000) + b"SELECT '" + pad,
        27017: struct.pack("<iiii", 60000, 1, 0, 2004) + pad,
        9042: bytes([4, 0, 0, 1, 7]) + struct.pack("!I", 60000) + pad,
        9090: struct.pack("!I", 60000) + pad,
        11211: b"set key 0 0 60000\r\n" + pad,
    }
    ports = list(starts)
    for i in range(n):
        port = ports[i % len(ports)]
        c = Conn(w, base + i, port)
        c.send(flags=SYN)
        c.send(starts[port])
    return base + n


def part_pending(w, base, nconns, per_conn):
    for i in range(nconns):
        name, fn = PENDING[i % len(PENDING)]
        c = Conn(w, base + i, PORTS[name])
        c.send(flags=SYN)
        batch = b""
        for j in range(per_conn):
            batch += fn(i * per_conn + j)
            if len(batch) > 1200:
                c.send(batch)
                batch = b""
        if batch:
            c.send(batch)
    return base + nconns


def part_dns(w, base, n):
    for i in range(n):
        idx = base + i
        q = dns_query(idx)
        udp = UDPH.pack(client_port(idx), 53, 8 + len(q), 0) + q
        w.frame(ETH + ip4(client_ip(idx), SERVER, 17, udp))
    return base + n


def part_chunked(w, base, nconns, chunks, rnd):
    chunk = bytes(rnd.getrandbits(8) for _ in range(1400))
    for i in range(nconns):
        c = Conn(w, base + i, 80)
        c.send(flags=SYN)
        if i % 2 == 0:
            c.send(b"GET /stream HTTP/1.1\r\nHost: victim\r\n\r\n")
            c.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                   b"Content-Type: text/html\r\n\r\n", to_server=False)
            to_server = False
        else:
            c.send(b"POST /stream HTTP/1.1\r\nHost: victim\r\nTransfer-Encoding: chunked\r\n"
                   b"Content-Type: application/json\r\n\r\n")
            to_server = True
        for _ in range(chunks):
            c.send(b"%x\r\n" % len(chunk) + chunk + b"\r\n", to_server=to_server)
    return base + nconns


def part_frag(w, base, n, rnd):
    data = bytes(rnd.getrandbits(8) for _ in range(1480))
    for i in range(n):
        idx = base + i
        # offset-0 fragments, middle fragments and a last fragment that never
        # meet; some datagrams get two of them.
        kind = i % 3
        if kind == 0:
            frag = 0x2000  # MF, offset 0
            payload = UDPH.pack(client_port(idx), 53, 8 + 4000, 0) + data[:1472]
        elif kind == 1:
            frag = 0x2000 | ((1480 * (1 + i % 40)) // 8)  # MF, some offset
            payload = data
        else:
            frag = (8000 // 8) * 5  # last fragment far out
            payload = data[:400]
        w.frame(ETH + ip4(client_ip(idx), SERVER, 17, payload, ident=idx, frag=frag))
    return base + n


def part_huge(w, base, nconns, body_bytes, rnd):
    heads = [
        (3306, b"\xff\xff\xff\x00\x03SELECT '"),  # 3-byte length: 2^24-1
        (5432, b"Q" + struct.pack("!I", 0xFFFFFFF0)),
        (5432, struct.pack("!II", 0xFFFFFFF0, 196608)),  # startup message
        (27017, struct.pack("<Iiii", 0xFFFFFFF0, 1, 0, 2004)),
        (27017, struct.pack("<iiii", 0x7FFFFFF0, 1, 0, 2013)),
        (9042, bytes([4, 0, 0, 1, 7]) + struct.pack("!I", 0xFFFFFFF0)),
        (9090, struct.pack("!I", 0xFFFFFFF0) + b"\x80\x01\x00\x01"),
        (11211, b"set key 0 0 4294967200\r\n"),
        (6379, b"*1\r\n$4294967200\r\n"),
        (80, b"POST /x HTTP/1.1\r\nHost: victim\r\nContent-Length: 4294967200\r\n\r\n"),
    ]
    filler = bytes(rnd.getrandbits(8) for _ in range(1460))
    for i in range(nconns):
        port, head = heads[i % len(heads)]
        c = Conn(w, base + i, port)
        c.send(flags=SYN)
        c.send(head)
        for _ in range(body_bytes // len(filler)):
            c.send(filler)
    return base + nconns


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--parts", default="syn,oneseg,pending,dns,chunked,frag,huge",
                    help="comma-separated subset of the parts, in file order")
    a = ap.parse_args()
    s = a.scale
    rnd = random.Random(a.seed)
    w = Writer(a.out)
    idx = 0
    counts = {}

    def n(x):
        return max(1, int(x * s))

    parts = [
        ("syn", lambda b: part_syn(w, b, n(100_000))),
        ("oneseg", lambda b: part_oneseg(w, b, n(40_000), rnd)),
        ("pending", lambda b: part_pending(w, b, n(2_000), 100)),
        ("dns", lambda b: part_dns(w, b, n(30_000))),
        ("chunked", lambda b: part_chunked(w, b, 8, n(2_000), rnd)),
        ("frag", lambda b: part_frag(w, b, n(30_000), rnd)),
        ("huge", lambda b: part_huge(w, b, n(20), 2_000_000, rnd)),
    ]
    wanted = set(a.parts.split(","))
    for name, fn in parts:
        if name not in wanted:
            continue
        before = w.n
        idx = fn(idx)
        counts[name] = w.n - before
    w.close()
    print("wrote %s: %d packets, %d bytes (%s)" % (
        a.out, w.n, w.bytes, ", ".join("%s %d" % kv for kv in counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
