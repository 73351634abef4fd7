#!/usr/bin/env python3
"""Kafka ACLs against a real broker (ctest faults.kafka_acls).

A private one-node KRaft broker with the StandardAuthorizer and a SASL_PLAINTEXT
listener (SCRAM-SHA-512; the credentials made by `kafka-storage format --add-scram`),
from the cached jars like scripts/stack.py. As the super user `admin`,
`paypipe-admin topics create` then `paypipe-admin acls apply` (the production profile's
topics Job). Then, as each daemon's own principal, with kcat:

  - paypipe-payment-api writes payment.completed (it owns it);
  - paypipe-notification-sender is refused writing payment.completed
    (TOPIC_AUTHORIZATION_FAILED): it cannot make the bot announce a payment;
  - paypipe-notification-sender reads payment.completed with its group
    (notification-sender), and is refused with payment-api's group.

Usage: kafka_acl_test.py --build-dir BUILD [--keep-logs DIR]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import base64
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import stack  # noqa: E402  (cache_dir, free_ports, pid_alive, stop_pid)

PASSWORDS = {"admin": "admin-secret", "paypipe-payment-api": "pay-secret",
             "paypipe-notification-sender": "notify-secret"}


def log(msg: str) -> None:
    print(f"[acl-test {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Broker:
    def __init__(self, work: Path):
        version = os.environ.get("KAFKA_VERSION", stack.DEFAULT_KAFKA_VERSION)
        self.jars = stack.cache_dir() / f"kafka-{version}"
        if not (self.jars / ".complete").exists():
            raise SystemExit(f"Kafka {version} jars are missing in {self.jars}: run scripts/bootstrap.sh")
        self.v4 = version.startswith("4.")
        self.work = work
        self.port, self.controller_port = stack.free_ports(2)
        self.proc: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _jvm(self) -> list[str]:
        java = shutil.which("java") or sys.exit("java not found: run scripts/bootstrap.sh")
        logging = (f"-Dlog4j2.configurationFile=file:{self.work / 'log4j2.properties'}" if self.v4
                   else f"-Dlog4j.configuration=file:{self.work / 'log4j.properties'}")
        return [java, "-Xmx384m", "-Xms64m", "-XX:+UseG1GC", "-Djava.awt.headless=true", logging,
                "-cp", f"{self.jars}/*"]

    def configure(self) -> Path:
        (self.work / "data").mkdir(parents=True, exist_ok=True)
        jaas = ('org.apache.kafka.common.security.scram.ScramLoginModule required '
                f'username="admin" password="{PASSWORDS["admin"]}";')
        # Clients and the broker itself speak SASL/SCRAM; the controller listener is
        # internal (PLAINTEXT, principal ANONYMOUS, which the combined node's own
        # controller requests use), hence ANONYMOUS among the super users. It is never
        # advertised to clients.
        (self.work / "server.properties").write_text(f"""\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{self.controller_port}
listeners=SASL_PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}
advertised.listeners=SASL_PLAINTEXT://127.0.0.1:{self.port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_PLAINTEXT
listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config={jaas}
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin;User:ANONYMOUS
allow.everyone.if.no.acl.found=false
log.dirs={self.work / 'data'}
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
num.network.threads=2
num.io.threads=2
""")
        (self.work / "log4j.properties").write_text(f"""\
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File={self.work / 'server.log'}
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
""")
        (self.work / "log4j2.properties").write_text(f"""\
appender.file.type=File
appender.file.name=file
appender.file.fileName={self.work / 'server.log'}
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=INFO
rootLogger.appenderRef.file.ref=file
""")
        return self.work / "server.properties"

    def format(self) -> None:
        config = self.configure()
        cluster_id = "-"
        while cluster_id.startswith("-"):
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        scram = []
        for user, password in PASSWORDS.items():
            scram += ["--add-scram", f"SCRAM-SHA-512=[name={user},password={password}]"]
        out = subprocess.run(self._jvm() + ["kafka.tools.StorageTool", "format", "-t", cluster_id,
                                            "-c", str(config)] + scram, capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"kafka storage format failed: {out.stdout}{out.stderr}")

    def start(self) -> None:
        self.format()
        out = open(self.work / "stdout.log", "ab")
        self.proc = subprocess.Popen(self._jvm() + ["kafka.Kafka", str(self.work / "server.properties")],
                                     stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the broker exited ({self.proc.returncode}); see {self.work / 'server.log'}")
            if kcat("admin", ["-L", "-m", "2"], timeout=10).returncode == 0:
                return
            time.sleep(0.3)
        raise SystemExit(f"the broker did not answer within 60 s; see {self.work / 'server.log'}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            stack.stop_pid(self.proc.pid, 20)


BROKER: Broker | None = None


def sasl(user: str) -> list[str]:
    return ["-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=SCRAM-SHA-512",
            "-X", f"sasl.username={user}", "-X", f"sasl.password={PASSWORDS[user]}"]


def kcat(user: str, args: list[str], stdin: str | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    """kcat as `user`; killed after `timeout` (a refused consumer retries for ever): -9."""
    assert BROKER is not None
    cmd = ["kcat", "-b", BROKER.bootstrap] + sasl(user) + args
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def admin_tool(build: Path, args: list[str]) -> subprocess.CompletedProcess:
    assert BROKER is not None
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "PAYPIPE_KAFKA_BOOTSTRAP_SERVERS": BROKER.bootstrap,
           "PAYPIPE_KAFKA_PROPERTIES": "security.protocol=SASL_PLAINTEXT;sasl.mechanism=SCRAM-SHA-512",
           "PAYPIPE_KAFKA_SASL_USERNAME": "admin", "PAYPIPE_KAFKA_SASL_PASSWORD": PASSWORDS["admin"]}
    return subprocess.run([str(build / "bin" / "paypipe-admin")] + args, env=env, capture_output=True, text=True,
                          timeout=60)


def main() -> int:
    global BROKER
    parser = argparse.ArgumentParser()
    parser.add_argument("--build-dir", required=True, type=Path)
    parser.add_argument("--keep-logs", type=Path)
    args = parser.parse_args()
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="paypipe-acl-"))
    failures: list[str] = []

    def check(ok: bool, what: str, detail: str = "") -> None:
        print(f"{'ok  ' if ok else 'FAIL'} {what}" + ("" if ok else f"\n      {detail.strip()}"), flush=True)
        if not ok:
            failures.append(what)

    try:
        BROKER = Broker(work)
        BROKER.start()
        log(f"broker up on {BROKER.bootstrap} after {time.monotonic() - started:.1f} s")

        r = admin_tool(args.build_dir, ["topics", "create", "--partitions", "1", "--replication", "1",
                                        "--min-insync", "1"])
        check(r.returncode == 0, "paypipe-admin topics create as the super user", r.stdout + r.stderr)
        # Before the ACLs: a daemon's principal may do nothing.
        r = kcat("paypipe-payment-api", ["-P", "-t", "payment.completed", "-k", "o1"], stdin="before\n")
        check(r.returncode != 0 and "authoriz" in r.stderr.lower(),
              "before the ACLs, payment-api's principal is refused", r.stdout + r.stderr)

        r = admin_tool(args.build_dir, ["acls", "apply"])
        check(r.returncode == 0 and "ACL bindings in place" in r.stdout, "paypipe-admin acls apply", r.stdout + r.stderr)
        check("--transactional-id dlq-retrier-" in r.stdout,
              "acls apply names the transactional-id binding it cannot create", r.stdout)

        # The controller has committed the ACLs when CreateAcls answers; the broker's
        # authorizer applies them from the metadata log a moment later: wait for it.
        deadline = time.monotonic() + 20
        while True:
            r = kcat("paypipe-payment-api", ["-P", "-t", "payment.completed", "-k", "o1"], stdin="paid\n")
            if r.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        check(r.returncode == 0, "payment-api's principal writes payment.completed", r.stdout + r.stderr)

        r = kcat("paypipe-notification-sender", ["-P", "-t", "payment.completed", "-k", "o2"], stdin="forged\n")
        check(r.returncode != 0 and "topic authorization failed" in r.stderr.lower(),
              "notification-sender's principal is refused writing payment.completed (TOPIC_AUTHORIZATION_FAILED)",
              r.stdout + r.stderr)

        r = kcat("paypipe-notification-sender",
                 ["-G", "notification-sender", "-o", "beginning", "-c", "1", "-f", "%s\\n", "payment.completed"],
                 timeout=40)
        check(r.returncode == 0 and r.stdout.strip() == "paid",
              "notification-sender's principal reads payment.completed with its group (only the real payment)",
              f"exit {r.returncode}: {r.stdout!r} {r.stderr[-600:]}")

        r = kcat("paypipe-notification-sender",
                 ["-G", "payment-api", "-o", "beginning", "-c", "1", "payment.completed"], timeout=10)
        check(r.returncode != 0 or "paid" not in r.stdout,
              "notification-sender's principal cannot use payment-api's group", f"exit {r.returncode}: {r.stdout!r}")
        check("group authorization failed" in r.stderr.lower(),
              "... refused with GROUP_AUTHORIZATION_FAILED", r.stderr[-600:])
    finally:
        if BROKER:
            BROKER.stop()
        if args.keep_logs:
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            for name in ("server.log", "stdout.log", "server.properties"):
                if (work / name).exists():
                    shutil.copy(work / name, args.keep_logs / name)
        shutil.rmtree(work, ignore_errors=True)
    elapsed = time.monotonic() - started
    print(f"{'FAILED' if failures else 'passed'} in {elapsed:.1f} s", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
