#!/usr/bin/env python3
"""One fault scenario: its own stack, the driver, the faults, the checker.

    tests/faults/run.py --scenario kill9 --ops 2500 --rate 120 [--build-dir build] [--report out.json]

Exit code 0 when every invariant holds, 1 when one does not (or the run broke).
Scenarios: none, kill9, sigstop, broker-restart, leader-kill, postgres-restart, fakes-down,
replicas, pg-outage, kafka-outage (tests/faults/scenarios.py). Every process it starts is stopped and its directories
removed at the end, also on failure or Ctrl-C; --keep-logs DIR keeps the daemons' logs.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))

from checker import check_until_quiet  # noqa: E402
from driver import Driver  # noqa: E402
from harness import System, log  # noqa: E402
from scenarios import SCENARIOS, Faults  # noqa: E402


def supervise(system: System, stop: threading.Event, crashes: list) -> None:
    """Restarts a daemon that exited by itself (as Kubernetes would), and counts it."""
    while not stop.wait(0.5):
        for name, d in list(system.daemons.items()):
            with system.lock:
                if d.wanted and d.proc is not None and d.proc.poll() is not None and d.proc.returncode != -9:
                    crashes.append((name, d.proc.returncode))
                    log(f"{name} exited with {d.proc.returncode}: restarting it")
                    d.start()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    p.add_argument("--ops", type=int, default=2500, help="logical operations the driver runs")
    p.add_argument("--rate", type=float, default=120, help="logical operations per second")
    p.add_argument("--interval", type=float, default=None, help="seconds between faults (scenario default)")
    p.add_argument("--max-faults", type=int, default=None, help="rounds of faults at most (default: until the driver is done)")
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--seed", type=int, default=int(os.environ.get("FAULTS_SEED", "0")) or int(time.time()))
    p.add_argument("--max-drive", type=float, default=300, help="seconds the driver may take before the run fails")
    p.add_argument("--quiet-timeout", type=float, default=120, help="seconds to wait for the system to settle")
    here = Path(__file__).resolve().parent
    p.add_argument("--build-dir", type=Path, default=Path(os.environ.get("PAYPIPE_BUILD_DIR", here.parents[1] / "build")))
    p.add_argument("--source-dir", type=Path, default=here.parents[1])
    p.add_argument("--report", type=Path, help="append the result as one JSON line")
    p.add_argument("--keep-logs", type=Path, help="copy the daemons' logs here at the end")
    p.add_argument("--requests-log", type=Path, help="write every request and answer here (JSON lines)")
    args = p.parse_args()

    cls = SCENARIOS[args.scenario]
    scenario = cls(args.interval) if args.interval is not None else cls()
    scenario.max_faults = args.max_faults
    log(f"scenario {scenario.name}: {scenario.description}; {args.ops} ops at {args.rate}/s, seed {args.seed}")
    t_start = time.monotonic()
    system = System(args.build_dir, args.source_dir, brokers=scenario.brokers, extra_env=scenario.env(),
                    keep_logs=args.keep_logs, partitions=scenario.partitions, replicas=scenario.replicas)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)

    result = {"scenario": scenario.name, "ops": args.ops, "seed": args.seed, "ok": False}
    stop_supervisor = threading.Event()
    crashes: list = []
    driver = None
    try:
        system.start()
        driver = Driver(system, seed=args.seed, threads=args.threads, **scenario.driver_options)
        driver.setup()
        scenario.driver = driver
        sup = threading.Thread(target=supervise, args=(system, stop_supervisor, crashes), daemon=True)
        sup.start()
        faults = Faults()
        driver_done = threading.Event()
        fault_error: list = []

        def inject():
            try:
                scenario.run(system, driver_done, faults, random.Random(args.seed))
            except Exception as e:  # noqa: BLE001
                fault_error.append(e)
                log(f"fault injection failed: {e!r}")
        injector = threading.Thread(target=inject, daemon=True)
        injector.start()
        drive_s = driver.run(args.ops, args.rate, args.max_drive)
        # Scenarios with a fixed script of faults keep the load running until it is done.
        while scenario.load_until_done and injector.is_alive() and not driver.timed_out:
            drive_s += driver.run(max(1, int(args.rate * 2)), args.rate, max(0.0, args.max_drive - drive_s))
        driver_done.set()
        injector.join(120)
        for d in system.daemons.values():
            d.resume()
        for name, d in list(system.daemons.items()):
            if d.wanted:
                system.restart(name)  # every daemon up (no-op when running)
        log(f"driver done in {drive_s:.1f}s: {driver.ops_done} ops ({driver.op_counts}), {driver.http_sent} requests, "
            f"{driver.ambiguous} ambiguous answers; {len(faults.events)} faults")
        lines, quiet_s = check_until_quiet(system, driver, args.quiet_timeout, scenario.check)
        stop_supervisor.set()
        print(f"\n== {scenario.name}: {scenario.description}")
        print(f"   {driver.ops_done} ops, {driver.http_sent} HTTP requests, {driver.ambiguous} ambiguous answers "
              f"(retried with the same key), {len(faults.events)} faults, unexpected exits {crashes or 0}, "
              f"driving {drive_s:.0f}s, quiet after {quiet_s:.0f}s")
        for line in lines:
            print("   " + line.render().replace("\n", "\n   "))
        if fault_error:
            print(f"   FAIL  fault injection: {fault_error[0]!r}")
        if driver.timed_out:
            print(f"   FAIL  liveness: the driver could not finish {args.ops} ops within {args.max_drive:.0f}s "
                  f"(done {driver.ops_done}; retries {dict(driver.retried)})")
        ok = all(line.passed for line in lines) and not fault_error and not driver.timed_out
        result.update({"ok": ok, "timed_out": driver.timed_out, "ops_done": driver.ops_done, "requests": driver.http_sent,
                       "ambiguous": driver.ambiguous, "faults": [w for _, w in faults.events],
                       "crashes": crashes, "drive_s": round(drive_s, 1), "quiet_s": round(quiet_s, 1),
                       "invariants": {line.name: {"ok": line.ok, "known": line.known if not line.ok else None, "figures": line.figures,
                                                  "problems": line.problems[:20]} for line in lines}})
    except BaseException as e:  # noqa: BLE001 - report, clean up, fail
        log(f"run broke: {e!r}")
        result["error"] = repr(e)
        import traceback
        traceback.print_exc()
    finally:
        stop_supervisor.set()
        if driver is not None and args.requests_log:
            driver.stop_flag.set()
            driver.dump(args.requests_log)
        system.close()
        result["total_s"] = round(time.monotonic() - t_start, 1)
        print(f"   {'PASS' if result['ok'] else 'FAIL'} {scenario.name} in {result['total_s']:.0f}s", flush=True)
        if args.report:
            with open(args.report, "a") as f:
                f.write(json.dumps(result) + "\n")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
