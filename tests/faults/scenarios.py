"""The fault scenarios: each runs next to the driver, injecting its faults until the
driver is done, then leaves the system whole (every daemon running, brokers up, fakes
answering) for the checker."""
from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

from harness import SERVICES, System, http_json, log, wait_for

# Consumers give up their partitions when they do not poll within this; the SIGSTOP
# scenario stops one for longer. librdkafka wants session.timeout.ms <= max.poll.interval.ms
# and the broker's minimum session timeout is 6 s.
SHORT_POLL = "max.poll.interval.ms=6000;session.timeout.ms=6000;heartbeat.interval.ms=1000"


@dataclass
class Faults:
    """What a scenario did, for the report."""
    events: list = field(default_factory=list)

    def add(self, what: str) -> None:
        log(f"fault: {what}")
        self.events.append((round(time.monotonic(), 1), what))


class Scenario:
    name = "none"
    brokers = 1
    description = "no faults"

    def __init__(self, interval: float = 0):
        self.interval = interval

    def env(self) -> dict[str, dict[str, str]]:
        return {}

    def run(self, system: System, stop: threading.Event, faults: Faults, rng: random.Random) -> None:
        stop.wait()

    max_faults: int | None = None  # rounds of faults at most (None: until the driver is done)

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        """Sleeps `seconds` unless the driver finishes first or the scenario has injected
        its `max_faults` rounds; True if it should stop."""
        self.rounds = getattr(self, "rounds", 0) + 1
        if self.max_faults is not None and self.rounds > self.max_faults:
            stop.wait()
            return True
        return stop.wait(seconds)


class Kill9(Scenario):
    name = "kill9"
    description = "kill -9 of a random daemon every few seconds, restarted at once by the harness"

    def __init__(self, interval: float = 4):
        super().__init__(interval)

    def run(self, system, stop, faults, rng):
        order: list[str] = []
        while not self.wait(stop, self.interval):
            if not order:  # every daemon once per round, in a random order
                order = rng.sample(SERVICES, len(SERVICES))
            victim = order.pop()
            system.daemons[victim].kill9()
            faults.add(f"kill -9 {victim}")
            system.restart(victim)


class SigStop(Scenario):
    name = "sigstop"
    description = ("SIGSTOP of a consumer for 10 s, longer than max.poll.interval.ms and session.timeout.ms (6 s), "
                   "then SIGCONT")

    def __init__(self, interval: float = 3):
        super().__init__(interval)

    def env(self):
        return {"*": {"PAYPIPE_KAFKA_PROPERTIES": SHORT_POLL}}

    def run(self, system, stop, faults, rng):
        victims = ["order-processor", "notification-sender", "payment-api", "coupon-issuer", "ranking-updater",
                   "data-platform-forwarder"]
        i = 0
        while not self.wait(stop, self.interval):
            victim = victims[i % len(victims)]
            i += 1
            system.daemons[victim].pause()
            faults.add(f"SIGSTOP {victim}")
            time.sleep(10)  # the fault itself: not cut short by the driver's end
            system.daemons[victim].resume()
            faults.add(f"SIGCONT {victim}")


class BrokerRestart(Scenario):
    name = "broker-restart"
    description = "the single Kafka broker stopped (kill -9, then SIGTERM) for 5 s and started again, every 10 s of uptime"

    def __init__(self, interval: float = 10):
        super().__init__(interval)

    def run(self, system, stop, faults, rng):
        n = 0
        while not self.wait(stop, self.interval):
            n += 1
            kill = n % 2 == 1
            system.kafka_stop(1, kill=kill)
            faults.add(f"broker {'kill -9' if kill else 'SIGTERM'}")
            time.sleep(5)
            t0 = time.monotonic()
            system.kafka_start(1)
            faults.add(f"broker started (ready after {time.monotonic() - t0:.1f}s)")


class LeaderKill(Scenario):
    name = "leader-kill"
    brokers = 3
    description = ("three brokers (replication 3, min.insync.replicas 2, acks=all, production profile): kill -9 of "
                   "the leader of payment.completed[0], restarted 8 s later")

    def __init__(self, interval: float = 5):
        super().__init__(interval)

    def run(self, system, stop, faults, rng):
        topics = ["payment.completed", "order.created", "order.completed", "coupon.requested"]
        n = 0
        while not self.wait(stop, self.interval):
            topic = topics[n % len(topics)]
            n += 1
            leader = system.partition_leader(topic, 0)
            system.kafka_stop(leader, kill=True)
            faults.add(f"kill -9 broker {leader} (leader of {topic}[0])")
            time.sleep(8)
            system.kafka_start(leader)
            faults.add(f"broker {leader} started")


class PostgresRestart(Scenario):
    name = "postgres-restart"
    description = "PostgreSQL restarted (fast shutdown, then kill -9 of the postmaster) while the workload runs"

    def __init__(self, interval: float = 5):
        super().__init__(interval)

    def run(self, system, stop, faults, rng):
        n = 0
        while not self.wait(stop, self.interval):
            n += 1
            kill = n % 2 == 0
            t0 = time.monotonic()
            system.postgres_restart(kill=kill)
            faults.add(f"postgres restart{' (kill -9)' if kill else ''} took {time.monotonic() - t0:.1f}s")


class FakesDown(Scenario):
    name = "fakes-down"
    description = "Telegram answers 503 and the analytics webhook refuses connections, 8 s at a time"

    def __init__(self, interval: float = 2):
        super().__init__(interval)

    def run(self, system, stop, faults, rng):
        while not self.wait(stop, self.interval):
            http_json("POST", f"{system.telegram_url}/control", {"mode": "fail", "status": 503})
            http_json("POST", f"{system.analytics_control}/down", {})
            faults.add("Telegram 503, webhook down")
            time.sleep(8)
            http_json("POST", f"{system.telegram_url}/control", {"mode": "ok"})
            http_json("POST", f"{system.analytics_control}/up", {})
            faults.add("Telegram and webhook back")


SCENARIOS = {s.name: s for s in (Scenario, Kill9, SigStop, BrokerRestart, LeaderKill, PostgresRestart, FakesDown)}
