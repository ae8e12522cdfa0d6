#!/usr/bin/env python3
"""Soak test: many concurrent clients against one tok agent and the test provider, for minutes,
while the provider fails part of the time. Started by bench/soak (which builds tok and installs
what is missing); not part of the default test suite.

Why: the integration tests check each behaviour once; a soak checks that nothing drifts when
everything happens at once for a while — no wrong answer under concurrency (a token for another
account, scope or audience than asked, a garbled frame), no lost login through provider faults,
no memory or file-descriptor growth in the agent, malformed frames never answered with anything
but a closed connection.

The clients are asyncio coroutines speaking the agent protocol on raw Unix sockets (src/wire.rs:
a 4-byte big-endian length and a JSON envelope {"version": N, "request": {...}}, shapes in
src/protocol.rs), one persistent connection each, so that 1,000 clients cost one Python process
instead of 1,000; a few more loops run real `tok get` processes. Each client has a role:

- cached: a token request for one of a few (account, scope, audience) combinations asked once
  before the load starts, so the agent answers from its cache;
- new: a token request the cache cannot answer, so the agent refreshes at the provider. The
  scopes come from a bounded pool and ask for more lifetime than the provider gives
  (`min_valid_secs` above its access-token lifetime), so that every one is a provider round trip
  while the cache stays the same size (unbounded new scopes would make the cache, and so RSS,
  grow by design and hide a leak);
- status: a status request;
- malformed: a fresh connection that sends one bad frame (garbage JSON, a length beyond the
  request cap or 4 GiB, a truncated frame, an empty frame, an unknown request, a wrong protocol
  version) and must see the connection closed (or, for the wrong version, a version_mismatch
  answer), never anything else and never a hang.

Every answer is checked: a token's JWT claims must name the scopes, the audience and the OAuth
client (so the account) that were asked for, and the reply's fields must match. The provider
rotates refresh tokens and cycles through faults (none, HTTP 500, slow answers): refreshes may
fail with a provider error (exit 4 for `tok get`), but a lost login ("needs login") fails the
run. The agent's RSS and fd count are sampled from /proc throughout.

Exit status: 0 when every check held; 1 on any wrong answer, lost login, unexpected error,
unanswered request, hang, agent death, or RSS/fd growth beyond the thresholds; 2 when the soak
itself could not run.
"""

import argparse
import asyncio
import base64
import json
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (Provider, Tok: the bench's provider and sealed tok set-up)

PROTOCOL = bench.PROTOCOL
MAX_REQUEST_BYTES = 64 * 1024
WLCG_ANY = "https://wlcg.cern.ch/jwt/v1/any"
WLCG_SCOPE = re.compile(r"^(storage\.[a-z]+:/\S*|compute\.[a-z]+)$")
KINDS = ("cached", "new", "status", "malformed", "tok get")


def log(msg):
    print(f"[soak] {msg}", file=sys.stderr, flush=True)


def now():
    return time.perf_counter()


def envelope(request, version=PROTOCOL):
    body = json.dumps({"version": version, "request": request}).encode()
    return struct.pack(">I", len(body)) + body


def token_request(account, scopes, audiences, min_valid=None):
    return {"type": "token", "account": account, "issuer": None, "scopes": list(scopes),
            "audiences": list(audiences), "min_valid_secs": min_valid, "exact_scope": False}


class Closed(Exception):
    pass


class AgentConn(asyncio.Protocol):
    """One connection to the agent, as a bare asyncio protocol (streams cost several times more
    per request, and the client's CPU is the scarce resource here): `call` sends one frame and
    waits for one answer frame."""

    def __init__(self):
        self.loop = asyncio.get_running_loop()
        self.transport = None
        self.buf = bytearray()
        self.waiter = None
        self.closed = self.loop.create_future()
        self.eof = False

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buf += data
        self._deliver()

    def _deliver(self):
        w = self.waiter
        if w is None or w.done() or len(self.buf) < 4:
            return
        n = int.from_bytes(self.buf[:4], "big")
        if n > 4 * 1024 * 1024:
            w.set_exception(Garbled(f"frame length {n}"))
        elif len(self.buf) >= 4 + n:
            body = bytes(self.buf[4:4 + n])
            del self.buf[:4 + n]
            w.set_result(body)

    def eof_received(self):
        self.eof = True
        self._fail(Closed("the agent closed the connection"))
        return False

    def connection_lost(self, exc):
        self.eof = True
        self._fail(exc if isinstance(exc, Exception) else Closed("connection lost"))
        if not self.closed.done():
            self.closed.set_result(None)

    def _fail(self, exc):
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    def _timeout(self):
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(asyncio.TimeoutError())

    async def read_reply(self, timeout):
        self.waiter = self.loop.create_future()
        self._deliver()
        if self.eof and not self.waiter.done():
            self.waiter.set_exception(Closed("the agent closed the connection"))
        timer = self.loop.call_later(timeout, self._timeout)
        try:
            body = await self.waiter
        finally:
            timer.cancel()
            self.waiter = None
        try:
            return json.loads(body)
        except ValueError as e:
            raise Garbled(f"not JSON: {e}")

    async def call(self, frame, timeout):
        if self.buf:
            raise Garbled(f"{len(self.buf)} unsolicited bytes before the request")
        self.transport.write(frame)
        return await self.read_reply(timeout)

    def close(self):
        if self.transport is not None:
            self.transport.close()


class Garbled(Exception):
    pass


def jwt_claims(token):
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        return json.loads(base64.urlsafe_b64decode(payload))
    except (IndexError, ValueError) as e:
        raise Garbled(f"not a JWT: {e}")


def token_problem(token, account, scopes, audiences, client_ids):
    """Why `token` is not a token for (account, scopes, audiences), or None."""
    claims = jwt_claims(token)
    granted = {s for s in str(claims.get("scope", "")).split() if WLCG_SCOPE.match(s)}
    if granted != set(scopes):
        return f"scopes {sorted(granted)} for a request of {sorted(scopes)}"
    aud = claims.get("aud")
    got = set(aud if isinstance(aud, list) else [aud])
    want = set(audiences) or {WLCG_ANY}
    if got != want:
        return f"audience {sorted(got)} for a request of {sorted(want)}"
    if claims.get("client_id") != client_ids[account]:
        return f"client {claims.get('client_id')} for account {account} ({client_ids[account]})"
    return None


def pct(values, p):
    return bench.pct(values, p) if values else float("nan")


# ---------------------------------------------------------------------------------------------


class Soak:
    def __init__(self, args, tok, provider, client_ids, combos):
        self.args = args
        self.tok = tok
        self.provider = provider
        self.socket = tok.socket
        self.client_ids = client_ids
        self.combos = combos  # the cached (account, scopes, audiences)
        self.accounts = sorted(client_ids)
        self.stop = False
        self.phase = "none"
        self.lat = {k: [] for k in KINDS}
        self.count = {k: 0 for k in KINDS}
        self.ok = {k: 0 for k in KINDS}
        self.provider_errors = {}  # phase at send time -> count
        self.wrong = []  # (kind, why): a wrong or garbled answer
        self.lost_login = []
        self.unexpected = []  # error answers that should not happen
        self.unserved = {k: 0 for k in KINDS}  # a valid request whose connection closed
        self.unserved_why = []
        self.hangs = []
        self.malformed_seen = {}
        self.connect_retries = 0
        self.samples = []  # (t, rss_kb, fds, threads, cpu_s)
        self.loop_lag = []
        self.t0 = None

    # -- bookkeeping ----------------------------------------------------------------------

    def note_wrong(self, kind, why):
        if len(self.wrong) < 50:
            log(f"WRONG ANSWER ({kind}): {why}")
        self.wrong.append((kind, why))

    def classify_error(self, kind, reply, phase):
        err = reply.get("kind")
        msg = str(reply.get("message", ""))[:300]
        if err == "needs_login":
            self.lost_login.append(msg)
            if len(self.lost_login) < 10:
                log(f"LOST LOGIN ({kind}): {msg}")
        elif err == "provider" and kind in ("new",):
            self.provider_errors[phase] = self.provider_errors.get(phase, 0) + 1
        else:
            self.unexpected.append((kind, err, msg))
            if len(self.unexpected) < 10:
                log(f"UNEXPECTED ERROR ({kind}, {err}): {msg}")

    # -- connections ----------------------------------------------------------------------

    async def connect(self):
        delay = 0.02
        deadline = now() + 30
        loop = asyncio.get_running_loop()
        while True:
            try:
                _, conn = await loop.create_unix_connection(AgentConn, self.socket)
                return conn
            except (ConnectionError, OSError) as e:
                self.connect_retries += 1
                if now() > deadline:
                    raise RuntimeError(f"cannot connect to the agent: {e}")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.5)

    # -- the clients ----------------------------------------------------------------------

    def make_request(self, kind, rng):
        if kind == "cached":
            account, scopes, auds = rng.choice(self.combos)
            return token_request(account, scopes, auds), (account, scopes, auds)
        if kind == "new":
            account = rng.choice(self.accounts)
            n = rng.randrange(self.args.new_pool)
            scopes = [f"storage.read:/soak/new/{n}"]
            auds = [f"https://se{n % 3}.example.org"] if n % 4 else []
            return (token_request(account, scopes, auds, min_valid=self.args.at_ttl + 600),
                    (account, scopes, auds))
        return {"type": "status"}, None

    def check_reply(self, kind, reply, want, phase):
        t = reply.get("type")
        if t == "error":
            self.classify_error(kind, reply, phase)
            return
        if kind == "status":
            if t != "status":
                self.note_wrong(kind, f"a {t!r} answer to a status request")
                return
            states = {a.get("name"): a.get("state") for a in reply.get("accounts", [])}
            for a in self.accounts:
                # "refreshing": a refresh is in flight for it (the slot is busy), a live login.
                if states.get(a) not in ("ok", "refreshing"):
                    self.lost_login.append(f"status: account {a} is {states.get(a)!r}")
                    return
            self.ok[kind] += 1
            return
        if t != "token":
            self.note_wrong(kind, f"a {t!r} answer to a token request")
            return
        account, scopes, auds = want
        why = token_problem(str(reply.get("token", "")), account, scopes, auds, self.client_ids)
        if why is None and reply.get("account") != account:
            why = f"reply for account {reply.get('account')}, asked {account}"
        if why is None and sorted(reply.get("audiences", [])) != sorted(auds):
            why = f"reply audiences {reply.get('audiences')}, asked {auds}"
        if why is None and not set(scopes) <= set(reply.get("scopes", [])):
            why = f"reply scopes {reply.get('scopes')}, asked {scopes}"
        if why:
            self.note_wrong(kind, why)
        else:
            self.ok[kind] += 1

    async def socket_client(self, i, kind):
        rng = random.Random(i)
        think = 2 * self.args.think_ms / 1000
        timeout = self.args.reply_timeout
        await asyncio.sleep(rng.uniform(0, self.args.ramp))
        conn = None
        while not self.stop:
            if kind == "malformed":
                await self.malformed(rng)
            else:
                if conn is None:
                    conn = await self.connect()
                request, want = self.make_request(kind, rng)
                phase = self.phase
                t0 = now()
                self.count[kind] += 1
                try:
                    reply = await conn.call(envelope(request), timeout)
                except Garbled as e:
                    self.note_wrong(kind, f"garbled frame: {e}")
                    conn.close()
                    conn = None
                    continue
                except asyncio.TimeoutError:
                    self.hangs.append(f"{kind}: no answer in {timeout}s")
                    conn.close()
                    conn = None
                    continue
                except (Closed, ConnectionError, OSError) as e:
                    if self.stop:
                        break
                    self.unserved[kind] += 1
                    if len(self.unserved_why) < 10:
                        self.unserved_why.append(f"{kind}: {type(e).__name__}: {e}")
                    conn.close()
                    conn = None
                    continue
                self.lat[kind].append(now() - t0)
                self.check_reply(kind, reply, want, phase)
            await asyncio.sleep(rng.uniform(0, think))
        if conn is not None:
            conn.close()

    MALFORMED = (
        "garbage body", "length over the request cap", "length 4 GiB", "truncated frame",
        "empty frame", "JSON array", "unknown request", "wrong protocol version", "60 KB garbage",
    )

    def malformed_bytes(self, what, rng):
        if what == "garbage body":
            return struct.pack(">I", 200) + rng.randbytes(200)
        if what == "length over the request cap":
            return struct.pack(">I", MAX_REQUEST_BYTES + 1) + b'{"version":2'
        if what == "length 4 GiB":
            return b"\xff\xff\xff\xff" + rng.randbytes(64)
        if what == "truncated frame":
            return struct.pack(">I", 1000) + b'{"version":2,"request":{"type":"tok'
        if what == "empty frame":
            return struct.pack(">I", 0)
        if what == "JSON array":
            return struct.pack(">I", 7) + b"[1,2,3]"
        if what == "unknown request":
            return envelope({"type": "dump_refresh_tokens", "account": "soak0"})
        if what == "wrong protocol version":
            return envelope({"type": "token", "account": "soak0"}, version=99)
        if what == "60 KB garbage":
            return struct.pack(">I", 60000) + rng.randbytes(60000)
        raise ValueError(what)

    async def malformed(self, rng):
        """One bad frame on a fresh connection: the agent must close it without a word (or,
        for another protocol version, say version_mismatch), and keep serving everyone else."""
        what = rng.choice(self.MALFORMED)
        self.malformed_seen[what] = self.malformed_seen.get(what, 0) + 1
        kind = "malformed"
        timeout = self.args.reply_timeout
        conn = await self.connect()
        t0 = now()
        self.count[kind] += 1
        try:
            conn.transport.write(self.malformed_bytes(what, rng))
            if what == "wrong protocol version":
                reply = await conn.read_reply(timeout)
                if reply.get("type") != "version_mismatch" or reply.get("agent_version") != PROTOCOL:
                    self.note_wrong(kind, f"{what}: answered {str(reply)[:200]}")
                    return
            if conn.transport.can_write_eof():
                conn.transport.write_eof()
            hung = []

            def give_up():
                hung.append(True)
                conn.transport.abort()

            timer = conn.loop.call_later(timeout, give_up)
            await conn.closed
            timer.cancel()
            if hung:
                self.hangs.append(f"malformed ({what}): connection not closed in {timeout}s")
                return
            if conn.buf:
                self.note_wrong(kind, f"{what}: answered {bytes(conn.buf[:80])!r}")
                return
        except asyncio.TimeoutError:
            self.hangs.append(f"malformed ({what}): no answer in {timeout}s")
            return
        except Garbled as e:
            self.note_wrong(kind, f"{what}: garbled answer: {e}")
            return
        except (Closed, ConnectionError, OSError):
            if conn.buf:
                self.note_wrong(kind, f"{what}: answered {bytes(conn.buf[:80])!r}")
                return
        finally:
            conn.close()
        self.lat[kind].append(now() - t0)
        self.ok[kind] += 1

    async def process_client(self, i):
        """Real `tok get` processes, checked like the socket answers."""
        rng = random.Random(10_000 + i)
        kind = "tok get"
        await asyncio.sleep(rng.uniform(0, self.args.ramp))
        while not self.stop:
            account, scopes, auds = rng.choice(self.combos)
            argv = [self.tok.bin, "get", "-a", account]
            for s in scopes:
                argv += ["-s", s]
            for a in auds:
                argv += ["--aud", a]
            t0 = now()
            p = await asyncio.create_subprocess_exec(
                *argv, env=self.tok.env, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            try:
                out, err = await asyncio.wait_for(p.communicate(), self.args.reply_timeout)
            except asyncio.TimeoutError:
                p.kill()
                await p.wait()
                self.count[kind] += 1
                self.hangs.append(f"tok get: no exit in {self.args.reply_timeout}s")
                continue
            self.lat[kind].append(now() - t0)
            self.count[kind] += 1
            text = out.decode(errors="replace")
            if p.returncode != 0:
                msg = err.decode(errors="replace").strip()[:300]
                if p.returncode == 3:
                    self.lost_login.append(f"tok get: {msg}")
                else:
                    self.unexpected.append((kind, p.returncode, msg))
                    if len(self.unexpected) < 10:
                        log(f"UNEXPECTED ERROR (tok get, exit {p.returncode}): {msg}")
            elif not text.endswith("\n") or text.count("\n") != 1:
                self.note_wrong(kind, f"stdout is not one line: {text[:80]!r}")
            else:
                try:
                    why = token_problem(text.strip(), account, scopes, auds, self.client_ids)
                except Garbled as e:
                    why = f"garbled: {e}"
                if why:
                    self.note_wrong(kind, why)
                else:
                    self.ok[kind] += 1
            await asyncio.sleep(rng.uniform(0, 2 * self.args.think_ms / 1000))

    # -- the provider's faults, the agent's vital signs -----------------------------------

    async def faults(self):
        """Cycles none → HTTP 500 → slow answers, `fault_period` seconds per cycle."""
        period = self.args.fault_period
        plan = [("none", 0.5, 0), ("500", 0.25, 0), ("slow", 0.25, self.args.slow_ms)]
        while not self.stop:
            for mode, share, delay in plan:
                if self.stop:
                    break
                await asyncio.to_thread(self.provider.fault, mode, delay)
                self.phase = mode
                end = now() + share * period
                while not self.stop and now() < end:
                    await asyncio.sleep(min(0.2, max(0.0, end - now())))
        await asyncio.to_thread(self.provider.fault, "none", 0)
        self.phase = "none"

    async def sampler(self, pid):
        while not self.stop:
            s = sample(pid)
            if s is None:
                log(f"the agent (pid {pid}) is gone")
                self.samples.append((now() - self.t0, None, None, None, None))
                return
            self.samples.append((now() - self.t0, *s))
            await asyncio.sleep(self.args.sample_every)

    async def lag_probe(self):
        """How late the client's own event loop wakes up: latencies include this much queueing
        on the client side."""
        while not self.stop:
            t = now()
            await asyncio.sleep(0.01)
            self.loop_lag.append(now() - t - 0.01)

    async def run(self, pid):
        a = self.args
        n_malformed = round(a.clients * a.malformed_share)
        n_status = round(a.clients * a.status_share)
        n_new = round(a.clients * a.new_share)
        roles = (["malformed"] * n_malformed + ["status"] * n_status + ["new"] * n_new)
        roles += ["cached"] * (a.clients - len(roles))
        self.roles = {k: roles.count(k) for k in KINDS}
        self.roles["tok get"] = a.procs
        log(f"{a.clients} socket clients ({', '.join(f'{v} {k}' for k, v in self.roles.items() if k != 'tok get')}) "
            f"and {a.procs} `tok get` loops for {a.seconds} s")
        self.t0 = now()
        self.cpu0 = os.times()
        background = [asyncio.create_task(self.faults()), asyncio.create_task(self.sampler(pid)),
                      asyncio.create_task(self.lag_probe())]
        clients = [asyncio.create_task(self.socket_client(i, r)) for i, r in enumerate(roles)]
        clients += [asyncio.create_task(self.process_client(i)) for i in range(a.procs)]
        await asyncio.sleep(a.seconds)
        self.stop = True
        self.elapsed = now() - self.t0
        t = os.times()
        self.client_cpu = (t.user + t.system - self.cpu0.user - self.cpu0.system) / self.elapsed
        done, pending = await asyncio.wait(clients, timeout=a.reply_timeout + 5)
        for t in pending:
            t.cancel()
        for t in done:
            if t.exception():
                raise t.exception()
        await asyncio.gather(*background, return_exceptions=True)


def sample(pid):
    """(RSS KiB, open fds, threads, CPU seconds) of `pid`, or None when it is gone."""
    try:
        rss = threads = 0
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("Threads:"):
                    threads = int(line.split()[1])
                elif line.startswith("State:") and line.split()[1] in ("Z", "X"):
                    return None
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
        fields = st[st.rindex(")") + 2:].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return rss, fds, threads, cpu
    except (OSError, ValueError, IndexError):
        return None


def call(sock_path, request):
    """One request over a fresh connection, blocking (set-up and checks)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(60)
        s.connect(sock_path)
        s.sendall(envelope(request))
        hdr = recv_exact(s, 4)
        return json.loads(recv_exact(s, struct.unpack(">I", hdr)[0]))


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise bench.BenchError("the agent closed the connection")
        buf += chunk
    return buf


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def machine():
    def git(*a):
        return subprocess.run(["git", "-C", bench.REPO, *a], capture_output=True, text=True).stdout.strip()
    dirty = git("status", "--porcelain", "--", "src", "Cargo.toml", "Cargo.lock")
    return (f"{os.cpu_count()} CPUs, Linux {os.uname().release}, tok {git('rev-parse', '--short', 'HEAD')}"
            f"{' (+ uncommitted src changes)' if dirty else ''}, {time.strftime('%Y-%m-%d %H:%M %Z')}")


def wait_for(cond, secs):
    deadline = time.time() + secs
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


# ---------------------------------------------------------------------------------------------


def report(soak, before, after, args, pid):
    elapsed = soak.elapsed
    total = sum(soak.count.values())
    lines = []

    def out(s=""):
        lines.append(s)

    out(f"{machine()}; load average {soak.load[0]} at start, {soak.load[1]} at end")
    out()
    out(f"{args.clients} socket clients + {args.procs} `tok get` loops, {elapsed:.0f} s, think time "
        f"0–{2 * args.think_ms} ms; provider faults cycling every {args.fault_period} s "
        f"(50 % none, 25 % HTTP 500, 25 % slow {args.slow_ms} ms), refresh tokens rotated")
    out()
    out("| request kind | clients | requests | per s | answered right | p50 (ms) | p99 (ms) | max (ms) |")
    out("|---|---|---|---|---|---|---|---|")
    for k in KINDS:
        lat = [x * 1000 for x in soak.lat[k]]
        out(f"| {k} | {soak.roles.get(k, 0)} | {soak.count[k]} | {soak.count[k] / elapsed:.0f} | "
            f"{soak.ok[k]} | {pct(lat, 0.5):.2f} | {pct(lat, 0.99):.2f} | "
            f"{max(lat) if lat else float('nan'):.1f} |")
    out(f"| all | {args.clients + args.procs} | {total} | {total / elapsed:.0f} | "
        f"{sum(soak.ok.values())} | | | |")
    out()
    lag = [x * 1000 for x in soak.loop_lag]
    out(f"- wrong answers: **{len(soak.wrong)}**; lost logins: **{len(soak.lost_login)}**; "
        f"unexpected errors: **{len(soak.unexpected)}**; unanswered requests: "
        f"**{sum(soak.unserved.values())}**; hangs: **{len(soak.hangs)}**")
    pe = ", ".join(f"{v} while `{k}`" for k, v in sorted(soak.provider_errors.items())) or "none"
    out(f"- provider errors answered to new-scope requests (expected under faults; sent while the "
        f"fault was): {pe}")
    out(f"- malformed frames sent: " + ", ".join(f"{k} {v}" for k, v in sorted(soak.malformed_seen.items())))
    out(f"- client event-loop lag (client-side queueing inside every latency): p50 "
        f"{pct(lag, 0.5):.2f} ms, p99 {pct(lag, 0.99):.2f} ms; client CPU {100 * soak.client_cpu:.0f} % "
        f"of one core; connect retries: {soak.connect_retries}")
    live = [s for s in soak.samples if s[1] is not None]
    warm = [s for s in live if s[0] >= soak.warmup] or live
    if warm:
        first, last = warm[0], warm[-1]
        mx_rss = max(s[1] for s in warm)
        mx_fd = max(s[2] for s in warm)
        cpu = (last[4] - first[4]) / max(1e-9, last[0] - first[0])
        out(f"- agent (pid {pid}) RSS under load, sampled every {args.sample_every} s from "
            f"t={first[0]:.0f} s: first {first[1] / 1024:.1f} MB, max {mx_rss / 1024:.1f} MB, last "
            f"{last[1] / 1024:.1f} MB (idle before: {before[0] / 1024:.1f} MB, idle after: "
            f"{after[0] / 1024:.1f} MB)")
        out(f"- agent open fds under load: first {first[2]}, max {mx_fd}, last {last[2]} (idle "
            f"before: {before[1]}, idle after: {after[1]}); threads: {last[3]}; agent CPU "
            f"{100 * cpu:.0f} % of one core")
    return "\n".join(lines), warm


def verdict(soak, warm, before, after, args, agent_alive, panics):
    fails = []
    if sum(soak.count.values()) == 0:
        fails.append("no requests were made")
    if soak.wrong:
        fails.append(f"{len(soak.wrong)} wrong answers, first: {soak.wrong[0]}")
    if soak.lost_login:
        fails.append(f"{len(soak.lost_login)} lost logins, first: {soak.lost_login[0]}")
    if soak.unexpected:
        fails.append(f"{len(soak.unexpected)} unexpected errors, first: {soak.unexpected[0]}")
    if sum(soak.unserved.values()):
        fails.append(f"{sum(soak.unserved.values())} requests closed unanswered: {soak.unserved_why[:3]}")
    if soak.hangs:
        fails.append(f"{len(soak.hangs)} hangs, first: {soak.hangs[0]}")
    if not agent_alive:
        fails.append("the agent died (or was replaced) during the soak")
    if panics:
        fails.append(f"the agent log has panics: {panics[:2]}")
    if warm:
        first, last = warm[0], warm[-1]
        grew = (last[1] - first[1]) / 1024
        if grew > args.max_rss_growth_mb:
            fails.append(f"agent RSS grew {grew:.1f} MB under load (limit {args.max_rss_growth_mb} MB)")
        if last[2] - first[2] > args.max_fd_growth:
            fails.append(f"agent fds grew by {last[2] - first[2]} under load (limit {args.max_fd_growth})")
    if after[1] - before[1] > args.max_idle_fd_growth:
        fails.append(f"agent holds {after[1] - before[1]} more fds idle after the soak than before "
                     f"(limit {args.max_idle_fd_growth}): a leak")
    return fails


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tok", required=True, help="the tok binary")
    ap.add_argument("--clients", type=int, default=1000, help="socket clients (default 1000)")
    ap.add_argument("--seconds", type=float, default=60, help="length of the load (default 60)")
    ap.add_argument("--procs", type=int, default=4, help="loops running `tok get` processes")
    ap.add_argument("--accounts", type=int, default=2)
    ap.add_argument("--think-ms", type=float, default=150,
                    help="mean pause of a client between requests (uniform 0..2×)")
    ap.add_argument("--new-share", type=float, default=0.03)
    ap.add_argument("--status-share", type=float, default=0.04)
    ap.add_argument("--malformed-share", type=float, default=0.05)
    ap.add_argument("--new-pool", type=int, default=64, help="distinct new-scope requests")
    ap.add_argument("--fault-period", type=float, default=10)
    ap.add_argument("--slow-ms", type=int, default=1000)
    ap.add_argument("--at-ttl", type=int, default=3600, help="the provider's access-token lifetime")
    ap.add_argument("--reply-timeout", type=float, default=30)
    ap.add_argument("--ramp", type=float, default=1.0, help="clients start spread over this long")
    ap.add_argument("--sample-every", type=float, default=1.0)
    ap.add_argument("--max-rss-growth-mb", type=float, default=8,
                    help="fail when RSS under load grows more (first to last sample)")
    ap.add_argument("--max-fd-growth", type=int, default=64,
                    help="fail when open fds under load grow more (first to last sample)")
    ap.add_argument("--max-idle-fd-growth", type=int, default=8,
                    help="fail when the idle agent holds more fds after the soak than before")
    ap.add_argument("--json", help="write the figures here too")
    args = ap.parse_args()
    if args.clients + args.procs > 1000:
        log(f"note: {args.clients} + {args.procs} connections approach the agent's cap of 1024")

    work = tempfile.mkdtemp(prefix="tok-soak-")
    os.chmod(work, 0o755)
    provider = tok = None
    code = 2
    try:
        provider = bench.Provider(work)
        log(f"provider at {provider.issuer}")
        tok = bench.Tok(args.tok, os.path.join(work, "tok"), provider,
                        extra={"TOK_HTTP_TIMEOUT": "10", "TOK_LOG": "info"})
        names = [f"soak{i}" for i in range(args.accounts)]
        for i, name in enumerate(names):
            tok.login(name, default=(i == 0))
        status = call(tok.socket, {"type": "status"})
        client_ids = {a["name"]: a["client_id"] for a in status["accounts"]}
        pid = status["agent"]["pid"]
        # The provider rotates from now on: every refresh rewrites the stored token.
        provider.request("POST", "/test/config", json.dumps({"rotate": True, "at_ttl": args.at_ttl}),
                         {"Content-Type": "application/json"})
        combos = []
        for name in names:
            for j in range(6):
                auds = [f"https://se{j % 3}.example.org"] if j % 3 else []
                combos.append((name, [f"storage.read:/soak/cached/{j}"], auds))
            combos.append((name, ["storage.read:/soak", "storage.modify:/soak/out"],
                           ["https://se0.example.org"]))
        for account, scopes, auds in combos:
            r = call(tok.socket, token_request(account, scopes, auds))
            if r.get("type") != "token":
                raise bench.BenchError(f"warming the cache: {r}")
        time.sleep(0.5)
        before = sample(pid)
        soak = Soak(args, tok, provider, client_ids, combos)
        soak.warmup = max(2.0, args.ramp + 1, 0.1 * args.seconds)
        load0 = loadavg()
        asyncio.run(soak.run(pid))
        soak.load = (load0, loadavg())
        # Idle again: every client is gone; the agent must drop back to its idle fd count.
        wait_for(lambda: (sample(pid) or (0, 1 << 30))[1] <= before[1], 15)
        after = sample(pid) or (0, 0, 0, 0)
        agent_alive = sample(pid) is not None and call(tok.socket, {"type": "ping"}).get("pid") == pid
        # Still whole: the logins survived, each cached combination is served.
        status = call(tok.socket, {"type": "status"})
        for a in status["accounts"]:
            if a["state"] not in ("ok", "refreshing"):
                soak.lost_login.append(f"after the soak: {a['name']} is {a['state']} ({a.get('reason')})")
        for account, scopes, auds in combos[:2]:
            r = call(tok.socket, token_request(account, scopes, auds))
            if r.get("type") != "token":
                soak.unexpected.append(("after", r.get("kind"), str(r)[:200]))
        agent_log = open(os.path.join(tok.root, "run", "tok", "agent.log"), errors="replace").read()
        panics = [l for l in agent_log.splitlines() if "panicked" in l]
        text, warm = report(soak, before, after, args, pid)
        print(text, flush=True)
        fails = verdict(soak, warm, before, after, args, agent_alive, panics)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({
                    "args": vars(args), "elapsed": soak.elapsed, "count": soak.count, "ok": soak.ok,
                    "latency_ms": {k: {"p50": pct([x * 1000 for x in v], 0.5),
                                       "p99": pct([x * 1000 for x in v], 0.99)}
                                   for k, v in soak.lat.items()},
                    "wrong": soak.wrong[:100], "lost_login": soak.lost_login[:100],
                    "unexpected": soak.unexpected[:100], "unserved": soak.unserved,
                    "hangs": soak.hangs[:100], "provider_errors": soak.provider_errors,
                    "samples": soak.samples, "idle_before": before, "idle_after": after,
                    "fails": fails}, f, indent=1)
        if fails:
            for f_ in fails:
                log(f"FAIL: {f_}")
            code = 1
        else:
            log("PASS")
            code = 0
    except (bench.BenchError, RuntimeError, OSError) as e:
        log(f"the soak could not run: {e}")
        code = 2
    finally:
        if tok:
            try:
                tok.stop()
            except Exception:
                pass
        if provider:
            provider.stop()
        if code == 2 and os.environ.get("SOAK_KEEP"):
            log(f"work dir kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
