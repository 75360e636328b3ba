"""The driver contract, case by case, on both drivers (see conftest.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

from privlink.cloud import contract as c
from privlink.domain import dns
from privlink.domain.cloud import HealthCheck
from privlink.domain.errors import Conflict, InvalidInput, NotFound
from tests.contract.conftest import AZS, REGION, Side

CHECK = HealthCheck(interval=5, timeout=5, healthy_threshold=2, unhealthy_threshold=2, port=8081)
TAGS = {"privlink:privatelink": "obj-1", "privlink:project": "alpha"}


def target_group(side: Side, name: str = "pl-obj1-10000", tags: dict[str, str] = TAGS) -> Any:
    return side.driver.create_target_group(
        name=name,
        port=8080,
        health_check=CHECK,
        proxy_protocol_v2=False,
        tags=tags,
        client_token=f"tok-{name}",
        vpc_id=side.vpc_id,
    )


def published(side: Side) -> tuple[c.LoadBalancer, c.EndpointService]:
    """A target group, an NLB in the first two AZs with a listener, an endpoint service."""
    tg = target_group(side)
    lb = side.driver.create_load_balancer(
        name="pl-obj1", subnet_ids=[s.id for s in side.subnets[:2]], tags=TAGS, client_token="lb"
    )
    side.driver.create_listener(load_balancer_arn=lb.arn, port=10000, target_group_arn=tg.arn)
    service = side.driver.create_endpoint_service(
        load_balancer_arns=[lb.arn], acceptance_required=True, tags=TAGS, client_token="svc"
    )
    return lb, service


class TestNetworks:
    def test_a_network_is_made_once_with_a_subnet_per_az(self, side: Side) -> None:
        again = side.platform.project_network(REGION, "contract", "10.0.0.0/24", AZS)
        assert again == side.vpc_id
        assert sorted(s.az_id for s in side.subnets) == list(AZS)
        assert all(s.vpc_id == side.vpc_id for s in side.subnets)


class TestTargetGroups:
    def test_create_register_health_deregister_delete(self, side: Side) -> None:
        tg = target_group(side)
        assert (tg.name, tg.port, tg.health_check.port) == ("pl-obj1-10000", 8080, 8081)
        side.driver.register_targets(
            tg.arn, [c.Target("10.0.0.5", 8080), c.Target("10.0.0.6", 8080)]
        )
        health = side.driver.describe_target_health(tg.arn)
        assert sorted(v.target.host for v in health) == ["10.0.0.5", "10.0.0.6"]
        assert {v.state for v in health} <= {"initial", "healthy", "unhealthy", "unused"}
        side.driver.deregister_targets(tg.arn, [c.Target("10.0.0.6", 8080)])
        live = [
            v.target.host
            for v in side.driver.describe_target_health(tg.arn)
            if v.state != "draining"
        ]
        assert live == ["10.0.0.5"]
        assert side.driver.find_by_tags("target-group", {"privlink:privatelink": "obj-1"}) == [
            tg.arn
        ]
        side.driver.delete_target_group(tg.arn)
        assert side.driver.find_by_tags("target-group", {"privlink:privatelink": "obj-1"}) == []

    def test_found_by_name_while_the_tag_search_lags(self, side: Side) -> None:
        """AWS's tagging API is eventually consistent: a fresh target group may be missing
        from it for a while. Its names make the lookup consistent; a same-named group of
        another owner is not taken, an unknown name is skipped."""
        tg = target_group(side)
        other = target_group(side, "pl-obj2-10000", {**TAGS, "privlink:privatelink": "obj-2"})
        if side.name == "aws":  # the tag index has not caught up with these creates yet
            side.driver.tagging.meta.events.register(  # type: ignore[attr-defined]
                "before-call.*.GetResources", _no_tagged_resources
            )
            assert side.driver.find_by_tags("target-group", TAGS) == []
        names = ["pl-obj1-10000", "pl-obj2-10000", "pl-obj1-10001"]
        assert side.driver.find_by_tags("target-group", TAGS, names=names) == [tg.arn]
        side.driver.delete_target_group(tg.arn)
        assert side.driver.find_by_tags("target-group", TAGS, names=names) == []
        assert other.arn not in side.driver.find_by_tags("target-group", TAGS, names=names)


def _no_tagged_resources(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
    """A GetResources answer that lists nothing (a lagging tag index)."""
    return AWSResponse("", 200, {}, None), {"ResourceTagMappingList": []}


class TestLoadBalancers:
    def test_internal_nlb_in_given_subnets_with_listeners(self, side: Side) -> None:
        tg = target_group(side)
        lb = side.driver.create_load_balancer(
            name="pl-obj1",
            subnet_ids=[s.id for s in side.subnets[:2]],
            tags=TAGS,
            client_token="lb",
        )
        assert lb.az_ids == AZS[:2]
        assert sorted(lb.subnet_ids) == sorted(s.id for s in side.subnets[:2])
        listener = side.driver.create_listener(
            load_balancer_arn=lb.arn, port=10000, target_group_arn=tg.arn
        )
        assert [
            (li.port, li.target_group_arn) for li in side.driver.describe_listeners(lb.arn)
        ] == [(10000, tg.arn)]
        side.driver.delete_listener(listener.arn)
        assert side.driver.describe_listeners(lb.arn) == []
        assert side.driver.find_by_tags("load-balancer", TAGS) == [lb.arn]
        side.driver.delete_load_balancer(lb.arn)
        assert side.driver.find_by_tags("load-balancer", TAGS) == []


class TestEndpointServices:
    def test_service_permissions_lookup_and_delete(self, side: Side) -> None:
        lb, service = published(side)
        assert re.fullmatch(r"vpce-svc-[0-9a-f]+", service.id)
        assert re.fullmatch(rf"com\.[a-z]+\.vpce\.{REGION}\.{service.id}", service.name)
        assert service.acceptance_required
        assert service.az_ids == lb.az_ids
        principal = "arn:aws:iam::210987654321:role/consumer"
        side.driver.modify_endpoint_service_permissions(service.id, add=[principal])
        assert side.driver.describe_endpoint_service(service.id).principals == (principal,)
        side.driver.modify_endpoint_service_permissions(service.id, remove=[principal])
        assert side.driver.describe_endpoint_service(service.id).principals == ()
        found = side.driver.find_endpoint_service(service.name)
        assert found is not None
        assert (found.id, found.az_ids) == (service.id, service.az_ids)
        unknown = f"com.amazonaws.vpce.{REGION}.vpce-svc-0123456789abcdef0"
        assert side.driver.find_endpoint_service(unknown) is None
        assert side.driver.find_by_tags("endpoint-service", TAGS) == [service.id]
        assert side.driver.find_by_tags("endpoint-service", {"privlink:privatelink": "other"}) == []
        side.driver.delete_endpoint_service(service.id)
        assert side.driver.find_by_tags("endpoint-service", TAGS) == []
        assert side.driver.find_endpoint_service(service.name) is None

    def test_unknown_service_is_not_found(self, side: Side) -> None:
        with pytest.raises(NotFound):
            side.driver.describe_endpoint_service("vpce-svc-0123456789abcdef0")


class TestEndpoints:
    def test_endpoint_in_the_service_azs_found_by_tag_and_deleted(self, side: Side) -> None:
        _lb, service = published(side)
        me = side.platform.principal("privlink-alpha-svc")
        side.driver.modify_endpoint_service_permissions(service.id, add=[me])
        endpoint = side.platform.driver(REGION, me).create_endpoint(
            vpc_id=side.vpc_id,
            service_name=service.name,
            subnet_ids=[side.subnets[0].id],
            security_group_ids=(),
            tags={"privlink:outbound": "plo1"},
            client_token="ep-1",
        )
        assert re.fullmatch(r"vpce-[0-9a-f]+", endpoint.id)
        assert endpoint.state in ("pendingAcceptance", "available")
        seen = side.driver.describe_endpoint(endpoint.id)
        assert [a.az_id for a in seen.addresses] == [AZS[0]]
        assert seen.tags["privlink:outbound"] == "plo1"
        assert side.driver.find_by_tags("endpoint", {"privlink:outbound": "plo1"}) == [endpoint.id]
        side.driver.delete_endpoint(endpoint.id)
        assert side.driver.find_by_tags("endpoint", {"privlink:outbound": "plo1"}) == []


def _stub(side: Side) -> Stubber:
    stubber = Stubber(side.driver.ec2)  # type: ignore[attr-defined]
    stubber.activate()
    return stubber


class TestConnections:
    """moto lacks these APIs: the AWS side answers from AWS's documented shapes."""

    def test_connections_listed_accepted_and_rejected(self, side: Side) -> None:
        _lb, service = published(side)
        if side.name == "local":
            local = side.driver
            consumer = side.platform.principal("consumer")
            local.modify_endpoint_service_permissions(service.id, add=[consumer])
            made = [
                side.platform.driver(REGION, consumer).create_endpoint(
                    vpc_id=side.vpc_id,
                    service_name=service.name,
                    subnet_ids=[side.subnets[0].id],
                    security_group_ids=(),
                    tags={},
                    client_token=f"c{i}",
                )
                for i in range(2)
            ]
            first, second = made[0].id, made[1].id
        else:
            first, second = "vpce-0a1b2c3d4e5f60718", "vpce-0a1b2c3d4e5f60719"
            stubber = _stub(side)
            listed = {
                "VpcEndpointConnections": [
                    {
                        "ServiceId": service.id,
                        "VpcEndpointId": ep,
                        "VpcEndpointOwner": "123456789012",
                        "VpcEndpointState": "pendingAcceptance",
                        "DnsEntries": [
                            {"DnsName": f"{ep}.{service.id}.{REGION}.vpce.amazonaws.com"}
                        ],
                    }
                    for ep in (first, second)
                ]
            }
            filters = [{"Name": "service-id", "Values": [service.id]}]
            stubber.add_response("describe_vpc_endpoint_connections", listed, {"Filters": filters})
            stubber.add_response(
                "accept_vpc_endpoint_connections",
                {"Unsuccessful": []},
                {"ServiceId": service.id, "VpcEndpointIds": [first]},
            )
            stubber.add_response(
                "reject_vpc_endpoint_connections",
                {"Unsuccessful": []},
                {"ServiceId": service.id, "VpcEndpointIds": [second]},
            )
            after = {"VpcEndpointConnections": [dict(c) for c in listed["VpcEndpointConnections"]]}
            after["VpcEndpointConnections"][0]["VpcEndpointState"] = "available"
            after["VpcEndpointConnections"][1]["VpcEndpointState"] = "rejected"
            stubber.add_response("describe_vpc_endpoint_connections", after, {"Filters": filters})
            stubber.add_response(
                "delete_vpc_endpoint_service_configurations",
                {
                    "Unsuccessful": [
                        {
                            "ResourceId": service.id,
                            "Error": {
                                "Code": "ExistingVpcEndpointConnections",
                                "Message": "Service has existing active VPC Endpoint connections!",
                            },
                        }
                    ]
                },
                {"ServiceIds": [service.id]},
            )
        connections = side.driver.describe_endpoint_connections(service.id)
        assert [(e.id, e.state) for e in connections] == [
            (first, "pendingAcceptance"),
            (second, "pendingAcceptance"),
        ]
        assert all(e.owner for e in connections)
        side.driver.accept_endpoint_connections(service.id, [first])
        side.driver.reject_endpoint_connections(service.id, [second])
        states = {e.id: e.state for e in side.driver.describe_endpoint_connections(service.id)}
        assert states[first] in ("pending", "available")
        assert states[second] == "rejected"
        with pytest.raises(Conflict):  # live connections: AWS refuses the delete
            side.driver.delete_endpoint_service(service.id)


class TestClientTokens:
    def test_a_create_carries_its_client_token_and_repeats_return_the_same(
        self, side: Side
    ) -> None:
        lb, service = published(side)
        if side.name == "local":
            again = side.driver.create_endpoint_service(
                load_balancer_arns=[lb.arn], acceptance_required=True, tags=TAGS, client_token="svc"
            )
            assert again.id == service.id
            return
        stubber = _stub(side)  # moto ignores ClientToken: check that AWS is sent it
        answer = {
            "ServiceConfiguration": {
                "ServiceId": service.id,
                "ServiceName": service.name,
                "ServiceState": "Available",
                "AcceptanceRequired": True,
                "NetworkLoadBalancerArns": [lb.arn],
            },
            "ClientToken": "svc",
        }
        stubber.add_response(
            "create_vpc_endpoint_service_configuration",
            answer,
            {
                "AcceptanceRequired": True,
                "NetworkLoadBalancerArns": [lb.arn],
                "SupportedIpAddressTypes": ["ipv4"],
                "ClientToken": "svc",
                "TagSpecifications": [
                    {
                        "ResourceType": "vpc-endpoint-service",
                        "Tags": [{"Key": k, "Value": v} for k, v in TAGS.items()],
                    }
                ],
            },
        )
        again = side.driver.create_endpoint_service(
            load_balancer_arns=[lb.arn], acceptance_required=True, tags=TAGS, client_token="svc"
        )
        assert again.id == service.id
        stubber.assert_no_pending_responses()


ZONE = "pl.privlink.example"


class TestDns:
    """The platform zone's records: what connection names are published with."""

    def test_zone_is_made_once_and_found_again(self, side: Side) -> None:
        zone_id = side.driver.dns_zone(ZONE)
        assert side.driver.dns_zone(ZONE + ".") == zone_id
        fresh = side.platform.driver(REGION)  # another handle finds the same zone
        assert fresh.dns_zone(ZONE) == zone_id

    def test_records_are_upserted_listed_by_subtree_and_deleted(self, side: Side) -> None:
        zone_id = side.driver.dns_zone(ZONE)
        a = dns.Record(f"plc0123456789a.kafka.demo.{ZONE}", "A", ("127.64.1.10", "127.64.2.10"))
        node = dns.Record(f"kafka-0.plc0123456789a.kafka.demo.{ZONE}", "A", ("127.64.1.10",))
        other = dns.Record(f"plc0123456789b.kafka-x.demo.{ZONE}", "A", ("127.64.3.10",))
        txt = dns.Record(f"_check.kafka.demo.{ZONE}", "TXT", ("hello world",))
        side.driver.change_dns_records(zone_id, upsert=[a, node, other, txt])
        assert side.driver.dns_records(zone_id, f"kafka.demo.{ZONE}") == sorted([a, node, txt])
        moved = dns.Record(a.name, "A", ("127.64.9.10",))
        side.driver.change_dns_records(zone_id, upsert=[moved])  # an upsert replaces
        assert side.driver.dns_records(zone_id, a.name) == sorted([moved, node])
        side.driver.change_dns_records(zone_id, delete=[moved, node, txt])
        assert side.driver.dns_records(zone_id, f"kafka.demo.{ZONE}") == []
        assert side.driver.dns_records(zone_id, f"demo.{ZONE}") == [other]

    def test_a_delete_of_a_record_already_gone_counts_as_done(self, side: Side) -> None:
        zone_id = side.driver.dns_zone(ZONE)
        a = dns.Record(f"plc0123456789a.pg.demo.{ZONE}", "A", ("127.64.1.10",))
        b = dns.Record(f"plc0123456789b.pg.demo.{ZONE}", "A", ("127.64.1.11",))
        side.driver.change_dns_records(zone_id, upsert=[a])
        side.driver.change_dns_records(zone_id, delete=[a])
        side.driver.change_dns_records(zone_id, upsert=[b], delete=[a])
        assert side.driver.dns_records(zone_id, f"pg.demo.{ZONE}") == [b]

    def test_a_record_outside_the_zone_is_refused_and_nothing_changes(self, side: Side) -> None:
        zone_id = side.driver.dns_zone(ZONE)
        inside = dns.Record(f"plc0123456789a.pg.demo.{ZONE}", "A", ("127.64.1.10",))
        outside = dns.Record("pg.demo.elsewhere.example", "A", ("127.64.1.10",))
        with pytest.raises(InvalidInput):
            side.driver.change_dns_records(zone_id, upsert=[inside, outside])
        assert side.driver.dns_records(zone_id, ZONE) == []
