#!/usr/bin/env python3
"""The payment benchmark: one run, one machine, every figure of docs/performance.md's
payments section.

    bench/run.sh            (bootstraps, builds, then runs this)
    bench/payments.py --build build [--quick] [--no-write]

Steps, all against a fresh local stack (scripts/stack.py) on loopback, its PostgreSQL with
pg_stat_statements loaded:
  1. the PostgreSQL ceiling with pgbench: the three-statement payment shape (wallet update +
     payment insert + outbox insert) at 16 and 32 clients, and a one-row insert transaction;
  2. every daemon's time from process start to /readyz 200, and its resident memory idle;
  3. payment-api at its maximum (closed loop, many connections) with batching off
     (PAYPIPE_PAYMENT_BATCH_SIZE=1, 16 workers as pgbench's 16 clients) and on, its
     PostgreSQL statements captured in each (pg_stat_statements: statements per batch);
     the downstream daemons are stopped for this step and the next, so that payment-api
     (and its outbox relay) has the machine as pgbench had;
  4. the honest ceiling: pgbench with exactly the statements payment-api sent
     (KNOWN_STATEMENTS binds their parameters), per request and in the batched form;
  5. payment-api open loop at 1,000, 2,000 and 4,000 payments/s (latency from each
     request's due time);
  6. payment accepted -> message at the fake Telegram, with the fake answering in 0 ms
     and in 50 ms, at 1,000 payments/s; outbox relay lag (commit -> broker ack);
  7. resident memory of every daemon under load;
  8. where the time goes: perf profiles (self time per symbol) of payment-api in the
     batched closed loop and of notification-sender in the 0 ms latency phase.
  9. scaling: right after step 3's batching-on phase, two payment-api replicas on the same
     schema, each with a loadgen of its own (payments/s of two against one, CPU per payment
     of each, who published: the writers' fast path or a relay; relay lock contention,
     duplicates); at the end, the outbox relay alone (fast path off, no requests) draining
     rows seeded into the outbox: its maximum events/s.
Every load phase and pgbench run prints the CPU per payment of each process (payment-api,
PostgreSQL's processes, the broker, the load generator, the other daemons) from /proc
(CpuMeter); the end prints issue 18's targets against this run's figures.
Payable orders and wallets are seeded with SQL straight into payment-api's tables
(the benchmark measures payments, not order creation).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
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
        # pg_stat_statements, to capture payment-api's statements (KNOWN_STATEMENTS): loaded
        # for the whole run, so pgbench and payment-api pay its small cost alike.
        self.psql("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        subprocess.run([sys.executable, str(ROOT / "scripts/stack.py"), "postgres-restart", "--dir", str(directory)],
                       check=True, capture_output=True)
        self.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

    def state(self) -> dict:
        return json.loads((self.dir / "stack.json").read_text())

    def postmaster_pid(self) -> int:
        return self.state()["postgres"]["pid"]

    def broker_pids(self) -> list[int]:
        return [node["pid"] for node in self.state().get("kafka", {}).get("nodes", []) if node["pid"]]

    def psql(self, sql: str, database_only: bool = False) -> str:
        return subprocess.run([str(PG_BIN / "psql"), self.env["PG_DSN"], "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
                              check=True, capture_output=True, text=True).stdout

    def stop(self) -> None:
        subprocess.run([sys.executable, str(ROOT / "scripts/stack.py"), "stop", "--dir", str(self.dir)], check=False)


class Daemon:
    def __init__(self, build: Path, service: str, stack: Stack, logs: Path, extra: dict[str, str] | None = None,
                 log_name: str = ""):
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
        self.log = open(logs / f"{log_name or service}.log", "ab")
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


def pgbench_run(stack: Stack, scripts: str | list[tuple[str, int]], clients: int, seconds: int,
                schema: str = "") -> tuple[float, int]:
    """(transactions/s, transactions) of the first script on `clients` connections; `scripts`
    is one script or (script, weight) pairs that pgbench picks from at random by weight."""
    if isinstance(scripts, str):
        scripts = [(scripts, 1)]
    args, paths = [], []
    for script, weight in scripts:
        with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
            f.write(script)
            paths.append(f.name)
        args += ["-f", f"{f.name}@{weight}"]
    env = os.environ | ({"PGOPTIONS": f"-c search_path={schema}"} if schema else {})
    run = subprocess.run([str(PG_BIN / "pgbench"), "-n", "-c", str(clients), "-j", "2", "-T", str(seconds), *args,
                          stack.env["PG_DSN"]], capture_output=True, text=True, env=env)
    if run.returncode != 0:
        raise RuntimeError(f"pgbench failed on {' '.join(paths)}:\n{run.stdout[-2000:]}{run.stderr[-2000:]}")
    for path in paths:
        os.unlink(path)
    first = re.search(r"SQL script 1:.*?\n - weight.*?\n - (\d+) transactions \(.*?tps = ([0-9.]+)\)", run.stdout,
                      re.DOTALL)
    if first:
        return float(first.group(2)), int(first.group(1))
    tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", run.stdout)
    done = re.search(r"number of transactions actually processed: (\d+)", run.stdout)
    return (float(tps.group(1)) if tps else 0.0), (int(done.group(1)) if done else 0)


def pgbench(stack: Stack, script: str, clients: int, seconds: int) -> float:
    return pgbench_run(stack, script, clients, seconds)[0]


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


# ---------------------------------------------------------------- CPU per payment

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name: [0] is field 3 (state), so field n is [n - 3]."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process (all its threads)."""
    f = _stat_fields(pid)
    return int(f[11]) + int(f[12]) if f else 0


def tree_ticks(parent: int) -> int:
    """A process and all its children, live and gone: its own utime + stime, the cutime +
    cstime of the children it has reaped (PostgreSQL's backends that ended), and the utime +
    stime of each live child. Taken before and after a phase, the difference is the tree's
    CPU in the phase however many backends came and went: a backend live at the start and
    gone at the end counts its whole life after and its life so far before."""
    f = _stat_fields(parent)
    if not f:
        return 0
    total = int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            child = _stat_fields(int(entry.name))
            if child and int(child[1]) == parent:
                total += int(child[11]) + int(child[12]) + int(child[13]) + int(child[14])
    return total


class CpuMeter:
    """CPU seconds per process group, sampled before and after a phase. The load generator
    (loadgen, or pgbench's client) is this script's child that runs for the phase: its CPU
    is the change in RUSAGE_CHILDREN across it."""

    def __init__(self, groups: dict):
        self.groups = groups  # name -> callable returning the ticks now

    def sample(self) -> dict[str, float]:
        now = {name: ticks() / CLOCK_TICKS for name, ticks in self.groups.items()}
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        now["load generator"] = children.ru_utime + children.ru_stime
        return now

    @staticmethod
    def per_payment(before: dict[str, float], after: dict[str, float], payments: int) -> dict[str, float]:
        """Microseconds of CPU per payment of each group in a phase."""
        if payments <= 0:
            return {}
        return {name: round((after[name] - before[name]) * 1e6 / payments, 1) for name in after}


def payments_of(load: dict) -> int:
    return int(load.get("status", {}).get("201", 0))


# ---------------------------------------------------------------- the real statements

# Every statement payment-api sends to PostgreSQL on the payment path, by what it means
# (verb + table, and a stable substring where those two are not enough), in the order it
# sends them. pg_stat_statements shows each as normalized text, its parameters and inline
# constants as $1..$n: `params` binds each $n to a seeded value (see Binder) for pgbench.
# A statement payment-api sends that no row here knows FAILS the benchmark: when the SQL
# changes, this table changes with it, and the ceiling never measures yesterday's SQL.
#   role: "read"  - the payment's first round trip (BEGIN and the reads, pipelined)
#         "write" - its second (the writes and COMMIT, pipelined)
#         "relay" - a pass of the outbox relay (its own transaction, synchronous_commit off)
#         "deleter" - the fast path's delete of acknowledged rows (one statement, synchronous_commit off)
#         "txn"   - BEGIN / COMMIT (the scripts add them where payment-api sends them)
#         "other" - not per payment (session set-up, failure paths); printed, not in pgbench
RFC3339 = """const:'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'"""  # pg::rfc3339_sql's format
KNOWN_STATEMENTS = [
    {"meaning": "transaction begin", "verb": "BEGIN", "table": "", "role": "txn"},
    {"meaning": "transaction commit", "verb": "COMMIT", "table": "", "role": "txn"},
    {"meaning": "transaction rollback", "verb": "ROLLBACK", "table": "", "role": "other"},
    {"meaning": "order row lock", "verb": "SELECT", "table": "payable_orders", "contains": "FOR UPDATE",
     "role": "read", "params": {1: "orders", 2: "const:'epoch'", 3: "const:1000"}},
    {"meaning": "wallet lock", "verb": "SELECT", "table": "wallets", "contains": "FOR UPDATE",
     "role": "read", "params": {1: "users"}},
    {"meaning": "idempotency lookup", "verb": "SELECT", "table": "payments", "contains": "unnest",
     "role": "read", "params": {1: "users", 2: "keys", 3: "const:'UTC'", 4: RFC3339}},
    {"meaning": "payment row", "verb": "INSERT", "table": "payments", "role": "write",
     "params": {1: "uuids", 2: "uuids", 3: "users", 4: "fill:100", 5: "fill:KRW", 6: "fill:COMPLETED", 7: "fill:",
                8: "keys", 9: "fill:" + "f" * 64, 10: "now", 11: "const:''"}},
    {"meaning": "wallet update", "verb": "UPDATE", "table": "wallets", "role": "write",
     "params": {1: "users", 2: "fill:-100"}},
    {"meaning": "ledger entry", "verb": "INSERT", "table": "wallet_entries", "role": "write",
     "params": {1: "uuids", 2: "users", 3: "fill:-100", 4: "uuids", 5: "fill:0", 6: "const:'PAYMENT'", 7: "const:0"}},
    {"meaning": "order projection update", "verb": "UPDATE", "table": "payable_orders", "role": "write",
     "params": {1: "orders", 2: "fill:PAID"}},
    # With the fast path on (PAYPIPE_OUTBOX_FAST_PATH, --outbox-fast-path): the insert also
    # asks whether an older row of each key is still there, and returns which rows are the
    # writer's to publish.
    {"meaning": "outbox row (fast path: is its key free?)", "verb": "INSERT", "table": "outbox",
     "contains": "RETURNING", "role": "write",
     "params": {1: "const:'payment'", 2: "uuids", 3: "keys", 4: "fill:dev.paypipe.payment.completed.v1", 5: "payload",
                6: "headers", 7: "const:'ce_source'", 8: "const:'ce_time'", 9: "const:'ce_dataschema'",
                10: "const:'traceparent'", 11: "const:1"}},
    {"meaning": "outbox row", "verb": "INSERT", "table": "outbox", "role": "write",
     "params": {1: "const:'payment'", 2: "uuids", 3: "keys", 4: "fill:dev.paypipe.payment.completed.v1", 5: "payload",
                6: "headers", 7: "const:'ce_source'", 8: "const:'ce_time'", 9: "const:'ce_dataschema'",
                10: "const:'traceparent'"}},
    {"meaning": "relay lock (one relay per schema)", "verb": "SELECT", "table": "", "contains": "pg_try_advisory_xact_lock",
     "role": "relay", "params": {1: "relay_lock"}},
    # The fast path's sweep: it leaves the writers' rows to them for the grace period.
    {"meaning": "relay read (fast path: the sweep)", "verb": "SELECT", "table": "outbox", "contains": "NOT EXISTS",
     # $3 the window of oldest pending rows (4 batches of the default 500); constants are
     # numbered after the parameters, in the order they appear in the text (outbox.cpp).
     "role": "relay", "params": {1: "batch", 2: "const:3000", 3: "const:2000", 4: "const:'1 millisecond'",
                                 5: "const:1", 6: "const:'1 millisecond'", 7: "const:0", 8: "const:'epoch'",
                                 9: "const:1000"}},
    {"meaning": "relay read", "verb": "SELECT", "table": "outbox", "contains": "SKIP LOCKED", "role": "relay",
     "params": {1: "batch", 2: "const:'epoch'", 3: "const:1000"}},
    # The fast path's deleter: the acknowledged rows, in batches, on a connection of its own.
    {"meaning": "fast-path delete", "verb": "DELETE", "table": "outbox", "contains": "SKIP LOCKED",
     "role": "deleter", "params": {1: "relayed"}},
    {"meaning": "relay delete", "verb": "DELETE", "table": "outbox", "role": "relay", "params": {1: "relayed"}},
    {"meaning": "relay failure bookkeeping", "verb": "UPDATE", "table": "outbox", "role": "other"},
    {"meaning": "relay wake-up of another replica", "verb": "SELECT", "table": "", "contains": "pg_notify",
     "role": "other"},
    {"meaning": "outbox backlog gauges (every 5 s, the relay's second connection)", "verb": "SELECT", "table": "",
     "contains": "reltuples", "role": "other"},
    {"meaning": "session set-up", "verb": "SET", "table": "", "role": "other"},
    {"meaning": "session set-up", "verb": "LISTEN", "table": "", "role": "other"},
    # Live updates (runtime/live_updates.cpp): pruning every minute; the tail and the
    # stream reads only while a stream is open, which the benchmark never opens.
    {"meaning": "live updates pruned by age", "verb": "DELETE", "table": "payment_updates", "role": "other"},
    {"meaning": "live updates tail clock", "verb": "SELECT", "table": "", "contains": "now()", "role": "other"},
    {"meaning": "live updates tail", "verb": "SELECT", "table": "payment_updates", "role": "other"},
]

SAMPLE_PAYLOAD = json.dumps({"paymentId": "0190d4f0-0000-7000-8000-000000000000",
                             "orderId": "0190d4f0-0000-7000-8000-000000000001", "userId": "u1", "amount": 100,
                             "currency": "KRW", "completedAt": "2026-01-01T00:00:00.000Z"})
SAMPLE_HEADERS = json.dumps({"source": "payment-api", "time": "2026-01-01T00:00:00.000Z",
                             "dataschema": "paypipe/payment.completed/v1",
                             "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
PGBENCH_ORDERS = 50_000


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Binder:
    """SQL expressions for pgbench, per payment of a batch of `size`: :u<i> and :o<i> are the
    i-th payment's seeded user and order (\\set per transaction). Arrays are sent as text
    arrays, as payment-api sends them."""

    def __init__(self, size: int):
        self.size = size

    def array(self, item) -> str:
        return "ARRAY[" + ", ".join(item(i) for i in range(self.size)) + "]"

    def bind(self, name: str) -> str:
        kind, _, value = name.partition(":")
        if kind == "const":
            return value
        if kind == "fill":
            return f"array_fill({sql_literal(value)}::text, ARRAY[{self.size}])"
        return {
            "users": lambda: self.array(lambda i: f"'u' || CAST(:u{i} AS int)"),
            "orders": lambda: self.array(lambda i: f"md5('o' || CAST(:o{i} AS int))::text"),
            "uuids": lambda: self.array(lambda i: "gen_random_uuid()::text"),
            "keys": lambda: self.array(lambda i: "gen_random_uuid()::text"),
            "now": lambda: f"array_fill(now()::text, ARRAY[{self.size}])",
            "payload": lambda: f"array_fill({sql_literal(SAMPLE_PAYLOAD)}::text, ARRAY[{self.size}])",
            "headers": lambda: f"array_fill({sql_literal(SAMPLE_HEADERS)}::text, ARRAY[{self.size}])",
            "batch": lambda: str(self.size),
            # Each pgbench client is a relay of its own (payment-api has one per schema).
            "relay_lock": lambda: "'paypipe.outbox.pgbench.' || CAST(:client_id AS int)",
            # The rows the relay read: the same read again in the same transaction (it
            # holds their locks, so SKIP LOCKED skips none of them).
            "relayed": lambda: (f"ARRAY(SELECT id FROM outbox WHERE set_aside_at IS NULL ORDER BY seq "
                                f"LIMIT {self.size} FOR UPDATE SKIP LOCKED)"),
        }[kind]()


def statement_meaning(query: str) -> tuple[str, str]:
    """(verb, table) of a statement: its first keyword and the table it reads or writes."""
    verb = query.strip().split(None, 1)[0].upper() if query.strip() else ""
    # What is in parentheses (sub-selects, extract(epoch FROM ...)) names no table of the statement's own.
    while (flat := re.sub(r"\([^()]*\)", " ", query)) != query:
        query = flat
    if verb == "WITH":  # the statement's own verb follows its CTEs (their bodies are flattened away)
        m = re.search(r"\b(SELECT|INSERT|UPDATE|DELETE)\b", query, re.IGNORECASE)
        verb = m.group(1).upper() if m else verb
    patterns = {"INSERT": r"INSERT\s+INTO\s+([\w.]+)", "UPDATE": r"UPDATE\s+([\w.]+)",
                "DELETE": r"DELETE\s+FROM\s+([\w.]+)", "SELECT": r"\bFROM\s+([\w.]+)"}
    table = ""
    if verb in patterns and (m := re.search(patterns[verb], query, re.IGNORECASE)):
        table = m.group(1).split(".")[-1]
        if table.lower() in ("unnest", "generate_series"):
            table = ""
    return verb, table


def known_statement(query: str) -> dict | None:
    verb, table = statement_meaning(query)
    for known in KNOWN_STATEMENTS:
        if known["verb"] == verb and known["table"] == table and known.get("contains", "") in query:
            return known
    return None


def captured_statements(stack: "Stack") -> list[dict]:
    """payment-api's statements since the last pg_stat_statements_reset(), with their calls."""
    out = stack.psql("SELECT coalesce(json_agg(json_build_object('calls', calls, 'query', query)), '[]') "
                     "FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database "
                     "WHERE datname = current_database()) AND query NOT LIKE '%pg_stat_statements%'")
    return [{"calls": s["calls"], "query": re.sub(r"\s+", " ", s["query"]).strip()} for s in json.loads(out)]


def capture(stack: "Stack", metrics_before: str, metrics_after: str, payments: int) -> dict:
    """What payment-api sent in a phase: each statement with its calls per payment and per
    batch (batches from its payment_batch_size histogram). Fails on a statement the
    KNOWN_STATEMENTS table does not know, or a parameter it does not bind."""
    def batch_counter(metrics: str, suffix: str) -> float:
        m = re.search(rf"^payment_batch_size_{suffix}(?:{{}})? ([0-9.e+]+)$", metrics, re.MULTILINE)
        return float(m.group(1)) if m else 0.0

    batches = batch_counter(metrics_after, "count") - batch_counter(metrics_before, "count")
    requests = batch_counter(metrics_after, "sum") - batch_counter(metrics_before, "sum")
    unknown, unbound, rows = [], [], []
    for s in captured_statements(stack):
        known = known_statement(s["query"])
        if not known:
            unknown.append(s)
            continue
        if known["role"] in ("read", "write", "relay", "deleter"):
            missing = sorted({int(n) for n in re.findall(r"\$(\d+)", s["query"])} - set(known.get("params", {})))
            if missing:
                unbound.append((known["meaning"], missing, s["query"]))
        rows.append({"meaning": known["meaning"], "role": known["role"], "calls": s["calls"], "query": s["query"],
                     "per_payment": round(s["calls"] / payments, 3) if payments else 0,
                     "per_batch": round(s["calls"] / batches, 2) if batches else 0})
    if unknown or unbound:
        lines = ["payment-api sent statements the benchmark's KNOWN_STATEMENTS table (bench/payments.py) does not "
                 "cover; add them (meaning, verb, table, role, params) so the ceiling measures today's SQL:"]
        lines += [f"  unknown ({s['calls']} calls): {s['query']}" for s in unknown]
        lines += [f"  {meaning}: ${', $'.join(map(str, n))} not bound: {q}" for meaning, n, q in unbound]
        raise RuntimeError("\n".join(lines))
    order = {id(k): i for i, k in enumerate(KNOWN_STATEMENTS)}
    rows.sort(key=lambda r: (order[id(known_statement(r["query"]))], -r["calls"]))
    relay_passes = sum(r["calls"] for r in rows if r["meaning"].startswith("relay read"))
    deletes = sum(r["calls"] for r in rows if r["role"] == "deleter")
    return {"statements": rows, "payments": payments, "batches": int(batches),
            "batch_size": round(requests / batches, 1) if batches else 0,
            "payment_statements_per_batch": round(sum(r["calls"] for r in rows if r["role"] in ("read", "write"))
                                                  / batches, 2) if batches else 0,
            "transaction_statements_per_batch": round(sum(r["calls"] for r in rows if r["role"] == "txn")
                                                      / batches, 2) if batches else 0,
            "relay_passes": relay_passes,
            "relay_rows_per_pass": round(payments / relay_passes, 1) if relay_passes else 0,
            "fast_path_deletes": deletes,
            "fast_path_rows_per_delete": round(payments / deletes, 1) if deletes else 0}


def statement_lines(captured: dict) -> list[str]:
    """Statements per batch of a captured phase, as text lines."""
    c = captured
    lines = [f"{c['payments']:,} payments in {c['batches']:,} batches (mean {c['batch_size']:g} per batch): "
             f"{c['payment_statements_per_batch']:g} payment statements and {c['transaction_statements_per_batch']:g} "
             f"BEGIN/COMMIT per batch; the relay: {c['relay_passes']:,} passes, {c['relay_rows_per_pass']:g} "
             f"payments per pass; the fast path's deleter: {c.get('fast_path_deletes', 0):,} deletes, "
             f"{c.get('fast_path_rows_per_delete', 0):g} payments per delete. Round trips are not measured: payment-api pipelines a batch in two "
             f"(BEGIN + reads; writes + COMMIT), the relay's pass takes five, as the pgbench scripts send them."]
    for r in c["statements"]:
        lines.append(f"{r['meaning']} ({r['role']}): {r['per_batch']:g} per batch, {r['per_payment']:g} per payment")
    return lines


def log_statements(captured: dict) -> None:
    for line in statement_lines(captured):
        log("  " + line)


def real_scripts(captured: dict, size: int) -> list[tuple[str, int]]:
    """pgbench scripts of payment-api's captured statements, each statement once as
    payment-api sends each once per batch and per relay pass, with pgbench weights:
      1. a payment of `size` requests in its two pipelined round trips (BEGIN + reads;
         writes + COMMIT);
      2. a relay pass (BEGIN, lock, read, delete, COMMIT) over as many rows as payment-api's
         relay took per pass in the captured phase, weighted so that there is one pass per
         that many payments, as there was.
    With the fast path on, 3. the deleter's DELETE over as many rows as it took per call,
    one per that many payments."""
    rows = max(1, round(captured["relay_rows_per_pass"]))
    deleted = max(1, round(captured.get("fast_path_rows_per_delete", 0)))
    # (script, payments it stands for)
    scripts = [(script_of(captured, size, ("read", "write")), size), (script_of(captured, rows, ("relay",)), rows),
               (script_of(captured, deleted, ("deleter",)), deleted)]
    scripts = [(script, n) for script, n in scripts if script]
    # Weights in proportion to how often each ran: one per as many payments as it stands for.
    every = math.lcm(*(n for _, n in scripts))
    return [(script, every // n) for script, n in scripts]


def script_of(captured: dict, size: int, roles: tuple[str, ...]) -> str:
    """One pgbench transaction of the captured statements of `roles`, for a batch of `size`."""
    binder = Binder(size)
    by_role: dict[str, list[str]] = {"read": [], "write": [], "relay": [], "deleter": []}
    seen = set()
    for row in captured["statements"]:
        if row["role"] not in roles or row["meaning"] in seen:
            continue
        seen.add(row["meaning"])
        params = known_statement(row["query"])["params"]
        # Constants go in as they were (extract('epoch' FROM ...) takes no parentheses); other
        # values in parentheses, so that a cast after $n applies to the whole expression.
        def value(m: re.Match) -> str:
            name = params[int(m.group(1))]
            return binder.bind(name) if name.startswith("const:") else "(" + binder.bind(name) + ")"

        sql = re.sub(r"\$(\d+)", value, row["query"])
        by_role[row["role"]].append(sql.rstrip(";"))

    def round_trip(statements: list[str]) -> str:
        # `\;` joins statements into one query string: one round trip, as a pipeline.
        return " \\;\n".join(statements) + ";"

    if by_role["relay"]:
        # The relay's connection runs with synchronous_commit off (libs/events/outbox.cpp).
        lines = [round_trip(["BEGIN", "SET LOCAL synchronous_commit = off"])]
        lines += [round_trip([statement]) for statement in by_role["relay"]] + ["COMMIT;"]
        return "\n".join(lines) + "\n"
    if by_role["deleter"]:
        # One statement in its own transaction, synchronous_commit off as well.
        return round_trip(["BEGIN", "SET LOCAL synchronous_commit = off", *by_role["deleter"], "COMMIT"]) + "\n"
    if not by_role["read"] and not by_role["write"]:
        return ""
    lines = []
    for i in range(size):
        lines += [f"\\set u{i} random(1, {USERS})", f"\\set o{i} random(1, {PGBENCH_ORDERS})"]
    lines += [round_trip(["BEGIN", *by_role["read"]]), round_trip([*by_role["write"], "COMMIT"])]
    return "\n".join(lines) + "\n"


def real_setup(captured: dict, live_updates: bool) -> str:
    """A copy of payment-api's tables (indexes, constraints and defaults included) in the
    schema pgbench_real, seeded like the benchmark's own. With live updates on, the copy of
    payments carries payment-api's live-update trigger too (its statements run inside the
    insert, so pg_stat_statements never shows them), writing to copies of its tables and
    building its data with a copy of payment_update_data: the triggers made by
    create_live_update_triggers name them in the schema of their table."""
    tables = sorted({known_statement(r["query"])["table"] for r in captured["statements"]
                     if r["role"] in ("read", "write", "relay", "deleter")} - {""})
    sql = ["DROP SCHEMA IF EXISTS pgbench_real CASCADE;", "CREATE SCHEMA pgbench_real;"]
    sql += [f"CREATE TABLE pgbench_real.{t} (LIKE payment_api.{t} INCLUDING ALL);" for t in tables]
    if live_updates and "payments" in tables:
        sql += [f"CREATE TABLE pgbench_real.{t} (LIKE payment_api.{t} INCLUDING ALL);" for t in LIVE_UPDATE_TABLES]
        sql.append("DO $$ BEGIN EXECUTE format('CREATE FUNCTION pgbench_real.payment_update_data(p pgbench_real.payments) "
                   "RETURNS jsonb LANGUAGE sql STABLE AS %L', (SELECT prosrc FROM pg_proc "
                   "WHERE oid = 'payment_api.payment_update_data'::regproc)); END $$;")
        sql.append("SELECT payment_api.create_live_update_triggers('pgbench_real.payments', 'payment', "
                   "'payment.status', 'id');")
    if "wallets" in tables:
        sql.append(f"INSERT INTO pgbench_real.wallets (user_id, balance) "
                   f"SELECT 'u' || i, 1000000000000000 FROM generate_series(1, {USERS}) i;")
    if "payable_orders" in tables:
        sql.append(f"INSERT INTO pgbench_real.payable_orders (order_id, user_id, amount, currency, status, expires_at) "
                   f"SELECT md5('o' || i)::uuid, 'u' || (1 + i % {USERS}), 100, 'KRW', 'PAYABLE', "
                   f"now() + interval '2 hours' FROM generate_series(1, {PGBENCH_ORDERS}) i;")
    sql.append("ANALYZE;")
    return "\n".join(sql)


# payment-api's live-update triggers (migrations/021_payment_updates_per_statement.sql) and
# what they write.
LIVE_UPDATE_TABLES = ("payment_update_counters", "payment_updates")
LIVE_UPDATE_TRIGGERS = ("record_payment_inserts", "record_payment_updates")


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


# The hops of payment -> Telegram, in order: (key, what, daemon, metric, labels). Each is
# a histogram the libraries export (docs/operations.md); the Telegram call is part of
# notification-sender's poll -> done, shown on its own as well.
HOPS = [
    ("commit_to_send_fast", "insert -> producer, fast path (transaction, commit, hand-over)", "payment-api",
     "outbox_commit_to_send_seconds", {"path": "fast"}),
    ("commit_to_send_relay", "insert -> producer, relay's pass", "payment-api",
     "outbox_commit_to_send_seconds", {"path": "relay"}),
    ("produce_to_ack", "producer -> broker ack", "payment-api", "kafka_produce_ack_seconds", {}),
    ("record_to_poll", "record timestamp -> consumer poll", "notification-sender",
     "consumer_record_age_at_poll_seconds", {"group": "notification-sender"}),
    ("poll_to_done", "poll -> handler done (claim, Telegram, log row)", "notification-sender",
     "consumer_poll_to_done_seconds", {"group": "notification-sender"}),
    ("telegram_call", "of which the Telegram call", "notification-sender", "telegram_send_duration_seconds", {}),
    ("done_to_commit", "offset stored -> committed", "notification-sender",
     "consumer_commit_delay_seconds", {"group": "notification-sender"}),
]


def histogram_buckets(metrics: str, name: str, labels: dict[str, str]) -> dict[float, float]:
    """The cumulative bucket counts of one series of a Prometheus histogram: {le: count}."""
    buckets: dict[float, float] = {}
    for line in metrics.splitlines():
        m = re.match(rf'{name}_bucket{{(.*)}} ([0-9.e+]+)$', line)
        if not m:
            continue
        pairs = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if any(pairs.get(k) != v for k, v in labels.items()):
            continue
        le = float("inf") if pairs["le"] == "+Inf" else float(pairs["le"])
        buckets[le] = buckets.get(le, 0) + float(m.group(2))
    return buckets


def bucket_quantiles(before: dict[float, float], after: dict[float, float]) -> dict:
    """p50/p99 in ms of what a histogram counted between two scrapes, interpolated within
    the bucket holding each quantile (as PromQL's histogram_quantile does)."""
    delta = sorted((le, after[le] - before.get(le, 0)) for le in after)
    if not delta or delta[-1][1] <= 0:
        return {"count": 0}
    total = delta[-1][1]
    result: dict = {"count": int(total)}
    for q in (0.5, 0.99):
        rank, lower, below = q * total, 0.0, 0.0
        for le, count in delta:
            if count >= rank:
                if le == float("inf"):
                    value = lower  # beyond the last bound: the bound is all we know
                else:
                    value = lower + (le - lower) * ((rank - below) / (count - below) if count > below else 1)
                result[f"p{int(q * 100)}"] = round(value * 1000, 2)
                break
            lower, below = le, count
    return result


def scrape_hops(daemons: dict) -> dict[str, dict[float, float]]:
    texts = {}
    for name in {hop[2] for hop in HOPS}:
        status, body = http("GET", daemons[name].url("/metrics"))
        texts[name] = body.decode() if status == 200 else ""
    return {key: histogram_buckets(texts[daemon], metric, labels) for key, _, daemon, metric, labels in HOPS}


def hop_figures(before: dict, after: dict) -> dict[str, dict]:
    return {key: bucket_quantiles(before.get(key, {}), after[key]) for key in after}


def wait_for_empty_outbox(api, timeout: float) -> bool:
    """Waits until payment-api's outbox_pending_rows gauge (measured every 5 s) reads 0;
    True if it read more than 0 at first (the relay had something to publish)."""
    deadline, waited = time.monotonic() + timeout, False
    while time.monotonic() < deadline:
        status, body = http("GET", api.url("/metrics"))
        m = re.search(r"^outbox_pending_rows ([0-9.e+]+)$", body.decode() if status == 200 else "", re.M)
        if not m or float(m.group(1)) == 0:
            if waited:
                log("  payment-api's outbox is empty")
            return waited
        if not waited:
            log(f"  waiting for payment-api's relay: {float(m.group(1)):.0f} outbox rows")
        waited = True
        time.sleep(1)
    return waited


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


# ---------------------------------------------------------------- scaling: two replicas, the relay alone

OUTBOX_CHANNEL = "outbox_payment_api"  # payment-api's relay LISTENs on outbox_<schema>
RELAY_BATCH = 500  # PAYPIPE_OUTBOX_BATCH_SIZE's default: rows per relay pass
# The headers document a writer puts in an outbox row (libs/events/outbox.cpp, headers_json).
RELAY_HEADERS = json.dumps({"ce_source": "/paypipe/payment-api", "ce_time": "2026-01-01T00:00:00.000Z",
                            "ce_dataschema": "https://paypipe.dev/schemas/events/payment.completed.v1.json",
                            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})


def stack_cpu_groups(stack: Stack) -> dict:
    """CpuMeter groups of the stack's own processes: PostgreSQL (with its backends) and the broker."""
    return {"PostgreSQL": lambda: tree_ticks(stack.postmaster_pid()),
            "Kafka broker": lambda: sum(cpu_ticks(pid) for pid in stack.broker_pids())}


def metric_value(metrics: str, name: str) -> float:
    """A counter or gauge without labels from a Prometheus text page (0 when absent)."""
    m = re.search(rf"^{name}(?:{{}})? ([0-9.e+-]+)$", metrics, re.MULTILINE)
    return float(m.group(1)) if m else 0.0


def wal_position(stack: Stack) -> tuple[int, int]:
    """(WAL bytes written so far, transactions committed so far in the database): their
    changes across a phase are its WAL and commits (the commit count as PostgreSQL's
    statistics hold it, flushed by each backend at least every second)."""
    lsn, commits = stack.psql("SELECT pg_current_wal_lsn(), xact_commit FROM pg_stat_database "
                              "WHERE datname = current_database()").strip().split("|")
    high, low = lsn.split("/")
    return (int(high, 16) << 32) + int(low, 16), int(commits)


def per_item(before: tuple[int, int], after: tuple[int, int], items: int) -> dict:
    """WAL bytes and commits per item between two wal_position() readings."""
    if items <= 0:
        return {}
    return {"wal_bytes": round((after[0] - before[0]) / items), "commits": round((after[1] - before[1]) / items, 3)}


# ---------------------------------------------------------------- PostgreSQL wait profile

# Samples pg_stat_activity every `every` seconds inside one backend (no round trip per
# sample, no commit, no WAL) until `stop_file` exists or `max_seconds` passed, and returns
# how many backend-samples each (application, state, wait event) got, and the rounds.
# pg_stat_clear_snapshot() makes each round read the backends' current status (within a
# transaction PostgreSQL would otherwise keep the first snapshot). The benchmark's own
# psql calls (application "bench...") are left out.
WAIT_SAMPLER_SQL = r"""
CREATE OR REPLACE FUNCTION public.bench_wait_profile(stop_file text, max_seconds float8, every float8)
RETURNS TABLE (w_app text, w_state text, w_type text, w_event text, w_samples bigint, w_rounds int)
LANGUAGE plpgsql AS $$
DECLARE
  counts jsonb := '{}';
  rounds int := 0;
  deadline timestamptz := clock_timestamp() + make_interval(secs => max_seconds);
BEGIN
  LOOP
    PERFORM pg_stat_clear_snapshot();
    SELECT counts || coalesce(jsonb_object_agg(s.k, s.c + coalesce((counts ->> s.k)::bigint, 0)), '{}')
      INTO counts
      FROM (SELECT concat_ws(E'\t', coalesce(a.application_name, ''), coalesce(a.state, ''),
                             coalesce(a.wait_event_type, ''), coalesce(a.wait_event, '')) AS k, count(*) AS c
              FROM pg_stat_activity a
             WHERE a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
               AND a.application_name NOT LIKE 'bench%'
             GROUP BY 1) s;
    rounds := rounds + 1;
    EXIT WHEN clock_timestamp() > deadline OR (pg_stat_file(stop_file, true)).size IS NOT NULL;
    PERFORM pg_sleep(every);
  END LOOP;
  RETURN QUERY SELECT split_part(e.key, E'\t', 1), split_part(e.key, E'\t', 2), split_part(e.key, E'\t', 3),
                      split_part(e.key, E'\t', 4), e.value::bigint, rounds FROM jsonb_each_text(counts) e;
END $$;
"""
WAIT_SAMPLE_EVERY = 0.01
# PostgreSQL 15 flushes a backend's statistics (pg_stat_wal, pg_stat_database) at most once
# a second while it works, and an idle backend's last second 10 s after it went idle: the
# WAL counters are read that long after a phase whose connections stay open.
PG_STATS_IDLE_FLUSH = 10.5
WAL_COUNTERS = ("wal_records", "wal_fpi", "wal_bytes", "wal_buffers_full", "wal_write", "wal_sync", "commits")


def quiet_psql(stack: Stack, sql: str, app: str = "bench") -> str:
    """psql as the benchmark's own, apart from what it measures: pg_stat_statements does not
    record it (the captures hold payment-api's statements alone) and the wait sampler
    skips it (application "bench...")."""
    env = os.environ | {"PGOPTIONS": "-c pg_stat_statements.track=none", "PGAPPNAME": app}
    return subprocess.run([str(PG_BIN / "psql"), stack.env["PG_DSN"], "-v", "ON_ERROR_STOP=1", "-qAt", "-F", "\t",
                           "-c", sql], check=True, capture_output=True, text=True, env=env).stdout


def wal_counters(stack: Stack) -> dict[str, int]:
    """pg_stat_wal's counters and the database's commits (pg_stat_database), now."""
    row = quiet_psql(stack, "SELECT wal_records, wal_fpi, wal_bytes, wal_buffers_full, wal_write, wal_sync, "
                            "(SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()) "
                            "FROM pg_stat_wal").strip().split("\t")
    return {name: int(float(value)) for name, value in zip(WAL_COUNTERS, row)}


def wait_label(state: str, wait_type: str, event: str) -> str:
    """'active: IO/WALSync', 'idle: Client/ClientRead', 'active: on CPU' (no wait event)."""
    return f"{state or 'no state'}: " + (f"{wait_type}/{event}" if wait_type else "on CPU")


class WaitProfile:
    """A PostgreSQL wait profile of one phase: pg_stat_activity sampled every 10 ms by one
    backend (bench_wait_profile) from start() to stop(), grouped by who each backend serves
    (application_name: payment-api's pool, its outbox relay, deleter and backlog gauges,
    pgbench) and by (state, wait event type, wait event); each statement's execution time
    per payment (pg_stat_statements, reset at start()); and pg_stat_wal's and the
    commits' change per payment (report(), once the phase's backends flushed them)."""

    count = 0

    def __init__(self, stack: Stack):
        WaitProfile.count += 1
        self.stack, self.app = stack, f"bench-waits-{WaitProfile.count}"
        # Where PostgreSQL's own user can see it (the work directory is the benchmark's alone).
        self.stop_file = Path(tempfile.gettempdir()) / f"paypipe-{self.app}-{os.getpid()}.stop"

    def start(self) -> "WaitProfile":
        self.stop_file.unlink(missing_ok=True)
        quiet_psql(self.stack, "SELECT pg_stat_statements_reset()")
        self.wal_before = wal_counters(self.stack)
        env = os.environ | {"PGOPTIONS": "-c pg_stat_statements.track=none", "PGAPPNAME": self.app}
        self.process = subprocess.Popen(
            [str(PG_BIN / "psql"), self.stack.env["PG_DSN"], "-v", "ON_ERROR_STOP=1", "-qAt", "-F", "\t", "-c",
             f"SELECT * FROM public.bench_wait_profile({sql_literal(str(self.stop_file))}, 900, {WAIT_SAMPLE_EVERY})"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.pid = 0  # the sampler's backend: its CPU is the profile's own cost
        for _ in range(100):
            found = quiet_psql(self.stack, f"SELECT pid FROM pg_stat_activity WHERE application_name = '{self.app}'")
            if found.strip():
                self.pid = int(found.split()[0])
                break
            time.sleep(0.01)
        self.started = time.monotonic()
        return self

    def stop(self) -> None:
        """Ends the sampling (call it as the load ends) and reads the statements' times."""
        self.sampler_seconds = cpu_ticks(self.pid) / CLOCK_TICKS if self.pid else 0.0
        self.stop_file.touch()
        out, err = self.process.communicate(timeout=60)
        self.stopped = time.monotonic()
        self.stop_file.unlink(missing_ok=True)
        if self.process.returncode != 0:
            raise RuntimeError(f"the wait sampler failed: {err}")
        self.rows = [line.split("\t") for line in out.strip().splitlines() if line]
        times = json.loads(quiet_psql(
            self.stack, "SELECT coalesce(json_agg(json_build_object('query', query, 'calls', calls, "
                        "'ms', total_exec_time)), '[]') FROM pg_stat_statements WHERE dbid = (SELECT oid FROM "
                        "pg_database WHERE datname = current_database())"))
        self.statement_ms: dict[str, list[float]] = {}
        for s in times:
            known = known_statement(re.sub(r"\s+", " ", s["query"]).strip())
            meaning = known["meaning"] if known else "other"
            calls_ms = self.statement_ms.setdefault(meaning, [0, 0.0])
            calls_ms[0] += s["calls"]
            calls_ms[1] += s["ms"]

    def report(self, name: str, payments: int, settle: float, results: dict) -> dict:
        """The phase's profile per payment, once its backends flushed their statistics
        (`settle` seconds after stop()); logged and kept in results["waits"][name]. The
        sampler's own CPU is taken off the phase's PostgreSQL CPU per payment."""
        time.sleep(max(0.0, self.stopped + settle - time.monotonic()))
        after = wal_counters(self.stack)
        rounds = int(self.rows[0][5]) if self.rows else 0
        groups: dict[str, dict] = {}
        for app, state, wait_type, event, samples, _ in self.rows:
            group = groups.setdefault(app or "(no application_name)", {"samples": 0, "waits": {}})
            group["samples"] += int(samples)
            label = wait_label(state, wait_type, event)
            group["waits"][label] = group["waits"].get(label, 0) + int(samples)
        profile = {"rounds": rounds, "seconds": round(self.stopped - self.started, 1), "groups": {}}
        for app, group in sorted(groups.items(), key=lambda g: -g[1]["samples"]):
            waits = sorted(group["waits"].items(), key=lambda w: -w[1])
            active = sum(n for label, n in waits if label.startswith("active"))
            profile["groups"][app] = {
                "backends": round(group["samples"] / rounds, 1) if rounds else 0,
                "active": round(active / rounds, 2) if rounds else 0,
                "waits": [(label, round(n / group["samples"], 3)) for label, n in waits[:8]]}
        if payments > 0:
            profile["wal_per_payment"] = {k: round((after[k] - self.wal_before[k]) / payments, 3)
                                          for k in WAL_COUNTERS}
            profile["statement_us_per_payment"] = {
                meaning: round(ms * 1000 / payments, 1)
                for meaning, (calls, ms) in sorted(self.statement_ms.items(), key=lambda s: -s[1][1]) if ms > 0}
            sampler_us = round(self.sampler_seconds * 1e6 / payments, 1)
            profile["sampler_cpu_us_per_payment"] = sampler_us
            cpu = results.get("cpu_us_per_payment", {}).get(name)
            if cpu and "PostgreSQL" in cpu:
                cpu["PostgreSQL"] = round(cpu["PostgreSQL"] - sampler_us, 1)
        results.setdefault("waits", {})[name] = profile
        for line in wait_lines(name, profile):
            log("  " + line)
        return profile


def wait_lines(name: str, profile: dict) -> list[str]:
    """A phase's wait profile as text lines (the run's output)."""
    lines = [f"PostgreSQL waits, {name}: {profile['rounds']} samples of pg_stat_activity in {profile['seconds']} s"]
    for app, g in profile["groups"].items():
        lines.append(f"  {app}: {g['backends']:g} backends, {g['active']:g} active; "
                     + "; ".join(f"{label} {share * 100:.0f} %" for label, share in g["waits"]))
    if wal := profile.get("wal_per_payment"):
        lines.append("  per payment: " + ", ".join(f"{k} {v:g}" for k, v in wal.items())
                     + f"; the sampler's own CPU {profile['sampler_cpu_us_per_payment']:g} us (taken off PostgreSQL's)")
    if times := profile.get("statement_us_per_payment"):
        lines.append("  statement execution time per payment (us): "
                     + ", ".join(f"{meaning} {us:g}" for meaning, us in list(times.items())[:10]))
    return lines


def render_waits(results: dict) -> list[str]:
    """The wait profiles of every load phase, for docs/performance.md."""
    waits = results.get("waits")
    if not waits:
        return []
    lines = ["", "### PostgreSQL waits and WAL per phase (pg_stat_activity every 10 ms, pg_stat_wal)", "",
             "Each backend's state and wait event, sampled every 10 ms by one backend of the benchmark's during the "
             "phase, as shares of that application's samples (payment-api's pool is `payment-api`, its outbox "
             "relay, deleter and backlog gauges `payment-api/outbox-*`); `idle: Client/ClientRead` is a connection "
             "waiting for its client, `active: on CPU` one running with no wait event. WAL and commits from "
             "pg_stat_wal and pg_stat_database, read once the phase's backends flushed them; statement time is "
             "pg_stat_statements' execution time (lock and WAL flush waits included) per payment.", "",
             "| phase | application: backends (active) | top waits (share of its samples) |", "|---|---|---|"]
    for name, profile in waits.items():
        for app, g in profile["groups"].items():
            if g["backends"] < 0.05:
                continue
            lines.append(f"| {name} | {app}: {g['backends']:g} ({g['active']:g}) | "
                         + "; ".join(f"{label} {share * 100:.0f} %" for label, share in g["waits"][:5]) + " |")
    lines += ["", "| phase | WAL records | WAL bytes | full-page images | wal_write | wal_sync | WAL buffers full "
              "| commits | top statements by execution time per payment (us) |", "|---|---|---|---|---|---|---|---|---|"]
    for name, profile in waits.items():
        wal = profile.get("wal_per_payment")
        if not wal:
            continue
        top = "; ".join(f"{meaning} {us:g}" for meaning, us in list(profile["statement_us_per_payment"].items())[:4])
        lines.append(f"| {name} | {wal['wal_records']:g} | {wal['wal_bytes']:,.0f} | {wal['wal_fpi']:g} | "
                     f"{wal['wal_write']:g} | {wal['wal_sync']:g} | {wal['wal_buffers_full']:g} | "
                     f"{wal['commits']:g} | {top} |")
    return lines


def wait_outbox_empty(stack: Stack, timeout: float) -> bool:
    """Until payment-api's outbox holds no row waiting to be published (or `timeout` passed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stack.psql("SELECT count(*) FROM payment_api.outbox WHERE set_aside_at IS NULL").strip() == "0":
            return True
        time.sleep(0.1)
    return False


def relay_statements(stack: Stack) -> dict:
    """The outbox relays' statements since the last pg_stat_statements_reset(), summed over
    every replica: lock attempts, passes (a pass that holds the lock reads; one that does
    not, another replica publishing, rolls back), wake-ups passed on to the replica holding
    the lock (NOTIFY), and deletes (the pass's, the fast path deleter's)."""
    calls: dict[str, int] = {}
    for s in captured_statements(stack):
        if known := known_statement(s["query"]):
            calls[known["meaning"]] = calls.get(known["meaning"], 0) + s["calls"]
    passes = sum(n for meaning, n in calls.items() if meaning.startswith("relay read"))
    attempts = calls.get("relay lock (one relay per schema)", 0)
    return {"lock_attempts": attempts, "passes": passes, "lock_taken_by_other": max(0, attempts - passes),
            "notify_wakeups": calls.get("relay wake-up of another replica", 0),
            "relay_deletes": calls.get("relay delete", 0), "fast_path_deletes": calls.get("fast-path delete", 0)}


def split_load(build: Path, urls: list[str], orders: Orders, total: int, seconds: float,
               meter: CpuMeter) -> tuple[list[dict], dict, dict]:
    """One closed-loop loadgen per URL (64 connections, total / len(urls) orders each), all at
    once: (their results in the order of `urls`, the meter's samples before and after)."""
    slices = [orders.take(total // len(urls)) for _ in urls]
    loads: list[dict | None] = [None] * len(urls)

    def drive(i: int) -> None:
        loads[i] = loadgen(build, urls[i], slices[i], "closed", seconds, connections=64)

    before = meter.sample()
    drivers = [threading.Thread(target=drive, args=(i,)) for i in range(len(urls))]
    for driver in drivers:
        driver.start()
    for driver in drivers:
        driver.join()
    after = meter.sample()
    if any(load is None for load in loads):
        raise RuntimeError("a loadgen of a split load failed (its error is above)")
    return loads, before, after


def mean_batch(metrics: str) -> float:
    """Mean payments per batch since payment-api started (its payment_batch_size histogram)."""
    count = metric_value(metrics, "payment_batch_size_count")
    return round(metric_value(metrics, "payment_batch_size_sum") / count, 1) if count else 0.0


def two_replicas(build: Path, stack: Stack, api: Daemon, logs: Path, orders: Orders, seconds: float, quick: bool,
                 results: dict) -> None:
    """payment-api twice on one schema, with the settings of the one-replica batching-on phase,
    each driven by a loadgen of its own with half of that phase's 128 connections, at once;
    right before, the same two loadgens against one replica (the control: the same load
    generation, the same moment of a shared machine). Records payments/s of two against
    one, CPU per payment of each process, mean batch sizes, WAL and commits per payment,
    and the relays' figures: who published (the writers' fast path, or a relay's sweep),
    how often a relay found the schema's lock held by the other, and duplicates (events
    published beyond one per payment, counted once the outbox is empty)."""
    total = 25_000 if quick else 150_000  # as the one-replica batching-on phase
    log("one payment-api replica, the two-replica phase's two loadgens (its control)")
    wait_outbox_empty(stack, 60)
    api.stop()
    api.start()  # fresh: its batch histogram holds this phase alone
    meter = CpuMeter({"payment-api 1": lambda: cpu_ticks(api.process.pid), **stack_cpu_groups(stack)})
    profile = WaitProfile(stack).start()
    loads, before, after = split_load(build, [api.url("")] * 2, orders, total, seconds, meter)
    profile.stop()
    one = sum(payments_of(load) for load in loads)
    control = {"throughput": sum(load["throughput"] for load in loads),
               "p99": max(load["latencyMs"]["p99"] for load in loads),
               "batch_size": mean_batch(http("GET", api.url("/metrics"))[1].decode()),
               "cpu_us_per_payment": CpuMeter.per_payment(before, after, one)}
    log(f"  {control}")
    control_waits = profile.report("one payment-api replica, two loadgens (control)", one, PG_STATS_IDLE_FLUSH, {})

    log("two payment-api replicas on one database, batching on")
    wait_outbox_empty(stack, 60)
    # Both fresh, so that their counters and histograms hold this phase alone.
    api.stop()
    api.start()
    second = Daemon(build, "payment-api", stack, logs,
                    {k: v for k, v in api.env.items() if k != "PAYPIPE_HTTP_PORT"}, log_name="payment-api-2")
    second.start()
    replicas = [api, second]
    try:
        meter = CpuMeter({"payment-api 1": lambda: cpu_ticks(api.process.pid),
                          "payment-api 2": lambda: cpu_ticks(second.process.pid), **stack_cpu_groups(stack)})
        stack.psql("SELECT pg_stat_statements_reset()")
        wal_before = wal_position(stack)
        profile = WaitProfile(stack).start()
        loads, before, after = split_load(build, [r.url("") for r in replicas], orders, total, seconds, meter)
        profile.stop()
        drained = wait_outbox_empty(stack, 60)
        time.sleep(1.1)  # the backends' statistics (commits) reach pg_stat_database within a second
        wal_after = wal_position(stack)
        metrics = [http("GET", r.url("/metrics"))[1].decode() for r in replicas]
        relay = relay_statements(stack)
        replicas_waits = profile.report("two payment-api replicas, batching on", sum(payments_of(l) for l in loads),
                                        PG_STATS_IDLE_FLUSH, {})
    finally:
        second.stop()
    payments = [payments_of(load) for load in loads]
    both = sum(payments)

    def cpu_us(name: str, count: int) -> float:
        return round((after[name] - before[name]) * 1e6 / count, 1) if count else 0.0

    per_replica = []
    for i, (load, page) in enumerate(zip(loads, metrics)):
        published = metric_value(page, "outbox_published_total")
        fast = metric_value(page, "outbox_fast_path_total")
        per_replica.append({
            "throughput": load["throughput"], "payments": payments[i], "errors": load["errors"],
            "latencyMs": load["latencyMs"], "cpu_us_per_payment": cpu_us(f"payment-api {i + 1}", payments[i]),
            "batch_size": mean_batch(page),
            "published": int(published), "fast_path": int(fast), "sweep": int(published - fast),
            # Events the writer left to the sweep because the fast path held its bound
            # (PAYPIPE_OUTBOX_FAST_PATH_MAX_EVENTS) or the producer refused them.
            "fast_path_left": int(metric_value(page, "outbox_fast_path_left_total")),
            "publish_failures": int(metric_value(page, "outbox_publish_failures_total")),
            "relay_lag_ms": histogram_quantiles(page, "outbox_relay_lag_seconds")})
    published = sum(r["published"] for r in per_replica)
    throughput = sum(load["throughput"] for load in loads)
    cpu_row = {"payment-api": round(cpu_us("payment-api 1", both) + cpu_us("payment-api 2", both), 1),
               "PostgreSQL": cpu_us("PostgreSQL", both), "Kafka broker": cpu_us("Kafka broker", both),
               "load generator": cpu_us("load generator", both)}
    results["cpu_us_per_payment"]["one payment-api replica, two loadgens (control)"] = \
        control["cpu_us_per_payment"] | {"payment-api": control["cpu_us_per_payment"].get("payment-api 1", 0)}
    results["cpu_us_per_payment"]["two payment-api replicas, batching on"] = cpu_row
    # The CPU rows above are made here, after the profiles: the samplers' CPU comes off them now.
    for name, waits in (("one payment-api replica, two loadgens (control)", control_waits),
                        ("two payment-api replicas, batching on", replicas_waits)):
        results.setdefault("waits", {})[name] = waits
        rows = [results["cpu_us_per_payment"][name]] + ([control["cpu_us_per_payment"]] if waits is control_waits else [])
        for row in rows:
            if "PostgreSQL" in row:
                row["PostgreSQL"] = round(row["PostgreSQL"] - waits.get("sampler_cpu_us_per_payment", 0), 1)
    results["two_replicas"] = {"throughput": throughput, "one_replica": results["closed_batched"]["throughput"],
                               "control": control, "ratio": throughput / control["throughput"]
                               if control["throughput"] else 0,
                               "payments": both, "published": published, "duplicates": published - both,
                               "outbox_drained": drained, "relay": relay, "replicas": per_replica,
                               "wal_per_payment": per_item(wal_before, wal_after, both),
                               "cpu_us_per_payment": cpu_row}
    log(f"  {throughput:.0f}/s ({' + '.join(f'{r:.0f}' for r in (l['throughput'] for l in loads))}) against "
        f"{control['throughput']:.0f}/s for one (control); CPU per payment: "
        + ", ".join(f"{k} {v:g} us" for k, v in cpu_row.items()))
    log(f"  relays: {relay}; published {published} for {both} payments; per replica: "
        + "; ".join(f"batch {r['batch_size']}, fast path {r['fast_path']} (left {r['fast_path_left']}), sweep {r['sweep']}, lag {r['relay_lag_ms']}"
                    for r in per_replica))


def relay_alone(stack: Stack, api: Daemon, downstream: list[Daemon], rows: int) -> dict:
    """The outbox relay's maximum events/s: payment-api with the fast path off and no request,
    `rows` rows seeded into its outbox in one transaction, ANALYZEd (as autovacuum would a
    minute later: with the statistics of an emptied table the relay's read sorts the whole
    backlog each pass until its backlog thread refreshes them, see measure_backlog), then
    its relay woken (NOTIFY on the channel it LISTENs on); the time from that NOTIFY
    until its outbox_published_total grew by `rows`, and the CPU per event of each
    process. The downstream daemons stop first: the seeded events are no payments of
    theirs."""
    log(f"the outbox relay alone: {rows:,} rows, fast path off, no requests")
    for daemon in downstream:
        daemon.stop()
    saved = dict(api.env)
    api.env["PAYPIPE_OUTBOX_FAST_PATH"] = "off"
    # Woken by the NOTIFY alone: no poll may start the drain between the seeding's commit and it.
    api.env["PAYPIPE_OUTBOX_POLL_INTERVAL_MS"] = "60000"
    api.stop()
    api.start()
    try:
        wait_outbox_empty(stack, 60)
        meter = CpuMeter({"payment-api": lambda: cpu_ticks(api.process.pid), **stack_cpu_groups(stack)})

        def published() -> float:
            return metric_value(http("GET", api.url("/metrics"))[1].decode(), "outbox_published_total")

        base = published()
        stack.psql("SELECT pg_stat_statements_reset()")
        stack.psql(f"""
BEGIN;
INSERT INTO payment_api.outbox (id, aggregatetype, aggregateid, type, payload, headers,
                                ce_source, ce_time, ce_dataschema, traceparent)
  SELECT gen_random_uuid(), 'payment', gen_random_uuid()::text, 'dev.paypipe.payment.completed.v1',
         {sql_literal(SAMPLE_PAYLOAD)}::jsonb, h, h->>'ce_source', h->>'ce_time', h->>'ce_dataschema', h->>'traceparent'
  FROM generate_series(1, {rows}), (SELECT {sql_literal(RELAY_HEADERS)}::jsonb AS h) AS c;
COMMIT;
ANALYZE payment_api.outbox;
NOTIFY {OUTBOX_CHANNEL};""")
        committed = time.monotonic()
        wal_before = wal_position(stack)
        before = meter.sample()
        deadline = committed + 300
        done = 0.0
        while time.monotonic() < deadline and (done := published() - base) < rows:
            time.sleep(0.02)
        seconds = time.monotonic() - committed
        after = meter.sample()
        time.sleep(1.1)  # as in two_replicas: the commit counts reach pg_stat_database
        wal_after = wal_position(stack)
        relay = relay_statements(stack)
    finally:
        api.env = saved
        api.stop()
        api.start()
    per = CpuMeter.per_payment(before, after, int(done))
    per.pop("load generator", None)  # psql's, not a load
    outcome = {"rows": rows, "published": int(done), "seconds": round(seconds, 2),
               "per_second": round(done / seconds) if seconds else 0, "passes": relay["passes"],
               "events_per_pass": round(done / relay["passes"], 1) if relay["passes"] else 0,
               "cpu_us_per_event": per, "wal_per_event": per_item(wal_before, wal_after, int(done))}
    log(f"  {outcome}")
    return outcome


def replicas_figure(results: dict) -> str:
    """The two-replica target's figure for the targets table."""
    two = results.get("two_replicas")
    if not two:
        return "not measured"
    return (f"{two['throughput']:,.0f}/s against {two['control']['throughput']:,.0f}/s for one driven the same way "
            f"= {two['ratio']:.2f}x ({two['one_replica']:,.0f}/s in the batching-on phase); "
            f"{two['duplicates']} events published twice")


def render_scaling(results: dict) -> list[str]:
    """The two-replica phase and the relay alone, for docs/performance.md."""
    lines = []
    two, alone = results.get("two_replicas"), results.get("relay_alone")
    if two:
        one_cpu = results.get("cpu_us_per_payment", {}).get("payment-api batching on", {})
        r1, r2 = two["replicas"]
        relay = two["relay"]
        control = two["control"]
        control_cpu = control["cpu_us_per_payment"]
        lag = lambda r: f"{r['relay_lag_ms'].get('p50', 0):g} / {r['relay_lag_ms'].get('p99', 0):g} ms"
        lines += [
            "", "### Two payment-api replicas on one database (closed loop, batching on)", "",
            "Both with the settings of the one-replica phase above (batches of up to 64, 4 workers, outbox fast path "
            f"{results.get('outbox_fast_path', 'on')}), on one schema, each driven by a loadgen of its own with 64 "
            "connections, the downstream daemons stopped. Right before, the same two loadgens drove one replica "
            "(the control: the same load generation at nearly the same moment of the machine); the batching-on "
            "phase above had one loadgen with 128 connections.", "",
            "| measure | one replica, batching-on phase | one replica, the same two loadgens (control) | "
            "two replicas (replica 1 / replica 2) |", "|---|---|---|---|",
            f"| payments/s | {fmt(two['one_replica'])} | {fmt(control['throughput'])} | {fmt(two['throughput'])} = "
            f"{fmt(r1['throughput'])} + {fmt(r2['throughput'])}, {two['ratio']:.2f}x the control |",
            f"| p99 | {results['closed_batched']['latencyMs']['p99']:.1f} ms | {control['p99']:.1f} ms | "
            f"{r1['latencyMs']['p99']:.1f} ms / {r2['latencyMs']['p99']:.1f} ms |",
            f"| mean payments per batch (transaction) | {results.get('statements_batched', {}).get('batch_size', 0):g} | "
            f"{control['batch_size']:g} | {r1['batch_size']:g} / {r2['batch_size']:g} |",
            f"| payment-api CPU per payment (us) | {fmt(one_cpu.get('payment-api', 0))} | "
            f"{fmt(control_cpu.get('payment-api 1', 0))} | "
            f"{fmt(r1['cpu_us_per_payment'])} / {fmt(r2['cpu_us_per_payment'])} |",
            f"| PostgreSQL / broker CPU per payment (us) | {fmt(one_cpu.get('PostgreSQL', 0))} / "
            f"{fmt(one_cpu.get('Kafka broker', 0))} | {fmt(control_cpu.get('PostgreSQL', 0))} / "
            f"{fmt(control_cpu.get('Kafka broker', 0))} | {fmt(two['cpu_us_per_payment']['PostgreSQL'])} / "
            f"{fmt(two['cpu_us_per_payment']['Kafka broker'])} |",
            f"| events published by the writers' fast path / by a relay's sweep | | | {r1['fast_path']:,} / "
            f"{r1['sweep']:,}; {r2['fast_path']:,} / {r2['sweep']:,} |",
            f"| relay lock: attempts / passes that held it / found the other replica's / wake-ups passed on (NOTIFY) | | | "
            f"{relay['lock_attempts']:,} / {relay['passes']:,} / {relay['lock_taken_by_other']:,} / "
            f"{relay['notify_wakeups']:,} |",
            f"| events published - payments (duplicates), outbox empty after | | | {two['duplicates']:,}, "
            f"{'yes' if two['outbox_drained'] else 'NO'} |",
            f"| relay lag p50 / p99, commit -> broker ack (bucket bounds) | | | {lag(r1)}; {lag(r2)} |",
            f"| WAL bytes / PostgreSQL commits per payment (pg_current_wal_lsn, pg_stat_database) | | | "
            f"{fmt(two['wal_per_payment'].get('wal_bytes', 0))} / {two['wal_per_payment'].get('commits', 0):g} |",
        ]
    if alone:
        cpu = alone["cpu_us_per_event"]
        lines += [
            "", "### The outbox relay alone (fast path off, no requests)", "",
            f"{alone['rows']:,} rows seeded into payment-api's outbox in one transaction, drained to Kafka by its one "
            f"relay in {alone['seconds']:g} s = **{alone['per_second']:,} events/s**, in {alone['passes']:,} passes "
            f"({alone['events_per_pass']:g} events per pass; batch size {RELAY_BATCH}); CPU per event: "
            + ", ".join(f"{name} {fmt(us)} us" for name, us in cpu.items())
            + f"; {fmt(alone['wal_per_event'].get('wal_bytes', 0))} WAL bytes and "
              f"{alone['wal_per_event'].get('commits', 0):g} commits per event.",
        ]
    return lines


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

        # CPU per payment of each process group, per phase (see CpuMeter, tree_ticks).
        def running(names) -> int:
            return sum(cpu_ticks(d.process.pid) for n, d in daemons.items() if n in names and d.process
                       and d.process.poll() is None)

        meter = CpuMeter({"payment-api": lambda: running({"payment-api"}), **stack_cpu_groups(stack),
                          "other daemons": lambda: running(set(SERVICES) - {"payment-api"})})
        results["cpu_us_per_payment"] = {}

        def measured(name: str, phase, payments) -> object:
            """Runs phase(); records and prints CPU microseconds per payment of each group."""
            before = meter.sample()
            outcome = phase()
            per = CpuMeter.per_payment(before, meter.sample(), payments(outcome))
            results["cpu_us_per_payment"][name] = per
            log(f"  CPU per payment, {name}: " + ", ".join(f"{k} {v:g} us" for k, v in per.items()))
            return outcome

        def pgbench_phase(name: str, script: str | list[tuple[str, int]], clients: int, per_transaction: int = 1, schema: str = "") -> float:
            profile = WaitProfile(stack).start()
            tps, transactions = measured(name, lambda: pgbench_run(stack, script, clients, phase_seconds, schema),
                                         lambda r: r[1] * per_transaction)
            profile.stop()
            profile.report(name, transactions * per_transaction, 1.0, results)  # pgbench's backends have ended
            return tps * per_transaction

        quiet_psql(stack, WAIT_SAMPLER_SQL)
        log("pgbench: the payment transaction shape and a one-row insert")
        stack.psql(PAYMENT_SHAPE_SETUP)
        results["pgbench"] = {
            "payment_16": pgbench_phase("pgbench three statements, 16 clients", PAYMENT_SHAPE, 16),
            "payment_32": pgbench_phase("pgbench three statements, 32 clients", PAYMENT_SHAPE, 32),
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
            "PAYPIPE_OUTBOX_FAST_PATH": args.outbox_fast_path,
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

        results["live_updates"] = args.live_updates
        results["outbox_fast_path"] = args.outbox_fast_path
        if args.live_updates == "off":
            # To weigh the trigger: every payment then skips it (no stream sees payments).
            for name in LIVE_UPDATE_TRIGGERS:
                stack.psql(f"ALTER TABLE payment_api.payments DISABLE TRIGGER {name}")
        orders_total = 180_000 if quick else 700_000
        log(f"seeding {orders_total} payable orders")
        seed_orders(stack, orders_total, work / "orders.tsv")
        orders = Orders(work / "orders.tsv", work)
        api = daemons["payment-api"]
        rss_load: dict[str, int] = {}

        def sample_rss():
            for service, daemon in daemons.items():
                rss_load[service] = max(rss_load.get(service, 0), daemon.rss())
            log(f"  payment-api resident memory after the phase: {api.rss() / 1024:.1f} MiB")

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
        def captured_phase(name: str, phase) -> tuple[dict, dict]:
            """A load phase whose PostgreSQL statements are captured (pg_stat_statements)."""
            stack.psql("SELECT pg_stat_statements_reset()")
            metrics_before = http("GET", api.url("/metrics"))[1].decode()
            profile = WaitProfile(stack).start()
            load = measured(name, phase, payments_of)
            profile.stop()
            metrics_after = http("GET", api.url("/metrics"))[1].decode()
            captured = capture(stack, metrics_before, metrics_after, payments_of(load))
            profile.report(name, payments_of(load), PG_STATS_IDLE_FLUSH, results)
            return load, captured

        log("payment-api at its maximum, batching off")
        restart_api(1, 16)
        results["closed_unbatched"], results["statements_unbatched"] = captured_phase(
            "payment-api batching off", lambda: loadgen(build, api.url(""), orders.take(40_000 if not quick else 8_000),
                                                        "closed", phase_seconds, connections=64))
        sample_rss()
        log(f"  {results['closed_unbatched']['throughput']:.0f}/s")
        log_statements(results["statements_unbatched"])
        log("payment-api at its maximum, batching on")
        restart_api(64, 4)
        profile = Profile(api.process.pid, work / "perf-payment-api.data") if args.profile else None
        results["closed_batched"], results["statements_batched"] = captured_phase(
            "payment-api batching on", lambda: loadgen(build, api.url(""), orders.take(150_000 if not quick else 25_000),
                                                       "closed", phase_seconds, connections=128))
        sample_rss()
        if profile:
            results["profile_payment_api"] = profile.top()
        log(f"  {results['closed_batched']['throughput']:.0f}/s")
        log_statements(results["statements_batched"])
        two_replicas(build, stack, api, logs, orders, phase_seconds, quick, results)
        results["ceiling"] = ceiling
        results["ratio_unbatched"] = results["closed_unbatched"]["throughput"] / ceiling if ceiling else 0
        results["ratio_batched"] = results["closed_batched"]["throughput"] / ceiling if ceiling else 0

        # The honest ceiling: pgbench with the statements payment-api just sent, per request
        # (the batch-of-one form, as many clients as the unbatched workers) and batched (a
        # batch of the mean size payment-api used, as many clients as its batched workers).
        log("pgbench: payment-api's captured statements, per request and batched")
        stack.psql(real_setup(results["statements_batched"], args.live_updates == "on"))
        batch = max(1, round(results["statements_batched"]["batch_size"]))
        per_request_scripts = real_scripts(results["statements_unbatched"], 1)
        batched_scripts = real_scripts(results["statements_batched"], batch)
        real = {"batch_size": batch, "scripts": []}
        for name, scripts in (("per-request", per_request_scripts), ("batched", batched_scripts)):
            for i, (script, weight) in enumerate(scripts):
                label = "payment" if i == 0 else "relay" if "advisory" in script else "deleter"
                path = work / f"pgbench-real-{name}-{label}@{weight}.sql"
                path.write_text(script)
                real["scripts"].append(str(path))
        for clients in (16, 32):
            real[f"per_request_{clients}"] = pgbench_phase(f"pgbench real statements per request, {clients} clients",
                                                           per_request_scripts, clients, 1, "pgbench_real")
        real["batched_4"] = pgbench_phase(f"pgbench real statements batched ({batch}), 4 clients",
                                          batched_scripts, 4, batch, "pgbench_real")
        results["pgbench_real"] = real
        per_request = max(real["per_request_16"], real["per_request_32"])
        results["ratio_unbatched_real"] = results["closed_unbatched"]["throughput"] / per_request if per_request else 0
        results["ratio_batched_real_per_request"] = (results["closed_batched"]["throughput"] / per_request
                                                     if per_request else 0)
        results["ratio_batched_real_batched"] = (results["closed_batched"]["throughput"] / real["batched_4"]
                                                 if real["batched_4"] else 0)
        log(f"pgbench real: per request {per_request:.0f}/s, batched {real['batched_4']:.0f} payments/s")

        results["open"] = {}
        for rate in (1000, 2000, 4000):
            log(f"payment-api open loop at {rate}/s")
            results["open"][str(rate)] = measured(
                f"payment-api open loop {rate}/s",
                lambda: loadgen(build, api.url(""), orders.take(int(rate * phase_seconds) + 10), "open", phase_seconds,
                                rate=rate), payments_of)
            sample_rss()

        # The downstream daemons again: they drain the backlog of the phases above (timed),
        # then the latency probe runs with the whole system at steady state.
        for daemon in downstream:
            daemon.start()
        if "notification-sender" in daemons:
            results["e2e"] = {}
            def delivered() -> int:
                return json.loads(http("GET", telegram_url + "/stats")[1] or b'{"delivered":0}')["delivered"]

            # (Telegram delay, payments/s): issue 18's two latency targets and the slow-Telegram case.
            for delay, rate in ((0, 1000), (50, 1000), (0, 2000)):
                name = f"{delay}ms" if rate == 1000 else f"{delay}ms at {rate:,}/s"
                # The earlier phases left a backlog of notifications (one per payment): drain it
                # first, and time the first drain as notification-sender's maximum rate.
                first = delivered()
                moving_by = time.monotonic() + (60 if name == "0ms" else 5)  # the restarted sender joins its group
                while time.monotonic() < moving_by and delivered() == first:
                    time.sleep(0.05)
                started, base = time.monotonic(), delivered()
                last, last_change = base, started
                while time.monotonic() < started + 900 and time.monotonic() - last_change < 2:
                    time.sleep(0.2)
                    if (now := delivered()) != last:
                        last, last_change = now, time.monotonic()
                # Rows the fast path left to payment-api's relay in the overloaded phases would
                # otherwise reach notification-sender during the probe (seen: 2,767 events
                # published by the relay 45-60 s after their insert, inside the 0 ms probe).
                if wait_for_empty_outbox(api, 300):
                    settled = time.monotonic()
                    while time.monotonic() < settled + 300 and time.monotonic() - last_change < 2:
                        time.sleep(0.2)
                        if (now := delivered()) != last:
                            last, last_change = now, time.monotonic()
                if name == "0ms" and last - base > 1000:
                    seconds = last_change - started
                    results["notification_drain"] = {"messages": last - base, "seconds": round(seconds, 1),
                                                      "per_second": round((last - base) / max(seconds, 0.001))}
                    log(f"  notification backlog drained: {results['notification_drain']}")
                http("POST", telegram_url + "/reset")
                http("POST", telegram_url + "/control", json.dumps({"mode": "ok", "delayMs": delay}).encode())
                accepted = work / f"accepted-{delay}-{rate}.tsv"
                log(f"payment -> Telegram latency at {rate}/s, Telegram answering in {delay} ms")
                sender = daemons["notification-sender"]
                profile = (Profile(sender.process.pid, work / f"perf-notification-sender-{delay}.data")
                           if args.profile and delay == 0 and rate == 1000 else None)
                hops_before = scrape_hops(daemons)
                load = measured(f"payment -> Telegram {rate}/s, Telegram {delay} ms",
                                lambda: loadgen(build, api.url(""), orders.take(rate * phase_seconds + 10), "open",
                                                phase_seconds, rate=rate, accepted=accepted), payments_of)
                if profile:
                    results["profile_notification_sender"] = profile.top()
                expected = load["status"].get("201", 0)
                wait_for_messages(telegram_url, expected, 60)
                time.sleep(1.5)  # the last offsets' auto-commit (every second)
                hops = hop_figures(hops_before, scrape_hops(daemons))
                sample_rss()
                results["e2e"][name] = e2e_latency(telegram_url, accepted) | {"payments": expected, "hops": hops}
                e2e = results["e2e"][name]
                log(f"  payment -> Telegram: p50 {e2e.get('p50', '-')} ms, p99 {e2e.get('p99', '-')} ms, "
                    f"matched {e2e.get('matched', 0)} of {expected}")
                for key, what, daemon, _, _ in HOPS:
                    h = hops[key]
                    log(f"    {what} ({daemon}): p50 {h.get('p50', '-')} ms, p99 {h.get('p99', '-')} ms, "
                        f"{h['count']} samples")
        status, metrics = http("GET", api.url("/metrics"))
        results["relay_lag_ms"] = histogram_quantiles(metrics.decode(), "outbox_relay_lag_seconds")
        results["rss_load_kib"] = rss_load
        results["relay_alone"] = relay_alone(stack, api, downstream, 50_000 if quick else 200_000)
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


def targets(results: dict) -> list[tuple[str, str, str]]:
    """Issue 18's targets, each with this run's figure (or "not measured")."""
    ub, b = results["closed_unbatched"], results["closed_batched"]
    real = results.get("pgbench_real", {})
    per_request = max(real.get("per_request_16", 0), real.get("per_request_32", 0))
    e2e = results.get("e2e", {}).get("0ms", {})
    e2e2k = results.get("e2e", {}).get("0ms at 2,000/s", {})
    open2k = results.get("open", {}).get("2000", {}).get("latencyMs", {})
    cpu = results.get("cpu_us_per_payment", {}).get("payment-api batching on", {}).get("payment-api")
    cpu_off = results.get("cpu_us_per_payment", {}).get("payment-api batching off", {}).get("payment-api")
    return [
        ("payments/s, batching on, closed loop",
         f"{b['throughput']:,.0f}/s = {results.get('ratio_batched_real_per_request', 0):.2f}x the per-request pgbench "
         f"of the real statements ({per_request:,.0f}/s)",
         ">= 8,000, and >= 3x the per-request pgbench of the real statements"),
        ("payments/s, batching off",
         f"{ub['throughput']:,.0f}/s = {results.get('ratio_unbatched_real', 0) * 100:.0f} % of the per-request "
         f"pgbench of the real statements", ">= 90 % of the per-request pgbench of the real statements"),
        ("open loop p99 at 2,000 payments/s", f"{open2k['p99']:.1f} ms" if open2k else "not measured", "< 20 ms"),
        ("payment -> Telegram p99 at 1,000/s, Telegram 0 ms",
         f"{e2e['p99']} ms" if "p99" in e2e else "not measured", "< 50 ms"),
        ("payment -> Telegram p99 at 2,000/s, Telegram 0 ms",
         f"{e2e2k['p99']} ms" if "p99" in e2e2k else "not measured", "< 100 ms"),
        ("payment-api CPU per payment",
         f"{cpu:g} us batching on, {cpu_off:g} us batching off" if cpu is not None and cpu_off is not None
         else "not measured", "<= 60 microseconds"),
        ("two payment-api replicas, one database", replicas_figure(results), ">= the throughput of one"),
    ]


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
        "with Kafka (one broker) and PostgreSQL (default settings, pg_stat_statements loaded) on the same host."
        + (" QUICK run (5 s phases): indicative only." if results.get("quick") else ""),
        "",
        "### The PostgreSQL ceiling (pgbench, same run)",
        "",
        "| transaction | clients | transactions/s |",
        "|---|---|---|",
        f"| payment shape: wallet update + payment insert + outbox insert | 16 | {fmt(pg['payment_16'])} |",
        f"| payment shape | 32 | {fmt(pg['payment_32'])} |",
        f"| one-row insert | 16 | {fmt(pg['one_row_16'])} |",
    ]
    real = results.get("pgbench_real")
    if real:
        lines += [
            f"| payment-api's real statements per request (captured with pg_stat_statements): a payment, and a relay "
            f"pass per as many payments as payment-api's relay took per pass | "
            f"16 | {fmt(real['per_request_16'])} |",
            f"| the same | 32 | {fmt(real['per_request_32'])} |",
            f"| payment-api's real statements batched, {real['batch_size']} payments per transaction (payments/s) | "
            f"4 | {fmt(real['batched_4'])} |",
        ]
    lines += [
        "",
        "### payment-api",
        "",
        "| measure | result | target |",
        "|---|---|---|",
    ]
    ub, b = results["closed_unbatched"], results["closed_batched"]
    lines += [
        f"| max payments/s, batching off (closed loop, 64 connections) | {fmt(ub['throughput'])}/s = "
        f"{results.get('ratio_unbatched_real', 0) * 100:.0f} % of pgbench's real statements per request, "
        f"{results['ratio_unbatched'] * 100:.0f} % of the three-statement shape ({fmt(results['ceiling'])}/s); "
        f"p99 {ub['latencyMs']['p99']:.1f} ms | >= 90 % of the real statements per request |",
        f"| max payments/s, batching on (closed loop, 128 connections) | {fmt(b['throughput'])}/s = "
        f"{results.get('ratio_batched_real_per_request', 0):.2f}x pgbench's real statements per request, "
        f"{results.get('ratio_batched_real_batched', 0) * 100:.0f} % of them batched, "
        f"{results['ratio_batched']:.2f}x the three-statement shape; p99 {b['latencyMs']['p99']:.1f} ms | "
        f">= 8,000/s and >= 3x the real statements per request |",
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
        lines += ["", "### Payment accepted -> message at the fake Telegram (1,000 payments/s unless named)", "",
                  "| fake Telegram answers in | matched messages | p50 | p99 | max | target |", "|---|---|---|---|---|---|"]
        drain = results.get("notification_drain")
        if drain:
            lines.insert(len(lines) - 2, f"notification-sender's maximum, draining the backlog of the earlier phases "
                         f"(Telegram in 0 ms): {drain['messages']:,} messages in {drain['seconds']} s = "
                         f"{drain['per_second']:,}/s.")
            lines.insert(len(lines) - 2, "")
        for delay, r in results["e2e"].items():
            target = {"0ms": "p99 < 50 ms", "0ms at 2,000/s": "p99 < 100 ms"}.get(delay, "p99 < 200 ms")
            lines.append(f"| {delay} | {r.get('matched', 0)} of {r.get('payments', 0)} | {r.get('p50', '-')} ms | "
                         f"{r.get('p99', '-')} ms | {r.get('max', '-')} ms | {target} |")
        with_hops = {delay: r["hops"] for delay, r in results["e2e"].items() if r.get("hops")}
        if with_hops:
            lines += ["", "Each hop of the way, from the daemons' histograms over the same phase (bucket counts "
                      "after minus before; quantiles interpolated within the bucket, so close to, not exactly, "
                      "the real ones). The hops overlap and do not add up to the end-to-end figure: payment-api "
                      "answers after handing the event to the producer, so insert -> producer comes before "
                      "the end-to-end clock starts; the record's timestamp is taken at that hand-over, so "
                      "record -> poll includes producer -> ack; the end-to-end clock stops when the Telegram "
                      "call arrives, inside poll -> handler done; the offset commit comes after it.", "",
                      "| hop | daemon | " + " | ".join(f"Telegram {d}: p50 / p99 (samples)" for d in with_hops) + " |",
                      "|---|---|" + "---|" * len(with_hops)]
            for key, what, daemon, _, _ in HOPS:
                cells = []
                for hops in with_hops.values():
                    h = hops.get(key, {})
                    cells.append(f"{h['p50']:g} / {h['p99']:g} ms ({h['count']:,})" if h.get("count") else "-")
                lines.append(f"| {what} | {daemon} | " + " | ".join(cells) + " |")
    cpu = results.get("cpu_us_per_payment", {})
    if cpu:
        groups = ["payment-api", "PostgreSQL", "Kafka broker", "load generator", "other daemons"]
        lines += ["", "### CPU per payment (microseconds, from /proc, per phase)", "",
                  "| phase | " + " | ".join(groups) + " |", "|---" * (len(groups) + 1) + "|"]
        for phase, per in cpu.items():
            lines.append(f"| {phase} | " + " | ".join(f"{per[g]:,.0f}" if g in per else "-" for g in groups) + " |")
    for key, title in (("statements_unbatched", "batching off"), ("statements_batched", "batching on")):
        if results.get(key):
            first = statement_lines(results[key])[0]
            lines += ["", f"### Statements per batch, {title} (pg_stat_statements)", "", first, "",
                      "| statement | per batch | per payment |", "|---|---|---|"]
            lines += [f"| {r['meaning']} ({r['role']}) | {r['per_batch']:g} | {r['per_payment']:g} |"
                      for r in results[key]["statements"]]
    lines += render_scaling(results)
    lines += render_waits(results)
    lines += ["", "### Targets (issue 18)", "", "| measure | this run | target |", "|---|---|---|"]
    lines += [f"| {m} | {f} | {t} |" for m, f, t in targets(results)]
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


def write_section(markdown: str, section: str = "payments") -> None:
    """Replaces docs/performance.md between <!-- section:begin --> and <!-- section:end -->
    (each benchmark owns one section; the text around them is written by hand)."""
    path = ROOT / "docs/performance.md"
    text = path.read_text()
    begin, end = f"<!-- {section}:begin -->", f"<!-- {section}:end -->"
    start, stop = text.index(begin) + len(begin), text.index(end)
    path.write_text(text[:start] + "\n" + markdown + "\n" + text[stop:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--quick", action="store_true", help="5 s phases and fewer orders")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/performance.md")
    parser.add_argument("--outbox-fast-path", choices=("on", "off"), default="off",
                        help="payment-api's outbox fast path (PAYPIPE_OUTBOX_FAST_PATH), to compare the two")
    parser.add_argument("--live-updates", choices=("on", "off"), default="on",
                        help="payment-api's live-update trigger, to weigh what it costs each payment")
    parser.add_argument("--no-profile", dest="profile", action="store_false",
                        help="skip the perf profiles of payment-api and notification-sender")
    args = parser.parse_args()
    results = run(args)
    print(json.dumps(results, indent=2))
    log("issue 18's targets, this run:")
    for measure, figure, target in targets(results):
        log(f"  {measure}: {figure} (target {target})")
    if not args.no_write:
        write_section(render(results, "bench/run.sh" + (" --quick" if args.quick else "")))
        log("docs/performance.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
