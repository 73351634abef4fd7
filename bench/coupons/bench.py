#!/usr/bin/env python3
"""The coupon and ranking benchmark: how fast coupon-issuer decides requests (one hot
coupon, and many coupons) and how fast ranking-updater takes order.completed into its
counters, on the real stack (scripts/stack.py: a Kafka broker and PostgreSQL on this
host).

    bench/coupons/bench.py --build build [--quick] [--batch-sizes 250,1000,2000] [--no-write]

For each scenario and consumer batch size (PAYPIPE_CONSUMER_BATCH_SIZE):
  1. fresh topics (paypipe-admin, a prefix per run) and a fresh schema (`<daemon> migrate`);
  2. the backlog: coupons inserted with SQL, then N coupon.requested published by
     bench-coupon-requests (keyed by coupon id, as the HTTP side does); or N
     order.completed published by bench-order-completed (1-3 lines of 1,000 products);
  3. the daemon started as a process; its /metrics polled every 20 ms
     (coupon_decisions_total, ranking_events_applied_total, counted after each commit);
     the rate is the events done between the first progress seen and the last, over
     that time (start-up is left out);
  4. the result checked in the database (exactly the stock issued, counters equal to
     the units published), then the daemon stopped with SIGTERM.
Prints every figure as JSON; writes the coupons section of docs/performance.md unless
--no-write.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def log(msg: str) -> None:
    print(f"[bench-coupons] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


def metric_sum(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


class Stack:
    def __init__(self, directory: Path):
        self.dir = directory
        out = subprocess.run([sys.executable, str(ROOT / "scripts/stack.py"), "start", "--dir", str(directory),
                              "--replace"], check=True, capture_output=True, text=True).stdout
        self.env = dict(line.split("=", 1) for line in out.strip().splitlines())

    def psql(self, sql: str) -> str:
        return subprocess.run([str(PG_BIN / "psql"), self.env["PG_DSN"], "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
                              check=True, capture_output=True, text=True).stdout.strip()

    def stop(self) -> None:
        subprocess.run([sys.executable, str(ROOT / "scripts/stack.py"), "stop", "--dir", str(self.dir)], check=False)


class Run:
    """One daemon in one isolated corner of the stack: its own topic prefix and schema."""

    counter = 0

    def __init__(self, build: Path, stack: Stack, service: str, logs: Path, extra: dict[str, str]):
        Run.counter += 1
        tag = f"bench{os.getpid()}x{Run.counter}"
        self.build, self.stack, self.service = build, stack, service
        self.prefix = tag + "."
        self.schema = f"{service.replace('-', '_')}_{tag}"
        self.port = free_port()
        self.env = {
            "PATH": "/usr/bin:/bin",
            "PAYPIPE_PROFILE": "local",
            "PAYPIPE_KAFKA_BOOTSTRAP_SERVERS": stack.env["KAFKA_BOOTSTRAP_SERVERS"],
            "PAYPIPE_PG_DSN": stack.env["PG_DSN"],
            "PAYPIPE_PG_SCHEMA": self.schema,
            "PAYPIPE_TOPIC_PREFIX": self.prefix,
            "PAYPIPE_HTTP_ADDRESS": "127.0.0.1",
            "PAYPIPE_HTTP_PORT": str(self.port),
            "PAYPIPE_LOG_LEVEL": "warn",
        }
        self.env.update(extra)
        self.log = open(logs / f"{service}-{tag}.log", "ab")
        self.process: subprocess.Popen | None = None
        admin_env = {k: self.env[k] for k in ("PATH", "PAYPIPE_KAFKA_BOOTSTRAP_SERVERS", "PAYPIPE_TOPIC_PREFIX")}
        subprocess.run([str(build / "bin/paypipe-admin"), "topics", "create", "--replication", "1", "--min-insync", "1"],
                       env=admin_env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([str(build / "bin" / service), "migrate"], env=self.env, check=True, stdout=self.log,
                       stderr=subprocess.STDOUT)

    def start(self) -> None:
        self.process = subprocess.Popen([str(self.build / "bin" / self.service)], env=self.env, stdout=self.log,
                                        stderr=subprocess.STDOUT)

    def metrics(self) -> str:
        if self.process and self.process.poll() is not None:
            raise RuntimeError(f"{self.service} exited with {self.process.returncode}; see {self.log.name}")
        return get(f"http://127.0.0.1:{self.port}/metrics")[1]

    def rss_kib(self) -> int:
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except (OSError, AttributeError):
            pass
        return 0

    def measure(self, metric: str, target: int, timeout: float = 300) -> dict:
        """Starts the daemon and times `metric` from its first progress to `target`."""
        self.start()
        started = time.monotonic()
        first_t = first_n = None
        peak_rss = 0
        while True:
            now = time.monotonic()
            if now - started > timeout:
                raise RuntimeError(f"{self.service}: {metric} did not reach {target} within {timeout} s")
            n = int(metric_sum(self.metrics(), metric))
            now = time.monotonic()
            peak_rss = max(peak_rss, self.rss_kib())
            if n > 0 and first_t is None:
                first_t, first_n = now, n
            if n >= target:
                seconds = now - first_t
                rate = (n - first_n) / seconds if seconds > 0 else float("inf")
                text = self.metrics()
                batches = metric_sum(text, "consumer_handler_duration_seconds_count")
                return {"events": n, "seconds": round(seconds, 3), "per_second": round(rate),
                        "first_batch": first_n, "start_to_done_s": round(now - started, 3), "rss_peak_kib": peak_rss,
                        "handler_s": round(metric_sum(text, "consumer_handler_duration_seconds_sum"), 3),
                        "batches": int(batches), "mean_batch": round(n / batches) if batches else 0}
            time.sleep(0.02)

    def stop(self) -> int:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode if self.process else 0


def coupons(build: Path, stack: Stack, logs: Path, scenario: str, coupon_count: int, stock: int, requests: int,
            batch: int) -> dict:
    log(f"coupons/{scenario}: {requests} requests over {coupon_count} coupon(s) of {stock}, batch {batch}")
    run = Run(build, stack, "coupon-issuer", logs, {"PAYPIPE_CONSUMER_BATCH_SIZE": str(batch)})
    ids = stack.psql(
        f"INSERT INTO {run.schema}.coupons (id, name, discount, total_stock, remaining_stock, valid_from, valid_until) "
        f"SELECT gen_random_uuid(), 'bench', 1000, {stock}, {stock}, now() - interval '1 hour', "
        f"now() + interval '1 day' FROM generate_series(1, {coupon_count}) RETURNING id").split()
    produced = json.loads(subprocess.run(
        [str(build / "bin/bench-coupon-requests"), "--bootstrap", stack.env["KAFKA_BOOTSTRAP_SERVERS"], "--prefix",
         run.prefix, "--coupons", ",".join(ids), "--count", str(requests)],
        check=True, capture_output=True, text=True).stdout)
    try:
        result = run.measure("coupon_decisions_total", requests)
        announced_t0 = time.monotonic()
        while int(stack.psql(f"SELECT count(*) FROM {run.schema}.outbox")) > 0:
            if time.monotonic() - announced_t0 > 120:
                raise RuntimeError("the outbox did not drain")
            time.sleep(0.05)
        result["outbox_drained_after_s"] = round(time.monotonic() - announced_t0, 3)
        issued = int(stack.psql(f"SELECT count(*) FROM {run.schema}.issued_coupons"))
        decided = int(stack.psql(f"SELECT count(*) FROM {run.schema}.coupon_requests WHERE status <> 'PENDING'"))
        expected = min(requests, coupon_count * stock)
        result["check"] = {"issued": issued, "expected_issued": expected, "decided": decided,
                           "ok": issued == expected and decided == requests}
    finally:
        result_code = run.stop()
    result.update({"scenario": scenario, "coupons": coupon_count, "stock": stock, "batch_size": batch,
                   "produce_s": round(produced["seconds"], 3), "exit_code": result_code})
    log(f"  -> {result['per_second']} decisions/s ({result['check']})")
    return result


def rankings(build: Path, stack: Stack, logs: Path, events: int, batch: int) -> dict:
    log(f"rankings: {events} order.completed, batch {batch}")
    run = Run(build, stack, "ranking-updater", logs, {"PAYPIPE_CONSUMER_BATCH_SIZE": str(batch)})
    produced = json.loads(subprocess.run(
        [str(build / "bin/bench-order-completed"), "--bootstrap", stack.env["KAFKA_BOOTSTRAP_SERVERS"], "--prefix",
         run.prefix, "--count", str(events), "--products", "1000"],
        check=True, capture_output=True, text=True).stdout)
    try:
        result = run.measure("ranking_events_applied_total", events)
        units = int(stack.psql(f"SELECT coalesce(sum(units), 0) FROM {run.schema}.product_sales") or 0)
        daily = int(stack.psql(f"SELECT coalesce(sum(units), 0) FROM {run.schema}.product_sales_daily") or 0)
        result["check"] = {"units": units, "daily_units": daily, "expected_units": produced["units"],
                           "ok": units == produced["units"] == daily}
    finally:
        result_code = run.stop()
    result.update({"batch_size": batch, "produce_s": round(produced["seconds"], 3), "exit_code": result_code})
    log(f"  -> {result['per_second']} events/s ({result['check']})")
    return result


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_gib": round(mem_gib, 1), "kernel": platform.release(),
            "load_before": os.getloadavg()[0]}


def run(args: argparse.Namespace) -> dict:
    build = (ROOT / args.build).resolve()
    for binary in ["coupon-issuer", "ranking-updater", "paypipe-admin", "bench-coupon-requests", "bench-order-completed"]:
        if not (build / "bin" / binary).exists():
            raise SystemExit(f"{build / 'bin' / binary} is missing: build it first")
    batches = [int(b) for b in args.batch_sizes.split(",")]
    requests = 10_000 if args.quick else 50_000
    orders = 40_000 if args.quick else 200_000
    results: dict = {"machine": machine(), "coupons": [], "rankings": []}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="paypipe-bench-coupons-") as tmp:
        logs = Path(tmp) / "logs"
        logs.mkdir()
        log("starting the stack")
        stack = Stack(Path(tmp) / "stack")
        try:
            for batch in batches:
                results["coupons"].append(coupons(build, stack, logs, "hot", 1, 1_000, requests, batch))
                results["coupons"].append(coupons(build, stack, logs, "many", 100, 100, requests, batch))
                results["rankings"].append(rankings(build, stack, logs, orders, batch))
        finally:
            stack.stop()
    results["total_s"] = round(time.monotonic() - started)
    results["machine"]["load_after"] = os.getloadavg()[0]
    return results


def render(results: dict, command: str) -> str:
    m = results["machine"]
    lines = [
        "## Coupons and rankings",
        "",
        f"Command: `{command}` (built first: `cmake --build <dir> --target coupon-issuer ranking-updater "
        f"paypipe-admin bench-coupon-requests bench-order-completed`; the run took {results['total_s']} s). "
        f"Machine: {m['cpus']} cores ({m['cpu']}), {m['memory_gib']} GiB, Linux {m['kernel']}, shared with other "
        f"work (load average {m['load_before']:.1f} before, {m['load_after']:.1f} after); the Kafka broker (one node) and PostgreSQL "
        "(default settings, fsync on) on the same host. Each daemon is started on a backlog already in Kafka, "
        "so the figures are the consumer's own pace: from its first committed batch to its last, read from "
        "its /metrics every 20 ms.",
        "",
        "### coupon-issuer: decisions per second",
        "",
        "A decision = one coupon.requested decided and recorded (request outcome, issued coupon and stock "
        "if issued, coupon.issued or coupon.rejected in the outbox, processed-event id), a whole batch per "
        "transaction. *Hot*: every request for one coupon (1,000 in stock), so one partition and one "
        "consumer thread decide all of them in arrival order. *Many*: 100 coupons of 100, spread over the "
        "three partitions. Target: 5,000 decisions/s for one hot coupon.",
        "",
        "| scenario | batch size | requests | decided in | decisions/s | outbox drained after | check |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results["coupons"]:
        ok = "exact" if r["check"]["ok"] else f"FAILED {r['check']}"
        lines.append(f"| {r['scenario']} | {r['batch_size']} | {r['events']:,} | {r['seconds']} s | "
                     f"**{r['per_second']:,}** | +{r['outbox_drained_after_s']} s | {ok} |")
    lines += [
        "",
        "\"Outbox drained after\" is how much longer the relay took, after the last decision, to have every "
        "coupon.issued / coupon.rejected acknowledged by Kafka.",
        "",
        "### ranking-updater: order.completed per second",
        "",
        "Each event carries 1 to 3 lines of 1,000 products. An event = its id recorded in processed_events and "
        "its lines added to the all-time and per-day counters (day of completedAt in Asia/Seoul), a whole batch "
        "per transaction with one upsert per table. Target: 20,000 events/s.",
        "",
        "| batch size | events | applied in | events/s | peak RSS | check |",
        "|---|---|---|---|---|---|",
    ]
    for r in results["rankings"]:
        ok = "exact" if r["check"]["ok"] else f"FAILED {r['check']}"
        lines.append(f"| {r['batch_size']} | {r['events']:,} | {r['seconds']} s | **{r['per_second']:,}** | "
                     f"{r['rss_peak_kib'] / 1024:.1f} MiB | {ok} |")
    lines.append("")
    return "\n".join(lines)


def write_section(markdown: str) -> None:
    path = ROOT / "docs/performance.md"
    text = path.read_text()
    begin, end = "<!-- coupons:begin -->", "<!-- coupons:end -->"
    start, stop = text.index(begin) + len(begin), text.index(end)
    path.write_text(text[:start] + "\n" + markdown + "\n" + text[stop:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build", help="build directory (relative to the repository root)")
    parser.add_argument("--quick", action="store_true", help="fewer events: indicative only")
    parser.add_argument("--batch-sizes", default="100,500,1000,2000")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/performance.md")
    args = parser.parse_args()
    results = run(args)
    print(json.dumps(results, indent=2))
    if not args.no_write:
        command = "bench/coupons/bench.py --build " + args.build + (" --quick" if args.quick else "") + \
                  f" --batch-sizes {args.batch_sizes}"
        write_section(render(results, command))
        log("docs/performance.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
