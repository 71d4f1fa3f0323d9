#!/usr/bin/env python3
"""Writes the fuzz seed corpora (tests/fuzz/corpus/<target>/) from the
conformance pcaps and configs, in the input formats the targets read
(see the comments at the top of tests/fuzz/fuzz_*.c). Deterministic: running
it again gives the same files."""
import hashlib
import json
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "tests" / "conformance"
OUT = ROOT / "tests" / "fuzz" / "corpus"

# same order as in tests/fuzz/fuzz_packet.c and fuzz_proto.c
LINKS = [1, 113, 276, 0, 108, 101, 228, 229]
NAMES = ["icmp", "dhcpv4", "dns", "http", "amqp", "cassandra", "mysql", "pgsql", "redis",
         "thrift", "mongodb", "memcache", "tls", "nfs", "sip"]
DEFAULT_PORTS = {"dhcpv4": [67, 68], "dns": [53], "http": [80, 8080], "amqp": [5672],
                 "cassandra": [9042], "memcache": [11211], "mysql": [3306, 3307],
                 "pgsql": [5432], "redis": [6379], "thrift": [9090], "mongodb": [27017],
                 "nfs": [2049], "tls": [443], "sip": [5060]}
PACKET_CAP = 32 * 1024
PROTO_CAP = 16 * 1024


def read_pcap(path):
    """(linktype, [frame bytes]) of a pcap or pcapng file."""
    data = path.read_bytes()
    frames = []
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = "<" if magic[0] in (0xd4, 0x4d) else ">"
        link = struct.unpack(e + "I", data[20:24])[0] & 0xFFFF
        off = 24
        while off + 16 <= len(data):
            incl = struct.unpack(e + "I", data[off + 8:off + 12])[0]
            frames.append(data[off + 16:off + 16 + incl])
            off += 16 + incl
        return link, frames
    # pcapng: first interface's link type, enhanced and simple packet blocks
    e = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    off, link = 0, None
    while off + 12 <= len(data):
        btype, blen = struct.unpack(e + "II", data[off:off + 8])
        if blen < 12:
            break
        body = data[off + 8:off + blen - 4]
        if btype == 1 and link is None:
            link = struct.unpack(e + "H", body[:2])[0]
        elif btype == 6:
            incl = struct.unpack(e + "I", body[12:16])[0]
            frames.append(body[20:20 + incl])
        elif btype == 3:
            frames.append(body[4:])
        off += blen
    return link if link is not None else 1, frames


def l3(link, f):
    """(ethertype-ish version, ip bytes) or None."""
    if link == 1:
        off, et = 12, None
        while off + 2 <= len(f):
            et = struct.unpack(">H", f[off:off + 2])[0]
            if et in (0x8100, 0x88a8, 0x9100):
                off += 4
                continue
            return f[off + 2:]
        return None
    if link == 113:
        return f[16:]
    if link == 276:
        return f[20:]
    if link in (0, 108):
        return f[4:]
    return f


def l4(ip):
    """(proto, src, dst, sport, dport, flags, payload) or None."""
    if len(ip) < 20:
        return None
    v = ip[0] >> 4
    if v == 4:
        ihl = (ip[0] & 15) * 4
        proto, src, dst, body = ip[9], ip[12:16], ip[16:20], ip[ihl:struct.unpack(">H", ip[2:4])[0]]
    elif v == 6 and len(ip) >= 40:
        proto, src, dst, body = ip[6], ip[8:24], ip[24:40], ip[40:]
    else:
        return None
    if proto == 6 and len(body) >= 20:
        sport, dport = struct.unpack(">HH", body[:4])
        return proto, src, dst, sport, dport, body[13], body[(body[12] >> 4) * 4:]
    if proto == 17 and len(body) >= 8:
        sport, dport = struct.unpack(">HH", body[:4])
        return proto, src, dst, sport, dport, 0, body[8:]
    if proto in (1, 58):
        return proto, src, dst, 0, 0, 0, body
    return None


def write(target, name, blob):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(blob)


def packet_seed(link, frames):
    blob = bytearray([LINKS.index(link) if link in LINKS else 0])
    for f in frames:
        f = f[:65535]
        if len(blob) + 2 + len(f) > PACKET_CAP:
            break
        blob += struct.pack(">H", len(f)) + f
    return bytes(blob)


def proto_seed(proto, ports, link, frames, opts):
    blob = bytearray([NAMES.index(proto), opts])
    for f in frames:
        ip = l3(link, f)
        t = l4(ip) if ip else None
        if t is None:
            continue
        tp, _, _, sport, dport, flags, payload = t
        if proto == "icmp":
            if tp not in (1, 58):
                continue
            to_server = payload[:1] in (b"\x08", b"\x80", b"\x0d", b"\x0f", b"\x11")
        else:
            if sport not in ports and dport not in ports:
                continue
            to_server = dport in ports
        dirbit = 0 if to_server else 8
        if tp == 6:
            if payload:
                chunk = payload[:PROTO_CAP]
                blob += bytes([0 if to_server else 1]) + struct.pack(">H", len(chunk)) + chunk
            if flags & 1:
                blob += bytes([3 | dirbit])
        else:
            chunk = payload[:PROTO_CAP]
            blob += bytes([4 | dirbit]) + struct.pack(">H", len(chunk)) + chunk
        if len(blob) > PROTO_CAP:
            break
    blob += bytes([5 | (31 << 3)])
    return bytes(blob)


def main():
    cases = json.loads((CONF / "cases.json").read_text())
    seen_packet, seen_proto = set(), set()
    for case in cases:
        if not case.get("pcap") or not (CONF / case["pcap"]).exists():
            continue
        pcap = CONF / case["pcap"]
        link, frames = read_pcap(pcap)
        key = hashlib.sha1(pcap.read_bytes()).hexdigest()[:12]
        if key not in seen_packet:
            seen_packet.add(key)
            write("fuzz_packet", pcap.stem + ".bin", packet_seed(link, frames))
        proto = case.get("protocol")
        if proto in NAMES and (key, proto) not in seen_proto:
            seen_proto.add((key, proto))
            ports = case.get("template_vars", {}).get(proto + "_ports") or DEFAULT_PORTS.get(proto, [])
            for opts in (0, 1):
                write("fuzz_proto", f"{proto}-{pcap.stem}-{opts}.bin",
                      proto_seed(proto, set(ports), link, frames, opts))
        cfg = json.dumps(case.get("config") or {}, sort_keys=True).encode()
        write("fuzz_config", hashlib.sha1(cfg).hexdigest()[:12] + ".yml", cfg)
    write("fuzz_config", "packetbeat.yml", (ROOT / "packetbeat.yml").read_bytes())


if __name__ == "__main__":
    main()
