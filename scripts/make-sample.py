#!/usr/bin/env python3
"""Builds tests/sample/sample.pcap: a few Ethernet conformance pcaps laid one
after another (timestamps shifted so time only moves forward), so the README
demo shows HTTP, DNS, MySQL, PostgreSQL, Redis and ICMP at once."""
import struct
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent / "tests" / "conformance" / "pcaps"
parts = ["http_basicauth.pcap", "dns_mx.pcap", "mysql_long_result.pcap",
         "pgsql_request_response.pcap", "redis_one_transaction.pcap", "icmp/icmp4_ping.pcap"]

def records(path):
    data = path.read_bytes()
    magic = data[:4]
    endian = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">",
              b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}[magic]
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack(endian + "IIII", data[off:off + 16])
        usec = frac // 1000 if nano else frac
        yield sec * 1_000_000 + usec, orig, data[off + 16:off + 16 + incl]
        off += 16 + incl

out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
clock = 1_700_000_000 * 1_000_000
for name in parts:
    recs = list(records(root / name))
    base = recs[0][0]
    for ts, orig, frame in recs:
        t = clock + (ts - base)
        out += struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(frame), orig) + frame
    clock = t + 1_000_000
dest = Path(sys.argv[1]) if len(sys.argv) > 1 else root.parent.parent / "sample" / "sample.pcap"
dest.write_bytes(out)
print(dest, len(out), "bytes")
