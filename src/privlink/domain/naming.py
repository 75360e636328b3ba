"""How privlink names what it makes in a cloud, so a crash at any instant never leaks.

Every resource carries the tag of the object it belongs to (`finder_tags`), which is how
a later step finds it again (and adopts it); creates carry a client token derived from the
object's ID, the resource, and the object's incarnation (bumped when a resource vanished
and must be made anew), so a create retried after a crash returns the same resource.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum


class Kind(StrEnum):
    """What a cloud resource belongs to: the value part of its finder tag's key."""

    privatelink = "privatelink"  # an inbound PrivateLink: target groups, NLB, endpoint service
    outbound = "outbound"  # an outbound link: the interface endpoint in the deployment's VPC
    deployment = "deployment"  # a deployment's VPC (outbound links live there)
    project_vpc = "project-vpc"  # a project VPC's platform network


class Resource(StrEnum):
    """The kinds of cloud resource privlink makes and finds by tag (`find_by_tags`)."""

    target_group = "target-group"
    load_balancer = "load-balancer"
    endpoint_service = "endpoint-service"
    endpoint = "endpoint"


PREFIX = "privlink:"
OBJECT_TAG = PREFIX + "object"  # "<kind>/<id>", for people reading the cloud console
PROJECT_TAG = PREFIX + "project"  # the tenant, for cost allocation
UNIT_TAG = PREFIX + "unit"  # which unit of a PrivateLink a target group serves


def tag_key(kind: Kind) -> str:
    """The tag whose value is the owning object's ID (or a network's key)."""
    return PREFIX + kind.value


def finder_tags(kind: Kind, object_id: str) -> dict[str, str]:
    """The tags a step searches by to find the object's resources again."""
    return {tag_key(kind): object_id}


def created_tags(kind: Kind, object_id: str, project: str) -> dict[str, str]:
    """The tags every resource is created with: the finder tag plus who and what it is."""
    return {
        **finder_tags(kind, object_id),
        OBJECT_TAG: f"{kind.value}/{object_id}",
        PROJECT_TAG: project,
    }


def client_token(object_id: str, incarnation: int, *resource: str) -> str:
    """The idempotency token of one create: the same object, resource and incarnation
    always give the same token (at most 64 characters, as AWS allows)."""
    raw = "/".join((object_id, *resource, str(incarnation)))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def target_group_name(object_id: str, port: int) -> str:
    """An inbound PrivateLink's target group for the unit on `port` (ELBv2: ≤ 32 chars)."""
    return f"pl-{object_id[:8]}-{port}"


def load_balancer_name(object_id: str) -> str:
    """An inbound PrivateLink's network load balancer (ELBv2: ≤ 32 characters)."""
    return f"pl-{object_id[:8]}"
