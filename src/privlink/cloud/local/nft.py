"""Kernel-mode forwarding: one nftables table of privlink's own, the way kube-proxy works.

For each endpoint address:port, DNAT spreads new connections over the healthy
targets with `numgen`; with no healthy target, or a source its security groups
do not allow, the connection is reset. Addresses of deleted or rejected
endpoints are reset too, and their conntrack entries flushed, so live
connections end. The whole table is replaced in one `nft -f` transaction, so a
rewrite is atomic.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from privlink.cloud.contract import Target

TABLE = "privlink"


@dataclass(frozen=True)
class KernelRoute:
    address: str
    port: int
    targets: tuple[Target, ...]
    ingress: tuple[tuple[str, int, int], ...]


class NftError(Exception):
    """nft refused a ruleset or could not run."""


def available() -> tuple[bool, str]:
    """Whether kernel mode can run here, and if not, why."""
    if shutil.which("nft") is None:
        return False, "nft is not installed (Debian package nftables)"
    probe = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return False, f"nft cannot be used ({probe.stderr.strip() or 'needs CAP_NET_ADMIN'})"
    return True, ""


def _guard_rules(route: KernelRoute) -> list[str]:
    match = f"ip daddr {route.address} tcp dport {route.port}"
    if not route.targets:
        return [f"{match} reject with tcp reset"]
    if not route.ingress:
        return []
    sources = sorted({cidr for cidr, low, high in route.ingress if low <= route.port <= high})
    if not sources:
        return [f"{match} reject with tcp reset"]
    return [f"{match} ip saddr != {{ {', '.join(sources)} }} reject with tcp reset"]


def _dnat_rule(route: KernelRoute) -> str | None:
    if not route.targets:
        return None
    entries = ", ".join(f"{i} : {t.host} . {t.port}" for i, t in enumerate(route.targets))
    return (
        f"ip daddr {route.address} tcp dport {route.port} "
        f"dnat ip to numgen inc mod {len(route.targets)} map {{ {entries} }}"
    )


def render(routes: Sequence[KernelRoute], retired: Iterable[str]) -> str:
    """The whole table as one nft script that replaces any previous version."""
    guard = [rule for route in routes for rule in _guard_rules(route)]
    dnat = [rule for route in routes if (rule := _dnat_rule(route))]
    retired_list = sorted(set(retired))
    lines = [f"table ip {TABLE} {{}}", f"delete table ip {TABLE}", f"table ip {TABLE} {{"]
    elements = f" elements = {{ {', '.join(retired_list)} }};" if retired_list else ""
    lines.append(f"  set retired {{ type ipv4_addr;{elements} }}")
    for hook, priority in (("output", -150), ("prerouting", -150)):
        lines += [
            f"  chain guard_{hook} {{",
            f"    type filter hook {hook} priority {priority}; policy accept;",
            "    ip daddr @retired meta l4proto tcp reject with tcp reset",
            *(f"    {rule}" for rule in guard),
            "  }",
        ]
    for hook in ("output", "prerouting"):
        lines += [
            f"  chain dnat_{hook} {{",
            f"    type nat hook {hook} priority -100; policy accept;",
            *(f"    {rule}" for rule in dnat),
            "  }",
        ]
    lines.append("}")
    return "\n".join(lines) + "\n"


def apply(script: str) -> None:
    result = subprocess.run(
        ["nft", "-f", "-"], input=script, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise NftError(result.stderr.strip())


def remove() -> None:
    subprocess.run(["nft", "delete", "table", "ip", TABLE], capture_output=True, check=False)


def flush_conntrack(addresses: Iterable[str]) -> None:
    """Forget the NAT state of connections to these addresses."""
    if shutil.which("conntrack") is None:
        return
    for address in addresses:
        subprocess.run(
            ["conntrack", "-D", "-p", "tcp", "-d", address], capture_output=True, check=False
        )


def count_connections(addresses: Iterable[str]) -> int:
    """Established TCP connections whose original destination is one of the addresses."""
    if shutil.which("conntrack") is None:
        return 0
    total = 0
    for address in addresses:
        listed = subprocess.run(
            ["conntrack", "-L", "-p", "tcp", "-d", address, "--state", "ESTABLISHED"],
            capture_output=True,
            text=True,
            check=False,
        )
        total += sum(1 for line in listed.stdout.splitlines() if line.startswith("tcp"))
    return total
