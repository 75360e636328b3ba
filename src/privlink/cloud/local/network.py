"""Loopback addressing: each VPC owns 127.<64+n>.0.0/16, each subnet a /24 inside it."""

from __future__ import annotations

import ipaddress

FIRST_OCTET = 64
MAX_VPCS = 254 - FIRST_OCTET + 1
MAX_SUBNETS = 255
MAX_HOSTS = 250
# VPC ranges only the platform's own accounts (project VPCs, deployments) may take, so
# tenants together can never starve them.
PLATFORM_RESERVE = 64


def vpc_range(net_index: int) -> str:
    return f"127.{FIRST_OCTET + net_index}.0.0/16"


def subnet_range(vpc_index: int, subnet_index: int) -> str:
    return f"127.{FIRST_OCTET + vpc_index}.{subnet_index}.0/24"


def host_address(vpc_index: int, subnet_index: int, host: int) -> str:
    return f"127.{FIRST_OCTET + vpc_index}.{subnet_index}.{host}"


def cidr(value: str) -> str:
    """A normalised IPv4 CIDR, or ValueError with what is accepted."""
    try:
        return str(ipaddress.IPv4Network(value, strict=False))
    except ValueError as error:
        raise ValueError(f"{value!r} is not an IPv4 CIDR such as 10.0.0.0/16 ({error})") from None
