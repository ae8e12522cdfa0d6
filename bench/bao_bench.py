#!/usr/bin/env python3
"""OpenBao store figures for BENCHMARKS.md (issue 12), printed as Markdown:

1. refresh overhead: `tok get --force` (one provider refresh, the rotated token stored) with the
   openbao store against keyutils;
2. provider refreshes per minute for 3 agents sharing one login and asking for the same token,
   with and without `share_access_tokens`.

    python3 bench/bao_bench.py TOK_BINARY [--seconds 30] [--n 30]

Uses bench/bench.py's provider and tok helpers and the `bao` from tests/bao/.venv
(scripts/test.sh --install-only installs it). Timings, not assertions.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

BAO = os.path.join(bench.REPO, "tests", "bao", ".venv", "bin", "bao")
ROOT_TOKEN = "tok-bench-root"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Bao:
    def __init__(self, work):
        self.port = free_port()
        self.addr = f"http://127.0.0.1:{self.port}"
        home = os.path.join(work, "bao-home")
        os.makedirs(home, exist_ok=True)
        self.log = open(os.path.join(work, "bao.log"), "w")
        self.proc = subprocess.Popen(
            [BAO, "server", "-dev", f"-dev-listen-address=127.0.0.1:{self.port}",
             f"-dev-root-token-id={ROOT_TOKEN}", "-dev-no-store-token"],
            env=dict(os.environ, HOME=home), stdout=self.log, stderr=self.log,
            stdin=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise bench.BenchError("bao did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def timed_gets(tok, n, scope):
    times = []
    for i in range(n):
        t0 = time.perf_counter_ns()
        r = subprocess.run(tok.cmd("get", "-s", f"{scope}{i % 3}", "--force"), env=tok.env,
                           capture_output=True, text=True)
        times.append(time.perf_counter_ns() - t0)
        if r.returncode != 0:
            raise bench.BenchError(f"tok get failed: {r.stderr}")
    return times


def refreshes_per_minute(binary, prov, bao, work, seconds, share):
    nodes = []
    for i in range(3):
        t = bench.Tok(binary, os.path.join(work, f"node-{share}-{i}"), prov, store="openbao",
                      extra={"BAO_ADDR": bao.addr, "BAO_TOKEN": ROOT_TOKEN,
                             "TOK_BAO_PREFIX": f"tok/bench-{share}"})
        nodes.append(t)
    nodes[0].login("cms", default=True)
    if share:
        for t in nodes:
            cfg = os.path.join(t.env["XDG_CONFIG_HOME"], "tok", "config.toml")
            os.makedirs(os.path.dirname(cfg), exist_ok=True)
            old = open(cfg).read() if os.path.exists(cfg) else ""
            with open(cfg, "w") as f:
                f.write("share_access_tokens = true\n" + old)
    before = prov.refreshes()
    stop = time.time() + seconds
    errors = []

    def loop(t):
        while time.time() < stop:
            r = subprocess.run(t.cmd("get", "-a", "cms", "-s", "storage.read:/same", "--aud",
                                     "https://se.example.org"), env=t.env, capture_output=True,
                               text=True)
            if r.returncode != 0:
                errors.append(r.stderr)
            time.sleep(0.2)

    threads = [threading.Thread(target=loop, args=(t,)) for t in nodes]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for t in nodes:
        t.stop()
    if errors:
        raise bench.BenchError(f"{len(errors)} gets failed: {errors[0]}")
    return (prov.refreshes() - before) * 60.0 / seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--n", type=int, default=30)
    args = ap.parse_args()
    if not os.path.exists(BAO):
        sys.exit("bao_bench: tests/bao/.venv/bin/bao is missing; run scripts/test.sh --install-only")
    work = tempfile.mkdtemp(prefix="tok-bao-bench-")
    os.chmod(work, 0o755)
    prov = bench.Provider(work)
    bao = Bao(work)
    try:
        key = bench.Tok(args.binary, os.path.join(work, "keyutils"), prov, store="keyutils",
                        extra={"TOK_STORE_NAMESPACE": f"bench{os.getpid()}"})
        key.login("cms", default=True)
        ob = bench.Tok(args.binary, os.path.join(work, "openbao"), prov, store="openbao",
                       extra={"BAO_ADDR": bao.addr, "BAO_TOKEN": ROOT_TOKEN})
        ob.login("cms", default=True)
        prov.request("POST", "/test/config", '{"rotate": true}',
                     {"Content-Type": "application/json"})
        k = timed_gets(key, args.n, "storage.read:/k")
        o = timed_gets(ob, args.n, "storage.read:/o")
        key.stop()
        ob.stop()
        km, om = statistics.median(k) / 1e6, statistics.median(o) / 1e6
        print("| store | refresh + rotation stored, median (ms) | p90 (ms) |")
        print("| --- | --- | --- |")
        print(f"| keyutils | {km:.1f} | {bench.pct(k, 0.9) / 1e6:.1f} |")
        print(f"| openbao | {om:.1f} | {bench.pct(o, 0.9) / 1e6:.1f} |")
        print(f"\nopenbao / keyutils: {om / km:.2f}× ({om - km:+.1f} ms per refresh)\n")
        prov.request("POST", "/test/config", '{"rotate": false, "at_ttl": 75}',
                     {"Content-Type": "application/json"})
        off = refreshes_per_minute(args.binary, prov, bao, work, args.seconds, False)
        on = refreshes_per_minute(args.binary, prov, bao, work, args.seconds, True)
        print("| 3 agents, one login, same scope and audience, 75 s tokens (each usable for 15 s with the default 60 s --min-valid) | provider refreshes per minute |")
        print("| --- | --- |")
        print(f"| share_access_tokens off | {off:.1f} |")
        print(f"| share_access_tokens on | {on:.1f} |")
    finally:
        for t in bench.ALL_TOKS:
            try:
                t.stop()
            except Exception:
                pass
        bao.stop()
        prov.stop()


if __name__ == "__main__":
    main()
