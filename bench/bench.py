#!/usr/bin/env python3
"""tok vs oidc-agent, side by side, against the test OpenID Provider (tests/provider).

Started by bench/run, which installs what is missing and builds the binaries. Everything runs in
sealed temporary directories; nothing of the real user's is read or touched. Timings are printed
as Markdown tables and written to bench/results.md. Exit status is non-zero only when the bench
itself breaks (a tool fails to produce a token, the provider does not start, ...), never because
of a timing.
"""

import argparse
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import ssl
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROVIDER_DIR = os.path.join(REPO, "tests", "provider")


def protocol_version():
    """The agent protocol's version, read from src/protocol/mod.rs (bumped by hand there)."""
    import re
    with open(os.path.join(REPO, "src", "protocol", "mod.rs")) as f:
        return int(re.search(r"pub const PROTOCOL_VERSION: u32 = (\d+);", f.read()).group(1))


PROTOCOL = protocol_version()
LOGIN_SCOPE = "storage.read:/ storage.modify:/"
AUD = "https://se.example.org"


class BenchError(Exception):
    pass


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def now():
    return time.perf_counter_ns()


def ms(ns):
    return ns / 1e6


def fmt_ms(v):
    return f"{v:.2f}" if v < 100 else f"{v:.0f}"


def pct(values, p):
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def summary(ns_list):
    v = [ms(x) for x in ns_list]
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}


def is_token(s):
    s = s.strip()
    return s.count(".") == 2 and len(s) > 50


# ---------------------------------------------------------------------------------------------
# Markdown output


class Report:
    def __init__(self, quick):
        self.quick = quick
        self.parts = []
        self.sections = []
        self.targets = []  # (target, measured, met)
        self.data = {}

    def section(self, title, note=None):
        # results.md lists the scenarios in their numbered order, whatever order they ran in.
        num = title.split(".", 1)[0]
        key = (int("".join(c for c in num if c.isdigit()) or 99), num)
        self.sections.append((key, []))
        self.parts = self.sections[-1][1]
        self.parts.append(f"\n### {title}\n")
        if note:
            self.parts.append(note + "\n")
        print(f"\n### {title}", flush=True)
        if note:
            print(note, flush=True)

    def table(self, header, rows):
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        for r in rows:
            lines.append("| " + " | ".join(str(c) for c in r) + " |")
        text = "\n".join(lines)
        self.parts.append(text + "\n")
        print(text, flush=True)

    def text(self, t):
        self.parts.append(t + "\n")
        print(t, flush=True)

    def target(self, name, measured, met):
        self.targets.append((name, measured, "met" if met else "**not met**"))

    def write(self, path, machine):
        out = ["<!-- written by bench/run; do not edit by hand -->", ""]
        out.append(f"Run: `bench/run{' --quick' if self.quick else ''}` — {machine}")
        out.append("")
        out.append("### Targets (issue 4) against this run")
        out.append("")
        out.append("| target | measured | |")
        out.append("|---|---|---|")
        for t in self.targets:
            out.append(f"| {t[0]} | {t[1]} | {t[2]} |")
        for _, parts in sorted(self.sections, key=lambda x: x[0]):
            out.extend(parts)
        with open(path, "w") as f:
            f.write("\n".join(out) + "\n")
        with open(os.path.splitext(path)[0] + ".json", "w") as f:
            json.dump(self.data, f, indent=1, default=str)


# ---------------------------------------------------------------------------------------------
# The provider


class Provider:
    def __init__(self, work):
        self.work = work
        self.ca = os.path.join(work, "ca.pem")
        self.cert = os.path.join(work, "leaf.pem")
        self.key = os.path.join(work, "leaf.key")
        self._make_certs()
        self.ssl = ssl.create_default_context(cafile=self.ca)
        self.log = open(os.path.join(work, "provider.log"), "w")
        env = dict(os.environ, TLS_CERT=self.cert, TLS_KEY=self.key, PORT="0", AT_TTL="3600",
                   ROTATE="0", DEVICE_TTL="600", DEVICE_INTERVAL="1")
        self.proc = subprocess.Popen(["node", os.path.join(PROVIDER_DIR, "server.js")], env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        try:
            ready = json.loads(line)
        except ValueError:
            raise BenchError(f"the provider did not start; see {self.log.name}")
        self.port = ready["port"]
        self.issuer = ready["issuer"]
        self.host = "127.0.0.1"

    def _make_certs(self):
        w = self.work
        def ossl(*args):
            subprocess.run(["openssl", *args], check=True, cwd=w, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=tok bench CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=127.0.0.1")
        with open(os.path.join(w, "ext.cnf"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                    "extendedKeyUsage=serverAuth\n")
        ossl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "leaf.pem", "-days", "2", "-extfile", "ext.cnf")
        os.chmod(w, 0o755)

    def conn(self):
        return http.client.HTTPSConnection(self.host, self.port, context=self.ssl, timeout=30)

    def request(self, method, path, body=None, headers=None, conn=None):
        c = conn or self.conn()
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        if conn is None:
            c.close()
        return r.status, data

    def stats(self):
        _, data = self.request("GET", "/test/stats")
        return json.loads(data)

    def refreshes(self):
        return self.stats()["by_grant"].get("refresh_token", 0)

    def token_requests(self):
        return self.stats()["token_requests"]

    def fault(self, mode, delay_ms=0):
        self.request("POST", "/test/fault", json.dumps({"mode": mode, "delay_ms": delay_ms}),
                     {"Content-Type": "application/json"})

    def approve(self, user_code):
        env = dict(os.environ, NODE_EXTRA_CA_CERTS=self.ca)
        r = subprocess.run(["node", os.path.join(PROVIDER_DIR, "approve.js"), self.issuer,
                            user_code], env=env, capture_output=True, text=True, timeout=60)
        if r.returncode != 0 or "approved" not in r.stdout:
            raise BenchError(f"approve.js failed: {r.stdout} {r.stderr}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# ---------------------------------------------------------------------------------------------
# Processes and memory


class Ran:
    def __init__(self, returncode, stdout, stderr=""):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


_WHICH = {}


def run_timed(cmd, env):
    """One whole process, timed from spawn to reaped, with as little launcher overhead as
    Python allows (posix_spawn, stdout on a pipe, stderr to /dev/null). On failure the command
    is run once more with stderr captured, for the message."""
    exe = _WHICH.get(cmd[0]) or _WHICH.setdefault(cmd[0], shutil.which(cmd[0], path=env.get("PATH")))
    r, w = os.pipe()
    t0 = now()
    pid = os.posix_spawn(exe, cmd, env, file_actions=[
        (os.POSIX_SPAWN_DUP2, w, 1), (os.POSIX_SPAWN_CLOSE, r),
        (os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0)])
    os.close(w)
    chunks = []
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        chunks.append(b)
    _, st = os.waitpid(pid, 0)
    dt = now() - t0
    os.close(r)
    code = os.waitstatus_to_exitcode(st)
    out = b"".join(chunks).decode(errors="replace")
    if code != 0:
        again = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        return dt, Ran(code, out, again.stderr)
    return dt, Ran(code, out)


def must_token(cmd, env, what):
    dt, r = run_timed(cmd, env)
    if r.returncode != 0 or not is_token(r.stdout):
        raise BenchError(f"{what}: {' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()[:500]}")
    return dt


def children_of(pid):
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
            ppid = int(s[s.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            kids.append(int(d))
    return kids


def tree(pid):
    out = [pid]
    for k in children_of(pid):
        out.extend(tree(k))
    return out


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def tree_rss_kb(pid):
    pids = tree(pid)
    return sum(rss_kb(p) for p in pids), len(pids)


def batch(cmd, env, n, outdir):
    """Starts n processes at once; returns (wall_ns, per_process_ns, outputs, exit codes)."""
    os.makedirs(outdir, exist_ok=True)
    env_list = dict(env)
    starts, ends, status = {}, {}, {}
    done = threading.Event()
    lock = threading.Lock()

    def reaper():
        while True:
            with lock:
                if len(ends) == n:
                    break
            try:
                pid, st = os.wait()
            except ChildProcessError:
                time.sleep(0.0001)
                continue
            t = now()
            with lock:
                ends[pid] = t
                status[pid] = st
        done.set()

    fds = []
    t0 = now()
    th = None
    for i in range(n):
        fd = os.open(os.path.join(outdir, f"{i}.out"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        fds.append(fd)
        ts = now()
        pid = os.posix_spawn(cmd[0], cmd, env_list,
                             file_actions=[(os.POSIX_SPAWN_DUP2, fd, 1),
                                           (os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0),
                                           (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0)])
        with lock:
            starts[pid] = (ts, i)
        if th is None:
            th = threading.Thread(target=reaper, daemon=True)
            th.start()
    for fd in fds:
        os.close(fd)
    if not done.wait(300):
        raise BenchError(f"batch of {cmd[0]} did not finish in 300 s")
    wall = max(ends.values()) - t0
    per, outs, codes = [], [], []
    for pid, (ts, i) in starts.items():
        per.append(ends[pid] - ts)
        codes.append(os.waitstatus_to_exitcode(status[pid]))
        with open(os.path.join(outdir, f"{i}.out")) as f:
            outs.append(f.read())
    shutil.rmtree(outdir, ignore_errors=True)
    return wall, per, outs, codes


# ---------------------------------------------------------------------------------------------
# tok


ALL_TOKS = []


class Tok:
    def __init__(self, binary, root, provider, store="memory", extra=None):
        self.bin = binary
        self.root = root
        self.provider = provider
        for d in ("home", "run", "config", "data"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        os.chmod(os.path.join(root, "run"), 0o700)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.path.join(root, "home"),
            "XDG_RUNTIME_DIR": os.path.join(root, "run"),
            "XDG_CONFIG_HOME": os.path.join(root, "config"),
            "XDG_DATA_HOME": os.path.join(root, "data"),
            "TMPDIR": root,
            "SSL_CERT_FILE": provider.ca,
            "TOK_STORE": store,
        }
        if extra:
            self.env.update(extra)
        self.socket = os.path.join(root, "run", "tok", "agent.sock")
        ALL_TOKS.append(self)

    def cmd(self, *args):
        return [self.bin, *args]

    def login(self, account, default=False):
        args = self.cmd("login", account, "--issuer", self.provider.issuer, "--scope", LOGIN_SCOPE,
                        "--no-qr")
        if default:
            args.append("--default")
        p = subprocess.Popen(args, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        code, seen = None, []
        deadline = time.time() + 60
        while time.time() < deadline:
            line = p.stderr.readline()
            if not line:
                break
            seen.append(line)
            if line.strip().startswith("and enter the code: "):
                code = line.strip()[len("and enter the code: "):]
                break
        if code is None:
            p.kill()
            raise BenchError(f"tok login {account}: no user code: {''.join(seen)[-800:]}")
        self.provider.approve(code)
        try:
            out, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            raise BenchError(f"tok login {account} did not finish")
        if p.returncode != 0:
            raise BenchError(f"tok login {account} failed: {''.join(seen)}{err}")

    def stop(self):
        subprocess.run(self.cmd("agent", "stop"), env=dict(self.env, TOK_NO_AUTOSTART="1"),
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30)

    def agent_pid(self):
        """The agent's pid; an older build (BENCH_COMPARE) speaks an older protocol version."""
        for version in range(PROTOCOL, 0, -1):
            c = TokConn(self.socket)
            try:
                answer = c.call({"type": "ping"}, version)
            finally:
                c.close()
            if "pid" in answer:
                return answer["pid"]
        raise BenchError(f"no agent answers a ping at {self.socket}")


class TokConn:
    """A persistent connection speaking tok's socket protocol (src/wire.rs, src/protocol.rs)."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(120)
        self.s.connect(path)

    def call(self, request, version=PROTOCOL):
        body = json.dumps({"version": version, "request": request}).encode()
        self.s.sendall(struct.pack(">I", len(body)) + body)
        hdr = self._read(4)
        (n,) = struct.unpack(">I", hdr)
        return json.loads(self._read(n))

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise BenchError("tok agent closed the connection")
            buf += chunk
        return buf

    def close(self):
        self.s.close()


def tok_call(tok, request):
    c = TokConn(tok.socket)
    try:
        return c.call(request)
    finally:
        c.close()


Tok.call = lambda self, req: tok_call(self, req)


def token_req(account, scopes, audiences=()):
    return {"type": "token", "account": account, "issuer": None, "scopes": list(scopes),
            "audiences": list(audiences), "min_valid_secs": None}


def fill(tok, jobs, threads=16):
    """jobs: list of (account, scope). Asks the agent for each over persistent connections."""
    errors = []
    chunks = [jobs[i::threads] for i in range(threads)]

    def work(chunk):
        if not chunk:
            return
        c = TokConn(tok.socket)
        try:
            for acct, scope in chunk:
                r = c.call(token_req(acct, [scope]))
                if r.get("type") != "token":
                    errors.append(r)
        finally:
            c.close()

    with ThreadPoolExecutor(threads) as ex:
        list(ex.map(work, chunks))
    if errors:
        raise BenchError(f"filling the cache: {len(errors)} errors, first: {errors[0]}")


def cached_count(tok):
    r = tok.call({"type": "status"})
    if r.get("type") != "status":
        raise BenchError(f"status: {r}")
    return sum(len(a["cached"]) for a in r["accounts"])


# ---------------------------------------------------------------------------------------------
# oidc-agent


class OidcAgent:
    def __init__(self, root, provider):
        self.root = root
        self.provider = provider
        home = os.path.join(root, "home")
        run = os.path.join(root, "run")
        os.makedirs(os.path.join(home, ".config", "oidc-agent"), exist_ok=True)
        os.makedirs(run, mode=0o700, exist_ok=True)
        self.sock = os.path.join(run, "oidc-agent.sock")
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": home,
            "TMPDIR": run,
            "SSL_CERT_FILE": provider.ca,
            "CURL_CA_BUNDLE": provider.ca,
            "OIDC_SOCK": self.sock,
        }
        r = subprocess.run(["oidc-agent", "--json", "-a", self.sock], env=self.env,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise BenchError(f"oidc-agent did not start: {r.stderr}")
        self.pid = int(json.loads(r.stdout)["dpid"])
        self.env["OIDCD_PID"] = str(self.pid)

    def add_account(self, name):
        """A refresh token from the device flow (driven here, approved by approve.js), imported
        with oidc-gen --rt: oidc-gen has no non-interactive device flow."""
        p = self.provider
        import base64
        basic = "Basic " + base64.b64encode(b"tok-confidential:s3cret-client").decode()
        hdr = {"Authorization": basic, "Content-Type": "application/x-www-form-urlencoded"}
        from urllib.parse import urlencode
        scope = "openid offline_access " + LOGIN_SCOPE
        st, data = p.request("POST", "/device/auth", urlencode({"scope": scope}), hdr)
        da = json.loads(data)
        p.approve(da["user_code"])
        st, data = p.request("POST", "/token", urlencode({
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": da["device_code"]}), hdr)
        tok = json.loads(data)
        if "refresh_token" not in tok:
            raise BenchError(f"device flow for oidc-agent failed: {tok}")
        self.rt = tok["refresh_token"]
        r = subprocess.run(["oidc-gen", name, "--issuer", p.issuer, "--client-id",
                            "tok-confidential", "--client-secret", "s3cret-client",
                            "--rt-env", "--scope", scope, "--pw-cmd", "echo bench-pw", "--cp", p.ca,
                            "--confirm-default", "--prompt", "none"],
                           env=dict(self.env, OIDC_REFRESH_TOKEN=self.rt),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise BenchError(f"oidc-gen failed: {r.stdout} {r.stderr}")

    def stop(self):
        try:
            for p in reversed(tree(self.pid)):
                os.kill(p, signal.SIGTERM)
        except (ProcessLookupError, FileNotFoundError):
            pass


# ---------------------------------------------------------------------------------------------
# Scenarios


def interleaved(n, cmds, check=True):
    """cmds: list of (label, argv, env). Runs them A B C A B C ... n times."""
    res = {label: [] for label, _, _ in cmds}
    for _ in range(n):
        for label, argv, env in cmds:
            dt, r = run_timed(argv, env)
            if check and argv[0] != "/bin/true" and (r.returncode != 0 or not is_token(r.stdout)):
                raise BenchError(f"{label}: exit {r.returncode}: {r.stderr.strip()[:500]}")
            res[label].append(dt)
    return res


def tok_as_oidc_agent(tok):
    """tok's environment with OIDC_SOCK at its agent's oidc-agent compatibility socket."""
    return dict(tok.env, OIDC_SOCK=os.path.join(os.path.dirname(tok.socket), "oidc-agent.sock"))


def s1_cached(rep, tok, oa, n):
    rep.section("1. Cached default token, whole process",
                f"{n} runs each, interleaved (/bin/true, tok, oidc-token); times in ms.")
    cmds = [("/bin/true", ["/bin/true"], tok.env),
            ("tok get", tok.cmd("get"), tok.env),
            ("oidc-token bench", ["oidc-token", "bench"], oa.env),
            # The same oidc-token, answered by tok's oidc-agent compatibility socket (issue 19).
            ("oidc-token bench → tok", ["oidc-token", "bench"], tok_as_oidc_agent(tok))]
    for _, a, e in cmds[1:]:  # warm: both have their default token cached
        must_token(a, e, "warm-up")
    res = interleaved(n, cmds)
    s = {k: summary(v) for k, v in res.items()}
    rows = []
    for k, v in s.items():
        rows.append([k, fmt_ms(v["median"]), fmt_ms(v["min"]), fmt_ms(v["max"]),
                     f"{v['median'] / s['/bin/true']['median']:.2f}×",
                     f"{v['median'] / s['oidc-token bench']['median']:.2f}×"])
    rep.table(["command", "median", "min", "max", "vs /bin/true", "vs oidc-token"], rows)
    r_oa = s["tok get"]["median"] / s["oidc-token bench"]["median"]
    r_true = s["tok get"]["median"] / s["/bin/true"]["median"]
    rep.target("(1) `tok get` ≤ 0.8× `oidc-token`", f"{r_oa:.2f}× ({fmt_ms(s['tok get']['median'])} vs "
               f"{fmt_ms(s['oidc-token bench']['median'])} ms)", r_oa <= 0.8)
    rep.target("(1) `tok get` ≤ 1.6× `/bin/true`", f"{r_true:.2f}× ({fmt_ms(s['/bin/true']['median'])} ms "
               "floor)", r_true <= 1.6)
    rep.data["s1"] = s


def s2_scoped(rep, tok, oa, prov, n):
    rep.section("2. The same scoped + audience request, repeated",
                f"`--scope storage.read:/x --aud {AUD}`; one warm-up each, then {n} runs each, "
                "interleaved; provider hits = refresh_token grants counted by /test/stats around "
                "each call.")
    t_cmd = tok.cmd("get", "--scope", "storage.read:/x", "--aud", AUD)
    o_cmd = ["oidc-token", "-s", "storage.read:/x", "--aud", AUD, "bench"]
    warm = {}
    tools = (("tok", t_cmd, tok.env), ("oidc-agent", o_cmd, oa.env),
             ("oidc-token → tok", o_cmd, tok_as_oidc_agent(tok)))
    for label, a, e in tools:
        b = prov.refreshes()
        dt = must_token(a, e, "warm-up")
        warm[label] = (dt, prov.refreshes() - b)
    res = {label: [] for label, _, _ in tools}
    hits = {label: 0 for label, _, _ in tools}
    for _ in range(n):
        for label, a, e in tools:
            b = prov.refreshes()
            res[label].append(must_token(a, e, label))
            hits[label] += prov.refreshes() - b
    s = {k: summary(v) for k, v in res.items()}
    rows = []
    for k in res:
        v = s[k]
        rows.append([k, fmt_ms(ms(warm[k][0])), warm[k][1], fmt_ms(v["median"]), fmt_ms(v["min"]),
                     fmt_ms(v["max"]), hits[k]])
    rep.table(["tool", "first (ms)", "first: hits", "repeat median", "min", "max",
               f"hits in {n} repeats"], rows)
    ratio = s["tok"]["median"] / s["oidc-agent"]["median"]
    rep.text(f"\nratio tok/oidc-agent (repeat median): **{ratio:.3f}×**")
    rep.target("(2) repeated scoped+aud ≤ 0.2× oidc-agent", f"{ratio:.3f}×", ratio <= 0.2)
    rep.target("(2) zero provider hits after the first", f"{hits['tok']} in {n}", hits["tok"] == 0)
    rep.data["s2"] = {"summary": s, "hits": hits, "warm": warm}


def s3_concurrent(rep, tok, oa, prov, n, rounds, work):
    rep.section(f"3. {n} concurrent processes asking for one new scope",
                f"{rounds} round(s), interleaved (/bin/true, tok, oidc-agent); a fresh scope "
                "`storage.read:/c/<round>` per round and tool; wall = first spawn to last exit; "
                "per-process = its own spawn to exit (ms).")
    agg = {"/bin/true": [], "tok": [], "oidc-agent": []}
    batch(["/bin/true"], tok.env, n, os.path.join(work, "batch"))  # warm-up
    for r in range(rounds):
        specs = [("/bin/true", ["/bin/true"], tok.env),
                 ("tok", tok.cmd("get", "--scope", f"storage.read:/c/{r}"), tok.env),
                 ("oidc-agent", [shutil.which("oidc-token"), "-s", f"storage.read:/c/{r}", "bench"],
                  oa.env)]
        for label, argv, env in specs:
            b = prov.refreshes()
            wall, per, outs, codes = batch(argv, env, n, os.path.join(work, "batch"))
            hits = prov.refreshes() - b
            if label == "/bin/true":
                fails = sum(1 for c in codes if c != 0)
            else:
                fails = sum(1 for c, o in zip(codes, outs) if c != 0 or not is_token(o))
            agg[label].append({"wall": wall, "per": per, "hits": hits, "fails": fails})
            time.sleep(0.2)
    rows, s = [], {}
    for label, rs in agg.items():
        walls = [x["wall"] for x in rs]
        per = [p for x in rs for p in x["per"]]
        s[label] = {"wall_median": ms(statistics.median(walls)), "wall_min": ms(min(walls)),
                    "wall_max": ms(max(walls)), "p50": ms(pct(per, 0.5)), "p99": ms(pct(per, 0.99)),
                    "hits": [x["hits"] for x in rs], "fails": sum(x["fails"] for x in rs)}
    for label, v in s.items():
        rows.append([label, fmt_ms(v["wall_median"]), fmt_ms(v["wall_min"]), fmt_ms(v["wall_max"]),
                     fmt_ms(v["p50"]), fmt_ms(v["p99"]),
                     "—" if label == "/bin/true" else "/".join(map(str, v["hits"])),
                     v["fails"]])
    rep.table(["tool", "batch wall median", "min", "max", "per-process p50", "p99",
               "provider hits per round", "failures"], rows)
    ratio = s["tok"]["wall_median"] / s["oidc-agent"]["wall_median"]
    rep.text(f"\nbatch ratio tok/oidc-agent: **{ratio:.2f}×**; tok/`/bin/true`: "
             f"{s['tok']['wall_median'] / s['/bin/true']['wall_median']:.2f}×; oidc-agent/`/bin/true`: "
             f"{s['oidc-agent']['wall_median'] / s['/bin/true']['wall_median']:.2f}×")
    rep.target(f"(3) exactly 1 provider hit for {n} concurrent", "/".join(map(str, s["tok"]["hits"])),
               all(h == 1 for h in s["tok"]["hits"]))
    rep.target("(3) batch ≤ 0.3× oidc-agent's", f"{ratio:.2f}× ({fmt_ms(s['tok']['wall_median'])} vs "
               f"{fmt_ms(s['oidc-agent']['wall_median'])} ms)", ratio <= 0.3)
    rep.target("(3) 0 failures", f"{s['tok']['fails']} (oidc-agent: {s['oidc-agent']['fails']})",
               s["tok"]["fails"] == 0)
    rep.data["s3"] = s
    if s["tok"]["fails"]:
        raise BenchError(f"tok failed {s['tok']['fails']} times in the concurrent batch")


def s4_head_of_line(rep, tok, oa, prov, rounds):
    rep.section("4. A cached request while a slow refresh (2 s) is in flight",
                f"{rounds} round(s) per tool: the provider delays every token request by 2 s; "
                "a background process asks for a new scope, and once its refresh has reached the "
                "provider the cached default token is requested (ms).")
    res = {"tok": [], "oidc-agent": []}
    try:
        prov.fault("slow", 2000)
        for r in range(rounds):
            for label in ("tok", "oidc-agent"):
                if label == "tok":
                    bg_cmd, fg_cmd, env = (tok.cmd("get", "--scope", f"storage.read:/slow/{r}"),
                                           tok.cmd("get"), tok.env)
                else:
                    bg_cmd, fg_cmd, env = (["oidc-token", "-s", f"storage.read:/slow/{r}", "bench"],
                                           ["oidc-token", "bench"], oa.env)
                before = prov.token_requests()
                bg = subprocess.Popen(bg_cmd, env=env, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                deadline = time.time() + 5
                while prov.token_requests() == before and time.time() < deadline:
                    time.sleep(0.01)
                if prov.token_requests() == before:
                    raise BenchError(f"{label}: the slow refresh never reached the provider")
                time.sleep(0.05)
                dt = must_token(fg_cmd, env, f"{label} cached request during slow refresh")
                out, err = bg.communicate(timeout=60)
                if bg.returncode != 0 or not is_token(out):
                    raise BenchError(f"{label} slow refresh failed: {err[:300]}")
                res[label].append(dt)
    finally:
        prov.fault("none")
    s = {k: summary(v) for k, v in res.items()}
    rows = [[k, fmt_ms(v["median"]), fmt_ms(v["min"]), fmt_ms(v["max"])] for k, v in s.items()]
    rep.table(["tool", "cached request wait median", "min", "max"], rows)
    ratio = s["tok"]["median"] / s["oidc-agent"]["median"]
    rep.text(f"\nratio tok/oidc-agent: **{ratio:.4f}×**")
    rep.target("(4) cached request during a 2 s refresh ≤ 0.01× oidc-agent's wait",
               f"{ratio:.4f}× ({fmt_ms(s['tok']['median'])} vs {fmt_ms(s['oidc-agent']['median'])} ms)",
               ratio <= 0.01)
    rep.data["s4"] = s


def idle_rss(rep, tok, oa):
    time.sleep(0.5)
    t_kb, t_n = tree_rss_kb(tok.agent_pid())
    o_kb, o_n = tree_rss_kb(oa.pid)
    rep.data["idle"] = {"tok_kb": t_kb, "tok_procs": t_n, "oa_kb": o_kb, "oa_procs": o_n}
    return t_kb, t_n, o_kb, o_n


def s5_s6_memory_growth(rep, binary, prov, work, idle, accounts, per_account, steps, n_get, oa, oa_n):
    t_kb, t_n, o_kb, o_n = idle
    # One fresh agent per size (so "1 cached token" really means one), all running at once, so
    # that (6) can time the sizes interleaved: A B C A B C ... Load on the machine then falls on
    # every size alike instead of on whichever was measured at the wrong moment. The largest
    # agent is also (5)'s.
    labels = [str(s) for s in steps[:-1]] + [f"{accounts}×{per_account}"]
    toks = [Tok(binary, os.path.join(work, f"tok-mem{i}"), prov) for i in range(len(steps))]
    big = toks[-1]
    log(f"logging in {len(toks)} agents")
    with ThreadPoolExecutor(4) as ex:
        list(ex.map(lambda t: t.login("a0"), toks))
    for t in toks:
        must_token(t.cmd("get"), t.env, "tok get (memory env)")
    # (5)'s baseline: the largest agent at 1 token, after as many `tok get`s as (6) will run.
    time.sleep(0.3)
    for _ in range(n_get):
        must_token(big.cmd("get"), big.env, "tok get (memory env)")
    base_kb, _ = tree_rss_kb(big.agent_pid())
    base_count = cached_count(big)
    for t, target in zip(toks[1:-1], steps[1:-1]):
        fill(t, [("a0", f"storage.read:/x/{i}") for i in range(1, target)])
    # The last agent: `accounts` accounts × `per_account` tokens.
    log(f"logging in {accounts - 1} more accounts")
    with ThreadPoolExecutor(4) as ex:
        list(ex.map(lambda i: big.login(f"a{i}"), range(1, accounts)))
    jobs = [("a0", f"storage.read:/x/{i}") for i in range(1, per_account)]
    for i in range(1, accounts):
        jobs += [(f"a{i}", f"storage.read:/x/{j}") for j in range(per_account)]
    log(f"filling the cache with {len(jobs)} more tokens")
    t0 = now()
    fill(big, jobs)
    fill_s = (now() - t0) / 1e9

    time.sleep(0.3)
    for t in toks:  # one untimed round
        must_token(t.cmd("get"), t.env, "tok get (growth)")
    runs = [[] for _ in toks]
    for _ in range(n_get):
        for t, r in zip(toks, runs):
            r.append(must_token(t.cmd("get"), t.env, "tok get (growth)"))
    growth = []
    for label, t, r in zip(labels, toks, runs):
        kb, _ = tree_rss_kb(t.agent_pid())
        growth.append({"label": label, "cached": cached_count(t), "get": summary(r), "rss_kb": kb})
    for t in toks:
        t.stop()

    first, last = growth[0], growth[-1]
    per_token = (last["rss_kb"] - base_kb) * 1024 / max(1, last["cached"] - base_count)

    rep.section("5. Agent memory",
                "VmRSS from /proc, summed over the agent's process tree (read as root).")
    rows = [["tok agent, idle (1 account, default token cached)", t_n, f"{t_kb / 1024:.1f}"],
            ["oidc-agent, idle (1 account, default token cached)", o_n, f"{o_kb / 1024:.1f}"],
            [f"oidc-agent after the scenarios above (load)", oa_n[1], f"{oa_n[0] / 1024:.1f}"],
            [f"tok agent, {accounts} accounts, {last['cached']} cached tokens", 1,
             f"{last['rss_kb'] / 1024:.1f}"]]
    rep.table(["agent", "processes", "RSS (MB)"], rows)
    rep.text(f"\nidle ratio tok/oidc-agent: **{t_kb / o_kb:.2f}×**; bytes per cached token "
             f"(RSS growth of one agent from {base_count} to {last['cached']} tokens, including "
             f"{accounts - 1} extra accounts): **{per_token:.0f} B**; filling {len(jobs)} tokens "
             f"(one refresh each) took {fill_s:.1f} s")
    rep.target("(5) idle RSS ≤ oidc-agent's", f"{t_kb / 1024:.1f} MB vs {o_kb / 1024:.1f} MB "
               f"({t_kb / o_kb:.2f}×)", t_kb <= o_kb)
    rep.target("(5) ≤ 2 KB per cached token", f"{per_token:.0f} B", per_token <= 2048)

    rep.section("6. Growth: `tok get` and agent RSS by number of cached tokens",
                f"{len(toks)} agents running at once, one per size, each filled to its size; then "
                f"{n_get} rounds of `tok get` (default token), one run against each agent in turn "
                f"(interleaved, after one untimed round), so load on the machine falls on every "
                f"size alike (ms). RSS read after the runs.")
    rows = []
    for g in growth:
        rows.append([g["label"], g["cached"], fmt_ms(g["get"]["median"]), fmt_ms(g["get"]["min"]),
                     fmt_ms(g["get"]["max"]), f"{g['rss_kb'] / 1024:.1f}",
                     f"{g['get']['median'] / first['get']['median']:.2f}×"])
    rep.table(["cached tokens (accounts×tokens)", "count", "`tok get` median", "min", "max",
               "agent RSS (MB)", "time vs 1 token"], rows)
    ratios = [g["get"]["median"] / first["get"]["median"] for g in growth[1:]]
    rep.target(f"(6) `tok get` flat within 10 % from {first['cached']} to {last['cached']} cached "
               "tokens", " / ".join(f"{r:.2f}× ({g['cached']})" for r, g in zip(ratios, growth[1:])),
               all(0.9 <= r <= 1.1 for r in ratios))
    rep.data["s5"] = {"per_token_bytes": per_token, "fill_s": fill_s, "base_rss_kb": base_kb,
                      "base_cached": base_count}
    rep.data["s6"] = growth


def s6b_refresh_overhead(rep, tok, oa, prov, n):
    """tok agent's refresh vs the same refresh sent straight to the provider on a kept-alive
    HTTPS connection from this script (the provider's own handling time plus loopback)."""
    rep.section("6b. Cost of one refresh: tok agent vs a bare HTTPS request",
                f"{n} refreshes each, interleaved, each for a new scope: `direct` = POST /token "
                "(grant_type=refresh_token) from Python on a kept-alive connection; `tok agent` = "
                "a token request for a new scope over a persistent socket connection (ms).")
    from urllib.parse import urlencode
    import base64
    hdr = {"Authorization": "Basic " + base64.b64encode(b"tok-confidential:s3cret-client").decode(),
           "Content-Type": "application/x-www-form-urlencoded"}
    hc = prov.conn()
    c = TokConn(tok.socket)
    res = {"direct": [], "tok agent": []}
    try:
        # warm both
        prov.request("POST", "/token", urlencode({"grant_type": "refresh_token",
                                                  "refresh_token": oa.rt,
                                                  "scope": "storage.read:/w"}), hdr, conn=hc)
        c.call(token_req("bench", ["storage.read:/w"]))
        for i in range(n):
            t0 = now()
            st, data = prov.request("POST", "/token", urlencode({
                "grant_type": "refresh_token", "refresh_token": oa.rt,
                "scope": f"storage.read:/d/{i}"}), hdr, conn=hc)
            res["direct"].append(now() - t0)
            if st != 200:
                raise BenchError(f"direct refresh: {st} {data[:200]}")
            t0 = now()
            r = c.call(token_req("bench", [f"storage.read:/t/{i}"]))
            res["tok agent"].append(now() - t0)
            if r.get("type") != "token":
                raise BenchError(f"tok refresh: {r}")
    finally:
        c.close()
        hc.close()
    s = {k: summary(v) for k, v in res.items()}
    rep.table(["path", "median", "min", "max"],
              [[k, fmt_ms(v["median"]), fmt_ms(v["min"]), fmt_ms(v["max"])] for k, v in s.items()])
    over = s["tok agent"]["median"] - s["direct"]["median"]
    rep.text(f"\ntok's overhead over the provider's handling: **{over:.2f} ms** per refresh (median)")
    rep.target("(6) a refresh costs ≤ 1 ms over the provider's own handling", f"{over:.2f} ms",
               over <= 1.0)
    rep.data["s6b"] = s


def autostart_tok(binary, prov, work, tag=""):
    """A logged-in tok whose login survives an agent restart (keyutils, else the file store)."""
    ns = f"bench{os.getpid()}{tag}"
    store = "keyutils"
    tok = Tok(binary, os.path.join(work, f"tok-ks{tag}"), prov, store=store,
              extra={"TOK_STORE_NAMESPACE": ns})
    try:
        tok.login("bench")
        must_token(tok.cmd("get"), tok.env, "tok get (keyutils)")
    except BenchError as e:
        log(f"keyutils store unusable ({e}); using the file store")
        tok.stop()
        shutil.rmtree(tok.root, ignore_errors=True)
        store = "file"
        pw = os.path.join(work, f"pw{tag}")
        with open(pw, "w") as f:
            f.write("bench passphrase\n")
        os.chmod(pw, 0o600)
        tok = Tok(binary, os.path.join(work, f"tok-file{tag}"), prov, store=store,
                  extra={"TOK_PASSPHRASE_FILE": pw})
        tok.login("bench")
        must_token(tok.cmd("get"), tok.env, "tok get (file)")
    return tok, store


def autostart_round(tok):
    """`tok agent stop`, then the first `tok get` (autostart, store read, refresh) and a second
    (cached); returns both times (ns)."""
    tok.stop()
    deadline = time.time() + 10
    while os.path.exists(tok.socket) and time.time() < deadline:
        time.sleep(0.01)
    first = must_token(tok.cmd("get"), tok.env, "first tok get")
    return first, must_token(tok.cmd("get"), tok.env, "second tok get")


def autostart_done(tok):
    subprocess.run(tok.cmd("logout", "bench"), env=tok.env, capture_output=True, timeout=30)
    tok.stop()


def s7_autostart(rep, binary, prov, work, n):
    rep.section("7. First `tok get` when no agent runs (autostart included)",
                f"{n} runs: `tok agent stop`, then `tok get` (starts the agent, reads the refresh "
                "token from the store and refreshes, since the access-token cache lives in the "
                "agent), then a second `tok get` (cached) (ms).")
    tok, store = autostart_tok(binary, prov, work)
    first, second = [], []
    for _ in range(n):
        a, b = autostart_round(tok)
        first.append(a)
        second.append(b)
    autostart_done(tok)
    s = {"first (autostart + refresh)": summary(first), "second (cached)": summary(second)}
    rep.table(["`tok get`", "median", "min", "max"],
              [[k, fmt_ms(v["median"]), fmt_ms(v["min"]), fmt_ms(v["max"])] for k, v in s.items()])
    rep.text(f"\nstore: `{store}`. oidc-agent has no autostart (its agent is started by hand and "
             "the account loaded with oidc-add), so there is no counterpart.")
    rep.data["s7"] = {"store": store, **s}


def s8_throughput(rep, tok, sockbench, secs):
    rep.section("8. Agent throughput over the socket (cached default token)",
                f"`bench/sockbench.rs`: N persistent connections, one thread each, each sending "
                f"the same token request back to back for {secs} s.")
    req = json.dumps({"version": PROTOCOL, "request": token_req(None, [])})
    rows, data = [], {}
    for n in (1, 16, 256):
        r = subprocess.run([sockbench, tok.socket, str(n), str(secs), req], capture_output=True,
                           text=True, timeout=120)
        if r.returncode != 0:
            raise BenchError(f"sockbench {n}: {r.stderr}")
        d = json.loads(r.stdout)
        if d["requests"] == 0 or d["errors"]:
            raise BenchError(f"sockbench {n}: {d}")
        data[n] = d
        rows.append([n, f"{d['rps']:,.0f}", f"{d['p50_us']}", f"{d['p99_us']}", d["errors"]])
    rep.table(["connections", "requests/s", "latency p50 (µs)", "p99 (µs)", "errors"], rows)
    rep.data["s8"] = data


# ---------------------------------------------------------------------------------------------


def s9_builds(rep, builds, prov, work, oa, n, n_auto):
    """The build under test beside other builds of tok (`--compare LABEL=PATH`): cached `tok get`
    interleaved with /bin/true and oidc-token in one loop, and each agent's idle RSS."""
    rep.section("9. Builds side by side",
                f"{n} runs each, interleaved (/bin/true, every build's `tok get`, oidc-token), each "
                "build with its own agent holding one cached default token; idle RSS of each agent "
                "after its login and one `tok get`; the first `tok get` with no agent running "
                "(autostart, as in scenario 7), the builds taking turns (ms, MB).")
    toks = []
    for i, (label, binary) in enumerate(builds):
        t = Tok(binary, os.path.join(work, f"build{i}"), prov)
        t.login("bench")
        must_token(t.cmd("get"), t.env, f"tok get ({label})")
        toks.append((label, binary, t))
    time.sleep(0.5)
    rss = {label: tree_rss_kb(t.agent_pid())[0] for label, _, t in toks}
    cmds = [("/bin/true", ["/bin/true"], toks[0][2].env)]
    cmds += [(f"tok get ({label})", t.cmd("get"), t.env) for label, _, t in toks]
    cmds.append(("oidc-token bench", ["oidc-token", "bench"], oa.env))
    res = interleaved(n, cmds)
    s = {k: summary(v) for k, v in res.items()}
    true_ms, oa_ms = s["/bin/true"]["median"], s["oidc-token bench"]["median"]
    rows = []
    for k, v in s.items():
        rows.append([k, fmt_ms(v["median"]), fmt_ms(v["min"]), fmt_ms(v["max"]),
                     f"{v['median'] / true_ms:.2f}×", f"{v['median'] / oa_ms:.2f}×"])
    rep.table(["command", "median", "min", "max", "vs /bin/true", "vs oidc-token"], rows)
    rep.table(["build", "binary (MB)", "idle agent RSS (MB)"],
              [[label, f"{os.path.getsize(binary) / 1e6:.1f}", f"{rss[label] / 1024:.1f}"]
               for label, binary, _ in toks])
    for _, _, t in toks:
        t.stop()
    # First get with autostart, the builds taking turns round by round.
    auto = {label: ([], []) for label, _, _ in toks}
    starters = [(label, autostart_tok(binary, prov, work, tag=f"b{i}")[0])
                for i, (label, binary, _) in enumerate(toks)]
    for _ in range(n_auto):
        for label, t in starters:
            first, second = autostart_round(t)
            auto[label][0].append(first)
            auto[label][1].append(second)
    for _, t in starters:
        autostart_done(t)
    rep.table(["build", "first `tok get` (autostart + refresh) median", "min", "max"],
              [[label, fmt_ms(summary(f)["median"]), fmt_ms(summary(f)["min"]),
                fmt_ms(summary(f)["max"])] for label, (f, _) in auto.items()])
    rep.data["s9"] = {"get": s, "rss_kb": rss,
                      "size": {label: os.path.getsize(b) for label, b, _ in toks},
                      "autostart": {label: summary(f) for label, (f, _) in auto.items()}}


def machine_line(tok_bin):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "src", "Cargo.toml",
                            "Cargo.lock", ".cargo"], capture_output=True, text=True).stdout.strip()
    oa = subprocess.run(["oidc-agent", "--version"], capture_output=True, text=True).stdout.strip()
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    load = open("/proc/loadavg").read().split()[0]
    with open(tok_bin, "rb") as f:  # a dynamically linked ELF names its loader near the start
        head = f.read(4096)
        linkage = "dynamically linked" if b"/ld-linux" in head else "static"
    return (f"load average {load} at start; {os.cpu_count()} CPUs ({cpu}), Linux {platform.release()}, tok {commit}"
            f"{' (+ uncommitted src changes)' if dirty else ''} ({linkage}), {oa.splitlines()[0] if oa else 'oidc-agent ?'}, "
            f"node {node}, {time.strftime('%Y-%m-%d %H:%M %Z')}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--tok", required=True)
    ap.add_argument("--sockbench", required=True)
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results.md"))
    ap.add_argument("--compare", action="append", default=[], metavar="LABEL=PATH",
                    help="another tok build to measure beside --tok (scenario 9)")
    args = ap.parse_args()
    q = args.quick
    P = {
        "n1": 20 if q else 300,
        "n2": 10 if q else 100,
        "n3": 20 if q else 200,
        "r3": 1 if q else 3,
        "r4": 1 if q else 5,
        "accounts": 2 if q else 10,
        "per_account": 50 if q else 1000,
        "steps": [1, 10, 100] if q else [1, 100, 10000],
        "n6": 10 if q else 100,
        "n6b": 10 if q else 100,
        "n7": 3 if q else 20,
        "t8": 0.5 if q else 3,
    }
    P["steps"][-1] = P["accounts"] * P["per_account"]

    work = tempfile.mkdtemp(prefix="tok-bench-")
    os.chmod(work, 0o755)
    rep = Report(q)
    machine = machine_line(args.tok)
    rep.data["machine"] = machine
    log(machine)
    prov = tok = oa = None
    tok_envs = []
    ok = False
    try:
        prov = Provider(work)
        log(f"provider at {prov.issuer}")
        tok = Tok(args.tok, os.path.join(work, "tok"), prov)
        tok_envs.append(tok)
        tok.login("bench")
        oa = OidcAgent(os.path.join(work, "oidc-agent"), prov)
        oa.add_account("bench")
        must_token(tok.cmd("get"), tok.env, "tok get")
        must_token(["oidc-token", "bench"], oa.env, "oidc-token")
        idle = idle_rss(rep, tok, oa)

        log("1: cached default token")
        s1_cached(rep, tok, oa, P["n1"])
        log("2: scoped + audience, repeated")
        s2_scoped(rep, tok, oa, prov, P["n2"])
        log("3: concurrent processes, one new scope")
        s3_concurrent(rep, tok, oa, prov, P["n3"], P["r3"], work)
        log("4: cached request behind a slow refresh")
        s4_head_of_line(rep, tok, oa, prov, P["r4"])
        oa_load = tree_rss_kb(oa.pid)
        log("6b: refresh overhead")
        s6b_refresh_overhead(rep, tok, oa, prov, P["n6b"])
        log("8: socket throughput")
        s8_throughput(rep, tok, args.sockbench, P["t8"])
        log("5/6: memory and growth")
        s5_s6_memory_growth(rep, args.tok, prov, work, idle, P["accounts"], P["per_account"],
                            P["steps"], P["n6"], oa, oa_load)
        log("7: autostart")
        s7_autostart(rep, args.tok, prov, work, P["n7"])
        if args.compare:
            log("9: builds side by side")
            builds = [("shipped", args.tok)] + [tuple(c.split("=", 1)) for c in args.compare]
            s9_builds(rep, builds, prov, work, oa, P["n1"], P["n7"])
        ok = True
    except BenchError as e:
        log(f"FAILED: {e}")
    finally:
        for t in ALL_TOKS:
            try:
                t.stop()
            except Exception:
                pass
        if oa:
            oa.stop()
        if prov:
            prov.stop()
        if ok or not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"work dir kept: {work}")
    if not ok:
        return 1
    machine += f", load average {open('/proc/loadavg').read().split()[0]} at end"
    rep.write(args.out, machine)
    print("\n### Targets", flush=True)
    for t in rep.targets:
        print(f"- {t[0]}: {t[1]} — {t[2]}")
    log(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
