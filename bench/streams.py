#!/usr/bin/env python3
"""Live-update streams on one running order-processor (issue 16's stream targets):

  1. idle: the daemon's resident memory before and after opening N SSE streams
     (target: 10,000 idle streams grow it by less than 64 MiB);
  2. fan-out: orders placed at a rate while the streams watch; for each order, the time
     from the POST's answer (its transaction committed) to its update on each stream
     watching that user, and whether every stream got every update once, in order
     (target: p99 under 100 ms at 1,000 updates/s to 10,000 streams).

It attaches to a daemon you started (scripts/run-local.sh, or the daemon with the
streams' caps raised: PAYPIPE_STREAM_MAX_PER_USER / PAYPIPE_STREAM_MAX_CONNECTIONS, and
ulimit -n above the stream count), so nothing here starts Kafka or PostgreSQL:

    bench/streams.py --url http://127.0.0.1:8082 --pid $(pgrep -f 'bin/order-processor') \\
        --admin-token $ADMIN --tokens alice=$ALICE [--tokens bob=$BOB ...] --streams 10000 --rate 1000
    bench/streams.py ... --quick      # 5 streams, 10 orders: a smoke run, not a figure

Streams are spread over the given users round-robin; each user's orders reach all of
that user's streams. Standard library only.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import urllib.parse
import urllib.request
import uuid


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Stream:
    """One SSE connection; records (update id, order id, arrival time)."""

    def __init__(self, user: str):
        self.user = user
        self.updates: list[tuple[int, str, float]] = []
        self.opened = asyncio.Event()
        self.task: asyncio.Task | None = None

    async def run(self, host: str, port: int, token: str):
        reader, writer = await asyncio.open_connection(host, port)
        writer.write((f"GET /v1/orders/stream HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n"
                      f"Authorization: Bearer {token}\r\n\r\n").encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status_line = head.split(b"\r\n", 1)[0]
        if b" 200 " not in status_line:
            raise RuntimeError("stream refused: " + status_line.decode())
        event_id = None
        data = None
        while True:
            line = await reader.readline()
            if not line:
                return
            line = line.rstrip(b"\n")
            if line == b"":
                if event_id is not None and data is not None:
                    self.updates.append((event_id, json.loads(data)["orderId"], time.monotonic()))
                event_id = data = None
                continue
            if line.startswith(b":"):
                self.opened.set()
            elif line.startswith(b"id: "):
                event_id = int(line[4:])
            elif line.startswith(b"data: "):
                data = line[6:]


def call(url: str, method: str, body: dict, token: str) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method=method,
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8082")
    parser.add_argument("--pid", type=int, help="order-processor's pid, for its resident memory")
    parser.add_argument("--admin-token", required=True)
    parser.add_argument("--tokens", action="append", required=True, help="user=JWT (repeat for more users)")
    parser.add_argument("--streams", type=int, default=10000)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=1000, help="orders placed per second")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.streams, args.orders, args.rate = 5, 10, 10  # within the default per-user cap (8)

    target = urllib.parse.urlparse(args.url)
    users = [tuple(t.split("=", 1)) for t in args.tokens]
    product = f"bench-{uuid.uuid4().hex[:8]}"
    call(f"{args.url}/v1/products", "POST",
         {"productId": product, "name": "Bench", "unitPrice": 1, "totalStock": args.orders * 2,
          "saleOpensAt": "2020-01-01T00:00:00Z"}, args.admin_token)

    before = rss_kib(args.pid) if args.pid else 0
    streams = [Stream(users[i % len(users)][0]) for i in range(args.streams)]
    tokens = dict(users)
    for s in streams:
        s.task = asyncio.create_task(s.run(target.hostname, target.port, tokens[s.user]))
    await asyncio.wait_for(asyncio.gather(*(s.opened.wait() for s in streams)), timeout=300)
    await asyncio.sleep(2)
    after = rss_kib(args.pid) if args.pid else 0
    result = {"streams": args.streams, "users": len(users)}
    if args.pid:
        result["idle_rss_growth_mib"] = round((after - before) / 1024, 1)
        result["idle_rss_per_stream_kib"] = round((after - before) / max(1, args.streams), 2)

    # Fan-out: POST answered = committed; the update's arrival on each stream of that user.
    committed: dict[str, tuple[str, float]] = {}  # order -> (user, when its POST was answered)
    loop = asyncio.get_running_loop()
    interval = 1 / args.rate
    start = time.monotonic()
    pending = []
    for i in range(args.orders):
        user, token = users[i % len(users)]

        def place(user=user, token=token):
            answer = call(f"{args.url}/v1/orders", "POST",
                          {"items": [{"productId": product, "quantity": 1, "unitPrice": 1}],
                           "fulfilment": "WAREHOUSE"}, token)
            committed[answer["orderId"]] = (user, time.monotonic())
        pending.append(loop.run_in_executor(None, place))
        await asyncio.sleep(max(0, start + (i + 1) * interval - time.monotonic()))
    await asyncio.gather(*pending)
    await asyncio.sleep(3)

    latencies = []
    lost = 0
    out_of_order = 0
    duplicates = 0
    for s in streams:
        ids = [u[0] for u in s.updates]
        duplicates += len(ids) - len(set(ids))
        out_of_order += sum(1 for a, b in zip(ids, ids[1:]) if b <= a)
        seen = {u[1]: u[2] for u in s.updates}
        for order, (user, at) in committed.items():
            if user != s.user:
                continue
            if order in seen:
                latencies.append((seen[order] - at) * 1000)
            else:
                lost += 1
    result.update({
        "orders": len(committed), "rate": args.rate,
        "fanout_ms_p50": round(statistics.median(latencies), 1) if latencies else None,
        "fanout_ms_p99": round(percentile(latencies, 99), 1) if latencies else None,
        "lost": lost, "out_of_order": out_of_order, "duplicates": duplicates,
    })
    for s in streams:
        s.task.cancel()
    print(json.dumps(result, indent=2))
    return 0 if lost == 0 and out_of_order == 0 and duplicates == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
