#!/usr/bin/env python3
"""scripts/stack.py stop is bounded: a throwaway stack is discarded, not shut down
politely. A broker that does not act on SIGTERM (here: SIGSTOPped; on CI: slow under
load) must not hold the stop past the ctest fixture's timeout.

    stack_stop_test.py <repo root>
"""
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STOP_BOUND_S = 15


def main() -> int:
    root = Path(sys.argv[1])
    stack_py = root / "scripts" / "stack.py"
    with tempfile.TemporaryDirectory(prefix="paypipe-stack-stop-") as tmp:
        stack_dir = Path(tmp) / "stack"
        subprocess.run([sys.executable, str(stack_py), "start", "--dir", str(stack_dir)], check=True,
                       stdout=subprocess.DEVNULL)
        import json
        state = json.loads((stack_dir / "stack.json").read_text())
        broker = state["kafka"]["nodes"][0]["pid"]
        postmaster = state["postgres"]["pid"]
        os.kill(broker, signal.SIGSTOP)
        started = time.monotonic()
        try:
            subprocess.run([sys.executable, str(stack_py), "stop", "--dir", str(stack_dir)], check=True,
                           timeout=120)
        finally:
            took = time.monotonic() - started
            for pid in (broker, postmaster):  # whatever a failed stop left
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        failures = []
        if took > STOP_BOUND_S:
            failures.append(f"stop took {took:.1f} s (bound {STOP_BOUND_S} s)")
        for name, pid in (("broker", broker), ("postmaster", postmaster)):
            if Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]:
                failures.append(f"{name} {pid} still running")
        if stack_dir.exists():
            failures.append(f"{stack_dir} left behind")
        for f in failures:
            print("FAIL:", f)
        print(f"stack stop took {took:.1f} s")
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
