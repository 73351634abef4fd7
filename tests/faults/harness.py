"""The fault suite's harness: a private stack (scripts/stack.py in a directory of its own),
the topics, the two fakes and the seven daemons as processes, with the faults a scenario
injects (kill -9 and restart, SIGSTOP/SIGCONT, broker and PostgreSQL restarts, fakes
down). Everything it starts is stopped by System.close(), also when a scenario fails.

Standard library only; psql and kcat are the only outside tools.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

SERVICES = ["payment-api", "order-processor", "coupon-issuer", "notification-sender", "ranking-updater",
            "data-platform-forwarder", "dlq-retrier"]
# Consumer groups of the system (events::consumer_groups): each has retry.<g> and dlq.<g>.
GROUPS = ["payment-api", "order-processor", "coupon-issuer", "notification-sender", "ranking-updater",
          "data-platform-forwarder"]
ADMIN_TOKEN = "faults-admin-token"
# The identity provider of the fault suite: a key made by `paypipe-admin keygen` at start,
# its JWKS given to the daemons with end-user routes, tokens minted by `paypipe-admin token`.
JWT_ISSUER = "https://id.faults.paypipe.test"
JWT_AUDIENCE = "paypipe-api"
USER_FACING = ("payment-api", "order-processor", "coupon-issuer")
TELEGRAM_TOKEN = "123456:FAULTS"
# The driver's users (payments, coupons). notification-sender writes only to mapped chats
# (a user without one is skipped), so each gets a chat of its own.
PAYMENT_USERS = [f"u{i:03d}" for i in range(60)]
COUPON_USERS = [f"c{i:04d}" for i in range(400)]
TELEGRAM_CHAT_IDS = ",".join(f"{u}={1000000 + i}" for i, u in enumerate(PAYMENT_USERS + COUPON_USERS))


def log(msg: str) -> None:
    print(f"[faults {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, predicate, timeout: float, interval: float = 0.1):
    """Polls `predicate` until it returns something true or `timeout` passes (then raises)."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            result = predicate()
            if result:
                return result
        except Exception as e:  # noqa: BLE001 - a predicate failing is "not yet"
            last_error = e
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not true after {timeout:.0f}s" + (f" (last error: {last_error})" if last_error else ""))
        time.sleep(interval)


def http_json(method: str, url: str, body=None, headers=None, timeout: float = 5.0):
    """One HTTP call; returns (status, parsed body or text). Raises on transport errors."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        raw = e.read()
        status = e.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


class Process:
    """A child process with its log file; kill -9, SIGSTOP/SIGCONT and restart."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path):
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.kills = 0
        self.starts = 0

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None
        out = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        out.close()
        self.starts += 1

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        if self.running():
            os.kill(self.proc.pid, signal.SIGCONT)
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.kills += 1

    def pause(self) -> None:
        if self.running():
            os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.running():
            os.kill(self.proc.pid, signal.SIGCONT)

    def terminate(self, timeout: float = 30) -> int | None:
        if not self.running():
            return self.proc.returncode if self.proc else None
        os.kill(self.proc.pid, signal.SIGCONT)
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log(f"{self.name} did not stop within {timeout:.0f}s of SIGTERM; SIGKILL")
            self.kill9()
            return None


class Daemon(Process):
    def __init__(self, name: str, binary: str, env: dict[str, str], log_path: Path, service: str | None = None):
        self.port = int(env["PAYPIPE_HTTP_PORT"])
        self.service = service or name  # the daemon; `name` is the instance ("payment-api", "payment-api-2")
        # False while a scenario stops it on purpose (a roll's SIGTERM, a scale-down): the
        # supervisor leaves it alone and the end of the run does not start it again.
        self.wanted = True
        super().__init__(name, [binary], env, log_path)

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def ready(self) -> bool:
        try:
            status, _ = http_json("GET", self.url("/readyz"), timeout=2)
            return status == 200
        except Exception:  # noqa: BLE001
            return False

    def wait_ready(self, timeout: float = 60) -> None:
        def check():
            if not self.running():
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log_path}")
            return self.ready()
        try:
            wait_for(f"{self.name} ready", check, timeout, 0.05)
        except Exception:
            tail = self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""
            log(f"{self.name} log tail:\n{tail}")
            raise

    def metrics(self) -> str:
        with urllib.request.urlopen(self.url("/metrics"), timeout=3) as r:
            return r.read().decode()


class System:
    """A private stack, the topics, the fakes and the seven daemons."""

    def __init__(self, build_dir: Path, source_dir: Path, brokers: int = 1, work_dir: Path | None = None,
                 extra_env: dict[str, dict[str, str]] | None = None, keep_logs: Path | None = None,
                 partitions: int = 3, replicas: dict[str, int] | None = None):
        self.build_dir = Path(build_dir).resolve()
        self.source_dir = Path(source_dir).resolve()
        self.bin = self.build_dir / "bin"
        self.brokers = brokers
        self.work = Path(work_dir or tempfile.mkdtemp(prefix="paypipe-faults-"))
        self.work.mkdir(parents=True, exist_ok=True)
        self.stack_dir = self.work / "stack"
        self.logs = self.work / "logs"
        self.logs.mkdir(exist_ok=True)
        self.keep_logs = keep_logs
        self.extra_env = extra_env or {}
        self.partitions = partitions
        # Instances per daemon (default one); the first is named after the daemon, the
        # others "<daemon>-2", "<daemon>-3", ...
        self.replicas = replicas or {}
        self.daemons: dict[str, Daemon] = {}   # instance name -> Daemon
        self.next_port: dict[str, int] = {}   # round robin per daemon (pick_port)
        self.fakes: dict[str, Process] = {}
        self.stack_env: dict[str, str] = {}
        self.telegram_port = free_port()
        self.analytics_port = free_port()
        self.analytics_control_port = free_port()
        self.lock = threading.Lock()
        self.closed = False

    # ------------------------------------------------------------ the stack
    def stack(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [sys.executable, str(self.source_dir / "scripts" / "stack.py"), *args, "--dir", str(self.stack_dir)]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if check and out.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {out.stdout}{out.stderr}")
        return out

    def make_identity(self) -> None:
        """A signing key and its JWKS in the work directory (kept across daemon restarts)."""
        self.jwt_key = self.work / "jwt-signing.pem"
        self.jwks = self.work / "jwks.json"
        if not self.jwt_key.exists():
            subprocess.run([str(self.bin / "paypipe-admin"), "keygen", "--out", str(self.jwt_key)], check=True)
        jwks = subprocess.run([str(self.bin / "paypipe-admin"), "jwks", "--key", str(self.jwt_key), "--kid", "faults-1"],
                              check=True, capture_output=True, text=True).stdout
        self.jwks.write_text(jwks)
        self.tokens: dict[tuple[str, str], str] = {}
        self.tokens_lock = threading.Lock()

    def token(self, sub: str, scope: str = "") -> str:
        """A bearer token for `sub` (valid for a day), minted once per (sub, scope)."""
        with self.tokens_lock:
            cached = self.tokens.get((sub, scope))
        if cached:
            return cached
        argv = [str(self.bin / "paypipe-admin"), "token", "--key", str(self.jwt_key), "--kid", "faults-1",
                "--sub", sub, "--iss", JWT_ISSUER, "--aud", JWT_AUDIENCE, "--ttl", "86400"]
        if scope:
            argv += ["--scope", scope]
        minted = subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()
        with self.tokens_lock:
            self.tokens[(sub, scope)] = minted
        return minted

    def start(self) -> None:
        t0 = time.monotonic()
        self.make_identity()
        out = self.stack("start", "--brokers", str(self.brokers), "--replace")
        for line in out.stdout.splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                self.stack_env[k] = v
        log(f"stack up in {time.monotonic() - t0:.1f}s: kafka {self.bootstrap}, {self.pg_dsn}")
        replication = 3 if self.brokers >= 3 else 1
        min_isr = 2 if self.brokers >= 3 else 1
        admin = subprocess.run([str(self.bin / "paypipe-admin"), "topics", "create", "--partitions", str(self.partitions),
                                "--replication", str(replication), "--min-insync", str(min_isr)],
                               env=self.base_env(), capture_output=True, text=True)
        if admin.returncode != 0:
            raise RuntimeError(f"topics create failed: {admin.stdout}{admin.stderr}")
        # Every broker must know every topic (with a leader for each partition) before a
        # daemon's durability check asks one of them: on three brokers the metadata
        # reaches the others a moment after CreateTopics returns.
        listed = subprocess.run([str(self.bin / "paypipe-admin"), "topics", "list"], env=self.base_env(),
                                capture_output=True, text=True, check=True)
        wanted = {t for t in listed.stdout.split() if t and not t.startswith("__")}
        for broker in self.bootstrap.split(","):
            def known(b=broker):
                out = subprocess.run(["kcat", "-b", b, "-L", "-J", "-m", "5"], capture_output=True, text=True, timeout=20)
                meta = json.loads(out.stdout)
                led = {t["topic"] for t in meta["topics"]
                       if t["partitions"] and all(p["leader"] >= 0 for p in t["partitions"])}
                return wanted <= led
            wait_for(f"every topic known to {broker}", known, 60, 0.2)
        self.fakes["fake-telegram"] = Process(
            "fake-telegram", [str(self.bin / "fake-telegram"), "--port", str(self.telegram_port), "--token", TELEGRAM_TOKEN],
            {"PATH": "/usr/bin:/bin"}, self.logs / "fake-telegram.log")
        self.fakes["fake-analytics"] = Process(
            "fake-analytics", [str(self.bin / "fake-analytics"), "--port", str(self.analytics_port), "--control-port",
                               str(self.analytics_control_port), "--path", "/webhook"],
            {"PATH": "/usr/bin:/bin"}, self.logs / "fake-analytics.log")
        for fake in self.fakes.values():
            fake.start()
        wait_for("fake-telegram", lambda: http_json("GET", f"{self.telegram_url}/stats")[0] == 200, 10)
        wait_for("fake-analytics", lambda: http_json("GET", f"{self.analytics_control}/stats")[0] == 200, 10)
        for name in SERVICES:
            for _ in range(self.replicas.get(name, 1)):
                self.add_instance(name, wait=False)
        for d in self.daemons.values():
            d.wait_ready()
        log(f"system ready in {time.monotonic() - t0:.1f}s (work dir {self.work})")

    @property
    def bootstrap(self) -> str:
        return self.stack_env["KAFKA_BOOTSTRAP_SERVERS"]

    @property
    def pg_dsn(self) -> str:
        return self.stack_env["PG_DSN"]

    @property
    def telegram_url(self) -> str:
        return f"http://127.0.0.1:{self.telegram_port}"

    @property
    def analytics_control(self) -> str:
        return f"http://127.0.0.1:{self.analytics_control_port}"

    def base_env(self) -> dict[str, str]:
        return {"PATH": "/usr/bin:/bin", "PAYPIPE_KAFKA_BOOTSTRAP_SERVERS": self.bootstrap, "PAYPIPE_TOPIC_PREFIX": ""}

    def daemon_env(self, name: str, instance: int = 1) -> dict[str, str]:
        env = self.base_env()
        env.update({
            # The production profile checks durability (acks=all, idempotence, replication
            # >= 3, min.insync >= 2) and refuses to run without it: used on three brokers.
            "PAYPIPE_PROFILE": "production" if self.brokers >= 3 else "local",
            "PAYPIPE_PG_DSN": self.pg_dsn,
            "PAYPIPE_PG_SCHEMA": name.replace("-", "_"),
            "PAYPIPE_HTTP_ADDRESS": "127.0.0.1",
            "PAYPIPE_HTTP_PORT": str(free_port()),
            "PAYPIPE_LOG_LEVEL": "info",
            "PAYPIPE_SHUTDOWN_TIMEOUT_MS": "10000",
            "PAYPIPE_OUTBOX_POLL_INTERVAL_MS": "200",
        })
        if name in ("order-processor", "coupon-issuer", "dlq-retrier"):
            env["PAYPIPE_ADMIN_TOKEN"] = ADMIN_TOKEN
        if name in USER_FACING:
            env.update({"PAYPIPE_JWT_JWKS_FILE": str(self.jwks), "PAYPIPE_JWT_ISSUER": JWT_ISSUER,
                        "PAYPIPE_JWT_AUDIENCE": JWT_AUDIENCE,
                        # The workload's users write faster than a person would; the suite is
                        # about faults, not throttling (tests/security covers 429).
                        "PAYPIPE_RATE_LIMIT_PER_USER": "0"})
        if name == "order-processor":
            env.update({"PAYPIPE_ORDER_TTL_MS": "6000", "PAYPIPE_ORDER_EXPIRY_SWEEP_INTERVAL_MS": "500",
                        "PAYPIPE_ORDER_EXPIRY_GRACE_MS": "500"})
        if name == "notification-sender":
            env.update({"PAYPIPE_TELEGRAM_BASE_URL": self.telegram_url, "PAYPIPE_TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
                        "PAYPIPE_TELEGRAM_CHAT_IDS": TELEGRAM_CHAT_IDS,
                        "PAYPIPE_NOTIFY_DEFAULT_LOCALE": "en", "PAYPIPE_TELEGRAM_TIMEOUT_MS": "3000",
                        "PAYPIPE_TELEGRAM_CONNECT_TIMEOUT_MS": "1000"})
        if name == "data-platform-forwarder":
            env.update({"PAYPIPE_WEBHOOK_URL": f"http://127.0.0.1:{self.analytics_port}/webhook",
                        "PAYPIPE_WEBHOOK_AUTHORIZATION": "Bearer faults", "PAYPIPE_WEBHOOK_TIMEOUT_MS": "3000",
                        "PAYPIPE_WEBHOOK_CONNECT_TIMEOUT_MS": "1000"})
        if name == "dlq-retrier":
            # Retries a few seconds apart, enough of them to outlast the faults.
            env.update({"PAYPIPE_RETRIER_INTERVAL_MS": "2000", "PAYPIPE_RETRIER_MAX_RETRIES": "5"})
            if instance > 1:  # one transactional.id per instance, as a StatefulSet's ordinal gives
                env["PAYPIPE_RETRIER_TRANSACTIONAL_ID"] = f"dlq-retrier-{instance}"
        env.update(self.extra_env.get("*", {}))
        env.update(self.extra_env.get(name, {}))
        return env

    # ------------------------------------------------------------ instances
    def add_instance(self, service: str, wait: bool = True) -> Daemon:
        """Starts one more instance of `service` (a scale-up); returns it."""
        n = 1
        while (service if n == 1 else f"{service}-{n}") in self.daemons:
            n += 1
        name = service if n == 1 else f"{service}-{n}"
        d = Daemon(name, str(self.bin / service), self.daemon_env(service, n), self.logs / f"{name}.log", service)
        with self.lock:
            self.daemons[name] = d
            d.start()
        if wait:
            d.wait_ready()
        return d

    def instances(self, service: str, wanted_only: bool = True) -> list[Daemon]:
        return [d for d in list(self.daemons.values()) if d.service == service and (d.wanted or not wanted_only)]

    def pick_port(self, service: str) -> int:
        """A port of `service`, round robin over its running instances (a Service's load
        balancing); with one instance, always its port."""
        live = [d for d in self.instances(service) if d.running()] or self.instances(service, wanted_only=False)
        with self.lock:
            i = self.next_port.get(service, 0)
            self.next_port[service] = i + 1
        return live[i % len(live)].port

    def stop_instance(self, name: str, timeout: float = 30) -> int | None:
        """SIGTERM of one instance, on purpose (not restarted by the supervisor); its exit code."""
        d = self.daemons[name]
        with self.lock:
            d.wanted = False
        return d.terminate(timeout)

    def start_instance(self, name: str, ready_timeout: float = 60) -> None:
        """Starts a stopped instance again and waits until it is ready."""
        d = self.daemons[name]
        with self.lock:
            d.wanted = True
        self.restart(name, ready_timeout)

    # ------------------------------------------------------------ faults
    def restart(self, name: str, ready_timeout: float = 60) -> None:
        d = self.daemons[name]
        with self.lock:
            if not d.running():
                d.start()
        d.wait_ready(ready_timeout)

    def kafka_stop(self, node: int, kill: bool = True) -> None:
        self.stack("kafka-stop", "--node", str(node), *(["--kill"] if kill else []))

    def kafka_start(self, node: int) -> None:
        self.stack("kafka-start", "--node", str(node))

    def postgres_restart(self, kill: bool = False) -> None:
        self.stack("postgres-restart", *(["--kill"] if kill else []))

    def postgres_stop(self) -> None:
        """PostgreSQL down (fast shutdown) until postgres_start()."""
        self.stack("postgres-stop")

    def postgres_start(self) -> None:
        self.stack("postgres-start")

    def partition_leader(self, topic: str, partition: int) -> int:
        out = subprocess.run(["kcat", "-b", self.bootstrap, "-L", "-t", topic, "-J", "-m", "5"],
                             capture_output=True, text=True, timeout=20)
        meta = json.loads(out.stdout)
        for t in meta["topics"]:
            for p in t["partitions"]:
                if p["partition"] == partition:
                    return int(p["leader"])
        raise RuntimeError(f"no leader for {topic}[{partition}]")

    # ------------------------------------------------------------ data
    def psql(self, schema: str, sql: str) -> list[list[str]]:
        out = subprocess.run(["psql", self.pg_dsn, "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                              "-c", f"SET search_path TO {schema}", "-c", sql],
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"psql: {out.stderr.strip()}")
        return [line.split("\t") for line in out.stdout.splitlines() if line != ""]

    def read_topic(self, topic: str) -> list[dict]:
        """Every committed record of `topic` (kcat -J, read_committed)."""
        out = subprocess.run(["kcat", "-b", self.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-J",
                              "-X", "isolation.level=read_committed", "-m", "10"],
                             capture_output=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"kcat {topic}: {out.stderr.decode(errors='replace')}")
        records = []
        for line in out.stdout.decode(errors="replace").splitlines():
            if not line.strip():
                continue
            r = json.loads(line)
            headers = r.get("headers") or []
            r["headers"] = {headers[i]: headers[i + 1] for i in range(0, len(headers) - 1, 2)}
            records.append(r)
        return records

    # ------------------------------------------------------------ the end
    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for d in self.daemons.values():
            d.resume()
        codes = {}
        for service in reversed(SERVICES):
            for d in self.instances(service, wanted_only=False):
                codes[d.name] = d.terminate(20)
        for f in self.fakes.values():
            f.terminate(5)
        try:
            self.stack("stop", check=False)
        finally:
            if self.keep_logs:
                self.keep_logs.mkdir(parents=True, exist_ok=True)
                for p in self.logs.glob("*.log"):
                    shutil.copy(p, self.keep_logs / p.name)
            shutil.rmtree(self.work, ignore_errors=True)
        bad = {k: v for k, v in codes.items() if v not in (0, None)}
        if bad:
            log(f"exit codes after SIGTERM: {bad}")
