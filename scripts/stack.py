#!/usr/bin/env python3
"""The local stack: a real Apache Kafka broker (KRaft, from the Maven jars fetched by
scripts/bootstrap.sh) and a throwaway PostgreSQL cluster, on free loopback ports.

Used by scripts/run-local.sh, by the test harness (ctest fixture) and by the fault
tests. Everything it starts is recorded in <dir>/stack.json, so `stop` leaves no
process and no directory behind, even after the caller crashed.

    stack.py start --dir DIR [--brokers 1|3] [--no-kafka] [--no-postgres] [--replace]
    stack.py stop --dir DIR
    stack.py env --dir DIR                      # KEY=VALUE lines for the daemons
    stack.py kafka-stop --dir DIR --node N [--kill]   # fault injection
    stack.py kafka-start --dir DIR --node N
    stack.py postgres-restart --dir DIR [--kill]
    stack.py postgres-stop --dir DIR [--kill]       # down until postgres-start
    stack.py postgres-start --dir DIR

Only the standard library: it runs before anything is built.
"""
from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
DEFAULT_KAFKA_VERSION = "3.9.1"
DATABASE = "paypipe"


def log(msg: str) -> None:
    print(f"[stack] {msg}", file=sys.stderr, flush=True)


def cache_dir() -> Path:
    if "PAYPIPE_CACHE" in os.environ:
        return Path(os.environ["PAYPIPE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "paypipe"


def free_ports(count: int) -> list[int]:
    """Ports the kernel hands out for port 0, all held open together so none repeats."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); read its state.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def stop_pid(pid: int, timeout: float, sig: int = signal.SIGTERM) -> None:
    if not pid_alive(pid):
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.05)
    log(f"pid {pid} still alive after {timeout:.0f}s; SIGKILL")
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 30
    while pid_alive(pid):
        if time.monotonic() > deadline:
            log(f"pid {pid} still there 30s after SIGKILL; leaving it")
            return
        time.sleep(0.05)


def wait_until(what: str, predicate, timeout: float, interval: float = 0.1, alive=None):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if alive is not None and not alive():
            raise RuntimeError(f"{what}: the process exited")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not ready after {timeout:.0f}s")
        time.sleep(interval)


# ---------------------------------------------------------------- Kafka

class Kafka:
    def __init__(self, state: dict, stack_dir: Path):
        self.state = state
        self.dir = stack_dir

    @staticmethod
    def plan(brokers: int, version: str, stack_dir: Path) -> dict:
        jars = cache_dir() / f"kafka-{version}"
        if not (jars / ".complete").exists():
            raise SystemExit(f"Kafka {version} jars are missing in {jars}: run scripts/bootstrap.sh "
                             f"(with KAFKA_VERSION={version})")
        ports = free_ports(2 * brokers)
        nodes = []
        for i in range(brokers):
            nodes.append({
                "id": i + 1,
                "port": ports[2 * i],
                "controller_port": ports[2 * i + 1],
                "dir": str(stack_dir / f"kafka-{i + 1}"),
                "pid": None,
            })
        return {"version": version, "jars": str(jars), "cluster_id": None, "nodes": nodes}

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{n['port']}" for n in self.state["nodes"])

    def _java(self) -> str:
        java_home = os.environ.get("JAVA_HOME")
        if java_home and Path(java_home, "bin", "java").exists():
            return str(Path(java_home, "bin", "java"))
        found = shutil.which("java")
        if not found:
            raise SystemExit("java not found: run scripts/bootstrap.sh")
        return found

    def _classpath(self) -> str:
        return f"{self.state['jars']}/*"

    def _is_v4(self) -> bool:
        return self.state["version"].startswith("4.")

    def _write_config(self, node: dict) -> Path:
        nodes = self.state["nodes"]
        count = len(nodes)
        voters = ",".join(f"{n['id']}@127.0.0.1:{n['controller_port']}" for n in nodes)
        node_dir = Path(node["dir"])
        (node_dir / "data").mkdir(parents=True, exist_ok=True)
        replication = min(count, 3)
        min_isr = 1 if count == 1 else 2
        props = f"""\
process.roles=broker,controller
node.id={node['id']}
controller.quorum.voters={voters}
listeners=PLAINTEXT://127.0.0.1:{node['port']},CONTROLLER://127.0.0.1:{node['controller_port']}
advertised.listeners=PLAINTEXT://127.0.0.1:{node['port']}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={node_dir / 'data'}
num.partitions=3
default.replication.factor={replication}
min.insync.replicas={min_isr}
offsets.topic.replication.factor={replication}
offsets.topic.num.partitions=10
transaction.state.log.replication.factor={replication}
transaction.state.log.min.isr={min_isr}
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
num.network.threads=2
num.io.threads=4
log.retention.hours=24
"""
        path = node_dir / "server.properties"
        path.write_text(props)
        (node_dir / "log4j.properties").write_text(f"""\
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File={node_dir / 'server.log'}
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
""")
        (node_dir / "log4j2.properties").write_text(f"""\
appender.file.type=File
appender.file.name=file
appender.file.fileName={node_dir / 'server.log'}
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=INFO
rootLogger.appenderRef.file.ref=file
""")
        return path

    def _jvm(self, node: dict) -> list[str]:
        node_dir = Path(node["dir"])
        heap = "512m" if len(self.state["nodes"]) == 1 else "384m"
        logging = (f"-Dlog4j2.configurationFile=file:{node_dir / 'log4j2.properties'}" if self._is_v4()
                   else f"-Dlog4j.configuration=file:{node_dir / 'log4j.properties'}")
        return [self._java(), f"-Xmx{heap}", "-Xms64m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
                "-XX:+ExitOnOutOfMemoryError", logging, "-cp", self._classpath()]

    def format(self) -> None:
        if self.state["cluster_id"] is None:
            # A base64url UUID, as StorageTool random-uuid prints; made here to save a JVM start.
            # Like Kafka's Uuid.randomUuid, never one starting with '-': the tool would read
            # it as an option (1 run in 64 failed to format).
            import base64
            cluster_id = "-"
            while cluster_id.startswith("-"):
                cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            self.state["cluster_id"] = cluster_id
        for node in self.state["nodes"]:
            config = self._write_config(node)
            out = subprocess.run(self._jvm(node) + ["kafka.tools.StorageTool", "format", "-t",
                                                    self.state["cluster_id"], "-c", str(config)],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                raise RuntimeError(f"kafka storage format failed: {out.stdout}{out.stderr}")

    def start_node(self, node: dict) -> None:
        node_dir = Path(node["dir"])
        stdout = open(node_dir / "stdout.log", "ab")
        proc = subprocess.Popen(self._jvm(node) + ["kafka.Kafka", str(node_dir / "server.properties")],
                                stdout=stdout, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        node["pid"] = proc.pid

    def metadata_brokers(self, bootstrap: str) -> int:
        out = subprocess.run(["kcat", "-b", bootstrap, "-L", "-m", "2"], capture_output=True, text=True)
        if out.returncode != 0:
            return 0
        for line in out.stdout.splitlines():
            line = line.strip()
            if line.endswith("brokers:"):
                return int(line.split()[0])
        return 0

    def wait_ready(self, timeout: float = 90) -> None:
        want = sum(1 for n in self.state["nodes"] if n["pid"] and pid_alive(n["pid"]))
        for node in self.state["nodes"]:
            if not node["pid"] or not pid_alive(node["pid"]):
                continue
            addr = f"127.0.0.1:{node['port']}"

            def alive(n=node):
                return pid_alive(n["pid"])
            try:
                wait_until(f"kafka node {node['id']} on {addr}",
                           lambda a=addr: self.metadata_brokers(a) >= want, timeout, 0.2, alive)
            except Exception:
                tail = (Path(node["dir"]) / "server.log")
                if tail.exists():
                    log("last lines of " + str(tail) + ":\n" + "".join(tail.read_text().splitlines(True)[-30:]))
                raise

    def start(self) -> None:
        self.format()
        for node in self.state["nodes"]:
            self.start_node(node)
        self.wait_ready()

    def stop_node(self, node: dict, kill: bool = False) -> None:
        if node["pid"]:
            stop_pid(node["pid"], timeout=30, sig=signal.SIGKILL if kill else signal.SIGTERM)
            node["pid"] = None

    def discard(self) -> None:
        """Ends every broker at once with SIGKILL: the stack's directory, logs included, is
        removed next, so a clean shutdown would only write what is thrown away, and under
        load a broker's SIGTERM shutdown has taken over 30 s (the ctest fixture's stop timed out)."""
        for node in self.state["nodes"]:
            if node["pid"] and pid_alive(node["pid"]):
                os.kill(node["pid"], signal.SIGKILL)
        for node in self.state["nodes"]:
            self.stop_node(node, kill=True)


# ---------------------------------------------------------------- PostgreSQL

def postgres_user() -> str | None:
    """PostgreSQL refuses to run as root: run its binaries as the 'postgres' user then."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"],
                       check=True)
    return "postgres"


def as_pg_user(cmd: list[str]) -> list[str]:
    user = postgres_user()
    return ["runuser", "-u", user, "--"] + cmd if user else cmd


class Postgres:
    def __init__(self, state: dict):
        self.state = state

    @staticmethod
    def plan() -> dict:
        # Outside the stack dir: the postgres user must reach it, and /root is closed to it.
        data_root = tempfile.mkdtemp(prefix="paypipe-pg-")
        user = postgres_user()
        if user:
            pw = pwd.getpwnam(user)
            os.chown(data_root, pw.pw_uid, pw.pw_gid)
        os.chmod(data_root, 0o700)
        return {"root": data_root, "port": free_ports(1)[0], "pid": None}

    @property
    def data(self) -> str:
        return os.path.join(self.state["root"], "data")

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.state['port']}/{DATABASE}"

    def _run(self, cmd: list[str]) -> None:
        out = subprocess.run(as_pg_user(cmd), capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stdout}{out.stderr}")

    def init(self) -> None:
        self._run([str(PG_BIN / "initdb"), "-D", self.data, "-U", "postgres", "--auth=trust",
                   "-E", "UTF8", "--no-locale", "--no-sync"])
        with open(os.path.join(self.data, "postgresql.conf"), "a") as conf:
            conf.write(f"""
# paypipe local stack
listen_addresses = '127.0.0.1'
port = {self.state['port']}
unix_socket_directories = '{self.state['root']}'
max_connections = 300
# logical is a superset of replica: Debezium's PostgreSQL connector (tests/interop) reads
# the outbox through a logical replication slot; the default 10 senders and slots suffice.
wal_level = logical
logging_collector = off
log_min_messages = warning
""")

    def start(self) -> None:
        self.remove_stale_locks()
        self._run([str(PG_BIN / "pg_ctl"), "-D", self.data, "-l", os.path.join(self.state["root"], "server.log"),
                   "-w", "-t", "60", "start"])
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            self.state["pid"] = int(f.readline().strip())

    def create_database(self) -> None:
        self._run([str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.state["port"]), "-U", "postgres",
                   "-v", "ON_ERROR_STOP=1", "-q", "-c", f"CREATE DATABASE {DATABASE}"])

    def stop(self, kill: bool = False, mode: str = "fast") -> None:
        """kill: SIGKILL the postmaster (a crash, for the fault tests); otherwise pg_ctl's
        shutdown `mode`: "fast" (clean) or "immediate" (no checkpoint: for a cluster about to be removed)."""
        pid = self.state.get("pid")
        if pid and pid_alive(pid):
            if kill:
                stop_pid(pid, 10, signal.SIGKILL)
            else:
                wait = "30" if mode == "fast" else "10"
                subprocess.run(as_pg_user([str(PG_BIN / "pg_ctl"), "-D", self.data, "-m", mode, "-w", "-t", wait,
                                           "stop"]), capture_output=True)
                stop_pid(pid, 10)
        self.state["pid"] = None
        if kill:
            # kill -9 of the postmaster leaves its backends; they exit when they notice, but
            # the shared memory stays until they do: wait for them.
            wait_until("postgres backends exit",
                       lambda: subprocess.run(["pgrep", "-f", f"postgres.*{self.data}"],
                                              capture_output=True).returncode != 0, 30)

    def remove_stale_locks(self) -> None:
        """A killed postmaster can stay a zombie until its (re)parent reaps it; kill(0) still
        finds it, so pg_ctl start would refuse the lock files it left (the data directory's
        and the socket's). Their owner is dead: remove them."""
        locks = [os.path.join(self.data, "postmaster.pid")]
        locks += [str(p) for p in Path(self.state["root"]).glob(".s.PGSQL.*.lock")]
        for lock in locks:
            try:
                with open(lock) as f:
                    owner = int(f.readline().strip())
                if not pid_alive(owner):
                    os.remove(lock)
            except (OSError, ValueError):
                pass

    def remove(self) -> None:
        shutil.rmtree(self.state["root"], ignore_errors=True)


# ---------------------------------------------------------------- the stack

class Stack:
    def __init__(self, stack_dir: Path):
        self.dir = stack_dir
        self.state_file = stack_dir / "stack.json"
        self.state = json.loads(self.state_file.read_text()) if self.state_file.exists() else {}

    def save(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=2))
        tmp.replace(self.state_file)
        self.write_env()

    def env(self) -> dict[str, str]:
        env = {"PAYPIPE_STACK_DIR": str(self.dir)}
        if self.state.get("kafka"):
            env["KAFKA_BOOTSTRAP_SERVERS"] = Kafka(self.state["kafka"], self.dir).bootstrap
            env["KAFKA_BROKERS"] = str(len(self.state["kafka"]["nodes"]))
        if self.state.get("postgres"):
            env["PG_DSN"] = Postgres(self.state["postgres"]).dsn
        return env

    def write_env(self) -> None:
        (self.dir / "env").write_text("".join(f"{k}={v}\n" for k, v in self.env().items()))

    def start(self, brokers: int, version: str, kafka: bool, postgres: bool) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.state = {"created": time.time()}
        try:
            if postgres:
                self.state["postgres"] = Postgres.plan()
                self.save()
                pg = Postgres(self.state["postgres"])
                t0 = time.monotonic()
                pg.init()
                pg.start()
                self.save()
                pg.create_database()
                log(f"PostgreSQL on 127.0.0.1:{pg.state['port']} ({time.monotonic() - t0:.1f}s)")
            if kafka:
                self.state["kafka"] = Kafka.plan(brokers, version, self.dir)
                self.save()
                k = Kafka(self.state["kafka"], self.dir)
                t0 = time.monotonic()
                k.format()
                for node in k.state["nodes"]:
                    k.start_node(node)
                    self.save()
                k.wait_ready()
                log(f"Kafka {version} x{brokers} on {k.bootstrap} ({time.monotonic() - t0:.1f}s)")
            self.save()
        except BaseException:
            log("start failed; stopping what was started")
            self.stop()
            raise

    def stop(self) -> None:
        """Ends and removes the whole stack; nothing in it is kept, so nothing is shut down politely."""
        if self.state.get("kafka"):
            Kafka(self.state["kafka"], self.dir).discard()
        if self.state.get("postgres"):
            pg = Postgres(self.state["postgres"])
            pg.stop(mode="immediate")
            pg.remove()
        shutil.rmtree(self.dir, ignore_errors=True)
        self.state = {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def with_dir(p):
        p.add_argument("--dir", required=True, type=Path, help="state directory of this stack")
        return p

    start = with_dir(sub.add_parser("start"))
    start.add_argument("--brokers", type=int, default=1, choices=[1, 3])
    start.add_argument("--kafka-version", default=os.environ.get("KAFKA_VERSION", DEFAULT_KAFKA_VERSION))
    start.add_argument("--no-kafka", action="store_true")
    start.add_argument("--no-postgres", action="store_true")
    start.add_argument("--replace", action="store_true", help="stop a stack left in --dir first")
    with_dir(sub.add_parser("stop"))
    with_dir(sub.add_parser("env"))
    for name in ("kafka-stop", "kafka-start"):
        p = with_dir(sub.add_parser(name))
        p.add_argument("--node", type=int, required=True)
        p.add_argument("--kill", action="store_true")
    for name in ("postgres-restart", "postgres-stop"):
        p = with_dir(sub.add_parser(name))
        p.add_argument("--kill", action="store_true")
    with_dir(sub.add_parser("postgres-start"))

    args = parser.parse_args()
    stack = Stack(args.dir.resolve())

    if args.command == "start":
        if stack.state:
            if not args.replace:
                raise SystemExit(f"a stack is already recorded in {args.dir}; stop it or pass --replace")
            stack.stop()
        stack.start(args.brokers, args.kafka_version, not args.no_kafka, not args.no_postgres)
        sys.stdout.write((stack.dir / "env").read_text())
    elif args.command == "stop":
        stack.stop()
    elif args.command == "env":
        sys.stdout.write("".join(f"{k}={v}\n" for k, v in stack.env().items()))
    elif args.command in ("kafka-stop", "kafka-start"):
        kafka = Kafka(stack.state["kafka"], stack.dir)
        node = kafka.state["nodes"][args.node - 1]
        if args.command == "kafka-stop":
            kafka.stop_node(node, kill=args.kill)
        else:
            kafka.start_node(node)
            stack.save()
            kafka.wait_ready()
        stack.save()
    elif args.command in ("postgres-restart", "postgres-stop", "postgres-start"):
        pg = Postgres(stack.state["postgres"])
        if args.command != "postgres-start":
            pg.stop(kill=args.kill)
        if args.command != "postgres-stop":
            pg.start()
        stack.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
