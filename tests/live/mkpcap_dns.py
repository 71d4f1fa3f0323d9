#!/usr/bin/env python3
"""Writes a pcap of N DNS query/response pairs over UDP between 10.9.0.1 and
10.9.0.2 (port 53), one pair per 10 ms: N transactions, so N DNS events when
packetbeat reads it with -I. Used by the output live tests.
usage: mkpcap_dns.py OUT.pcap N"""
import struct
import sys


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip_udp(src, dst, sport, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, src, dst)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + udp


def qname(name):
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"


def main():
    out, n = sys.argv[1], int(sys.argv[2])
    cli, srv = bytes([10, 9, 0, 1]), bytes([10, 9, 0, 2])
    eth = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00"
    eth_r = b"\x02\0\0\0\0\x01" + b"\x02\0\0\0\0\x02" + b"\x08\x00"
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        t = 1700000000.0
        for i in range(n):
            name = "host%d.pb.test" % i
            q = struct.pack("!HHHHHH", i & 0xFFFF, 0x0100, 1, 0, 0, 0) + qname(name) + struct.pack("!HH", 1, 1)
            a = (struct.pack("!HHHHHH", i & 0xFFFF, 0x8180, 1, 1, 0, 0) + qname(name) + struct.pack("!HH", 1, 1)
                 + b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([10, 0, (i >> 8) & 255, i & 255]))
            sport = 20000 + (i % 20000)
            for pkt, ts in ((eth + ip_udp(cli, srv, sport, 53, q), t), (eth_r + ip_udp(srv, cli, 53, sport, a), t + 0.001)):
                sec = int(ts)
                f.write(struct.pack("<IIII", sec, int((ts - sec) * 1e6), len(pkt), len(pkt)))
                f.write(pkt)
            t += 0.01


if __name__ == "__main__":
    main()
