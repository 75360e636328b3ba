"""How long `privlink … --help` takes, beside a bare `python -c pass`, in one run.

Run with `make bench-cli`. Prints median and p90 wall time over N runs, quiet and then
with a CPU burner on every core. Help pages are kept in a cache (privlink.help_cache);
"first run" rows clear it before every run, so they show the full start-up.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

RUNS = 30
PRIVLINK = str(Path(sys.executable).with_name("privlink"))


def measure(command: list[str], env: dict[str, str], fresh_cache: str | None = None) -> list[float]:
    times = []
    for _ in range(RUNS):
        if fresh_cache:
            shutil.rmtree(fresh_cache, ignore_errors=True)
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - started)
    return sorted(times)


def _burn(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


@contextlib.contextmanager
def busy(workers: int) -> Iterator[None]:
    """Every core kept busy by a process of ours (ended when the block ends)."""
    procs = [multiprocessing.Process(target=_burn, args=(600,)) for _ in range(workers)]
    for proc in procs:
        proc.start()
    try:
        yield
    finally:
        for proc in procs:
            proc.terminate()
            proc.join()


def table(title: str, env: dict[str, str], cache: str) -> None:
    rows = {
        "python -c pass": measure([sys.executable, "-c", "pass"], env),
        "privlink --help": measure([PRIVLINK, "--help"], env),
        "privlink cloud --help": measure([PRIVLINK, "cloud", "--help"], env),
        "privlink admin --help": measure([PRIVLINK, "admin", "--help"], env),
        "privlink --help, first run": measure([PRIVLINK, "--help"], env, fresh_cache=cache),
    }
    base = statistics.median(rows["python -c pass"])
    print(f"\n{title}")
    print(f"{'command':<28}{'median ms':>10}{'p90 ms':>10}{'vs python':>11}   ({RUNS} runs)")
    for name, times in rows.items():
        median = statistics.median(times)
        p90 = times[int(len(times) * 0.9) - 1]
        print(f"{name:<28}{median * 1000:>10.1f}{p90 * 1000:>10.1f}{median / base:>10.1f}x")


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "XDG_CACHE_HOME": home}
        cache = os.path.join(home, "privlink")
        table("quiet machine", env, cache)
        with busy(os.cpu_count() or 1):
            table(f"with {os.cpu_count()} CPU burners beside it", env, cache)


if __name__ == "__main__":
    main()
