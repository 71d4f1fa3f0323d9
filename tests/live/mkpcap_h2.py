#!/usr/bin/env python3
"""Writes a pcap of one HTTP/2 prior-knowledge TCP connection between
10.9.1.1:40001 and 10.9.1.2:50051 carrying a gRPC call
(/helloworld.Greeter/SayHello, grpc-status 0 in trailers) on stream 1 and a
GET / on stream 3 multiplexed with it (its HEADERS sent while stream 1 is
open, its answer first), then FIN both ways. HPACK: static and dynamic
table references, literals; frames split across TCP segments.
usage: mkpcap_h2.py OUT.pcap"""
import struct
import sys

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def hint(first, nbits, v):
    mx = (1 << nbits) - 1
    if v < mx:
        return bytes([first | v])
    out = [first | mx]
    v -= mx
    while v >= 128:
        out.append(0x80 | (v & 0x7F))
        v >>= 7
    out.append(v)
    return bytes(out)


def lit(name_idx, value, name=b"", index=False):
    b = hint(0x40, 6, name_idx) if index else hint(0, 4, name_idx)
    if name_idx == 0:
        b += hint(0, 7, len(name)) + name
    return b + hint(0, 7, len(value)) + value


def idx(i):
    return hint(0x80, 7, i)


def frame(ftype, flags, sid, payload=b""):
    n = len(payload)
    return struct.pack(">BHBBI", n >> 16, n & 0xFFFF, ftype, flags, sid) + payload


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip_tcp(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, src, dst)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + tcp


def main():
    cli, srv = bytes([10, 9, 1, 1]), bytes([10, 9, 1, 2])
    cp, sp = 40001, 50051
    # client: preface, SETTINGS, gRPC request headers (stream 1), GET / (stream 3)
    c1 = PREFACE + frame(4, 0, 0, struct.pack(">HI", 1, 4096))
    h = idx(3) + idx(6) + lit(4, b"/helloworld.Greeter/SayHello")
    h += lit(1, b"grpc.pb.test:50051", index=True)  # dynamic 62
    h += lit(31, b"application/grpc") + lit(0, b"trailers", name=b"te")
    c1 += frame(1, 0x4, 1, h)
    c2 = frame(1, 0x5, 3, idx(2) + idx(6) + idx(4) + idx(62))
    c3 = frame(0, 0x1, 1, b"\x00\x00\x00\x00\x07\x0a\x05world")
    # server: SETTINGS + ACK, stream 3 answered, then the gRPC response
    s1 = frame(4, 0, 0) + frame(4, 1, 0) + frame(1, 0x5, 3, idx(8) + lit(31, b"text/html") + lit(28, b"0"))
    s2 = frame(1, 0x4, 1, idx(8) + lit(31, b"application/grpc"))
    s2 += frame(0, 0, 1, b"\x00\x00\x00\x00\x0d\x0a\x0bhello world")
    s2 += frame(1, 0x5, 1, lit(0, b"0", name=b"grpc-status") + lit(0, b"", name=b"grpc-message"))
    seq = {0: 1000, 1: 5000}
    pkts = []
    t = [1700000000.0]

    def send(d, flags, payload=b""):
        src, dst, sport, dport = (cli, srv, cp, sp) if d == 0 else (srv, cli, sp, cp)
        pkts.append((t[0], ip_tcp(src, dst, sport, dport, seq[d], seq[1 - d], flags, payload)))
        seq[d] += len(payload) + (1 if flags & 0x03 else 0)
        t[0] += 0.001

    send(0, 0x02)
    send(1, 0x12)
    send(0, 0x10)
    send(0, 0x18, c1[:30])  # the preface split across segments
    send(0, 0x18, c1[30:])
    send(0, 0x18, c2)
    send(1, 0x18, s1)
    send(0, 0x18, c3)
    send(1, 0x18, s2[:20])
    send(1, 0x18, s2[20:])
    send(0, 0x11)
    send(1, 0x11)
    send(0, 0x10)
    with open(sys.argv[1], "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))  # LINKTYPE_RAW
        for ts, p in pkts:
            f.write(struct.pack("<IIII", int(ts), int((ts % 1) * 1e6), len(p), len(p)))
            f.write(p)


main()
