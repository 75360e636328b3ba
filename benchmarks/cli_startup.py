"""How long `privlink --help` takes, beside a bare `python -c pass`, in one run.

Run with `make bench-cli`. Prints median and p90 wall time over N runs.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 30
PRIVLINK = str(Path(sys.executable).with_name("privlink"))


def measure(command: list[str]) -> list[float]:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return sorted(times)


def main() -> None:
    rows = {
        "python -c pass": measure([sys.executable, "-c", "pass"]),
        "privlink --help": measure([PRIVLINK, "--help"]),
        "privlink cloud --help": measure([PRIVLINK, "cloud", "--help"]),
        "privlink admin --help": measure([PRIVLINK, "admin", "--help"]),
    }
    base = statistics.median(rows["python -c pass"])
    print(f"{'command':<24}{'median ms':>10}{'p90 ms':>10}{'vs python':>11}   ({RUNS} runs)")
    for name, times in rows.items():
        median = statistics.median(times)
        p90 = times[int(len(times) * 0.9) - 1]
        print(f"{name:<24}{median * 1000:>10.1f}{p90 * 1000:>10.1f}{median / base:>10.1f}x")


if __name__ == "__main__":
    main()
