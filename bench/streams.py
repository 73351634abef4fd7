#!/usr/bin/env python3
"""The live-update stream benchmark (issue 16's stream targets), on a stack of its own:
one run, one machine, the streams section of docs/performance.md.

    bench/run.sh streams          (bootstraps, builds, then runs this)
    bench/streams.py --build build [--quick] [--no-write] [--streams N] [--rate R] [--seconds S]

Against a fresh local stack (scripts/stack.py through bench/payments.py's Stack: one
Kafka broker, PostgreSQL) and one order-processor started here, with the stream caps and
its file limit raised for the run:
  1. idle: order-processor's resident memory (VmRSS) before and after opening N SSE
     streams of GET /v1/orders/stream, N/8 users with 8 streams each (the default
     per-user cap); target: 10,000 idle streams grow it by less than 64 MiB;
  2. fan-out: orders placed (POST /v1/orders) at R/s for S seconds, round-robin over the
     watching users, so every placement is one state change (PENDING_PAYMENT) committed
     and fanned out to that user's 8 streams. For each update on each stream: the time
     from the change's commit to its arrival on the client's socket, every update
     arrived (lost), once (twice), in id order per stream and so per order (out of
     order); target: p99 under 100 ms at 1,000 updates/s to 10,000 streams, none lost,
     none out of order.

The commit time is taken two ways and both are printed:
  - from the update's own `updatedAt` (order-processor's clock when it decided the
    placement, before its batch transaction committed): an upper bound, it includes the
    batch's transaction and commit;
  - from the 201 answer at the driver (after the commit): a lower bound, it misses the
    time from commit to the answer reaching the driver.
The target is judged on the first. Arrival is the client's clock when asyncio handed it
the bytes (loop lag included): everything runs on one host, so one clock.

The client is this process: asyncio protocols on raw sockets (no HTTP library), the
driver 256 keep-alive connections placing orders open-loop (each at its due time).
Tokens are HS256 (the local profile's shared secret), minted here per user.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import datetime
import hashlib
import hmac
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from payments import (Daemon, Stack, accepts, bucket_quantiles, commit, cpu_ticks,  # noqa: E402
                      histogram_buckets, http, log, machine, rss_kib, tree_ticks, write_section)

ADMIN_TOKEN = "bench-admin-token"
JWT_SECRET = "bench-streams-local-hs256-shared-secret"
JWT_ISSUER = "https://id.bench.paypipe.test"
JWT_AUDIENCE = "paypipe-api"
PER_USER = 8  # PAYPIPE_STREAM_MAX_PER_USER's default: streams per user
PRODUCTS = 32  # placements spread over products: no one stock row is every batch's hot row
DRIVER_CONNECTIONS = 256  # placements take tens of ms on a loaded host: 1,000/s needs this many in flight
TARGET_IDLE_MIB = 64
TARGET_P99_MS = 100


def b64url(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


def token(user: str) -> str:
    """An HS256 bearer token for `user` (order-processor's local profile verifies it)."""
    now = int(time.time())
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = b64url(json.dumps({"sub": user, "iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "iat": now,
                                "exp": now + 6 * 3600}).encode())
    signing_input = header + b"." + claims
    signature = hmac.new(JWT_SECRET.encode(), signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + b64url(signature)).decode()


def admin_post(url: str, body: dict) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {ADMIN_TOKEN}",
                                              "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict:
    if not values:
        return {}
    return {"count": len(values), "p50": round(statistics.median(values), 1), "p99": round(percentile(values, 99), 1),
            "max": round(max(values), 1)}


class SseStream(asyncio.Protocol):
    """One SSE connection. Keeps each frame with the wall-clock time its bytes arrived;
    parsing waits until the run is over (the client must not be what is measured)."""

    def __init__(self, user: str, request: bytes):
        self.user = user
        self.request = request
        self.buffer = b""
        self.head_done = False
        self.opened: asyncio.Future = asyncio.get_running_loop().create_future()
        self.frames: list[tuple[float, bytes]] = []
        self.closed = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes):
        now = time.time()
        buffer = self.buffer + data
        if not self.head_done:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            status = buffer[:buffer.find(b"\r\n")]
            if b" 200 " not in status:
                if not self.opened.done():
                    self.opened.set_exception(RuntimeError("stream refused: " + status.decode(errors="replace")))
                self.transport.close()
                return
            self.head_done = True
            buffer = buffer[end + 4:]
        *frames, self.buffer = buffer.split(b"\n\n")
        for frame in frames:
            if frame.startswith(b":"):  # ": open" first, then heartbeats
                if not self.opened.done():
                    self.opened.set_result(True)
            else:
                self.frames.append((now, frame))

    def connection_lost(self, exc):
        self.closed = True
        if not self.opened.done():
            self.opened.set_exception(RuntimeError(f"stream closed before it opened: {exc}"))

    def updates(self) -> list[tuple[float, int, dict]]:
        """(arrival, id, data) of every update frame, in arrival order."""
        out = []
        for at, frame in self.frames:
            event_id, data = None, None
            for line in frame.split(b"\n"):
                if line.startswith(b"id: "):
                    event_id = int(line[4:])
                elif line.startswith(b"data: "):
                    data = json.loads(line[6:])
            if event_id is not None and data is not None:
                out.append((at, event_id, data))
        return out


async def open_streams(port: int, users: list[str], per_user: int) -> list[SseStream]:
    """per_user streams for each user, at most 256 connecting at once (the accept backlog)."""
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(256)

    async def one(user: str, request: bytes) -> SseStream:
        async with gate:
            _, stream = await loop.create_connection(lambda: SseStream(user, request), "127.0.0.1", port)
            await asyncio.wait_for(stream.opened, timeout=60)
            return stream

    tasks = []
    for user in users:
        request = (f"GET /v1/orders/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                   f"Authorization: Bearer {token(user)}\r\n\r\n").encode()
        tasks += [one(user, request) for _ in range(per_user)]
    return list(await asyncio.gather(*tasks))


class Driver:
    """Places orders open-loop at `rate`/s over keep-alive connections; records, per
    order placed, its user and when its 201 arrived."""

    def __init__(self, port: int, products: list[str]):
        self.port = port
        self.products = products
        self.placed: dict[str, tuple[str, float]] = {}  # order id -> (user, 201 at)
        self.errors: dict[str, int] = {}
        self.late_ms: list[float] = []  # sent - due, when the driver fell behind

    async def connection(self, queue: asyncio.Queue):
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        while True:
            item = await queue.get()
            if item is None:
                writer.close()
                return
            user, bearer, i, due = item
            self.late_ms.append(max(0.0, (time.monotonic() - due) * 1000))
            body = json.dumps({"items": [{"productId": self.products[i % len(self.products)], "quantity": 1,
                                          "unitPrice": 1}], "fulfilment": "WAREHOUSE"}).encode()
            writer.write((f"POST /v1/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {bearer}\r\n"
                          f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body)
            try:
                head = await reader.readuntil(b"\r\n\r\n")
                lower = head.lower()
                length = int(lower.split(b"content-length:", 1)[1].split(b"\r\n", 1)[0]) \
                    if b"content-length:" in lower else 0
                answer = await reader.readexactly(length)
            except (asyncio.IncompleteReadError, ConnectionError) as e:
                self.errors[type(e).__name__] = self.errors.get(type(e).__name__, 0) + 1
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                continue
            answered = time.time()
            status = head.split(b" ", 2)[1].decode()
            if status == "201":
                self.placed[json.loads(answer)["orderId"]] = (user, answered)
            else:
                self.errors[status] = self.errors.get(status, 0) + 1
            if b"connection: close" in lower:
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def run(self, users: list[str], rate: float, seconds: float) -> float:
        """Places rate*seconds orders; returns the seconds it took."""
        bearers = {user: token(user) for user in users}
        queue: asyncio.Queue = asyncio.Queue()
        workers = [asyncio.create_task(self.connection(queue)) for _ in range(DRIVER_CONNECTIONS)]
        total = int(rate * seconds)
        start = time.monotonic()
        for i in range(total):
            due = start + i / rate
            ahead = due - time.monotonic()
            if ahead > 0.001:
                await asyncio.sleep(ahead)
            user = users[i % len(users)]
            queue.put_nowait((user, bearers[user], i, due))
        for _ in workers:
            queue.put_nowait(None)
        await asyncio.gather(*workers)
        return time.monotonic() - start


def parse_time(text: str) -> float:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def judge(streams: list[SseStream], placed: dict[str, tuple[str, float]]) -> dict:
    """Latencies, lost, twice and out-of-order counts over every stream."""
    by_user: dict[str, list[str]] = {}
    for order, (user, _) in placed.items():
        by_user.setdefault(user, []).append(order)
    from_commit, from_answer = [], []
    lost = twice = out_of_order = gaps = closed = 0
    for stream in streams:
        closed += stream.closed
        updates = stream.updates()
        last_id = None
        last_by_order: dict[str, int] = {}
        seen: set[str] = set()
        for at, event_id, data in updates:
            if last_id is not None and event_id != last_id + 1:
                gaps += 1  # ids are per user and gap-free: anything else is a loss or a repeat
            last_id = event_id
            order = data.get("orderId")
            if order in last_by_order and event_id <= last_by_order[order]:
                out_of_order += 1
            last_by_order[order] = event_id
            if order not in placed or data.get("status") != "PENDING_PAYMENT":
                continue
            if order in seen:
                twice += 1
                continue
            seen.add(order)
            from_commit.append((at - parse_time(data["updatedAt"])) * 1000)
            from_answer.append((at - placed[order][1]) * 1000)
        lost += sum(1 for order in by_user.get(stream.user, []) if order not in seen)
    return {"from_updated_at_ms": summary(from_commit), "from_answer_ms": summary(from_answer), "lost": lost,
            "twice": twice, "out_of_order": out_of_order, "id_gaps": gaps, "streams_closed": closed}


def delivered(streams: list[SseStream], placed: dict[str, tuple[str, float]]) -> int:
    """Updates of placed orders that reached their streams so far (frames, unparsed)."""
    expected_users = {user for user, _ in placed.values()}
    return sum(len(s.frames) for s in streams if s.user in expected_users)


def metric(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def hub_reads(before: str, after: str) -> dict:
    """The stream hub's batched reads between two scrapes: time per read (ms) and users per read."""
    reads = metric(after, "http_streams_read_users_count") - metric(before, "http_streams_read_users_count")
    users = metric(after, "http_streams_read_users_sum") - metric(before, "http_streams_read_users_sum")
    per_read = bucket_quantiles(histogram_buckets(before, "http_streams_read_users", {}),
                                histogram_buckets(after, "http_streams_read_users", {}))
    return {"reads": int(reads), "users_mean": round(users / reads, 1) if reads else 0,
            "users_p99": round(per_read.get("p99", 0) / 1000, 1),
            "ms": bucket_quantiles(histogram_buckets(before, "http_streams_read_seconds", {}),
                                   histogram_buckets(after, "http_streams_read_seconds", {}))}


async def measure(args, daemon: Daemon, stack: Stack) -> dict:
    port = daemon.port
    pid = daemon.process.pid
    results: dict = {}
    products = [f"bench-stream-{i}" for i in range(PRODUCTS)]
    for product in products:
        status, body = admin_post(daemon.url("/v1/products"), {
            "productId": product, "name": "Bench", "unitPrice": 1, "totalStock": 100_000_000,
            "saleOpensAt": "2020-01-01T00:00:00Z"})
        if status != 201:
            raise RuntimeError(f"creating a product answered {status}: {body[:200]!r}")
    users = [f"s{i}" for i in range(1, args.streams // PER_USER + 1)]
    # Warm up what is not the streams' (the order path, the pools, the feed): a few
    # placements and a few streams, then close them.
    warm = Driver(port, products)
    await warm.run(users[:8], 100, 0.5)
    warm_streams = await open_streams(port, users[:2], 2)
    for s in warm_streams:
        s.transport.close()
    await asyncio.sleep(2)

    log(f"idle: opening {len(users) * PER_USER} streams ({len(users)} users x {PER_USER})")
    before = rss_kib(pid)
    started = time.monotonic()
    streams = await open_streams(port, users, PER_USER)
    results["open_seconds"] = round(time.monotonic() - started, 1)
    await asyncio.sleep(5)  # settled: every stream opened and its first read done
    after = rss_kib(pid)
    results["idle"] = {"streams": len(streams), "users": len(users), "rss_before_mib": round(before / 1024, 1),
                       "rss_after_mib": round(after / 1024, 1), "growth_mib": round((after - before) / 1024, 1),
                       "per_stream_kib": round((after - before) / max(1, len(streams)), 2)}
    log(f"idle: {results['idle']}")

    log(f"fan-out: {args.rate:g} placements/s for {args.seconds:g} s to {len(streams)} streams")
    metrics_before = http("GET", daemon.url("/metrics"))[1].decode()
    cpu_before = cpu_ticks(pid)
    pg_before = tree_ticks(stack.postmaster_pid())
    client_before = resource.getrusage(resource.RUSAGE_SELF)
    driver = Driver(port, products)
    rss_peak = 0

    async def sample_rss():
        nonlocal rss_peak
        while True:
            rss_peak = max(rss_peak, rss_kib(pid))
            await asyncio.sleep(0.5)

    sampler = asyncio.create_task(sample_rss())
    fanout_started = time.monotonic()
    took = await driver.run(users, args.rate, args.seconds)
    # Every placed order's update to all 8 of its user's streams, or 15 s.
    expected = len(driver.placed) * PER_USER
    deadline = time.monotonic() + 15
    while delivered(streams, driver.placed) < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(1)  # anything sent twice arrives too
    sampler.cancel()
    cpu_after = cpu_ticks(pid)
    pg_after = tree_ticks(stack.postmaster_pid())
    client_after = resource.getrusage(resource.RUSAGE_SELF)
    metrics_after = http("GET", daemon.url("/metrics"))[1].decode()
    (Path(daemon.log.name).parent / "order-processor.metrics").write_text(metrics_after)
    elapsed = time.monotonic() - fanout_started
    verdict = judge(streams, driver.placed)
    results["fanout"] = {
        "rate_asked": args.rate, "seconds": args.seconds, "placed": len(driver.placed),
        "placed_per_second": round(len(driver.placed) / took, 1), "errors": driver.errors,
        "driver_late_ms": summary(driver.late_ms), "expected_deliveries": expected,
        "rss_peak_mib": round(rss_peak / 1024, 1),
        "cpu_percent": {  # of one core, from the first placement until the last update arrived
            "order-processor": round((cpu_after - cpu_before) / os_ticks() / elapsed * 100, 1),
            "PostgreSQL": round((pg_after - pg_before) / os_ticks() / elapsed * 100, 1),
            "client (streams and driver)": round((client_after.ru_utime + client_after.ru_stime - client_before.ru_utime
                                                  - client_before.ru_stime) / elapsed * 100, 1)},
        "streams_cut": metric(metrics_after, "http_streams_cut_total") - metric(metrics_before, "http_streams_cut_total"),
        "hub_reads": hub_reads(metrics_before, metrics_after),
        **verdict,
    }
    log(f"fan-out: {json.dumps(results['fanout'])}")
    for s in streams:
        s.transport.close()
    return results


def os_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def targets(results: dict) -> list[tuple[str, str, str]]:
    idle, fan = results["idle"], results["fanout"]
    lat = fan["from_updated_at_ms"]
    return [
        (f"{idle['streams']:,} idle streams: order-processor RSS growth",
         f"{idle['growth_mib']:.1f} MiB ({idle['per_stream_kib']:.2f} KiB per stream)", f"< {TARGET_IDLE_MIB} MiB"),
        (f"{fan['placed_per_second']:,.0f} updates/s to {idle['streams']:,} streams: commit -> byte on the socket p99",
         f"{lat.get('p99', 'none')} ms (p50 {lat.get('p50', '-')} ms, max {lat.get('max', '-')} ms)",
         f"< {TARGET_P99_MS} ms at 1,000 updates/s"),
        ("updates lost", f"{fan['lost']:,} of {fan['expected_deliveries']:,}", "0"),
        ("updates out of order per order", f"{fan['out_of_order']:,} (twice: {fan['twice']}, id gaps: {fan['id_gaps']})",
         "0"),
    ]


def render(results: dict, command: str) -> str:
    idle, fan = results["idle"], results["fanout"]
    a, c = fan["from_answer_ms"], fan["from_updated_at_ms"]
    lines = [
        "## Live-update streams",
        "",
        f"Measured by `{command}` on commit {results['commit']}, {time.strftime('%Y-%m-%d')}, on {results['machine']}, "
        "with Kafka (one broker), PostgreSQL, order-processor and the client (one Python process) on the same host."
        + (" QUICK run: indicative only." if results.get("quick") else ""),
        "",
        f"The client opens {idle['streams']:,} SSE streams (`GET /v1/orders/stream`), {idle['users']:,} users with "
        f"{PER_USER} streams each, then places orders (`POST /v1/orders`, open loop, {DRIVER_CONNECTIONS} keep-alive "
        "connections) "
        f"round-robin over those users: each placement is one state change (PENDING_PAYMENT) fanned out to its "
        f"user's {PER_USER} streams. Commit -> byte: from the update's `updatedAt` (order-processor's clock when it "
        "decided the placement, before its batch committed: an upper bound) and from the driver's 201 (after the "
        "commit: a lower bound) to the client's clock when the bytes were read (asyncio, loop lag included).",
        "",
        "| measure | this run | target |",
        "|---|---|---|",
    ]
    lines += [f"| {m} | {f} | {t} |" for m, f, t in targets(results)]
    lines += [
        "",
        "| detail | value |",
        "|---|---|",
        f"| opening the streams | {results['open_seconds']} s; RSS {idle['rss_before_mib']} -> "
        f"{idle['rss_after_mib']} MiB |",
        f"| placements | {fan['placed']:,} in {fan['seconds']:g} s asked at {fan['rate_asked']:,.0f}/s: "
        f"{fan['placed_per_second']:,.0f}/s; errors {fan['errors'] or 'none'}; driver behind its schedule "
        f"p99 {fan['driver_late_ms'].get('p99', '-')} ms |",
        f"| commit -> byte, from `updatedAt` | p50 {c.get('p50', '-')} ms, p99 {c.get('p99', '-')} ms, "
        f"max {c.get('max', '-')} ms ({c.get('count', 0):,} deliveries) |",
        f"| 201 at the driver -> byte | p50 {a.get('p50', '-')} ms, p99 {a.get('p99', '-')} ms, "
        f"max {a.get('max', '-')} ms |",
        f"| streams cut or closed during the run | {fan['streams_cut']:g} cut, {fan['streams_closed']} closed |",
        "| CPU during the fan-out (% of one core) | " + ", ".join(f"{k} {v}" for k, v in fan["cpu_percent"].items())
        + " |",
        f"| order-processor's RSS peak during the fan-out | {fan['rss_peak_mib']} MiB |",
    ]
    reads = fan.get("hub_reads", {})
    if reads.get("reads"):
        lines.append(f"| the hub's reads (`http_streams_read_seconds`, `_users`) | {reads['reads']:,} reads, "
                     f"p50 {reads['ms'].get('p50', '-')} ms, p99 {reads['ms'].get('p99', '-')} ms; users per read: "
                     f"mean {reads['users_mean']}, p99 {reads['users_p99']} |")
    lines += [
        "",
    ]
    return "\n".join(lines)


def run(args) -> dict:
    build = Path(args.build).resolve()
    # 10,000 sockets here, 10,000 in order-processor (it inherits the limit).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = args.streams + 1024
    if hard != resource.RLIM_INFINITY and hard < wanted:
        raise SystemExit(f"the file limit's hard cap is {hard}: {args.streams} streams need {wanted} "
                         "(raise it: ulimit -Hn, /etc/security/limits.conf)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    work = Path(tempfile.mkdtemp(prefix="paypipe-bench-streams-"))
    logs = work / "logs"
    logs.mkdir()
    results: dict = {"machine": machine(), "commit": commit(), "quick": args.quick, "workdir": str(work)}
    stack = Stack(work / "stack")
    daemon = None
    try:
        env = {"PAYPIPE_KAFKA_BOOTSTRAP_SERVERS": stack.env["KAFKA_BOOTSTRAP_SERVERS"], "PATH": "/usr/bin:/bin"}
        subprocess.run([str(build / "bin/paypipe-admin"), "topics", "create", "--replication", "1", "--min-insync", "1"],
                       env=env, check=True, capture_output=True)
        extra = {
            "PAYPIPE_ADMIN_TOKEN": ADMIN_TOKEN,
            "PAYPIPE_JWT_HS256_SECRET": JWT_SECRET,
            "PAYPIPE_JWT_ISSUER": JWT_ISSUER,
            "PAYPIPE_JWT_AUDIENCE": JWT_AUDIENCE,
            "PAYPIPE_RATE_LIMIT_PER_USER": "0",
            "PAYPIPE_STREAM_MAX_PER_USER": str(PER_USER),
            "PAYPIPE_STREAM_MAX_CONNECTIONS": str(args.streams),
            "PAYPIPE_HTTP_MAX_CONNECTIONS": str(args.streams + DRIVER_CONNECTIONS + 64),  # the streams and the driver
            "PAYPIPE_ORDER_TTL_MS": str(3600 * 1000),  # no expiry during the run: one update per order
        }
        missing = [k for k in extra if not accepts(build, "order-processor", k)]
        if missing:
            raise SystemExit(f"order-processor does not know {missing}: rebuild it")
        daemon = Daemon(build, "order-processor", stack, logs, extra)
        daemon.start()
        results |= asyncio.run(measure(args, daemon, stack))
    finally:
        if daemon:
            daemon.stop()
        stack.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--quick", action="store_true", help="400 streams, 100 updates/s for 5 s")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/performance.md")
    parser.add_argument("--streams", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=1000, help="placements (state changes) per second")
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    if args.quick:
        args.streams, args.rate, args.seconds = 400, 100, 5
    results = run(args)
    print(json.dumps(results, indent=2))
    log("issue 16's stream targets, this run:")
    for measure_name, figure, target in targets(results):
        log(f"  {measure_name}: {figure} (target {target})")
    if not args.no_write:
        write_section(render(results, "bench/run.sh streams" + (" --quick" if args.quick else "")), "streams")
        log("docs/performance.md updated")
    fan = results["fanout"]
    return 0 if fan["lost"] == 0 and fan["out_of_order"] == 0 and fan["twice"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
