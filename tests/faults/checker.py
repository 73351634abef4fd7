"""The invariant checker: after the system is quiet, reads the databases (psql), the
topics (kcat, read_committed) and the fakes' logs, and checks one line per invariant
against what the driver sent and was answered.

The checker trusts the driver's record first (what the client was told) and the
services' own stores second, and cross-checks the two: an acknowledged payment missing
from payment-api's table, or a payment in the table that no client could have made, is a
failure either way.
"""
from __future__ import annotations

import collections
import concurrent.futures
import json
import os
import re
import time
from dataclasses import dataclass, field

from driver import Driver
from harness import GROUPS, System, http_json, log

TERMINAL_ORDER = {"COMPLETED", "CANCELLED", "EXPIRED", "REFUNDED"}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


# Known findings (docs/reliability.md) are reported as WARN lines that do not fail the run;
# FAULTS_STRICT=1 makes them fail like any invariant (for when they are fixed).
STRICT = os.environ.get("FAULTS_STRICT") == "1"


@dataclass
class Line:
    name: str
    ok: bool
    figures: str
    problems: list = field(default_factory=list)
    known: str | None = None  # a documented finding: WARN, not FAIL (unless FAULTS_STRICT=1)

    @property
    def passed(self) -> bool:
        return self.ok or (self.known is not None and not STRICT)

    def render(self) -> str:
        status = "PASS" if self.ok else ("WARN" if self.passed else "FAIL")
        text = f"{status}  {self.name:<22} {self.figures}" + (f"  [known: {self.known}]" if not self.ok and self.known else "")
        for p in self.problems[:8]:
            text += f"\n        - {p}"
        if len(self.problems) > 8:
            text += f"\n        - ... {len(self.problems) - 8} more"
        return text


class Snapshot:
    """Everything the checker reads, read once."""

    def __init__(self, system: System):
        s = system
        t0 = time.monotonic()
        self.payments = {r[0]: {"order": r[1], "user": r[2], "amount": int(r[3]), "status": r[4], "key": r[5]}
                         for r in s.psql("payment_api", "SELECT id, order_id, user_id, amount, status, idempotency_key FROM payments")}
        self.wallets = {r[0]: int(r[1]) for r in s.psql("payment_api", "SELECT user_id, balance FROM wallets")}
        self.entries = [{"user": r[0], "kind": r[1], "amount": int(r[2]), "payment": r[3] or None, "key": r[4] or None}
                        for r in s.psql("payment_api", "SELECT user_id, kind, amount, payment_id, idempotency_key FROM wallet_entries")]
        self.orders = {r[0]: {"user": r[1], "status": r[2], "total": int(r[3]), "payment": r[4] or None,
                              "reason": r[5] or None, "key": r[6] or None}
                       for r in s.psql("order_processor", "SELECT id, user_id, status, total_amount, payment_id, cancel_reason, "
                                                          "idempotency_key FROM orders")}
        self.items = collections.defaultdict(list)
        for r in s.psql("order_processor", "SELECT order_id, product_id, quantity FROM order_items"):
            self.items[r[0]].append((r[1], int(r[2])))
        self.products = {r[0]: {"total": int(r[1]), "held": int(r[2]), "sold": int(r[3])}
                         for r in s.psql("order_processor", "SELECT id, total_stock, held, sold FROM products")}
        self.coupons = {r[0]: {"total": int(r[1]), "remaining": int(r[2])}
                        for r in s.psql("coupon_issuer", "SELECT id, total_stock, remaining_stock FROM coupons")}
        self.issued = [(r[0], r[1], r[2]) for r in s.psql("coupon_issuer", "SELECT coupon_id, user_id, request_id FROM issued_coupons")]
        self.coupon_requests = {r[0]: {"user": r[1], "status": r[2], "reason": r[3] or None}
                                for r in s.psql("coupon_issuer", "SELECT request_id, user_id, status, reason FROM coupon_requests")}
        self.sales = {r[0]: {"units": int(r[1]), "orders": int(r[2])}
                      for r in s.psql("ranking_updater", "SELECT product_id, units, orders FROM product_sales")}
        self.notifications = [(r[0], r[1]) for r in s.psql("notification_sender", "SELECT event_id, event_type FROM notifications")]
        self.deliveries = {r[0]: {"type": r[1], "status": r[2], "attempts": int(r[3])}
                           for r in s.psql("data_platform_forwarder", "SELECT event_id, event_type, status, attempts FROM deliveries")}
        self.parked = [{"group": r[0], "status": r[1], "topic": r[2], "partition": int(r[3]), "offset": int(r[4]),
                        "reason": r[5]}
                       for r in s.psql("dlq_retrier", "SELECT consumer_group, status, dlq_topic, dlq_partition, dlq_offset, "
                                                      "reason FROM parked_records")]
        self.outbox = {schema: int(s.psql(schema, "SELECT count(*) FROM outbox")[0][0])
                       for schema in ("payment_api", "order_processor", "coupon_issuer")}
        names = ["payment.completed", "payment.failed", "payment.refunded", "order.created", "order.completed",
                 "order.cancelled", "order.refunded", "coupon.issued", "coupon.rejected", "payment.refund-requested"] + \
                [f"dlq.{g}" for g in GROUPS] + [f"retry.{g}" for g in GROUPS]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            self.topics = dict(zip(names, pool.map(s.read_topic, names)))
        self.telegram = http_json("GET", f"{s.telegram_url}/messages", timeout=30)[1]
        self.telegram_stats = http_json("GET", f"{s.telegram_url}/stats")[1]
        self.analytics = http_json("GET", f"{s.analytics_control}/deliveries", timeout=30)[1]
        self.analytics_stats = http_json("GET", f"{s.analytics_control}/stats")[1]
        # Requests coupon-issuer answered 503 ("not acknowledged by Kafka; nothing was recorded").
        log_text = "".join(p.read_text(errors="replace") for p in sorted(s.logs.glob("coupon-issuer*.log")))
        self.coupon_503 = set(re.findall(r"coupon request ([0-9a-f-]{36}) not acknowledged by Kafka", log_text))
        # ... and those it answered 503 "outcome unknown" (sent, acknowledgement lost): they may be decided.
        self.coupon_503_unknown = set(re.findall(r"coupon request ([0-9a-f-]{36}) sent but not acknowledged", log_text))
        self.took = time.monotonic() - t0

    def events(self, topic: str) -> dict[str, list[dict]]:
        """ce_id -> the records carrying it (more than one: the same event on the wire twice)."""
        out = collections.defaultdict(list)
        for r in self.topics[topic]:
            out[r["headers"].get("ce_id", f"no-id@{r['partition']}:{r['offset']}")].append(r)
        return out


def payload(record: dict) -> dict:
    p = record.get("payload")
    return json.loads(p) if isinstance(p, str) else (p or {})


def settled(system: System) -> tuple[bool, str]:
    """The cheap signs of a quiet system: no order waiting, no outbox row, no coupon request undecided."""
    pending = system.psql("order_processor", "SELECT count(*) FILTER (WHERE status NOT IN "
                                             "('COMPLETED','CANCELLED','EXPIRED','REFUNDED')) FROM orders")[0][0]
    requests = system.psql("coupon_issuer", "SELECT count(*) FROM coupon_requests WHERE status = 'PENDING'")[0][0]
    outbox = sum(int(system.psql(s, "SELECT count(*) FROM outbox")[0][0])
                 for s in ("payment_api", "order_processor", "coupon_issuer"))
    inflight = system.psql("data_platform_forwarder", "SELECT count(*) FROM deliveries WHERE status <> 'COMPLETED'")[0][0]
    why = f"orders not terminal {pending}, coupon requests pending {requests}, outbox rows {outbox}, deliveries not completed {inflight}"
    return (int(pending) == 0 and int(requests) == 0 and outbox == 0 and int(inflight) == 0), why


class Checker:
    def __init__(self, system: System, driver: Driver):
        self.system = system
        self.d = driver

    # ------------------------------------------------------------ the driver's view
    def client_view(self, snap: Snapshot):
        """What the client knows: deposits, payments by key, coupon requests; with the
        unresolved requests resolved from the stores."""
        deposits = {}          # (user, key) -> amount, acknowledged
        unresolved = collections.Counter()
        pay_answers = collections.defaultdict(list)   # (user, key) -> [Answer]
        pay_order = {}
        coupon_accepted = set()
        cancels = []
        for r in self.d.requests:
            if r.kind == "deposit":
                user = r.path.split("/")[3]
                if r.resolved() and r.final.status == 201:
                    deposits[(user, r.key)] = r.body["amount"]
                elif not r.resolved():
                    unresolved["deposit"] += 1
                    for e in snap.entries:  # did it happen?
                        if e["kind"] == "DEPOSIT" and e["user"] == user and e["key"] == r.key:
                            deposits[(user, r.key)] = r.body["amount"]
            elif r.kind == "payment":
                k = (r.body["userId"], r.key)
                pay_order[k] = r.body["orderId"]
                pay_answers[k].extend(a for a in r.answers if a.status is not None)
                if not r.resolved():
                    unresolved["payment"] += 1
            elif r.kind == "coupon":
                if r.resolved() and r.final.status == 202:
                    coupon_accepted.add(r.final.body["requestId"])
                elif not r.resolved():
                    unresolved["coupon"] += 1
            elif r.kind == "order" and not r.resolved():
                unresolved["order"] += 1
            elif r.kind == "cancel":
                cancels.append(r)
                if not r.resolved():
                    unresolved["cancel"] += 1
        return deposits, pay_answers, pay_order, coupon_accepted, unresolved

    # ------------------------------------------------------------ invariants
    def check(self, snap: Snapshot) -> list[Line]:
        lines = []
        deposits, pay_answers, pay_order, coupon_accepted, unresolved = self.client_view(snap)
        completed_ev = snap.events("payment.completed")
        failed_ev = snap.events("payment.failed")
        refunded_ev = snap.events("payment.refunded")

        # 1. every acknowledged payment: exactly one payment.completed or payment.failed
        by_payment = collections.defaultdict(set)
        wire_dupes = 0
        for ev_map, typ in ((completed_ev, "completed"), (failed_ev, "failed")):
            for ce_id, recs in ev_map.items():
                wire_dupes += len(recs) - 1
                by_payment[payload(recs[0]).get("paymentId")].add((typ, ce_id))
        acked = {}
        problems = []
        for k, answers in pay_answers.items():
            ids = {a.body.get("paymentId") for a in answers if a.status in (201, 402) and isinstance(a.body, dict)}
            ids.discard(None)
            for pid in ids:
                acked[pid] = k
        for pid in acked:
            if pid not in snap.payments:
                problems.append(f"acknowledged payment {pid} is not in payment-api's table")
        for pid, p in snap.payments.items():
            evs = by_payment.get(pid, set())
            want = "failed" if p["status"] == "FAILED" else "completed"
            if len(evs) != 1:
                problems.append(f"payment {pid} ({p['status']}) has {len(evs)} events: {sorted(evs)}")
            elif next(iter(evs))[0] != want:
                problems.append(f"payment {pid} is {p['status']} but its event is payment.{next(iter(evs))[0]}")
        stray = set(by_payment) - set(snap.payments)
        for pid in stray:
            problems.append(f"event for payment {pid} that payment-api does not have")
        lines.append(Line("payment-events", not problems,
                          f"acknowledged {len(acked)}, stored {len(snap.payments)}, events {len(completed_ev)} completed + "
                          f"{len(failed_ev)} failed, same event twice on the wire {wire_dupes}", problems))

        # 2. wallets: balance = deposits - payments + refunds (client's view), = the ledger's sum
        problems = []
        dep_by_user = collections.Counter()
        for (u, _), amount in deposits.items():
            dep_by_user[u] += amount
        charged = collections.Counter()
        for pid, p in snap.payments.items():
            if p["status"] in ("COMPLETED", "REFUNDED"):
                charged[p["user"]] += p["amount"]
        refunds = collections.Counter()
        for ce_id, recs in refunded_ev.items():
            d = payload(recs[0])
            p = snap.payments.get(d.get("paymentId"))
            if p:
                refunds[p["user"]] += p["amount"]
        ledger = collections.Counter()
        for e in snap.entries:
            ledger[e["user"]] += e["amount"]
        db_deposits = collections.Counter()
        for e in snap.entries:
            if e["kind"] == "DEPOSIT":
                db_deposits[e["user"]] += e["amount"]
        users = set(dep_by_user) | set(snap.wallets)
        for u in sorted(users):
            expected = dep_by_user[u] - charged[u] + refunds[u]
            bal = snap.wallets.get(u, 0)
            if bal != expected:
                problems.append(f"{u}: balance {bal} != deposits {dep_by_user[u]} - payments {charged[u]} + refunds "
                                f"{refunds[u]} = {expected} (ledger deposits {db_deposits[u]})")
            if bal != ledger[u]:
                problems.append(f"{u}: balance {bal} != ledger sum {ledger[u]}")
        # every completed payment the client was told about is among the charges (no charge unknown to the client
        # beyond resolved ambiguity is checked in idempotency)
        lines.append(Line("wallet-balances", not problems,
                          f"users {len(users)}, deposits {sum(dep_by_user.values())}, payments {sum(charged.values())}, "
                          f"refunds {sum(refunds.values())} ({len(refunded_ev)} payment.refunded)", problems))

        # 3. no payment charged twice for one Idempotency-Key
        problems = []
        replays = 0
        for k, answers in pay_answers.items():
            ids = {a.body.get("paymentId") for a in answers if a.status in (201, 402) and isinstance(a.body, dict)}
            ids.discard(None)
            if len(ids) > 1:
                problems.append(f"key {k[1]} answered with payments {sorted(ids)}")
            replays += sum(1 for a in answers if a.replayed)
        per_key = collections.Counter((p["user"], p["key"]) for p in snap.payments.values())
        problems += [f"key {k} has {n} payments" for k, n in per_key.items() if n > 1]
        per_order = collections.Counter(p["order"] for p in snap.payments.values() if p["status"] in ("COMPLETED", "REFUNDED"))
        problems += [f"order {o} charged {n} times" for o, n in per_order.items() if n > 1]
        pay_entries = collections.Counter(e["payment"] for e in snap.entries if e["kind"] == "PAYMENT")
        refund_entries = collections.Counter(e["payment"] for e in snap.entries if e["kind"] == "REFUND")
        for pid, p in snap.payments.items():
            want = 0 if p["status"] == "FAILED" else 1
            if pay_entries[pid] != want:
                problems.append(f"payment {pid} ({p['status']}) has {pay_entries[pid]} ledger debits")
            want_r = 1 if p["status"] == "REFUNDED" else 0
            if refund_entries[pid] != want_r:
                problems.append(f"payment {pid} ({p['status']}) has {refund_entries[pid]} refunds")
        known_keys = set(pay_answers)
        for p in snap.payments.values():
            if (p["user"], p["key"]) not in known_keys:
                problems.append(f"payment under key {p['key']} that the driver never sent")
        dep_keys = collections.Counter((e["user"], e["key"]) for e in snap.entries if e["kind"] == "DEPOSIT")
        problems += [f"deposit key {k} credited {n} times" for k, n in dep_keys.items() if n > 1]
        lines.append(Line("idempotency", not problems,
                          f"payment keys {len(pay_answers)}, replayed answers {replays}, deposit keys {len(dep_keys)}, "
                          f"unresolved requests {dict(unresolved) or 0}", problems))

        # 4. every order terminal and consistent with its payment; stock adds up
        problems = []
        status_count = collections.Counter()
        pays_by_order = collections.defaultdict(list)
        for pid, p in snap.payments.items():
            pays_by_order[p["order"]].append((pid, p))
        for oid in self.d.orders:
            if oid not in snap.orders:
                problems.append(f"order {oid} acknowledged (201) but not stored")
        for oid, o in snap.orders.items():
            st = o["status"]
            status_count[st] += 1
            charged_p = [(pid, p) for pid, p in pays_by_order.get(oid, []) if p["status"] in ("COMPLETED", "REFUNDED")]
            if st not in TERMINAL_ORDER:
                problems.append(f"order {oid} left in {st}")
            elif st == "COMPLETED":
                if len(charged_p) != 1 or charged_p[0][1]["status"] != "COMPLETED" or o["payment"] != charged_p[0][0]:
                    problems.append(f"order {oid} COMPLETED but its payments are {pays_by_order.get(oid)}")
            elif st in ("CANCELLED", "EXPIRED"):
                if charged_p:
                    problems.append(f"order {oid} {st} but charged by {charged_p} (no refund)")
            elif st == "REFUNDED":
                if len(charged_p) != 1 or charged_p[0][1]["status"] != "REFUNDED":
                    problems.append(f"order {oid} REFUNDED but its payments are {pays_by_order.get(oid)}")
            if o["key"] is None or (oid not in self.d.orders and not any(
                    r.kind == "order" and r.key == o["key"] for r in self.d.requests)):
                problems.append(f"order {oid} stored but never placed by the driver")
        sold = collections.Counter()
        for oid, o in snap.orders.items():
            if o["status"] == "COMPLETED":
                for pid, q in snap.items[oid]:
                    sold[pid] += q
        for pid, p in snap.products.items():
            if p["held"] != 0 or p["sold"] != sold[pid]:
                problems.append(f"product {pid}: held {p['held']}, sold {p['sold']} but completed orders hold {sold[pid]}")
        lines.append(Line("orders", not problems,
                          "orders " + str(len(snap.orders)) + " " +
                          ", ".join(f"{k} {v}" for k, v in sorted(status_count.items())), problems))

        # 5. coupons: never beyond stock, never two per user, every accepted request decided
        problems = []
        issued_by = collections.Counter((c, u) for c, u, _ in snap.issued)
        problems += [f"user {u} holds coupon {c} {n} times" for (c, u), n in issued_by.items() if n > 1]
        per_coupon = collections.Counter(c for c, _, _ in snap.issued)
        for cid, c in snap.coupons.items():
            if per_coupon[cid] > c["total"]:
                problems.append(f"coupon {cid}: {per_coupon[cid]} issued > stock {c['total']}")
            if c["remaining"] != c["total"] - per_coupon[cid]:
                problems.append(f"coupon {cid}: remaining {c['remaining']} != {c['total']} - {per_coupon[cid]}")
        for rid in coupon_accepted:
            r = snap.coupon_requests.get(rid)
            if r is None:
                problems.append(f"accepted coupon request {rid} never recorded")
            elif r["status"] == "PENDING":
                problems.append(f"accepted coupon request {rid} still PENDING")
        hot = snap.coupons.get(self.d.coupon_id, {"total": 0})
        requesters = {snap.coupon_requests[r]["user"] for r in coupon_accepted if r in snap.coupon_requests}
        want_issued = min(hot["total"], len(requesters))
        if per_coupon[self.d.coupon_id] != want_issued:
            problems.append(f"hot coupon: {per_coupon[self.d.coupon_id]} issued, {len(requesters)} users asked for "
                            f"{hot['total']}: expected {want_issued} (first come, first served, none lost)")
        reasons = collections.Counter(r["reason"] or r["status"] for r in snap.coupon_requests.values())
        # A request answered 503 "nothing was recorded" must not be recorded (finding F1, fixed:
        # a delivery that timed out after sending is answered "outcome unknown" instead).
        recorded_503 = sorted(r for r in snap.coupon_503 if r in snap.coupon_requests)
        unacked = len(set(snap.coupon_requests) - coupon_accepted)
        lines.append(Line("coupons", not problems,
                          f"accepted requests {len(coupon_accepted)}, stored {len(snap.coupon_requests)} "
                          f"({unacked} without a 202: answered 503 {len(snap.coupon_503)}, of which recorded anyway "
                          f"{len(recorded_503)}), "
                          f"issued {per_coupon[self.d.coupon_id]}/{hot['total']}, " +
                          ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())), problems))
        lines.append(Line("coupon-503-contract", not recorded_503,
                          f"answered 503 'nothing was recorded' {len(snap.coupon_503)}, recorded and decided anyway "
                          f"{len(recorded_503)}; answered 503 'outcome unknown' {len(snap.coupon_503_unknown)}, "
                          f"decided {len(snap.coupon_503_unknown & set(snap.coupon_requests))}",
                          [f"request {r} answered 503 but {snap.coupon_requests[r]['status']}"
                           f"{' ' + snap.coupon_requests[r]['reason'] if snap.coupon_requests[r]['reason'] else ''}"
                           for r in recorded_503]))

        # 6. ranking counters = completed orders
        problems = []
        units = collections.Counter()
        norders = collections.Counter()
        for oid, o in snap.orders.items():
            if o["status"] == "COMPLETED":
                for pid, q in snap.items[oid]:
                    units[pid] += q
                    norders[pid] += 1
        for pid in set(units) | set(snap.sales):
            s = snap.sales.get(pid, {"units": 0, "orders": 0})
            if s["units"] != units[pid] or s["orders"] != norders[pid]:
                problems.append(f"{pid}: ranking {s['units']} units / {s['orders']} orders, completed orders "
                                f"{units[pid]} / {norders[pid]}")
        completed_topic = snap.events("order.completed")
        lines.append(Line("rankings", not problems,
                          f"units {sum(units.values())} in {len(completed_topic)} order.completed events", problems))

        # 7. notifications: one log entry per event, at least one Telegram message; duplicates counted
        problems = []
        expected = {}
        for t in ("payment.completed", "payment.failed", "order.completed", "order.cancelled", "order.refunded",
                  "coupon.issued", "coupon.rejected"):
            for ce_id, recs in snap.events(t).items():
                d = payload(recs[0])
                ref = d.get("requestId") if t.startswith("coupon") else (d.get("orderId") if t.startswith("order.")
                                                                            else d.get("paymentId"))
                expected[ce_id] = (t, ref)
        logged = collections.Counter(e for e, _ in snap.notifications)
        for ce_id in expected:
            if logged[ce_id] != 1:
                problems.append(f"event {expected[ce_id]} logged {logged[ce_id]} times")
        for ce_id in logged:
            if ce_id not in expected:
                problems.append(f"notification for unknown event {ce_id}")
        prefixes = {"Payment completed": "payment.completed", "Payment failed": "payment.failed",
                    "Order completed": "order.completed", "Order cancelled": "order.cancelled",
                    "Order expired": "order.cancelled", "Order refunded": "order.refunded",
                    "Coupon issued": "coupon.issued",
                    "Coupon not issued": "coupon.rejected"}
        sent = collections.Counter()
        for m in snap.telegram:
            text = m.get("text", "")
            typ = next((v for k, v in prefixes.items() if text.startswith("[paypipe] " + k)), None)
            ids = UUID.findall(text)
            ref = ids[-1] if ids else None  # payment id, order id or request id: the last one named
            sent[(typ, ref)] += 1
        missing = [v for v in expected.values() if sent[v] == 0]
        problems += [f"no Telegram message for {v}" for v in missing]
        dupes = sum(n - 1 for v, n in sent.items() if n > 1)
        self.telegram_dupes = {v: n for v, n in sent.items() if n > 1}
        lines.append(Line("notifications", not problems,
                          f"events {len(expected)}, logged {sum(logged.values())}, messages {len(snap.telegram)}, "
                          f"attempts since the last mode change {snap.telegram_stats.get('attempts')}, duplicates on the wire {dupes}", problems))

        # 8. webhook: one COMPLETED delivery per event, accepted at least once; duplicates counted
        problems = []
        expected_w = set(completed_ev) | set(completed_topic) | set(snap.events("order.refunded"))
        accepted = collections.Counter(x.get("idempotencyKey") for x in snap.analytics)
        for ce_id in expected_w:
            dl = snap.deliveries.get(ce_id)
            if dl is None or dl["status"] != "COMPLETED":
                problems.append(f"event {ce_id}: delivery {dl}")
            if accepted[ce_id] == 0:
                problems.append(f"event {ce_id} never accepted by the webhook")
        for ce_id in snap.deliveries:
            if ce_id not in expected_w:
                problems.append(f"delivery of unknown event {ce_id}")
        wdupes = sum(n - 1 for n in accepted.values() if n > 1)
        self.webhook_dupes = {k: n for k, n in accepted.items() if n > 1}
        lines.append(Line("webhook", not problems,
                          f"events {len(expected_w)}, deliveries {len(snap.deliveries)}, accepted {len(snap.analytics)}, "
                          f"requests {snap.analytics_stats.get('requests')}, duplicates on the wire {wdupes}", problems))

        # 9. dead letters: each retried (retry.<g> with attempt + 1) or parked
        problems = []
        parked_at = {(p["topic"], p["partition"], p["offset"]): p for p in snap.parked}
        total = retried = parked = 0
        for g in GROUPS:
            retries = collections.defaultdict(set)
            for r in snap.topics[f"retry.{g}"]:
                retries[r["headers"].get("ce_id")].add(r["headers"].get("attempt"))
            for r in snap.topics[f"dlq.{g}"]:
                total += 1
                key = (r["topic"], r["partition"], r["offset"])
                attempt = r["headers"].get("attempt", "1")
                nxt = str(int(attempt) + 1) if attempt.isdigit() else None
                if key in parked_at:
                    parked += 1
                elif nxt in retries.get(r["headers"].get("ce_id"), set()):
                    retried += 1
                else:
                    problems.append(f"dlq.{g}[{r['partition']}]@{r['offset']} ({r['headers'].get('ce_type')} "
                                    f"{r['headers'].get('ce_id')}, attempt {attempt}) neither retried nor parked")
        still_parked = [p for p in snap.parked if p["status"] == "PARKED"]
        problems += [f"parked and not replayed: {p['group']} {p['reason']} {p['topic']}@{p['offset']}" for p in still_parked]
        lines.append(Line("dead-letters", not problems,
                          f"dead letters {total}, retried {retried}, parked {parked} (still PARKED {len(still_parked)})",
                          problems))
        return lines


def check_until_quiet(system: System, driver: Driver, timeout: float, extra=None) -> tuple[list[Line], float]:
    """Waits for the quiet signs, then checks until every invariant holds or `timeout`
    passes; returns the last lines and how long it waited. `extra(snapshot, checker)`
    adds a scenario's own lines (scenarios.py)."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    why = ""
    while time.monotonic() < deadline:
        try:
            ok, why = settled(system)
            if ok:
                break
        except Exception as e:  # noqa: BLE001 - a store restarting: try again
            why = str(e)
        time.sleep(0.5)
    else:
        log(f"not settled after {timeout:.0f}s: {why}")
    log(f"settled after {time.monotonic() - t0:.1f}s")
    checker = Checker(system, driver)
    while True:
        snap = Snapshot(system)
        lines = checker.check(snap)
        if extra is not None:
            lines += extra(snap, checker)
        log(f"snapshot read in {snap.took:.1f}s")
        if all(line.passed for line in lines) or time.monotonic() > deadline:
            return lines, time.monotonic() - t0
        log("not yet: " + "; ".join(f"{line.name} ({len(line.problems)})" for line in lines if not line.passed))
        time.sleep(2)
