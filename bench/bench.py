#!/usr/bin/env python3
"""bench.py: the offline benchmark of packetbeat, side by side with the libpcap floor,
tcpdump and tshark, plus an event-count check against each corpus' ground truth.

Run it through bench/run.sh (one command: builds, generates the corpora, measures, and
rewrites the "## Performance" section of README.md).

Steps:
  1. corpora (deterministic, make-corpus, cached in bench/.cache, git-ignored):
       mixed-200M  the default mix, 200 MB
       dense-50M   --mix dns=30,redis=30,memcache=20,pgsql=10,mysql=10, 50 MB
       mixed-5M    the default mix, 5 MB (callgrind)
       real        bench/.cache/real.pcap when present (record-real, --real records it)
  2. per corpus, every tool once untimed (page cache warm-up), then N timed runs:
     CPU = user+sys of the process, run directly (wait4; no shell or /usr/bin/time whose
     start-up would count), wall = monotonic clock; medians; peak RSS from /usr/bin/time
     %M on the warm-up run.  packets/s, MB/s and transactions/s are per CPU
     second (every tool here is single-threaded in its packet work; packetbeat's output
     thread is included in its CPU time).  "x floor" = CPU time / pcap-floor -m next.
  3. correctness: packetbeat's events per protocol (the file output, counted by
     `type`) against the corpus' .meta.json (make-corpus ground truth) plus the memcache
     `quit`s (published alone, as Packetbeat does), or, for the recorded corpus,
     count-requests (approximate).  Shown beside, for information: what Packetbeat
     8.17.2 itself would publish (a model of its http, redis and memcache parsers
     replays the corpus' streams: HEAD responses, replies that read as commands, split
     array headers; see "Packetbeat's own counting"), which loses transactions there.
  4. callgrind: instructions per packet on mixed-5M (noise-free before/after figure).
  Workers: packetbeat is measured once per N of --pb-workers (default 1,2); N > 1 adds
     -E packetbeat.interfaces.workers=N ("packetbeat (workers=N)"); packets/s (wall) shows
     the scale-out; its events must equal the N=1 run's, type by type.
  5. --live (opt-in; root, tcpreplay): live-capture-test replays mixed-200M at each rate of
     --live-rates into a private netns' loopback for packetbeat af_packet, packetbeat pcap
     and tcpdump -nn: packets sent, received, captured, kernel drops (results.json "live";
     a run without --live keeps the last ones).
"""
import argparse
import collections
import datetime
import glob
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DENSE_MIX = "dns=30,redis=30,memcache=20,pgsql=10,mysql=10"
CORPORA = [
    # name, make-corpus args, description
    ("mixed-200M", ["-s", "200M"], "default mix, 200 MB"),
    ("dense-50M", ["-s", "50M", "--mix", DENSE_MIX], "transaction-dense mix (%s), 50 MB" % DENSE_MIX),
    ("mixed-5M", ["-s", "5M"], "default mix, 5 MB"),
]
PROTOS = ["http", "dns", "redis", "memcache", "mysql", "pgsql"]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run_wrapped(cmd, cwd=None):
    """`sh -c cmd` under /usr/bin/time: (rc, wall s, cpu s, user s, sys s, peak RSS KB). The peak RSS of a
    process is right only this way (a direct child of this Python process starts from
    Python's own resident size, which exec keeps in ru_maxrss); its CPU time includes the
    shell's and time's start-up, a few ms."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        t0 = time.perf_counter()
        p = subprocess.Popen(["/usr/bin/time", "-o", tf.name, "-f", "%M", "sh", "-c", cmd], cwd=cwd)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        rc = os.waitstatus_to_exitcode(status)
        lines = tf.read().strip().splitlines()
        rss = int(lines[-1]) if lines and lines[-1].isdigit() else 0
    return rc, wall, ru.ru_utime + ru.ru_stime, ru.ru_utime, ru.ru_stime, rss


def run_once(cmd, cwd=None):
    """Runs cmd, a command line with at most a trailing `> /dev/null` (and `2>&1`), as a
    direct child (no shell, no /usr/bin/time around it: their start-up would count in
    its CPU time, a few ms, much of a small floor's): (rc, wall s, cpu s, user s, sys s)."""
    argv = shlex.split(cmd)
    out = err = None
    if argv[-1:] == ["2>&1"]:
        argv.pop()
        err = subprocess.STDOUT
    if argv[-2:] == [">", "/dev/null"]:
        argv = argv[:-2]
        out = subprocess.DEVNULL
    if err is subprocess.STDOUT and out is subprocess.DEVNULL:
        err = subprocess.DEVNULL
    if any(t in (">", "<", "|", "2>&1", "&&", ";") for t in argv):
        raise ValueError("run_once: more shell than a trailing > /dev/null in %r" % cmd)
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=err)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, wall, ru.ru_utime + ru.ru_stime, ru.ru_utime, ru.ru_stime


def ensure_corpus(cache, name, args):
    """Generates cache/name.pcap unless a file made with the same arguments is there."""
    out = os.path.join(cache, name + ".pcap")
    meta = out + ".meta.json"
    if os.path.exists(out) and os.path.exists(meta):
        m = json.load(open(meta))
        want = {"size": args[args.index("-s") + 1],
                "mix": args[args.index("--mix") + 1] if "--mix" in args else None}
        got = m.get("args", {})
        if got.get("size") == want["size"] and (want["mix"] is None or got.get("mix") == want["mix"]) \
                and got.get("seed", 1) == 1 and os.path.getsize(out) == m.get("bytes"):
            return out
    log("generating %s (make-corpus %s)" % (out, " ".join(args)))
    subprocess.run([os.path.join(HERE, "make-corpus")] + args + ["-o", out], check=True,
                   stdout=subprocess.DEVNULL)
    return out


def md5(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def pb_cmd(pb, conf, F, outdir, workdir, workers=1):
    # the shipped packetbeat.yml as it is (flows, processors); only the output overridden
    # to a file; rotate_every_kb raised so that every event stays for the count. workers > 1
    # adds -E packetbeat.interfaces.workers=N (N=1 is the command line as it always was).
    return ("%s -I '%s' -t -c '%s' --path.data '%s' --path.logs '%s' "
            "-E output.elasticsearch.enabled=false -E output.file.path='%s' "
            "-E output.file.filename=packetbeat -E output.file.rotate_every_kb=4194304 %s"
            "> /dev/null 2>&1" % (pb, F, conf, os.path.join(workdir, "data"),
                                  os.path.join(workdir, "logs"), outdir,
                                  "-E packetbeat.interfaces.workers=%d " % workers if workers != 1 else ""))


def pb_name(workers):
    return "packetbeat" if workers == 1 else "packetbeat (workers=%d)" % workers


def count_events(outdir):
    """The events of the output files per type, and the files' bytes."""
    c = collections.Counter()
    size = 0
    for fn in sorted(glob.glob(os.path.join(outdir, "packetbeat*"))):
        with open(fn, "rb") as f:
            for line in f:
                size += len(line)
                if not line.strip():
                    continue
                try:
                    ev = json.loads(line)
                except ValueError:
                    c["(bad json)"] += 1
                    continue
                c[ev.get("type", "(none)")] += 1
    return c, size



# ------------------------------------------------------------------ Packetbeat's own counting
# make-corpus counts a transaction when the last packet of its response is in the file. Packetbeat
# 8.17.2 does not publish exactly one event per such transaction, because of its parsers (checked
# in the elastic/beats source); the model below replays the corpus' TCP streams the way those
# parsers cut them, to show what Packetbeat itself would publish (for information: packetbeat here
# is correct where Packetbeat loses transactions through these parser bugs, so its expectation is
# the ground truth plus the memcache quits):
#   http      a response to HEAD carries Content-Length (or chunked) but no body; Packetbeat's
#             parser does not know the request was a HEAD and takes the next bytes as the body,
#             so the responses after it on the connection are eaten, misparsed or misaligned
#             (a stream that fails to parse is dropped and parsing restarts with the next
#             segment; responses pair with the oldest waiting request; at FIN the message being
#             parsed is published as it is; a response with no request is published alone).
#   redis     a message is a request when it is an array whose first element (or first two)
#             name a command, whichever side sent it: an HGETALL reply whose first field is
#             "echo" is a request (from the server), queued before the real ones, and the
#             pairing shifts by one; and an array header line ("*12") cut by a segment
#             boundary is a parse error, not "need more": the stream is dropped.
#   memcache  a text `quit` gets no response; Packetbeat publishes it alone, as a transaction
#             without response; make-corpus does not count it.
# Each model runs twice per connection: as Packetbeat parses ("pb") and as a correct parser
# ("ref": HEAD-aware, requests by direction, array headers may be split). ref should equal the
# ground truth (checked: "model check" below); Packetbeat would publish ground truth + (pb - ref).

MODEL_PORTS = {"http": {80, 8080, 8000, 5000, 8002}, "redis": {6379}, "memcache": {11211}}
MAX_STREAM = 10 * 1024 * 1024     # Packetbeat's tcp.TCPMaxDataInStream
MORE, DONE, BAD = 0, 1, 2


def tcp_segments(path, ports):
    """(connection key, direction, TCP flags, payload) of the IPv4/TCP packets of an Ethernet
    pcap on `ports`; direction 0 = to the side whose port is in `ports`."""
    with open(path, "rb") as f:
        gh = f.read(24)
        e = "<" if gh[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        if len(gh) < 24 or struct.unpack(e + "I", gh[20:24])[0] != 1:
            return
        rec = struct.Struct(e + "IIII")
        while True:
            h = f.read(16)
            if len(h) < 16:
                return
            d = f.read(rec.unpack(h)[2])
            if len(d) < 54 or d[12:14] != b"\x08\x00" or d[14] >> 4 != 4 or d[23] != 6:
                continue
            t = 14 + (d[14] & 15) * 4
            end = 14 + struct.unpack("!H", d[16:18])[0]
            sp, dp = struct.unpack("!HH", d[t:t + 4])
            if dp in ports:
                key, dr = (d[26:30], sp, d[30:34], dp), 0
            elif sp in ports:
                key, dr = (d[30:34], dp, d[26:30], sp), 1
            else:
                continue
            yield key, dr, d[t + 13], d[t + (d[t + 12] >> 4) * 4:end]


def ascii_int(b):
    m = re.match(rb"[0-9]+", b)
    return int(m.group(0)) if m else None


def go_trim(v):
    # Packetbeat's header value trim: its right trim never looks at byte 0
    i = len(v) - 1
    while i > 0 and v[i] in b" \t":
        i -= 1
    return (v[:i + 1] if i > 0 else b"").lstrip(b" \t")


class HttpModel:
    """One HTTP/1.x connection: Packetbeat's framing and correlation, counting events."""
    HEX = re.compile(rb"[+]?[0-9a-fA-F]+\Z")

    def __init__(self, ref):
        self.ref = ref                              # frame HEAD responses without a body
        self.st = [None, None]                      # [buffer, phase, bytes left, message]
        self.waiting = 0                            # requests waiting for a response
        self.methods = collections.deque()          # ref: methods of the requests seen
        self.events = 0

    def head(self, b, m):
        i = b.find(b"\r\n")
        if i < 0:
            return MORE, 0
        fl = b[:i]
        if len(fl) < 9:
            return BAD, 0
        if fl[:5] == b"HTTP/":
            sl = fl[9:]
            code = ascii_int(sl[:sl.find(b" ")] if b" " in sl else sl)
            if code is None:
                return BAD, 0
            m.update(req=False, code=code)
            ver = fl[5:8]
        else:
            ws = [k for k in range(len(fl)) if fl[k] in b" \t\n\v\f\r"]
            if len(ws) < 2 or fl[ws[-1] + 1:ws[-1] + 6] != b"HTTP/" or len(fl) <= ws[-1] + 6:
                return BAD, 0
            m.update(req=True, method=fl[:ws[0]])
            ver = fl[ws[-1] + 6:]
        m["v10"] = not (len(ver) >= 3 and ver[0] in b"01" and ver[2] in b"012") or (ver[0], ver[2]) == (49, 48)
        off = i + 2
        m.update(cl=0, has_cl=False, chunked=False, conn=b"")
        while b[off:off + 2] != b"\r\n":
            c = b.find(b":", off)
            q = b.find(b"\r\n", c + 1) if c >= 0 else -1
            if q < 0:
                return MORE, 0
            name, val = b[off:c].lower(), go_trim(b[c + 1:q])
            if name == b"content-length":
                m["cl"], m["has_cl"] = ascii_int(val) or 0, True
            elif name == b"transfer-encoding":
                m["chunked"] = val.split(b",")[-1].strip(b" ").lower() == b"chunked"
            elif name == b"connection":
                m["conn"] = val
            off = q + 2
        return DONE, off + 2

    def parse(self, s):
        b, phase, left, m = s
        while b:
            if phase == "head":
                r, off = self.head(b, m)
                if r != DONE:
                    s[0] = b
                    return r
                b = b[off:]
                nobody = not m["req"] and (100 <= m["code"] < 200 or m["code"] in (204, 304))
                if self.ref and not m["req"] and self.methods and self.methods.popleft() == b"HEAD":
                    nobody = True
                if nobody or (not m["chunked"] and m["cl"] == 0 and (m["req"] or m["has_cl"])):
                    s[0], s[1] = b, "head"
                    return DONE
                if m["chunked"]:
                    phase = "size"
                elif not m["has_cl"] and (m["conn"] == b"close" or (m["v10"] and m["conn"] != b"keep-alive")):
                    phase = "eof"               # until FIN
                else:
                    phase, left = "body", m["cl"]
            elif phase == "eof":
                b = b""
            elif phase in ("body", "data"):
                if len(b) >= left:
                    b = b[left:]
                    if phase == "body":
                        s[0], s[1] = b, "head"
                        return DONE
                    phase = "size"
                elif phase == "data" and len(b) >= left - 2:
                    break                        # waits for the chunk's CRLF
                else:
                    left -= len(b)
                    b = b""
            elif phase == "size":
                i = b.find(b"\r\n")
                if i < 0:
                    break
                if not self.HEX.match(b[:i]) or int(b[:i], 16) >= 2 ** 31:
                    return BAD
                n = int(b[:i], 16)
                b = b[i + 2:]
                phase, left = ("crlf", 0) if n == 0 else ("data", n + 2)
            elif phase == "crlf":
                if len(b) < 2:
                    break
                if b[:2] != b"\r\n":
                    return BAD
                s[0], s[1] = b[2:], "head"
                return DONE
        s[0], s[1], s[2] = b, phase, left
        return MORE

    def message(self, m):
        if m.get("req"):
            self.waiting += 1
            if self.ref:
                self.methods.append(m["method"])
        else:
            self.waiting -= 1 if self.waiting else 0
            self.events += 1                      # paired, or published as unmatched

    def data(self, d, payload):
        s = self.st[d]
        if s is None:
            s = self.st[d] = [b"", "head", 0, None]
        s[0] += payload
        if len(s[0]) > MAX_STREAM:
            self.st[d] = None
            return
        while s[0]:
            if s[3] is None:
                s[3] = {}
            r = self.parse(s)
            if r == BAD:
                self.st[d] = None
                return
            if r == MORE:
                return
            self.message(s[3])
            s[3] = None

    def fin(self, d):
        s = self.st[d]
        if s is not None and s[3] is not None:
            self.message(s[3])
            s[1], s[3] = "head", None


REDIS_COMMANDS = {c.replace("_", " ") for c in """APPEND AUTH BGREWRITEAOF BGSAVE BITCOUNT BITOP
    BITPOS BLPOP BRPOP BRPOPLPUSH CLIENT_GETNAME CLIENT_KILL CLIENT_LIST CLIENT_PAUSE CLIENT_SETNAME
    CONFIG_GET CONFIG_RESETSTAT CONFIG_REWRITE CONFIG_SET DBSIZE DEBUG_OBJECT DEBUG_SEGFAULT DECR DECRBY
    DEL DISCARD DUMP ECHO EVAL EVALSHA EXEC EXISTS EXPIRE EXPIREAT FLUSHALL FLUSHDB GET GETBIT GETRANGE
    GETSET HDEL HEXISTS HGET HGETALL HINCRBY HINCRBYFLOAT HKEYS HLEN HMGET HMSET HSCAN HSET HSETINX
    HVALS INCR INCRBY INCRBYFLOAT INFO KEYS LASTSAVE LINDEX LINSERT LLEN LPOP LPUSH LPUSHX LRANGE LREM
    LSET LTRIM MGET MIGRATE MONITOR MOVE MSET MSETNX MULTI OBJECT PERSIST PEXPIRE PEXPIREAT PFADD
    PFCOUNT PFMERGE PING PSETEX PSUBSCRIBE PTTL PUBLISH PUBSUB PUNSUBSCRIBE QUIT RANDOMKEY RENAME
    RENAMENX RESTORE RPOP RPOPLPUSH RPUSH RPUSHX SADD SAVE SCAN SCARD SCRIPT_EXISTS SCRIPT_FLUSH
    SCRIPT_KILL SCRIPT_LOAD SDIFF SDIFFSTORE SELECT SET SETBIT SETEX SETNX SETRANGE SHUTDOWN SINTER
    SINTERSTORE SISMEMBER SLAVEOF SLOWLOG SMEMBERS SMOVE SORT SPOP SRANDMEMBER SREM SSCAN STRLEN
    SUBSCRIBE SUNION SUNIONSTORE SYNC TIME TTL TYPE UNSUBSCRIBE UNWATCH WATCH ZADD ZCARD ZCOUNT ZINCRBY
    ZINTERSTORE ZRANGE ZRANGEBYSCORE ZRANK ZREM ZREMRANGEBYLEX ZREMRANGEBYRANK ZREMRANGEBYSCORE
    ZREVRANGE ZREVRANGEBYSCORE ZREVRANK ZSCAN ZSCORE ZUNIONSTORE""".split()}


def resp_value(b, off, top, strict):
    """One RESP value at b[off:]: (MORE|BAD, 0, None) or (DONE, end, value); a top-level array's
    value is the list of its elements. `strict`: an array header without its CRLF is BAD."""
    if off >= len(b):
        return MORE, 0, None
    c, e = b[off], b.find(b"\r\n", off)
    if c not in b"*$:+-":
        return BAD, 0, None
    if e < 0:
        return (BAD if strict and c == 42 else MORE), 0, None
    line = b[off:e]
    if c == 42 and line not in (b"*-1", b"*0"):
        n = ascii_int(line[1:])
        if n is None:
            return BAD, 0, None
        pos, items = e + 2, []
        for _ in range(n):
            r, pos, v = resp_value(b, pos, False, strict)
            if r != DONE:
                return r, 0, None
            items.append(v)
        return DONE, pos, (items if top else b"[]")
    if c != 36 or line == b"$-1":
        return DONE, e + 2, line[1:]
    n = ascii_int(line[1:])
    if n is None or (len(b) >= e + n + 4 and b[e + n + 2:e + n + 4] != b"\r\n"):
        return BAD, 0, None
    if len(b) < e + n + 4:
        return MORE, 0, None
    return DONE, e + n + 4, b[e + 2:e + 2 + n]


class RedisModel:
    """One redis connection: requests by content (Packetbeat) or by direction (ref); FIFO
    pairing; a reply with no request waiting is dropped."""

    def __init__(self, ref):
        self.ref = ref
        self.buf = [b"", b""]
        self.waiting = 0
        self.events = 0

    def data(self, d, payload):
        b, pos = self.buf[d] + payload, 0
        while pos < len(b):
            r, end, v = resp_value(b, pos, True, not self.ref)
            if r == BAD:
                b, pos = b"", 0                   # stream dropped
                break
            if r == MORE:
                break
            pos = end
            if self.ref:
                req = d == 0
            else:
                w = [x.upper().decode("latin-1") for x in v[:2]] if isinstance(v, list) else []
                req = bool(w) and (w[0] in REDIS_COMMANDS or " ".join(w) in REDIS_COMMANDS)
            if req:
                self.waiting += 1
            elif self.waiting:
                self.waiting -= 1
                self.events += 1
        self.buf[d] = b[pos:]

    def fin(self, d):
        pass


class MemcacheQuits:
    """Counts the text `quit` commands a client sends (skipping storage commands' data)."""

    def __init__(self, ref):
        self.buf, self.skip, self.events = b"", 0, 0

    def data(self, d, payload):
        if d != 0:
            return
        b, pos = self.buf + payload, 0
        while pos < len(b):
            if self.skip:
                k = min(self.skip, len(b) - pos)
                pos, self.skip = pos + k, self.skip - k
                continue
            e = b.find(b"\r\n", pos)
            if e < 0:
                break
            w = b[pos:e].split()
            pos = e + 2
            if w and w[0] == b"quit":
                self.events += 1
            elif w and w[0] in (b"set", b"add", b"replace", b"append", b"prepend", b"cas") \
                    and len(w) >= 5 and w[4].isdigit():
                self.skip = int(w[4]) + 2
        self.buf = b[pos:]

    def fin(self, d):
        pass


MODELS = {"http": HttpModel, "redis": RedisModel, "memcache": MemcacheQuits}


def packetbeat_expectation(path):
    """{proto: (pb events, ref events)} from replaying the pcap's streams through the models."""
    by_port = {port: p for p, ports in MODEL_PORTS.items() for port in ports}
    conns, tot = {}, {p: [0, 0] for p in MODELS}

    def close(key):
        p, pb, ref = conns.pop(key)
        tot[p][0] += pb.events
        tot[p][1] += ref.events

    for key, d, flags, payload in tcp_segments(path, set(by_port)):
        if flags & 0x12 == 0x02 and key in conns:     # a new SYN on a tuple in use
            close(key)
        c = conns.get(key)
        if c is None:
            p = by_port[key[3]]
            c = conns[key] = (p, MODELS[p](False), MODELS[p](True))
        for m in c[1:]:
            if payload:
                m.data(d, payload)
            if flags & 0x01:
                m.fin(d)
    for key in list(conns):
        close(key)
    return {p: tuple(v) for p, v in tot.items()}


def expected_counts(path, truth):
    """(our expected events per protocol, our adjustments {proto: delta}, model check problems,
    what Packetbeat 8.17.2 would publish per protocol, its adjustments {proto: delta})."""
    model = packetbeat_expectation(path)
    expected, adjust, problems = dict(truth), {}, []
    pb_expected, pb_adjust = dict(truth), {}
    for p, (pb, ref) in model.items():
        if p == "memcache":
            delta = pb_delta = pb                 # every quit is one event more, for both
        else:
            delta, pb_delta = 0, pb - ref
            if ref != truth.get(p, 0):
                problems.append("%s: the reference model counts %d, the ground truth %d" % (
                    p, ref, truth.get(p, 0)))
        if delta:
            adjust[p] = delta
            expected[p] = truth.get(p, 0) + delta
        if pb_delta:
            pb_adjust[p] = pb_delta
            pb_expected[p] = truth.get(p, 0) + pb_delta
    return expected, adjust, problems, pb_expected, pb_adjust


def tools(a, F, floor, workdir):
    q = "'%s'" % F
    outdir = os.path.join(workdir, "out")
    t = [("pcap-floor -m next", "%s -m next %s > /dev/null" % (floor, q), "fast")]
    for n in a.pb_workers:
        # the previous run's output is removed before each run, outside the measured command
        t.append((pb_name(n), pb_cmd(a.bin, a.config, F, outdir, workdir, n), "pb"))
    t += [("tcpdump -r F -nn", "tcpdump -r %s -nn > /dev/null 2>&1" % q, "fast"),
          ("tshark -r F -T ek", "tshark -r %s -T ek > /dev/null 2>&1" % q, "slow")]
    return t, outdir


# ------------------------------------------------------------------ live capture (--live)
LIVE_CORPUS = "mixed-200M"


def live_tools(a, workdir):
    """(row name, live-capture-test TOOL [ARGS]) of the live step: packetbeat with the shipped
    packetbeat.yml on the namespace's lo (af_packet, then pcap; -e: its log, with the capture
    counters it prints at exit, goes to stderr where live-capture-test reads it; output: a file
    with the default rotation, so the disk use stays bounded), then tcpdump -nn."""
    t = []
    for typ in ("af_packet", "pcap"):
        d = os.path.join(workdir, typ)
        t.append(("packetbeat (%s)" % typ, [
            "cmd", a.bin, "-e", "-c", a.config, "--path.data", os.path.join(d, "data"),
            "--path.logs", os.path.join(d, "logs"), "-E", "packetbeat.interfaces.device=lo",
            "-E", "packetbeat.interfaces.type=" + typ, "-E", "output.elasticsearch.enabled=false",
            "-E", "output.file.path=" + os.path.join(d, "out"), "-E", "output.file.filename=packetbeat"]))
    t.append(("tcpdump -nn", ["tcpdump-text"]))
    return t


def parse_live(text):
    """The counters of one live-capture-test report (its stdout: `tool=.. sent=N replay=[..
    pps]` and the capturer's own captured/received/dropped lines: packetbeat's `af_packet on
    lo: N packets captured, N received by filter, N dropped by kernel, N dropped by interface`,
    tcpdump's `N packets captured` ...)."""
    def num(rx, conv=int):
        m = re.search(rx, text)
        return conv(m.group(1)) if m else None
    return {"sent": num(r"\bsent=(\d+)"), "replay_pps": num(r"([0-9.]+) pps\]", float),
            "captured": num(r"(\d+) packets captured"),
            "received": num(r"(\d+) (?:packets )?received by filter"),
            "dropped": num(r"(\d+) (?:packets )?dropped by kernel"),
            "if_dropped": num(r"(\d+) (?:packets )?dropped by interface")}


def live_step(a, cache):
    """Runs bench/live-capture-test for every rate of --live-rates and every live tool."""
    F = ensure_corpus(cache, LIVE_CORPUS, dict((n, x) for n, x, _ in CORPORA)[LIVE_CORPUS])
    meta = json.load(open(F + ".meta.json"))
    live = {"corpus": LIVE_CORPUS, "file": F, "packets": meta["packets"], "loops": a.live_loops,
            "rates": a.live_rates, "machine": machine(),
            "when": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), "results": []}
    why = None
    if os.geteuid() != 0:
        why = "not root (live-capture-test needs a network namespace)"
    elif not shutil.which("tcpreplay"):
        why = "tcpreplay is not installed (Debian: tcpreplay)"
    elif not shutil.which("ip"):
        why = "`ip` (iproute2) is not installed"
    if why:
        log("live: skipped: " + why)
        live["skipped"] = why
        return live
    script = os.path.join(HERE, "live-capture-test")
    workdir = tempfile.mkdtemp(prefix="pbbench-live.")
    env = dict(os.environ, LOOPS=str(a.live_loops))
    for rate in a.live_rates:
        for tname, targs in live_tools(a, workdir):
            if a.skip_tools and re.search(a.skip_tools, tname):
                continue
            exe = a.bin if targs[0] == "cmd" else "tcpdump"
            if not shutil.which(exe) and not os.path.exists(exe):
                live["results"].append({"tool": tname, "rate": rate, "skipped": "not installed"})
                continue
            secs = meta["packets"] * a.live_loops / (int(rate) if rate != "top" else 100000)
            p = subprocess.Popen([script, F, rate] + targs, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
            try:
                out, err = p.communicate(timeout=60 + 3 * secs)
            except subprocess.TimeoutExpired:
                p.terminate()                     # its EXIT trap stops the capturer, deletes the netns
                try:
                    out, err = p.communicate(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, 9)
                    out, err = p.communicate()
                err = "timed out\n" + err
            d = dict(parse_live(out), tool=tname, rate=rate, rc=p.returncode,
                     report=(out.strip() + "\n" + err.strip())[-2000:])
            log("live: %-22s rate %-7s sent %s captured %s dropped %s rc=%s" % (
                tname, rate, d["sent"], d["captured"], d["dropped"], p.returncode))
            live["results"].append(d)
            shutil.rmtree(os.path.join(workdir, tname.split("(")[-1].rstrip(")")), ignore_errors=True)
    shutil.rmtree(workdir, ignore_errors=True)
    return live


def render_live(live):
    md = []
    if not live:
        return md
    md.append("Live capture (`bench/run.sh --live`, as root; %s UTC, %s): `bench/live-capture-test` replays "
              "%s (%s packets, played %s) with `tcpreplay -K --pps=RATE` onto the loopback of a private "
              "network namespace (MTU 65536; the frames carry 127/8 addresses and foreign MACs, so the "
              "namespace's stack drops them without replying) while the capturer listens on that `lo`. "
              "Captured and kernel drops are the capturer's own counters at exit: packetbeat's "
              "`af_packet on lo: N packets captured, N received by filter, N dropped by kernel, ...` "
              "(or `pcap on lo: ...`) log line, tcpdump's summary. packetbeat runs as `packetbeat -e -c "
              "packetbeat.yml -E packetbeat.interfaces.device=lo -E packetbeat.interfaces.type=af_packet|pcap "
              "-E output.elasticsearch.enabled=false -E output.file.path=DIR` (the shipped packetbeat.yml, "
              "kernel buffer `buffer_size_mb` 30 as default); tcpdump as `tcpdump -i lo -nn -B 65536 > "
              "/dev/null` (64 MB buffer). On a loopback the kernel hands a packet socket every frame twice, the outgoing copy and the "
              "incoming one: packetbeat's af_packet code leaves the outgoing copies out with a socket filter, "
              "in the kernel, while libpcap (packetbeat's pcap type, tcpdump) receives both and discards the "
              "outgoing copy itself, so its \"received by filter\" and kernel drops count both copies. Drop "
              "%% = kernel drops / received by filter (the share of the frames the kernel gave the socket "
              "that were lost); one replay per row." % (
                  live.get("when", "?"), live.get("machine", "?"), live["corpus"], fmt_int(live["packets"]),
                  "once" if live["loops"] == 1 else "%d times in a row" % live["loops"]))
    md.append("")
    md.append("| tool | rate (packets/s) | replayed at (packets/s) | packets sent | received by filter | "
              "captured | kernel drops | drop % |")
    md.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    if live.get("skipped"):
        md.append("| (all) | %s | - | - | - | - | - | - (skipped: %s) |" % (
            ", ".join(live["rates"]), live["skipped"]))
        md.append("")
        return md
    verdict = []
    for r in live["results"]:
        if r.get("skipped"):
            md.append("| %s | %s | - | - | - | - | - | - (%s) |" % (r["tool"], r["rate"], r["skipped"]))
            continue
        sent, cap, drop, recv = r.get("sent"), r.get("captured"), r.get("dropped"), r.get("received")
        note = ""
        if cap is None or drop is None:
            note = " (no counters: exit %s)" % r.get("rc")
        elif sent is not None and cap + drop < sent:
            note = " (%s not counted)" % fmt_int(sent - cap - drop)
        if r.get("if_dropped"):
            note += " (%s dropped by interface)" % fmt_int(r["if_dropped"])
        base = recv or sent
        md.append("| %s | %s | %s | %s | %s | %s | %s | %s%s |" % (
            r["tool"], fmt_int(int(r["rate"])) if r["rate"] != "top" else "top speed",
            fmt_int(r["replay_pps"]) if r.get("replay_pps") is not None else "-",
            fmt_int(sent) if sent is not None else "-", fmt_int(recv) if recv is not None else "-",
            fmt_int(cap) if cap is not None else "-", fmt_int(drop) if drop is not None else "-",
            "%.1f" % (100.0 * drop / base) if base and drop is not None else "-", note))
        if r["tool"] == "packetbeat (af_packet)" and r["rate"] != "top" and int(r["rate"]) >= 200000:
            verdict.append((r["rate"], drop == 0 and cap is not None and sent is not None and cap >= sent))
    md.append("")
    if verdict:
        rate, ok = min(verdict, key=lambda v: int(v[0]))
        md.append("Issue 9 target \"no kernel drops on loopback at 200k packets/s sustained, with "
                  "af_packet\": %s at %s packets/s (%s packets, %s)." % (
                      "met" if ok else "not met", fmt_int(int(rate)), fmt_int(live["packets"] * live["loops"]),
                      "the corpus played once" if live["loops"] == 1 else "%d replays" % live["loops"]))
        md.append("")
    return md


def fmt_int(x):
    return "{:,.0f}".format(x)


def callgrind(cmd):
    with tempfile.NamedTemporaryFile("r", suffix=".vglog") as lf:
        subprocess.run("valgrind --tool=callgrind --callgrind-out-file=/dev/null --log-file=%s %s"
                       % (lf.name, cmd), shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        m = re.search(r"Collected\s*:\s*(\d+)", lf.read())
    return int(m.group(1)) if m else None


def bench_corpus(a, name, desc, F, floor, tx_truth, per_proto_truth, truth_kind, model=None):
    size = os.path.getsize(F)
    r = subprocess.run([floor, "-m", "next", F], capture_output=True, text=True, check=True)
    npk = int(re.search(r"packets=(\d+)", r.stdout).group(1))
    workdir = tempfile.mkdtemp(prefix="pbbench.")
    tl, outdir = tools(a, F, floor, workdir)
    # Which tools run, each with its slot in the table (skipped ones keep theirs).
    res = []
    todo = []  # (index in res, name, command, kind, runs wanted)
    for tname, cmd, kind in tl:
        if a.skip_tools and re.search(a.skip_tools, tname):
            continue
        exe = cmd.split()[0] if kind != "pb" else a.bin
        if kind == "slow" and size > a.tshark_max_mb * 1e6:
            log("%s: skip %s (%.0f MB > --tshark-max-mb %d)" % (name, tname, size / 1e6, a.tshark_max_mb))
            res.append({"name": tname, "skipped": "too slow: measured on the smaller corpora only"})
            continue
        if not shutil.which(exe) and not os.path.exists(exe):
            log("%s: skip %s (not installed)" % (name, tname))
            res.append({"name": tname, "skipped": "not installed"})
            continue
        res.append(None)
        todo.append((len(res) - 1, tname, cmd, kind,
                     {"fast": a.runs, "pb": a.pb_runs, "slow": a.slow_runs}[kind]))

    def clean(kind):
        if kind == "pb":
            shutil.rmtree(outdir, ignore_errors=True)

    # The fast tools and packetbeat run in turns, one run of each per round
    # (after a warm-up of each), so that a slower spell of the shared machine
    # falls on all of them alike and the ratios to the floor stay put; the
    # slow ones (tshark) run after them.
    runs = {t[0]: [] for t in todo}
    rss_of = {}
    events_of = {}
    out_bytes = {}
    rounds = [t for t in todo if t[3] != "slow"]
    for i, tname, cmd, kind, n in rounds:
        clean(kind)
        rss_of[i] = run_wrapped(cmd)[5]  # warm-up, and the peak RSS
    for r in range(max((t[4] for t in rounds), default=0)):
        for i, tname, cmd, kind, n in rounds:
            if r >= n:
                continue
            clean(kind)
            runs[i].append(run_once(cmd))
            if kind == "pb" and r == n - 1:
                # the events of its last run (each packetbeat row writes the same directory)
                counts, out_bytes[i] = count_events(outdir)
                events_of[i] = dict(counts)
    for i, tname, cmd, kind, n in todo:
        if kind == "slow":  # seconds a run: the wrapper's few ms do not matter
            wrapped = [run_wrapped(cmd) for _ in range(n)]
            runs[i] = [x[:5] for x in wrapped]
            rss_of[i] = statistics.median(x[5] for x in wrapped)

    events = None
    for i, tname, cmd, kind, n in todo:
        rr = runs[i]
        rcs = [x[0] for x in rr]
        d = {"name": tname, "runs": rr, "rc": rcs,
             "wall": statistics.median(x[1] for x in rr),
             "cpu": statistics.median(x[2] for x in rr),
             "user": statistics.median(x[3] for x in rr),
             "sys": statistics.median(x[4] for x in rr),
             "rss": rss_of[i]}
        log("%s: %-20s cpu %.3fs wall %.3fs rss %.1f MB rc=%s" % (name, tname, d["cpu"], d["wall"],
                                                               d["rss"] / 1024, rcs))
        if kind == "pb":
            # the first packetbeat row (workers=1) is the corpus' count, the others are
            # compared with it per type
            d["events"] = events_of[i]
            d["out_bytes"] = out_bytes[i]
            if events is None:
                events = d["events"]
        res[i] = d
    shutil.rmtree(workdir, ignore_errors=True)
    return {"name": name, "desc": desc, "file": F, "bytes": size, "packets": npk, "tx": tx_truth,
            "truth": per_proto_truth, "truth_kind": truth_kind, "results": res,
            "expected": model[0] if model else None, "adjust": model[1] if model else None,
            "model_problems": model[2] if model else None,
            "pb_expected": model[3] if model else None, "pb_adjust": model[4] if model else None,
            "events": dict(events) if events is not None else None}


def table(c):
    floor = next((r for r in c["results"] if r["name"].startswith("pcap-floor") and "cpu" in r), None)
    fc = max(floor["cpu"], 1e-3) if floor else None
    lines = ["| tool | CPU s (median) | user + sys s | x floor (CPU) | wall s | packets/s | "
             "packets/s (wall) | MB/s | transactions/s | peak RSS MB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in c["results"]:
        if "skipped" in r:
            lines.append("| %s | - | - | - | - | - | - | - | - | - (%s) |" % (r["name"], r["skipped"]))
            continue
        cpu = max(r["cpu"], 1e-3)
        bad = any(x != 0 for x in r["rc"])
        split = "%.3f + %.3f" % (r["user"], r["sys"]) if "user" in r else "-"
        lines.append("| %s%s | %.3f | %s | %s | %.3f | %s | %s | %.1f | %s | %.1f |" % (
            r["name"], " (exit %s)" % r["rc"] if bad else "", r["cpu"], split,
            "%.1f" % (cpu / fc) if fc else "-", r["wall"], fmt_int(c["packets"] / cpu),
            fmt_int(c["packets"] / max(r["wall"], 1e-3)),
            c["bytes"] / 1e6 / cpu, fmt_int(c["tx"] / cpu) if c["tx"] else "-", r["rss"] / 1024))
    return lines


def worker_rows(results):
    """Names of the packetbeat rows measured with workers > 1, in order."""
    names = []
    for c in results:
        for r in c["results"]:
            if r["name"].startswith("packetbeat (workers=") and r["name"] not in names:
                names.append(r["name"])
    return names


def workers_cells(c, wnames, typ, ref):
    """Per workers row: its events of type `typ` and whether they equal the workers=1 run's
    (`ref`); (cells, all equal)."""
    cells, ok = [], True
    for wn in wnames:
        r = next((x for x in c["results"] if x["name"] == wn), None)
        if r is None or r.get("events") is None:
            cells += ["-", ""]
            continue
        got = r["events"].get(typ, 0)
        cells += [fmt_int(got), "same" if got == ref else "**differs (%+d)**" % (got - ref)]
        ok = ok and got == ref
    return cells, ok


def correctness(c, wnames=()):
    ev = c["events"] or {}
    expected = c.get("expected") or c["truth"] or {}
    adjust = c.get("adjust") or {}
    pb_expected = c.get("pb_expected") or {}
    pb_adjust = c.get("pb_adjust") or {}
    exact = c["truth_kind"] == "exact"

    def cell(value, delta):
        if value is None or not exact:
            return "-"
        return "%s (%+d)" % (fmt_int(value), delta) if delta else fmt_int(value)

    lines = []
    ok = True
    for p in PROTOS:
        want = c["truth"].get(p) if c["truth"] else None
        exp = expected.get(p, want)
        got = ev.get(p, 0)
        if not want and not exp and got == 0:
            continue
        if exact:
            mark = "ok" if exp == got else "**differs (%+d)**" % (got - (exp or 0))
            ok = ok and exp == got
        else:
            mark = "approx."
        wc, wok = workers_cells(c, wnames, p, got)
        ok = ok and wok
        lines.append("| %s |" % " | ".join([
            c["name"], p, fmt_int(want) if want is not None else "-",
            cell(exp, adjust.get(p)), fmt_int(got), mark] + wc + [
            cell(pb_expected.get(p, want), pb_adjust.get(p)) if pb_expected else "-"]))
    wtypes = {k for wn in wnames for r in c["results"] if r["name"] == wn for k in (r.get("events") or {})}
    others = sorted(k for k in set(ev) | wtypes if k not in PROTOS)
    for k in others:
        wc, wok = workers_cells(c, wnames, k, ev.get(k, 0))
        ok = ok and wok
        lines.append("| %s |" % " | ".join([
            c["name"], k, "-", "-", fmt_int(ev.get(k, 0)),
            "flow events (no ground truth)" if k == "flow" else "unexpected"] + wc + ["-"]))
    return lines, ok


def machine():
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return "%s, %d cores, Linux %s; packetbeat at %s%s" % (cpu or platform.machine(), os.cpu_count(),
                                                           platform.release(), rev or "?",
                                                           " (+ local changes)" if dirty else "")


def write_readme(md):
    path = os.path.join(ROOT, "README.md")
    text = open(path).read()
    section = "## Performance\n\n" + md.rstrip("\n") + "\n\n"
    m = re.search(r"^## Performance\n", text, re.M)
    if m:
        n = re.search(r"^## ", text[m.end():], re.M)
        end = m.end() + n.start() if n else len(text)
        text = text[:m.start()] + section + text[end:]
    else:
        n = re.search(r"^## Not done yet", text, re.M)
        if n:
            text = text[:n.start()] + section + text[n.start():]
        else:
            text = text.rstrip("\n") + "\n\n" + section
    open(path, "w").write(text.rstrip("\n") + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", help="packetbeat binary (Release build)")
    ap.add_argument("--config", default=os.path.join(ROOT, "packetbeat.yml"))
    ap.add_argument("--cache", default=os.path.join(HERE, ".cache"))
    ap.add_argument("--runs", type=int, default=11, help="timed runs of the fast tools")
    ap.add_argument("--pb-runs", type=int, default=11, help="timed runs of packetbeat")
    ap.add_argument("--slow-runs", type=int, default=3, help="timed runs of tshark")
    ap.add_argument("--tshark-max-mb", type=int, default=60, help="skip tshark on larger corpora")
    ap.add_argument("--only", help="regex on corpus names")
    ap.add_argument("--skip-tools", help="regex on tool names not to run (e.g. 'tshark')")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--no-readme", action="store_true", help="do not rewrite README.md")
    ap.add_argument("--md", default=None, help="also write the markdown here (default cache/results.md)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when event counts differ")
    ap.add_argument("--render-only", action="store_true",
                    help="no measuring: render cache/results.json of the last run again")
    ap.add_argument("--pb-workers", default="1,2",
                    help="packetbeat rows, one per N: -E packetbeat.interfaces.workers=N (N=1: the "
                         "plain command, row \"packetbeat\"); default 1,2")
    ap.add_argument("--live", action="store_true",
                    help="also the live capture step (root, tcpreplay): live-capture-test on %s with "
                         "packetbeat af_packet, packetbeat pcap and tcpdump -nn" % LIVE_CORPUS)
    ap.add_argument("--live-rates", default="200000",
                    help="comma-separated replay rates in packets/s for --live (or 'top'); default 200000")
    ap.add_argument("--live-loops", type=int, default=1,
                    help="replays of the corpus per --live run (sustained rate); default 1")
    a = ap.parse_args()
    try:
        a.pb_workers = [int(x) for x in a.pb_workers.split(",") if x.strip()]
        assert a.pb_workers and all(n >= 1 for n in a.pb_workers)
    except (ValueError, AssertionError):
        ap.error("--pb-workers: a comma-separated list of integers >= 1")
    a.live_rates = [x.strip() for x in a.live_rates.split(",") if x.strip()]
    if not a.live_rates or not all(re.fullmatch(r"[1-9][0-9]*|top", x) for x in a.live_rates):
        ap.error("--live-rates: comma-separated packets/s (or 'top')")
    if a.live_loops < 1:
        ap.error("--live-loops must be >= 1")
    if a.render_only:
        j = json.load(open(os.path.join(a.cache, "results.json")))
        for c in j["corpora"]:
            # results of an older bench.py: expectations computed again
            if c["truth_kind"] == "exact" and "pb_expected" not in c and os.path.exists(c["file"]):
                (c["expected"], c["adjust"], c["model_problems"], c["pb_expected"],
                 c["pb_adjust"]) = expected_counts(c["file"], c["truth"])
        info = j.get("info") or {"machine": machine(), "when": "?", "runs": a.runs, "pb_runs": a.pb_runs,
                                 "slow_runs": a.slow_runs, "tshark_max_mb": a.tshark_max_mb,
                                 "md5": {c["name"]: md5(c["file"])[:12] for c in j["corpora"]}}
        return finish(a, j["corpora"], [tuple(x) for x in j["callgrind"]], info, j.get("live"))
    if not a.bin:
        ap.error("--bin is required")
    a.bin = os.path.abspath(a.bin)
    a.config = os.path.abspath(a.config)
    os.makedirs(a.cache, exist_ok=True)
    floor = os.path.join(a.cache, "pcap-floor")
    subprocess.run(["cc", "-O2", "-o", floor, os.path.join(HERE, "pcap-floor.c"), "-lpcap"], check=True)

    corpora, model = [], {}
    for name, args, desc in CORPORA:
        if a.only and not re.search(a.only, name):
            continue
        F = ensure_corpus(a.cache, name, args)
        meta = json.load(open(F + ".meta.json"))
        truth = {p: v["transactions"] for p, v in meta["per_protocol"].items()}
        corpora.append((name, desc, F, meta["transactions_total"], truth, "exact"))
        model[name] = expected_counts(F, truth)
        for problem in model[name][2]:
            log("%s: model check: %s" % (name, problem))
    real = os.path.join(a.cache, "real.pcap")
    if os.path.exists(real) and (not a.only or re.search(a.only, "real")):
        cr = json.loads(subprocess.run([os.path.join(HERE, "count-requests"), real], capture_output=True,
                                       text=True, check=True).stdout)
        truth = {p: n for p, n in cr.items() if p != "total"}
        corpora.append(("real", "recorded from real servers by `bench/record-real` (nginx + wrk, "
                        "redis-benchmark, pgbench, memcached, 3 s; not deterministic: `bench/run.sh "
                        "--real` records it when bench/.cache/real.pcap is missing)", real,
                        cr.get("total"), truth,
                        "approx"))

    results = []
    for name, desc, F, tx, truth, kind in corpora:
        results.append(bench_corpus(a, name, desc, F, floor, tx, truth, kind, model.get(name)))

    cg = []
    small = next((c for c in results if c["name"] == "mixed-5M"), None)
    if small and not a.no_callgrind and shutil.which("valgrind"):
        F = small["file"]
        wd = tempfile.mkdtemp(prefix="pbbench-cg.")
        for tname, cmd in [("pcap-floor -m next", "%s -m next '%s' > /dev/null" % (floor, F)),
                           ("packetbeat", pb_cmd(a.bin, a.config, F, os.path.join(wd, "out"), wd)),
                           ("tcpdump -r F -nn", "tcpdump -r '%s' -nn > /dev/null 2>&1" % F)]:
            n = callgrind(cmd)
            log("callgrind %s: %s" % (tname, n))
            cg.append((tname, n))
        shutil.rmtree(wd, ignore_errors=True)

    live = None
    rj = os.path.join(a.cache, "results.json")
    if a.live:
        live = live_step(a, a.cache)
    elif os.path.exists(rj):
        # the live step is opt-in: a run without --live keeps the last live results (they
        # carry their own date and packetbeat revision)
        try:
            live = json.load(open(rj)).get("live")
        except ValueError:
            live = None
    info = {"machine": machine(), "when": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"),
            "runs": a.runs, "pb_runs": a.pb_runs, "slow_runs": a.slow_runs,
            "tshark_max_mb": a.tshark_max_mb,
            "md5": {c["name"]: md5(c["file"])[:12] for c in results}}
    json.dump({"corpora": results, "callgrind": cg, "info": info, "live": live},
              open(rj, "w"), indent=1)
    return finish(a, results, cg, info, live)


NOTES = {
    "http": "http: make-corpus sends HEAD requests whose responses announce a body (Content-Length "
            "or chunked) without sending it. Packetbeat 8.17.2's parser does not know the request "
            "was a HEAD and reads the next bytes as that body, so the exchanges after a HEAD on its "
            "connection are lost or paired wrongly (mixed-5M, client port 35191: HEAD, then 4 "
            "exchanges, 2 events). protos/http gives the response parser the method of the oldest "
            "unanswered request: a response to HEAD has no body (RFC 9110 9.3.2).",
    "redis": "redis: Packetbeat 8.17.2 takes any array whose first element names a command for a "
             "request, whatever side sent it: an HGETALL reply whose first field is `echo` becomes a "
             "request from the server (method ECHO), is queued before the real requests and shifts "
             "the pairing by one (an event from the server's port, two exchanges lost); and an array "
             "header line (`*12`) cut by a segment boundary is a parse error for it, not \"need "
             "more\": the stream is dropped, with the segments after it until one starts a message. "
             "protos/redis tells requests from replies by direction and waits for the rest of a "
             "split header line.",
    "memcache": "memcache: a text `quit` gets no response; Packetbeat 8.17.2 publishes it alone, as a "
                "transaction without response, and so does protos/memcache (it is a real request); "
                "make-corpus does not count it, so both expectations add it.",
}


def render(results, cg, info, live=None):
    md = []
    if not results:                   # e.g. --only none --live: the live table alone
        md.append("Measured by `bench/run.sh --live` (no offline corpus in this run).")
        md.append("")
        md.extend(render_live(live))
        return "\n".join(md), True
    md.append("Measured by `bench/run.sh` (regenerate with that one command; it builds a Release "
              "packetbeat with link-time optimisation and profile feedback (`scripts/pgo-build.sh`: "
              "trained on the conformance pcaps and a generated corpus of another seed and mix, "
              "none of the files timed here; a plain `cmake` Release build is 6-9 %% slower), "
              "generates the corpora with `bench/make-corpus` into `bench/.cache/` and "
              "rewrites this section). Machine: %s; %s UTC. The machine is shared (2 cores, other "
              "builds running): CPU times vary by 10-20 %% between runs; the callgrind counts do not." % (
                  info["machine"], info["when"]))
    md.append("")
    md.append("packetbeat runs as `packetbeat -I F -t -c packetbeat.yml -E output.elasticsearch.enabled=false "
              "-E output.file.path=DIR -E output.file.filename=packetbeat -E output.file.rotate_every_kb=4194304` "
              "(the shipped packetbeat.yml: flows and processors as shipped, only the output replaced by a "
              "file, rotation raised so that every event stays for the count; DIR is emptied before each "
              "run, outside the measurement). CPU s is user+sys of the "
              "process (all threads), median of %d runs (packetbeat %d, tshark %d; the floor, packetbeat and "
              "tcpdump take turns, a run each per round, so that a busier moment of the machine "
              "falls on all of them), and user + sys s the median of each; packets/s, MB/s and "
              "transactions/s are per CPU second; x floor is CPU time / the libpcap floor "
              "(`pcap-floor -m next`, a bare `pcap_next_ex` loop) on the same file; peak RSS is the "
              "maximum resident set of the untimed first run (under `/usr/bin/time`; the timed runs "
              "are direct children, without a shell or `time` whose start-up would count in their "
              "CPU time)." % (info["runs"], info["pb_runs"],
                                                              info["slow_runs"]))
    if worker_rows(results):
        md.append("")
        md.append("\"packetbeat (workers=N)\" is the same command with `-E packetbeat.interfaces.workers=N` "
                  "(N packet worker threads; a binary without that option ignores the key and "
                  "measures the single-threaded code again): its scale-out shows in wall time and in "
                  "packets/s (wall), packets per second of wall time, while its CPU time counts all "
                  "threads.")
    md.append("")
    ratios = {}
    for c in results:
        md.append("**%s**: %s; %s bytes (md5 %s), %s packets, %s transactions%s." % (
            c["name"], c["desc"], fmt_int(c["bytes"]), info["md5"].get(c["name"], "?"),
            fmt_int(c["packets"]), fmt_int(c["tx"]) if c["tx"] else "?",
            " (ground truth from `.meta.json`)" if c["truth_kind"] == "exact"
            else " (approximate, from `bench/count-requests`)"))
        md.append("")
        md.extend(table(c))
        md.append("")
        pb0 = next((r for r in c["results"] if r["name"] == "packetbeat" and r.get("out_bytes")), None)
        if pb0:
            md.append("packetbeat wrote %s bytes of events (%.1f times the file) in its last run; "
                      "writing them is kernel time (sys), which the floor does not have." % (
                          fmt_int(pb0["out_bytes"]), pb0["out_bytes"] / c["bytes"]))
            md.append("")
        fl = next((r for r in c["results"] if r["name"].startswith("pcap-floor") and "cpu" in r), None)
        pb = next((r for r in c["results"] if r["name"] == "packetbeat" and "cpu" in r), None)
        if fl and pb:
            ratios[c["name"]] = (pb["cpu"] / max(fl["cpu"], 1e-3), pb["rss"] / 1024)
    skipped = [c["name"] for c in results for r in c["results"]
               if r["name"].startswith("tshark") and "skipped" in r and r["skipped"].startswith("too slow")]
    if skipped:
        md.append("tshark -T ek is run only on corpora up to %d MB (too slow on %s: it runs at several "
                  "hundred times the floor)." % (info["tshark_max_mb"], ", ".join(skipped)))
        md.append("")
    if ratios:
        md.append("Against the targets of issue 9 (CPU time relative to the floor on the same file):")
        md.append("")
        md.append("| target | measured | |")
        md.append("|---|---:|---|")
        if "mixed-200M" in ratios:
            r = ratios["mixed-200M"][0]
            md.append("| default mix, 200 MB: <= 6x the floor (stretch 4x) | %.1fx | %s |" % (
                r, "met" if r <= 6 else "not met"))
        for n in ("dense-50M", "real"):
            if n in ratios:
                r = ratios[n][0]
                md.append("| %s: <= 8x the floor | %.1fx | %s |" % (n, r, "met" if r <= 8 else "not met"))
        rss = max(v[1] for v in ratios.values())
        md.append("| peak RSS <= 64 MB at any file size | %.1f MB | %s |" % (rss, "met" if rss <= 64
                                                                              else "not met"))
        md.append("")
    md.append("Correctness, same runs: packetbeat events per protocol (`type`) against the corpus' "
              "ground truth (make-corpus: transactions whose last packet is in the file) plus the "
              "memcache `quit`s, which Packetbeat and packetbeat publish alone (correction in "
              "brackets). For information, the last column is what Packetbeat 8.17.2 itself would "
              "publish for that file: the ground truth corrected by replaying the corpus' TCP "
              "streams through a model of Packetbeat's http, redis and memcache parsers in "
              "`bench.py`; it loses transactions through parser bugs that packetbeat does not copy "
              "(see below).")
    md.append("")
    wnames = worker_rows(results)
    if wnames:
        md.append("The columns %s are the events of the same corpus with "
                  "`-E packetbeat.interfaces.workers=N`: they must equal the single-threaded run's, "
                  "type by type (\"same\")." % ", ".join("\"%s\"" % w.replace("packetbeat (", "").rstrip(")")
                                                        for w in wnames))
        md.append("")
    md.append("| corpus | type | ground truth | expected | events | |%s Packetbeat 8.17.2 would publish |" % "".join(
        " %s | |" % w.replace("packetbeat (", "").rstrip(")") for w in wnames))
    md.append("|---|---|---:|---:|---:|---|%s---:|" % ("---:|---|" * len(wnames)))
    all_ok = True
    adjusted, problems = set(), []
    for c in results:
        lines, ok = correctness(c, wnames)
        all_ok = all_ok and ok
        md.extend(lines)
        adjusted.update(c.get("adjust") or {})
        adjusted.update(c.get("pb_adjust") or {})
        problems.extend("%s: %s" % (c["name"], x) for x in c.get("model_problems") or [])
    md.append("")
    notes = [NOTES[p] for p in PROTOS if p in adjusted and p in NOTES]
    if notes:
        md.append("Why Packetbeat's count is not the ground truth (each checked in the elastic/beats "
                  "source; the model replays exactly these rules, and a second, correct parse of the "
                  "same streams gives the ground truth back), and what packetbeat does instead:")
        md.append("")
        for n in notes:
            md.append("- " + n)
        md.append("")
    if problems:
        md.append("Model check failed (the correct parse does not give the ground truth back, so the "
                  "corrections are in doubt): " + "; ".join(problems) + ".")
        md.append("")
    small = next((c for c in results if c["name"] == "mixed-5M"), None)
    if cg and small:
        fl = next((n for t, n in cg if t.startswith("pcap-floor")), None)
        md.append("Instructions (callgrind, all threads) on mixed-5M, %s packets:" % fmt_int(small["packets"]))
        md.append("")
        md.append("| tool | instructions | per packet | x floor |")
        md.append("|---|---:|---:|---:|")
        for t, n in cg:
            if n is None:
                md.append("| %s | (failed) | - | - |" % t)
                continue
            md.append("| %s | %s | %s | %s |" % (t, fmt_int(n), fmt_int(n / small["packets"]),
                                                 "%.1f" % (n / fl) if fl else "-"))
        md.append("")
    md.extend(render_live(live))
    return "\n".join(md), all_ok


def finish(a, results, cg, info, live=None):
    out, all_ok = render(results, cg, info, live)
    mdpath = a.md or os.path.join(a.cache, "results.md")
    open(mdpath, "w").write(out + "\n")
    print(out)
    if not a.no_readme:
        write_readme(out)
        log("README.md: ## Performance rewritten")
    if not all_ok:
        log("event counts differ from the expectation (see the notes in the table)")
        return 1 if a.strict else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
