#!/usr/bin/env python3
"""The payment benchmark: one run, one machine, every figure of docs/performance.md's
payments section.

    bench/run.sh            (bootstraps, builds, then runs this)
    bench/payments.py --build build [--quick] [--no-write]

Steps, all against a fresh local stack (scripts/stack.py) on loopback:
  1. the PostgreSQL ceiling with pgbench: the exact transaction shape of a payment
     (wallet update + payment insert + outbox insert) at 16 and 32 clients, and a
     one-row insert transaction;
  2. every daemon's time from process start to /readyz 200, and its resident memory idle;
  3. payment-api at its maximum (closed loop, many connections) with batching off
     (PAYPIPE_PAYMENT_BATCH_SIZE=1, 16 workers as pgbench's 16 clients) and on, against the
     pgbench ceiling of this run; the downstream daemons are stopped for this step and
     the next, so that payment-api (and its outbox relay) has the machine as pgbench had;
  4. payment-api open loop at 1,000, 2,000 and 4,000 payments/s (latency from each
     request's due time);
  5. payment accepted -> message at the fake Telegram, with the fake answering in 0 ms
     and in 50 ms, at 1,000 payments/s; outbox relay lag (commit -> broker ack);
  6. resident memory of every daemon under load;
  7. where the time goes: perf profiles (self time per symbol) of payment-api in the
     batched closed loop and of notification-sender in the 0 ms latency phase.
Payable orders and wallets are seeded with SQL straight into payment-api's tables
(the benchmark measures payments, not order creation).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")
SERVICES = ["payment-api", "order-processor", "coupon-issuer", "notification-sender", "ranking-updater",
            "data-platform-forwarder", "dlq-retrier"]
USERS = 1000
ADMIN_TOKEN = "bench-admin-token"
# The benchmark's identity provider: a key made at start; loadgen mints a token per user
# with it and payment-api verifies each request's signature (the real cost).
JWT_ISSUER = "https://id.bench.paypipe.test"
JWT_AUDIENCE = "paypipe-api"
JWT_KID = "bench-1"
TELEGRAM_TOKEN = "123456:BENCH"


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http(method: str, url: str, body: bytes | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError:
        return 0, b""


class Profile:
    """perf record -g of one process while a phase runs; top() summarises where its CPU time went."""

    def __init__(self, pid: int, out: Path):
        self.out = out
        self.proc = None
        if shutil.which("perf"):
            self.proc = subprocess.Popen(["perf", "record", "-F", "499", "-g", "-p", str(pid), "-o", str(out)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def top(self, count: int = 12) -> list[tuple[float, str, str]]:
        """The `count` heaviest symbols by self time: (percent, symbol, object)."""
        if not self.proc:
            return []
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=60)
        report = subprocess.run(["perf", "report", "-i", str(self.out), "--stdio", "--no-children",
                                 "--sort", "dso,symbol", "-g", "none", "--percent-limit", "0.5"],
                                capture_output=True, text=True).stdout
        rows = []
        for line in report.splitlines():
            m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[.\]\s+(.+?)\s*$", line)
            if m:
                rows.append((float(m.group(1)), re.split(r"\s{2,}", m.group(3))[0][:90], m.group(2)))
        return rows[:count]


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Stack:
    def __init__(self, directory: Path):
        self.dir = directory
        out = subprocess.run([sys.executable, str(ROOT / "scripts/stack.py"), "start", "--dir", str(directory),
                              "--replace"], check=True, capture_output=True, text=True).stdout
        self.env = dict(line.split("=", 1) for line in out.strip().splitlines())

    def psql(self, sql: str, database_only: bool = False) -> str:
        return subprocess.run([str(PG_BIN / "psql"), self.env["PG_DSN"], "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
                              check=True, capture_output=True, text=True).stdout

    def stop(self) -> None:
        subprocess.run([sys.executable, str(ROOT / "scripts/stack.py"), "stop", "--dir", str(self.dir)], check=False)


class Daemon:
    def __init__(self, build: Path, service: str, stack: Stack, logs: Path, extra: dict[str, str] | None = None):
        self.service = service
        self.port = free_port()
        self.env = {
            "PATH": "/usr/bin:/bin",
            "PAYPIPE_PROFILE": "local",
            "PAYPIPE_KAFKA_BOOTSTRAP_SERVERS": stack.env["KAFKA_BOOTSTRAP_SERVERS"],
            "PAYPIPE_PG_DSN": stack.env["PG_DSN"],
            "PAYPIPE_HTTP_ADDRESS": "127.0.0.1",
            "PAYPIPE_HTTP_PORT": str(self.port),
            "PAYPIPE_LOG_LEVEL": "warn",
        }
        self.env.update(extra or {})
        self.binary = build / "bin" / service
        self.log = open(logs / f"{service}.log", "ab")
        self.process: subprocess.Popen | None = None

    def start(self) -> float:
        """Starts the process; returns seconds until /readyz answered 200."""
        started = time.monotonic()
        self.process = subprocess.Popen([str(self.binary)], env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{self.port}/readyz"
        deadline = started + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.service} exited with {self.process.returncode}; see its log")
            status, _ = http("GET", url, timeout=2)
            if status == 200:
                return time.monotonic() - started
            time.sleep(0.001)
        raise RuntimeError(f"{self.service} not ready within 60 s")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def rss(self) -> int:
        return rss_kib(self.process.pid) if self.process else 0

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def pgbench(stack: Stack, script: str, clients: int, seconds: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script)
        path = f.name
    out = subprocess.run([str(PG_BIN / "pgbench"), "-n", "-c", str(clients), "-j", "2", "-T", str(seconds), "-f", path,
                          stack.env["PG_DSN"]], check=True, capture_output=True, text=True).stdout
    os.unlink(path)
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out)
    return float(match.group(1)) if match else 0.0


PAYMENT_SHAPE_SETUP = f"""
CREATE SCHEMA IF NOT EXISTS pgbench_shape;
DROP TABLE IF EXISTS pgbench_shape.wallets, pgbench_shape.payments, pgbench_shape.outbox, pgbench_shape.one_row;
CREATE TABLE pgbench_shape.wallets (user_id text PRIMARY KEY, balance bigint NOT NULL);
CREATE TABLE pgbench_shape.payments (id uuid PRIMARY KEY, order_id uuid NOT NULL, user_id text NOT NULL,
  amount bigint NOT NULL, status text NOT NULL, idempotency_key text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, idempotency_key));
CREATE TABLE pgbench_shape.outbox (id uuid PRIMARY KEY, aggregatetype text, aggregateid text, type text,
  payload jsonb, headers jsonb, seq bigserial, created_at timestamptz DEFAULT clock_timestamp());
CREATE TABLE pgbench_shape.one_row (id bigserial PRIMARY KEY, payload text);
INSERT INTO pgbench_shape.wallets SELECT 'u' || i, 1000000000 FROM generate_series(1, {USERS}) i;
"""

PAYMENT_SHAPE = f"""\\set uid random(1, {USERS})
BEGIN;
UPDATE pgbench_shape.wallets SET balance = balance - 100 WHERE user_id = 'u' || :uid;
INSERT INTO pgbench_shape.payments (id, order_id, user_id, amount, status, idempotency_key)
  VALUES (gen_random_uuid(), gen_random_uuid(), 'u' || :uid, 100, 'COMPLETED', gen_random_uuid()::text);
INSERT INTO pgbench_shape.outbox (id, aggregatetype, aggregateid, type, payload, headers)
  VALUES (gen_random_uuid(), 'payment', 'x', 'payment.completed', '{{"amount":100}}', '{{}}');
COMMIT;
"""

ONE_ROW = "INSERT INTO pgbench_shape.one_row (payload) VALUES ('x');\n"


def seed_orders(stack: Stack, count: int, path: Path) -> None:
    stack.psql(f"""
INSERT INTO payment_api.wallets (user_id, balance)
  SELECT 'u' || i, 1000000000000 FROM generate_series(1, {USERS}) i ON CONFLICT DO NOTHING;
INSERT INTO payment_api.wallet_entries (id, user_id, kind, amount, balance_after, idempotency_key)
  SELECT gen_random_uuid(), 'u' || i, 'DEPOSIT', 1000000000000, 1000000000000, 'seed'
  FROM generate_series(1, {USERS}) i ON CONFLICT DO NOTHING;
CREATE TEMP TABLE fresh AS SELECT gen_random_uuid() AS order_id, 'u' || (1 + i % {USERS}) AS user_id
  FROM generate_series(1, {count}) i;
INSERT INTO payment_api.payable_orders (order_id, user_id, amount, currency, status, expires_at)
  SELECT order_id, user_id, 100, 'KRW', 'PAYABLE', now() + interval '2 hours' FROM fresh;
""")
    out = stack.psql("SELECT order_id || chr(9) || user_id FROM payment_api.payable_orders "
                     "WHERE status = 'PAYABLE' ORDER BY updated_at, order_id")
    path.write_text(out)


class Orders:
    """Hands out disjoint slices of the seeded orders to successive load phases."""

    def __init__(self, path: Path, workdir: Path):
        self.lines = path.read_text().splitlines()
        self.cursor = 0
        self.workdir = workdir
        self.slice = 0

    def take(self, count: int) -> Path:
        if self.cursor + count > len(self.lines):
            raise RuntimeError(f"not enough seeded orders: need {count}, have {len(self.lines) - self.cursor}")
        self.slice += 1
        path = self.workdir / f"orders-{self.slice}.tsv"
        path.write_text("\n".join(self.lines[self.cursor:self.cursor + count]) + "\n")
        self.cursor += count
        return path


JWT_KEY: Path | None = None  # set by run()


def loadgen(build: Path, url: str, orders: Path, mode: str, seconds: float, connections: int = 64, rate: float = 0,
            accepted: Path | None = None) -> dict:
    cmd = [str(build / "bin/loadgen"), "--url", url, "--orders", str(orders), "--mode", mode, "--seconds", str(seconds),
           "--connections", str(connections)]
    if JWT_KEY:
        cmd += ["--jwt-key", str(JWT_KEY), "--jwt-kid", JWT_KID, "--jwt-iss", JWT_ISSUER, "--jwt-aud", JWT_AUDIENCE]
    if mode == "open":
        cmd += ["--rate", str(rate)]
    if accepted:
        cmd += ["--accepted", str(accepted)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def histogram_quantiles(metrics: str, name: str) -> dict[str, float]:
    """p50/p99 from a Prometheus histogram (upper bound of the bucket holding the quantile)."""
    buckets = []
    for line in metrics.splitlines():
        m = re.match(rf'{name}_bucket{{.*le="([^"]+)".*}} ([0-9.e+]+)', line)
        if m:
            le = float("inf") if m.group(1) == "+Inf" else float(m.group(1))
            buckets.append((le, float(m.group(2))))
    buckets.sort()
    if not buckets or buckets[-1][1] == 0:
        return {}
    total = buckets[-1][1]
    result = {}
    for q in (0.5, 0.99):
        for le, count in buckets:
            if count >= q * total:
                result[f"p{int(q * 100)}"] = le * 1000
                break
    result["count"] = total
    return result


def e2e_latency(telegram_url: str, accepted: Path) -> dict:
    status, body = http("GET", telegram_url + "/messages", timeout=30)
    messages = json.loads(body) if status == 200 else []
    accepted_at = {}
    for line in accepted.read_text().splitlines():
        payment_id, at = line.split("\t")
        accepted_at[payment_id] = int(at)
    latencies = []
    for m in messages:
        for payment_id in re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", m["text"]):
            if payment_id in accepted_at:
                latencies.append(m["receivedAt"] - accepted_at.pop(payment_id))
                break
    latencies.sort()
    if not latencies:
        return {"matched": 0}
    pct = lambda p: latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))]
    return {"matched": len(latencies), "missing": len(accepted_at), "p50": pct(50), "p99": pct(99), "max": latencies[-1]}


def wait_for_messages(telegram_url: str, expected: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    delivered = 0
    while time.monotonic() < deadline:
        status, body = http("GET", telegram_url + "/stats")
        if status == 200:
            delivered = json.loads(body)["delivered"]
            if delivered >= expected:
                break
        time.sleep(0.2)
    return delivered


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_gib = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    return f"{os.cpu_count()} cores ({model}), {mem_gib:.0f} GiB, {platform.system()} {platform.release()}"


def commit() -> str:
    out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return out.stdout.strip() + (" (with local changes)" if dirty else "")


def run(args) -> dict:
    build = Path(args.build).resolve()
    quick = args.quick
    work = Path(tempfile.mkdtemp(prefix="paypipe-bench-"))
    logs = work / "logs"
    logs.mkdir()
    results: dict = {"machine": machine(), "commit": commit(), "quick": quick}
    phase_seconds = 5 if quick else 15
    stack = Stack(work / "stack")
    daemons: dict[str, Daemon] = {}
    extra_env = {}
    try:
        env = os.environ | {"PAYPIPE_KAFKA_BOOTSTRAP_SERVERS": stack.env["KAFKA_BOOTSTRAP_SERVERS"]}
        subprocess.run([str(build / "bin/paypipe-admin"), "topics", "create", "--replication", "1", "--min-insync", "1"],
                       env=env, check=True, capture_output=True)

        log("pgbench: the payment transaction shape and a one-row insert")
        stack.psql(PAYMENT_SHAPE_SETUP)
        results["pgbench"] = {
            "payment_16": pgbench(stack, PAYMENT_SHAPE, 16, phase_seconds),
            "payment_32": pgbench(stack, PAYMENT_SHAPE, 32, phase_seconds),
            "one_row_16": pgbench(stack, ONE_ROW, 16, phase_seconds),
        }
        ceiling = max(results["pgbench"]["payment_16"], results["pgbench"]["payment_32"])
        log(f"pgbench: {results['pgbench']}")

        telegram_port = free_port()
        telegram = subprocess.Popen([str(build / "bin/fake-telegram"), "--port", str(telegram_port), "--token",
                                     TELEGRAM_TOKEN], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        telegram_url = f"http://127.0.0.1:{telegram_port}"
        for _ in range(500):
            if http("GET", telegram_url + "/stats")[0] == 200:
                break
            time.sleep(0.01)
        analytics_port = free_port()
        analytics = subprocess.Popen([str(build / "bin/fake-analytics"), "--port", str(analytics_port),
                                      "--control-port", str(free_port()), "--path", "/webhook"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        global JWT_KEY
        JWT_KEY = work / "jwt-signing.pem"
        subprocess.run([str(build / "bin/paypipe-admin"), "keygen", "--out", str(JWT_KEY)], check=True)
        jwks = subprocess.run([str(build / "bin/paypipe-admin"), "jwks", "--key", str(JWT_KEY), "--kid", JWT_KID],
                              check=True, capture_output=True, text=True).stdout
        (work / "jwks.json").write_text(jwks)
        extra_env = {
            "PAYPIPE_ADMIN_TOKEN": ADMIN_TOKEN,
            "PAYPIPE_JWT_JWKS_FILE": str(work / "jwks.json"),
            "PAYPIPE_JWT_ISSUER": JWT_ISSUER,
            "PAYPIPE_JWT_AUDIENCE": JWT_AUDIENCE,
            # 1,000 users paying as fast as the service goes: far over a person's rate.
            "PAYPIPE_RATE_LIMIT_PER_USER": "0",
        }
        per_service = {
            "notification-sender": {"PAYPIPE_TELEGRAM_BASE_URL": telegram_url, "PAYPIPE_TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
                                    # every bench user has a chat: unmapped users get no message
                                    "PAYPIPE_TELEGRAM_CHAT_IDS": ",".join(f"u{i}={1000000 + i}"
                                                                          for i in range(1, USERS + 1))},
            "data-platform-forwarder": {"PAYPIPE_WEBHOOK_URL": f"http://127.0.0.1:{analytics_port}/webhook"},
        }
        log("readiness and idle memory of every daemon")
        results["ready_ms"], results["rss_idle_kib"] = {}, {}
        for service in SERVICES:
            wanted = dict(extra_env) | per_service.get(service, {})
            env_for = {k: v for k, v in wanted.items() if accepts(build, service, k)}
            daemon = Daemon(build, service, stack, logs, env_for)
            try:
                results["ready_ms"][service] = round(daemon.start() * 1000, 1)
                daemons[service] = daemon
            except RuntimeError as e:
                results["ready_ms"][service] = f"failed: {e}"
        time.sleep(2)
        for service, daemon in daemons.items():
            results["rss_idle_kib"][service] = daemon.rss()
        # Readiness measured again on a warm machine: stop and start each daemon once more.
        results["ready_ms_restart"] = {}
        for service, daemon in list(daemons.items()):
            daemon.stop()
            results["ready_ms_restart"][service] = round(daemon.start() * 1000, 1)

        orders_total = 120_000 if quick else 400_000
        log(f"seeding {orders_total} payable orders")
        seed_orders(stack, orders_total, work / "orders.tsv")
        orders = Orders(work / "orders.tsv", work)
        api = daemons["payment-api"]
        rss_load: dict[str, int] = {}

        def sample_rss():
            for service, daemon in daemons.items():
                rss_load[service] = max(rss_load.get(service, 0), daemon.rss())

        def restart_api(batch_size: int, workers: int):
            api.stop()
            api.env["PAYPIPE_PAYMENT_BATCH_SIZE"] = str(batch_size)
            api.env["PAYPIPE_PAYMENT_WORKERS"] = str(workers)
            api.start()

        # payment-api alone at its maximum, as pgbench is alone: the downstream daemons
        # stop for these phases (their backlog waits in Kafka; draining it later measures
        # notification-sender's maximum). The outbox relay is payment-api's and keeps running.
        downstream = [d for name, d in daemons.items() if name != "payment-api"]
        for daemon in downstream:
            daemon.stop()
        # Batching off: one transaction per request on 16 connections, as pgbench's 16 clients.
        log("payment-api at its maximum, batching off")
        restart_api(1, 16)
        results["closed_unbatched"] = loadgen(build, api.url(""), orders.take(40_000 if not quick else 8_000), "closed",
                                              phase_seconds, connections=64)
        sample_rss()
        log(f"  {results['closed_unbatched']['throughput']:.0f}/s")
        log("payment-api at its maximum, batching on")
        restart_api(64, 4)
        profile = Profile(api.process.pid, work / "perf-payment-api.data") if args.profile else None
        results["closed_batched"] = loadgen(build, api.url(""), orders.take(150_000 if not quick else 25_000), "closed",
                                            phase_seconds, connections=128)
        sample_rss()
        if profile:
            results["profile_payment_api"] = profile.top()
        log(f"  {results['closed_batched']['throughput']:.0f}/s")
        results["ceiling"] = ceiling
        results["ratio_unbatched"] = results["closed_unbatched"]["throughput"] / ceiling if ceiling else 0
        results["ratio_batched"] = results["closed_batched"]["throughput"] / ceiling if ceiling else 0

        results["open"] = {}
        for rate in (1000, 2000, 4000):
            log(f"payment-api open loop at {rate}/s")
            results["open"][str(rate)] = loadgen(build, api.url(""), orders.take(int(rate * phase_seconds) + 10), "open",
                                                 phase_seconds, rate=rate)
            sample_rss()

        # The downstream daemons again: they drain the backlog of the phases above (timed),
        # then the latency probe runs with the whole system at steady state.
        for daemon in downstream:
            daemon.start()
        if "notification-sender" in daemons:
            results["e2e"] = {}
            def delivered() -> int:
                return json.loads(http("GET", telegram_url + "/stats")[1] or b'{"delivered":0}')["delivered"]

            for delay in (0, 50):
                # The earlier phases left a backlog of notifications (one per payment): drain it
                # first, and time the first drain as notification-sender's maximum rate.
                first = delivered()
                moving_by = time.monotonic() + (60 if delay == 0 else 5)  # the restarted sender joins its group
                while time.monotonic() < moving_by and delivered() == first:
                    time.sleep(0.05)
                started, base = time.monotonic(), delivered()
                last, last_change = base, started
                while time.monotonic() < started + 900 and time.monotonic() - last_change < 2:
                    time.sleep(0.2)
                    if (now := delivered()) != last:
                        last, last_change = now, time.monotonic()
                if delay == 0 and last - base > 1000:
                    seconds = last_change - started
                    results["notification_drain"] = {"messages": last - base, "seconds": round(seconds, 1),
                                                      "per_second": round((last - base) / max(seconds, 0.001))}
                    log(f"  notification backlog drained: {results['notification_drain']}")
                http("POST", telegram_url + "/reset")
                http("POST", telegram_url + "/control", json.dumps({"mode": "ok", "delayMs": delay}).encode())
                accepted = work / f"accepted-{delay}.tsv"
                rate = 1000
                log(f"payment -> Telegram latency at {rate}/s, Telegram answering in {delay} ms")
                sender = daemons["notification-sender"]
                profile = (Profile(sender.process.pid, work / f"perf-notification-sender-{delay}.data")
                           if args.profile and delay == 0 else None)
                load = loadgen(build, api.url(""), orders.take(rate * phase_seconds + 10), "open", phase_seconds,
                               rate=rate, accepted=accepted)
                if profile:
                    results["profile_notification_sender"] = profile.top()
                expected = load["status"].get("201", 0)
                wait_for_messages(telegram_url, expected, 60)
                sample_rss()
                results["e2e"][f"{delay}ms"] = e2e_latency(telegram_url, accepted) | {"payments": expected}
                log(f"  {results['e2e'][f'{delay}ms']}")
        status, metrics = http("GET", api.url("/metrics"))
        results["relay_lag_ms"] = histogram_quantiles(metrics.decode(), "outbox_relay_lag_seconds")
        results["rss_load_kib"] = rss_load
        for fake in (telegram, analytics):
            fake.terminate()
            fake.wait()
    finally:
        for daemon in daemons.values():
            daemon.stop()
        stack.stop()
    results["workdir"] = str(work)
    return results


def accepts(build: Path, service: str, variable: str) -> bool:
    """Whether a daemon knows a variable: its check-config names unknown ones."""
    probe = subprocess.run([str(build / "bin" / service), "check-config"],
                           env={"PATH": "/usr/bin:/bin", "PAYPIPE_KAFKA_BOOTSTRAP_SERVERS": "x:1",
                                "PAYPIPE_PG_DSN": "postgresql://x/y", variable: "1"},
                           capture_output=True, text=True)
    return f"{variable}: unknown variable" not in probe.stdout + probe.stderr


def fmt(value, unit="") -> str:
    if isinstance(value, (int, float)):
        return f"{value:,.0f}{unit}" if value >= 100 else f"{value:.1f}{unit}"
    return str(value)


def render(results: dict, command: str) -> str:
    pg = results["pgbench"]
    lines = [
        "## Payments and the payment -> Telegram path",
        "",
        f"Measured by `{command}` on commit {results['commit']}, {time.strftime('%Y-%m-%d')}, on {results['machine']}, "
        "with Kafka (one broker) and PostgreSQL (default settings) on the same host."
        + (" QUICK run (5 s phases): indicative only." if results.get("quick") else ""),
        "",
        "### The PostgreSQL ceiling (pgbench, same run)",
        "",
        "| transaction | clients | transactions/s |",
        "|---|---|---|",
        f"| payment shape: wallet update + payment insert + outbox insert | 16 | {fmt(pg['payment_16'])} |",
        f"| payment shape | 32 | {fmt(pg['payment_32'])} |",
        f"| one-row insert | 16 | {fmt(pg['one_row_16'])} |",
        "",
        "### payment-api",
        "",
        "| measure | result | target |",
        "|---|---|---|",
    ]
    ub, b = results["closed_unbatched"], results["closed_batched"]
    lines += [
        f"| max payments/s, batching off (closed loop, 64 connections) | {fmt(ub['throughput'])}/s = "
        f"{results['ratio_unbatched'] * 100:.0f} % of the pgbench ceiling ({fmt(results['ceiling'])}/s); "
        f"p99 {ub['latencyMs']['p99']:.1f} ms | >= 90 % of the ceiling |",
        f"| max payments/s, batching on (closed loop, 128 connections) | {fmt(b['throughput'])}/s = "
        f"{results['ratio_batched']:.2f}x the ceiling; p99 {b['latencyMs']['p99']:.1f} ms | >= 2x (5,000/s) |",
    ]
    for rate, r in results["open"].items():
        lat = r["latencyMs"]
        target = "p99 < 20 ms" if rate in ("1000", "2000") else ""
        lines.append(f"| open loop {int(rate):,}/s | {fmt(r['throughput'])}/s answered, p50 {lat['p50']:.1f} ms, "
                     f"p99 {lat['p99']:.1f} ms, max {lat['max']:.0f} ms, errors {r['errors']}, "
                     f"statuses {r['status']} | {target} |")
    lag = results.get("relay_lag_ms", {})
    if lag:
        lines.append(f"| outbox relay lag, insert -> broker ack (all phases) | p50 <= {lag.get('p50', 0):g} ms, "
                     f"p99 <= {lag.get('p99', 0):g} ms (histogram bucket bounds) | |")
    if "e2e" in results:
        lines += ["", "### Payment accepted -> message at the fake Telegram (1,000 payments/s)", "",
                  "| fake Telegram answers in | matched messages | p50 | p99 | max | target |", "|---|---|---|---|---|---|"]
        drain = results.get("notification_drain")
        if drain:
            lines.insert(len(lines) - 2, f"notification-sender's maximum, draining the backlog of the earlier phases "
                         f"(Telegram in 0 ms): {drain['messages']:,} messages in {drain['seconds']} s = "
                         f"{drain['per_second']:,}/s.")
            lines.insert(len(lines) - 2, "")
        for delay, r in results["e2e"].items():
            target = "p99 < 50 ms" if delay == "0ms" else "p99 < 200 ms"
            lines.append(f"| {delay} | {r.get('matched', 0)} of {r.get('payments', 0)} | {r.get('p50', '-')} ms | "
                         f"{r.get('p99', '-')} ms | {r.get('max', '-')} ms | {target} |")
    lines += ["", "### Every daemon", "",
              "| daemon | start -> /readyz 200 (first / restart) | RSS idle | RSS under load |", "|---|---|---|---|"]
    for service in SERVICES:
        ready = results["ready_ms"].get(service, "-")
        again = results.get("ready_ms_restart", {}).get(service, "-")
        idle = results["rss_idle_kib"].get(service, 0) / 1024
        load = results.get("rss_load_kib", {}).get(service, 0) / 1024
        lines.append(f"| {service} | {ready} ms / {again} ms | {idle:.1f} MiB | {load:.1f} MiB |")
    lines += ["", "Targets: ready within 100 ms, under 30 MiB idle and 64 MiB under load.", ""]
    for key, title in (("profile_payment_api", "payment-api, closed loop with batching on"),
                       ("profile_notification_sender", "notification-sender, 1,000 payments/s, Telegram in 0 ms")):
        if results.get(key):
            lines += [f"### Where the time goes: {title} (perf, self time)", "", "| % | symbol | object |",
                      "|---|---|---|"]
            lines += [f"| {pct:.1f} | `{sym.replace('|', '/')}` | {dso} |" for pct, sym, dso in results[key]]
            lines.append("")
    return "\n".join(lines)


def write_section(markdown: str) -> None:
    path = ROOT / "docs/performance.md"
    text = path.read_text()
    begin, end = "<!-- payments:begin -->", "<!-- payments:end -->"
    start, stop = text.index(begin) + len(begin), text.index(end)
    path.write_text(text[:start] + "\n" + markdown + "\n" + text[stop:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--quick", action="store_true", help="5 s phases and fewer orders")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/performance.md")
    parser.add_argument("--no-profile", dest="profile", action="store_false",
                        help="skip the perf profiles of payment-api and notification-sender")
    args = parser.parse_args()
    results = run(args)
    print(json.dumps(results, indent=2))
    if not args.no_write:
        write_section(render(results, "bench/run.sh" + (" --quick" if args.quick else "")))
        log("docs/performance.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
