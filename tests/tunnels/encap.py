#!/usr/bin/env python3
"""Writes tunnelled and reordered copies of a pcap (standard library only).

    encap.py IN.pcap OUT.pcap KIND

KIND is one of:
  vxlan     Ethernet in VXLAN (VNI 42) in UDP 4789 in IPv4
  geneve    Ethernet (or, for a capture without Ethernet headers, the IP
            packet) in GENEVE (VNI 77, one option) in UDP 6081 in IPv6
  gre       Ethernet in GRE (transparent Ethernet bridging, key 7), or the IP
            packet in GRE for a capture without Ethernet headers, in IPv4
  erspan2   Ethernet in ERSPAN type II (session 5) in GRE in IPv4
  erspan3   Ethernet in ERSPAN type III (session 6, with the optional
            platform sub-header) in GRE in IPv4
  ipip      the IP packet in IPv4 (protocols 4 and 41)
  reorder   the same frames, with TCP segments swapped: of two data segments
            of one direction that follow each other with no other frame of
            their connection in between, the second comes first (each keeps
            its own timestamp)

The output is Ethernet (LINKTYPE 1) except for `reorder`, which keeps the
input's link type. Frames that carry no IP packet (ARP...) are copied
unchanged. A capture whose frames are not Ethernet gets made-up MAC addresses
where a tunnel needs an Ethernet frame; `encap.py --needs-eth KIND` says
whether a kind does (exit 0: yes).
"""

import struct
import sys

OUTER_MAC_SRC = bytes.fromhex("020000000001")
OUTER_MAC_DST = bytes.fromhex("020000000002")
INNER_MAC_SRC = bytes.fromhex("02000000aa01")
INNER_MAC_DST = bytes.fromhex("02000000aa02")
OUTER_V4_SRC = bytes([192, 0, 2, 1])
OUTER_V4_DST = bytes([192, 0, 2, 2])
OUTER_V6_SRC = bytes.fromhex("20010db8000000000000000000000001")
OUTER_V6_DST = bytes.fromhex("20010db8000000000000000000000002")

ETH_IPV4, ETH_IPV6, ETH_TEB = 0x0800, 0x86DD, 0x6558
VLAN_TYPES = (0x8100, 0x88A8, 0x9100)

KINDS = ("vxlan", "geneve", "gre", "erspan2", "erspan3", "ipip", "reorder")
NEEDS_ETH = ("vxlan", "erspan2", "erspan3")


def read_pcap(path):
    with open(path, "rb") as fh:
        data = fh.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise SystemExit("%s: not a classic pcap file" % path)
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    snap, link = struct.unpack(end + "II", data[16:24])
    frames = []
    off = 24
    while off + 16 <= len(data):
        sec, frac, cap, wire = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16
        frames.append((sec, frac, data[off:off + cap], wire))
        off += cap
    return nano, snap, link & 0xFFFF, frames


def write_pcap(path, nano, link, frames):
    with open(path, "wb") as fh:
        magic = 0xA1B23C4D if nano else 0xA1B2C3D4
        fh.write(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, 262144, link))
        for sec, frac, buf, wire in frames:
            fh.write(struct.pack("<IIII", sec, frac, len(buf), wire))
            fh.write(buf)


def split_link(link, buf):
    """(ethernet frame or None, ethertype, IP packet or None)."""
    if link == 1:
        if len(buf) < 14:
            return buf, None, None
        etype = struct.unpack(">H", buf[12:14])[0]
        off = 14
        while etype in VLAN_TYPES and len(buf) >= off + 4:
            etype = struct.unpack(">H", buf[off + 2:off + 4])[0]
            off += 4
        if etype in (ETH_IPV4, ETH_IPV6):
            return buf, etype, buf[off:]
        return buf, None, None
    if link in (0, 108):
        ip = buf[4:]
    elif link == 113:
        ip = buf[16:]
    elif link == 276:
        ip = buf[20:]
    elif link in (12, 14, 101, 228, 229):
        ip = buf
    else:
        raise SystemExit("link type %d not handled" % link)
    if not ip:
        return None, None, None
    ver = ip[0] >> 4
    if ver not in (4, 6):
        return None, None, None
    etype = ETH_IPV4 if ver == 4 else ETH_IPV6
    eth = INNER_MAC_DST + INNER_MAC_SRC + struct.pack(">H", etype) + ip
    return eth, etype, ip


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(">%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4(proto, payload, extra_wire):
    total = 20 + len(payload)
    tl = total if total <= 0xFFFF and extra_wire == 0 else 0
    hdr = struct.pack(">BBHHHBBH4s4s", 0x45, 0, tl, 0x1234, 0x4000, 64, proto, 0,
                      OUTER_V4_SRC, OUTER_V4_DST)
    hdr = hdr[:10] + struct.pack(">H", csum(hdr)) + hdr[12:]
    return OUTER_MAC_DST + OUTER_MAC_SRC + struct.pack(">H", ETH_IPV4) + hdr + payload


def ipv6(proto, payload, extra_wire):
    pl = len(payload) if len(payload) <= 0xFFFF and extra_wire == 0 else 0
    hdr = struct.pack(">IHBB16s16s", 0x60000000, pl, proto, 64, OUTER_V6_SRC, OUTER_V6_DST)
    return OUTER_MAC_DST + OUTER_MAC_SRC + struct.pack(">H", ETH_IPV6) + hdr + payload


def udp(dport, payload, extra_wire):
    ln = 8 + len(payload)
    ln = ln if ln <= 0xFFFF and extra_wire == 0 else 0
    return struct.pack(">HHHH", 49152, dport, ln, 0) + payload


def encap(kind, eth, etype, ip, missing):
    """The outer frame; missing = bytes of the original not captured."""
    if kind == "vxlan":
        inner = struct.pack(">BBHI", 0x08, 0, 0, 42 << 8) + eth
        return ipv4(17, udp(4789, inner, missing), missing)
    if kind == "geneve":
        opt = struct.pack(">HBB", 0x0102, 0x80, 1) + b"\x11\x22\x33\x44"  # one 4-byte option
        if eth is not None and eth[:6] != INNER_MAC_DST:
            proto, body = ETH_TEB, eth
        else:
            proto, body = etype, ip
        hdr = struct.pack(">BBHI", len(opt) // 4, 0, proto, 77 << 8) + opt
        return ipv6(17, udp(6081, hdr + body, missing), missing)
    if kind == "gre":
        if eth is not None and eth[:6] != INNER_MAC_DST:
            proto, body = ETH_TEB, eth
        else:
            proto, body = etype, ip
        return ipv4(47, struct.pack(">HHI", 0x2000, proto, 7) + body, missing)
    if kind == "erspan2":
        gre = struct.pack(">HHI", 0x1000, 0x88BE, 1)
        hdr = struct.pack(">HHI", (1 << 12) | 0, 5, 0)
        return ipv4(47, gre + hdr + eth, missing)
    if kind == "erspan3":
        gre = struct.pack(">HHI", 0x1000, 0x22EB, 1)
        hdr = struct.pack(">HHIHH", (2 << 12), 6, 0x01020304, 0, 0x0001) + b"\0" * 8
        return ipv4(47, gre + hdr + eth, missing)
    if kind == "ipip":
        return ipv4(4 if etype == ETH_IPV4 else 41, ip, missing)
    raise SystemExit("unknown kind %s" % kind)


def tunnel_copy(link, frames, kind):
    out = []
    for sec, frac, buf, wire in frames:
        eth, etype, ip = split_link(link, buf)
        if etype is None or (eth is None and kind in NEEDS_ETH):
            if link == 1:
                out.append((sec, frac, buf, wire))
            continue
        missing = max(wire - len(buf), 0)
        frame = encap(kind, eth, etype, ip, missing)
        out.append((sec, frac, frame, len(frame) + missing))
    return out


# ---- reorder ----

def tcp_info(link, buf):
    """(connection key, direction key, payload length, flags, seq) or None."""
    _, etype, ip = split_link(link, buf)
    if ip is None or len(ip) < 20:
        return None
    if etype == ETH_IPV4:
        ihl = (ip[0] & 15) * 4
        if ip[9] != 6 or len(ip) < ihl + 20 or (struct.unpack(">H", ip[6:8])[0] & 0x3FFF):
            return None
        total = struct.unpack(">H", ip[2:4])[0] or len(ip)
        src, dst, tcp, tcplen = ip[12:16], ip[16:20], ip[ihl:], min(total, len(ip)) - ihl
    else:
        if len(ip) < 60 or ip[6] != 6:
            return None
        plen = struct.unpack(">H", ip[4:6])[0] or len(ip) - 40
        src, dst, tcp, tcplen = ip[8:24], ip[24:40], ip[40:], min(plen, len(ip) - 40)
    sport, dport = struct.unpack(">HH", tcp[:4])
    seq = struct.unpack(">I", tcp[4:8])[0]
    flags = tcp[13]
    doff = (tcp[12] >> 4) * 4
    plen = tcplen - doff
    a, b = (src, sport), (dst, dport)
    return (min(a, b), max(a, b)), (a, b), plen, flags, seq


def reorder_copy(link, frames):
    info = [tcp_info(link, f[2]) for f in frames]
    order = list(range(len(frames)))
    seen_data = set()  # directions with data delivered (or a SYN seen)
    i = 0
    while i < len(order):
        cur = info[order[i]]
        if cur is None:
            i += 1
            continue
        conn, dirk, plen, flags, seq = cur
        if flags & 0x02:
            seen_data.add(dirk)  # a SYN: the tracker knows where data starts
        if plen <= 0 or flags & 0x05:
            i += 1
            continue
        # the next frame of this connection
        j = i + 1
        while j < len(order) and (info[order[j]] is None or info[order[j]][0] != conn):
            j += 1
        nxt = info[order[j]] if j < len(order) else None
        # only a segment that continues this one: swapping two copies of one
        # segment would change which copy counts, not the order
        if (nxt is not None and nxt[1] == dirk and nxt[2] > 0 and not nxt[3] & 0x07
                and nxt[4] == (seq + plen) & 0xFFFFFFFF and dirk in seen_data):
            order[i], order[j] = order[j], order[i]
            i = j + 1
            continue
        seen_data.add(dirk)
        i += 1
    return [frames[k] for k in order]


def main(argv):
    if len(argv) == 3 and argv[1] == "--needs-eth":
        return 0 if argv[2] in NEEDS_ETH else 1
    if len(argv) != 4 or argv[3] not in KINDS:
        sys.stderr.write(__doc__)
        return 2
    nano, _snap, link, frames = read_pcap(argv[1])
    if argv[3] == "reorder":
        write_pcap(argv[2], nano, link, reorder_copy(link, frames))
    else:
        write_pcap(argv[2], nano, 1, tunnel_copy(link, frames, argv[3]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
