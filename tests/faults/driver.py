"""The workload driver: a mixed workload through the public HTTP APIs only, every request
and every answer recorded.

Logical operations (weights in MIX): buy (place an order, pay it with an
Idempotency-Key, sometimes send the same payment again, sometimes pay again under
another key), cancel (place, cancel, sometimes pay after the cancel), abandon (place and
never pay: it expires), deposit (sometimes sent twice with its key) and coupon (a request
for the one hot coupon). An ambiguous answer (timeout, connection reset or refused, 5xx)
is retried with the same Idempotency-Key until a definitive answer or the deadline; what
stays unresolved is recorded as such and the checker resolves it from the databases.
"""
from __future__ import annotations

import collections
import http.client
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field

from harness import ADMIN_TOKEN, COUPON_USERS, PAYMENT_USERS, System, log

MIX = [("buy", 50), ("cancel", 10), ("abandon", 5), ("deposit", 15), ("coupon", 20)]
RETRY_DEADLINE_S = 90.0


@dataclass
class Answer:
    status: int | None          # None: no answer (timeout, reset, refused)
    body: object = None
    error: str | None = None
    replayed: bool = False
    retry_after: str | None = None  # the Retry-After header, if any
    at: float = field(default_factory=time.monotonic)  # when the answer came (the outage scenarios' windows)


@dataclass
class Request:
    kind: str
    method: str
    path: str
    key: str | None
    body: object
    answers: list = field(default_factory=list)  # every Answer, in order

    @property
    def final(self) -> Answer | None:
        return self.answers[-1] if self.answers else None

    def resolved(self) -> bool:
        return self.final is not None and self.final.status is not None and not transient(self)


def transient(req: Request) -> bool:
    a = req.final
    if a is None or a.status is None or a.status >= 500:
        return True
    code = a.body.get("code") if isinstance(a.body, dict) else None
    if a.status == 409 and code and str(code).startswith("unique-violation"):
        return True  # a racing duplicate: retry
    if req.kind == "payment" and a.status == 404:
        return True  # order.created not in payment-api's projection yet: retry with the key
    return False


class Client:
    """One keep-alive connection per (thread, port)."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.conns: dict[int, http.client.HTTPConnection] = {}

    def send(self, port: int, method: str, path: str, body, headers: dict[str, str]) -> Answer:
        conn = self.conns.get(port)
        if conn is None:
            conn = self.conns[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=self.timeout)
        data = None if body is None else json.dumps(body)
        h = dict(headers)
        if data is not None:
            h["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            raw = r.read()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = raw.decode(errors="replace")
            return Answer(r.status, parsed, None, r.getheader("Idempotent-Replayed") == "true", r.getheader("Retry-After"))
        except Exception as e:  # noqa: BLE001 - every transport error is an ambiguous answer
            conn.close()
            self.conns.pop(port, None)
            return Answer(None, None, f"{type(e).__name__}: {e}")


class Driver:
    def __init__(self, system: System, seed: int = 1, users: int = 60, coupon_users: int = 400, coupon_stock: int = 150,
                 threads: int = 8, timeout: float = 8.0):
        # timeout: longer than coupon-issuer's Kafka ack timeout (5 s), so that no answer
        # at all means a fault (a killed or stopped daemon), not a slow 503.
        self.system = system
        self.rng = random.Random(seed)
        self.seed = seed
        # The harness maps these users to Telegram chats: at most as many as it maps.
        self.users = PAYMENT_USERS[:users]
        self.coupon_users = COUPON_USERS[:coupon_users]
        self.coupon_stock = coupon_stock
        self.threads = threads
        self.timeout = timeout
        self.lock = threading.Lock()
        self.requests: list[Request] = []   # every logical request (with its retries)
        self.http_sent = 0
        self.ambiguous = 0                  # answers that were no answer or a 5xx
        self.products: dict[str, int] = {}  # id -> price
        self.scarce: list[str] = []
        self.coupon_id: str | None = None
        self.orders: dict[str, dict] = {}   # order id -> {user, items, total, key}
        self.ops_done = 0
        self.op_counts: dict[str, int] = {k: 0 for k, _ in MIX}
        self.stop_flag = threading.Event()
        self.timed_out = False
        self.retried = collections.Counter()  # (kind, status) -> retries sent

    # ------------------------------------------------------------ requests
    def port(self, service: str) -> int:
        return self.system.pick_port(service)  # spread over the daemon's replicas

    def call(self, client: Client, kind: str, service: str, method: str, path: str, body=None, key: str | None = None,
             headers: dict[str, str] | None = None, retry: bool = True, user: str | None = None) -> Request:
        """`user`: the request is that user's, with their bearer token; else `headers` carry the credential."""
        req = Request(kind, method, path, key, body)
        h = dict(headers or {})
        if user is not None:
            h["Authorization"] = f"Bearer {self.system.token(user)}"
        if key:
            h["Idempotency-Key"] = key
        deadline = time.monotonic() + RETRY_DEADLINE_S
        backoff = 0.05
        while True:
            a = client.send(self.port(service), method, path, body, h)
            req.answers.append(a)
            with self.lock:
                self.http_sent += 1
                if a.status is None or a.status >= 500:
                    self.ambiguous += 1
                if len(req.answers) > 1:
                    self.retried[(kind, a.status)] += 1
            if not retry or not transient(req) or time.monotonic() > deadline or self.stop_flag.is_set():
                break
            time.sleep(backoff)
            backoff = min(backoff * 2, 1.0)
        with self.lock:
            self.requests.append(req)
        return req

    # ------------------------------------------------------------ set-up
    def setup(self) -> None:
        c = Client(10)
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        opens = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
        for i in range(12):
            pid = f"p{i:02d}"
            scarce = i >= 10
            price = 1000 * (1 + i % 5)
            stock = 40 if scarce else 1_000_000
            r = self.call(c, "product", "order-processor", "POST", "/v1/products",
                          {"productId": pid, "name": f"Product {pid}", "unitPrice": price, "totalStock": stock,
                           "saleOpensAt": opens}, headers=admin)
            assert r.final.status in (200, 201), f"product {pid}: {r.final}"
            self.products[pid] = price
            if scarce:
                self.scarce.append(pid)
        until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
        r = self.call(c, "coupon-create", "coupon-issuer", "POST", "/v1/coupons",
                      {"name": "hot", "discount": 1000, "totalStock": self.coupon_stock, "validFrom": opens,
                       "validUntil": until}, headers=admin, retry=False)
        assert r.final.status == 201, f"coupon: {r.final}"
        self.coupon_id = r.final.body["couponId"]
        for u in self.users:
            self.deposit(c, u, 30000)

    # ------------------------------------------------------------ operations
    def deposit(self, c: Client, user: str, amount: int, twice: bool = False) -> None:
        key = f"d-{uuid.uuid4()}"
        # A deposit is the payment provider's call: a service token with scope wallet:deposit.
        service = {"Authorization": f"Bearer {self.system.token('payment-provider', 'wallet:deposit')}"}
        self.call(c, "deposit", "payment-api", "POST", f"/v1/wallets/{user}/deposits", {"amount": amount}, key,
                  headers=service)
        if twice:
            self.call(c, "deposit", "payment-api", "POST", f"/v1/wallets/{user}/deposits", {"amount": amount}, key,
                      headers=service)

    def place(self, c: Client, rng: random.Random, user: str) -> str | None:
        items = []
        pool = list(self.products)
        for pid in rng.sample(pool, rng.choice([1, 1, 2])):
            if pid in self.scarce and rng.random() < 0.5:
                continue
            items.append({"productId": pid, "quantity": rng.choice([1, 1, 2]), "unitPrice": self.products[pid]})
        if not items:
            items = [{"productId": "p00", "quantity": 1, "unitPrice": self.products["p00"]}]
        key = f"o-{uuid.uuid4()}"
        r = self.call(c, "order", "order-processor", "POST", "/v1/orders",
                      {"userId": user, "items": items, "fulfilment": "WAREHOUSE"}, key, user=user)
        a = r.final
        if a.status == 201 and isinstance(a.body, dict):
            oid = a.body["orderId"]
            with self.lock:
                self.orders[oid] = {"user": user, "items": items, "total": a.body.get("totalAmount"), "key": key}
            return oid
        return None

    def pay(self, c: Client, user: str, order_id: str, key: str | None = None) -> Request:
        key = key or f"p-{uuid.uuid4()}"
        return self.call(c, "payment", "payment-api", "POST", "/v1/payments", {"orderId": order_id, "userId": user}, key,
                         user=user)

    def op(self, c: Client, rng: random.Random, kind: str) -> None:
        user = rng.choice(self.users)
        if kind == "buy":
            oid = self.place(c, rng, user)
            if oid:
                r = self.pay(c, user, oid)
                if rng.random() < 0.10:
                    self.pay(c, user, oid, r.key)           # the client sends the same payment again
                if rng.random() < 0.05:
                    self.pay(c, user, oid)                  # another payment for a paid order: refused
        elif kind == "cancel":
            oid = self.place(c, rng, user)
            if oid:
                self.call(c, "cancel", "order-processor", "POST", f"/v1/orders/{oid}/cancel", {"userId": user}, user=user)
                if rng.random() < 0.3:
                    self.pay(c, user, oid)                  # pays a cancelled order: refused, or refunded
        elif kind == "abandon":
            self.place(c, rng, user)
        elif kind == "deposit":
            self.deposit(c, user, rng.choice([5000, 10000, 20000]), twice=rng.random() < 0.1)
        elif kind == "coupon":
            cu = rng.choice(self.coupon_users)
            self.call(c, "coupon", "coupon-issuer", "POST", f"/v1/coupons/{self.coupon_id}/issue", {"userId": cu}, user=cu)

    def run(self, ops: int, rate: float, max_seconds: float = 600) -> float:
        """Runs `ops` logical operations at about `rate` per second; returns the seconds taken.
        After `max_seconds` it stops (self.timed_out): the system did not keep up."""
        kinds = [k for k, w in MIX for _ in range(w)]
        next_slot = [time.monotonic()]
        counter = [0]
        interval = 1.0 / rate

        def worker(n: int) -> None:
            rng = random.Random(self.seed * 1000 + n)
            c = Client(self.timeout)
            while not self.stop_flag.is_set():
                with self.lock:
                    if counter[0] >= ops:
                        return
                    counter[0] += 1
                    slot = next_slot[0]
                    next_slot[0] = max(slot + interval, time.monotonic() - 1.0)
                delay = slot - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                kind = rng.choice(kinds)
                self.op(c, rng, kind)
                with self.lock:
                    self.ops_done += 1
                    self.op_counts[kind] += 1

        t0 = time.monotonic()
        workers = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(self.threads)]
        for w in workers:
            w.start()
        last = t0
        while any(w.is_alive() for w in workers):
            for w in workers:
                w.join(0.5)
            if not self.stop_flag.is_set() and time.monotonic() - t0 > max_seconds:
                log(f"driver: still not done after {max_seconds:.0f}s; stopping")
                self.timed_out = True
                self.stop_flag.set()
            if time.monotonic() - last > 10:
                last = time.monotonic()
                log(f"driver: {self.ops_done}/{ops} ops, {self.http_sent} requests, {self.ambiguous} ambiguous answers, "
                    f"retries {dict(self.retried)}")
        return time.monotonic() - t0

    def dump(self, path) -> None:
        with open(path, "w") as f:
            with self.lock:
                requests = list(self.requests)
            for r in requests:
                f.write(json.dumps({"kind": r.kind, "method": r.method, "path": r.path, "key": r.key, "body": r.body,
                                    "answers": [{"status": a.status, "body": a.body, "error": a.error,
                                                 "replayed": a.replayed} for a in r.answers]}) + "\n")
