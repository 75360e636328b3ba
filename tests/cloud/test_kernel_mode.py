"""The same behaviour suite in kernel mode, inside a network namespace made for it.

The namespace is created with `unshare --net`; nftables rules and conntrack
entries live and die with it, so the host's ruleset is never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from privlink.cloud.local import nft

ROOT = Path(__file__).resolve().parents[2]


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "kernel mode needs root (CAP_NET_ADMIN) to create a network namespace"
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is missing"
    ok, why = nft.available()
    return None if ok else why + "; `make test` installs nftables and conntrack"


def _host_tables() -> str:
    return subprocess.run(
        ["nft", "list", "tables"], capture_output=True, text=True, check=False
    ).stdout


@pytest.mark.slow
def test_behaviour_suite_passes_in_kernel_mode() -> None:
    """Every data-plane behaviour test also passes with nftables doing the forwarding."""
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    before = _host_tables()
    script = (
        f"ip link set lo up && exec {sys.executable} -m pytest "
        # With worker processes only, as `privlink serve` runs: in kernel mode only
        # Proxy Protocol routes forward in userspace, and the in-process forwarder
        # runs the whole suite in userspace mode already.
        "tests/cloud/test_dataplane.py -q -p no:cacheprovider -o addopts='' -k 'not in-process'"
    )
    result = subprocess.run(
        ["unshare", "--net", "--", "sh", "-c", script],
        cwd=ROOT,
        env={**os.environ, "PRIVLINK_TEST_DATAPLANE": "kernel"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    tail = result.stdout[-4000:] + result.stderr[-2000:]
    assert result.returncode == 0, tail
    assert " passed" in result.stdout.splitlines()[-1], tail
    assert _host_tables() == before  # nothing leaked into the host's ruleset
