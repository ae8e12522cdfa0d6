#!/usr/bin/env python3
"""A cached `tok get` while a crowd of same-uid connections holds the agent's socket (issue 21).

    python3 bench/crowd.py --tok target/.../release/tok [--n 2000] [--rounds 30]

Starts the test OpenID Provider and one sealed tok account (bench.py's helpers), then times
`tok get` (whole process) alone, with N idle connections open (they never send a byte), and with
N slow ones (a frame header, then one byte a second each). Prints a Markdown table, and the
agent's descriptors and memory before, during and after. Nothing of the real user's is touched.
"""

import argparse
import os
import resource
import shutil
import socket
import statistics
import struct
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the provider, the sealed tok and the timed runs)


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def timed_gets(tok, rounds):
    cmd = tok.cmd("get")
    times, failures = [], 0
    for _ in range(rounds):
        dt, r = bench.run_timed(cmd, tok.env)
        if r.returncode != 0 or not bench.is_token(r.stdout):
            if not failures:
                bench.log(f"tok get failed ({r.returncode}): {r.stderr.strip()[-300:]}")
            failures += 1
        times.append(dt / 1e6)
    return times, failures


def crowd(path, n, slow):
    conns = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        if slow:
            s.setblocking(False)
            try:
                s.send(struct.pack(">I", 200))
            except OSError:
                pass
        conns.append(s)
    stop = threading.Event()

    def dribble():
        while not stop.wait(1.0):
            for s in conns:
                try:
                    s.send(b" ")
                except OSError:
                    pass  # closed by the agent to make room

    t = threading.Thread(target=dribble, daemon=True)
    if slow:
        t.start()
    return conns, stop


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tok", required=True)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    work = tempfile.mkdtemp(prefix="tok-crowd-")
    prov = bench.Provider(work)
    tok = bench.Tok(os.path.abspath(args.tok), os.path.join(work, "tok"), prov)
    rows = []
    try:
        tok.login("cms", default=True)
        timed_gets(tok, 5)
        pid = tok.agent_pid()
        base_fds, base_rss = fds(pid), rss_kib(pid)
        times, fail = timed_gets(tok, args.rounds)
        rows.append(("alone", times, fail, base_fds, base_rss))
        for slow in (False, True):
            conns, stop = crowd(tok.socket, args.n, slow)
            time.sleep(1.0)  # let the agent take them in
            during_fds, during_rss = fds(pid), rss_kib(pid)
            times, fail = timed_gets(tok, args.rounds)
            rows.append((f"{args.n} {'slow (1 byte/s)' if slow else 'idle'} connections open",
                         times, fail, during_fds, during_rss))
            stop.set()
            for s in conns:
                s.close()
            deadline = time.time() + 10
            while fds(pid) > base_fds + 2 and time.time() < deadline:
                time.sleep(0.05)
        after_fds, after_rss = fds(pid), rss_kib(pid)
    finally:
        tok.stop()
        prov.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"| `tok get` (cached), {args.rounds} runs | median | p95 | max | failed | agent fds | agent RSS |")
    print("|---|---|---|---|---|---|---|")
    for name, times, fail, nfds, rss in rows:
        p95 = sorted(times)[max(0, int(len(times) * 0.95) - 1)]
        print(f"| {name} | {statistics.median(times):.1f} ms | {p95:.1f} ms | {max(times):.1f} ms "
              f"| {fail} | {nfds} | {rss / 1024:.1f} MiB |")
    print(f"| after the crowds left | | | | | {after_fds} | {after_rss / 1024:.1f} MiB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
