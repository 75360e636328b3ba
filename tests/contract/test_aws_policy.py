"""The IAM policy in docs/aws.md allows every action the AWS driver can call."""

from __future__ import annotations

import json
import re
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[2]
DRIVER = ROOT / "src" / "privlink" / "cloud" / "aws.py"
# The driver's client attribute -> (boto3 client, IAM service prefix).
CLIENTS = {
    "ec2": ("ec2", "ec2"),
    "elbv2": ("elbv2", "elasticloadbalancing"),
    "sts": ("sts", "sts"),
    "tagging": ("resourcegroupstaggingapi", "tag"),
    "route53": ("route53", "route53"),
}


def policy_actions() -> set[str]:
    text = (ROOT / "docs" / "aws.md").read_text()
    block = re.search(r"```json\n(.*?)```", text, re.S)
    assert block is not None, "docs/aws.md has no JSON policy"
    policy = json.loads(block.group(1))
    actions: set[str] = set()
    for statement in policy["Statement"]:
        listed = statement["Action"]
        actions |= {listed} if isinstance(listed, str) else set(listed)
    return actions


def driver_actions() -> set[str]:
    """Every `self.ec2.x(…)`, `_pages(self.elbv2, "x", …)`, `sts.x` call in the driver."""
    source = DRIVER.read_text()
    calls = set(re.findall(r"\b(ec2|elbv2|sts|tagging|route53)\.([a-z_]+)\b", source))
    calls |= set(re.findall(r'_pages\(\s*self\.(ec2|elbv2|tagging|route53),\s*"([a-z_]+)"', source))
    actions = set()
    for attribute, method in calls:
        client_name, prefix = CLIENTS[attribute]
        client = boto3.client(client_name, region_name="eu-west-1")
        api = client.meta.method_to_api_mapping.get(method)
        if api is not None:  # not an API call (e.g. get_paginator)
            actions.add(f"{prefix}:{api}")
    return actions


def test_the_policy_allows_every_call_of_the_driver() -> None:
    calls = driver_actions()
    assert len(calls) > 30  # the scan found the calls
    missing = sorted(calls - policy_actions())
    assert missing == [], f"docs/aws.md's policy lacks {missing}"


def test_the_policy_has_nothing_the_driver_does_not_need() -> None:
    implied = {  # needed by AWS for what the driver does, not called by name
        "ec2:CreateTags",
        "elasticloadbalancing:AddTags",
        "iam:CreateServiceLinkedRole",
    }
    extra = sorted(policy_actions() - driver_actions() - implied)
    assert extra == [], f"docs/aws.md's policy allows unused {extra}"
