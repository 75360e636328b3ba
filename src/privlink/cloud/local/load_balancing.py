"""Local cloud: target groups (and their targets' health), network load balancers and
their listeners."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from privlink.cloud import contract as c
from privlink.cloud.local.account import AccountBase
from privlink.cloud.local.network import vpc_range
from privlink.cloud.local.views import clean_tags, hex_id, lb_view, listener_view, tg_view
from privlink.domain import cloud as rules
from privlink.domain import validation
from privlink.domain.errors import Conflict, InvalidInput, NotFound
from privlink.domain.paging import Page
from privlink.store.base import utcnow
from privlink.store.cloud_tables import (
    LcAccount,
    LcEndpointService,
    LcListener,
    LcLoadBalancer,
    LcSubnet,
    LcTarget,
    LcTargetGroup,
    LcVpc,
)


class LoadBalancing(AccountBase):
    def create_target_group(
        self,
        *,
        name: str,
        port: int,
        health_check: rules.HealthCheck | None = None,
        proxy_protocol_v2: bool = False,
        tags: c.Tags | None = None,
        client_token: str | None = None,
        deregistration_delay: float = 300.0,
        vpc_id: str | None = None,  # targets are checked against the account's VPCs
    ) -> c.TargetGroup:
        hc = health_check or rules.HealthCheck()
        if not 1 <= port <= 65535:
            raise InvalidInput(f"Target group port {port}: accepted 1-65535")
        validation.elb_name(name, "target group")
        with self._tx() as s:
            if (found := self._by_token(s, LcTargetGroup, client_token)) is not None:
                return tg_view(found)
            self._check_name_free(s, LcTargetGroup, name, "target group")
            self._within_quota(s, LcTargetGroup, "target groups")
            tg = LcTargetGroup(
                arn=self._arn("targetgroup", f"{name}/{hex_id(16)}"),
                name=name,
                account_id=self.account_id,
                region=self.region,
                port=port,
                hc_interval=hc.interval,
                hc_timeout=hc.timeout,
                hc_healthy_threshold=hc.healthy_threshold,
                hc_unhealthy_threshold=hc.unhealthy_threshold,
                hc_port=hc.port,
                deregistration_delay=deregistration_delay,
                proxy_protocol_v2=proxy_protocol_v2,
                tags=clean_tags(tags),
                client_token=client_token,
            )
            s.add(tg)
            return tg_view(tg)

    def describe_target_groups(self, page: Page | None = None) -> list[c.TargetGroup]:
        with self._tx() as s:
            query = self._paged(self._regional(LcTargetGroup), LcTargetGroup.arn, page)
            return [tg_view(tg) for tg in s.scalars(query)]

    def target_group_arn(self, name: str) -> str:
        """The ARN of this account's target group named `name` (or whose ARN it is)."""
        with self._tx() as s:
            return str(self._named(s, LcTargetGroup, LcTargetGroup.arn, name, "Target group").arn)

    def register_targets(self, arn: str, targets: Sequence[c.Target]) -> None:
        with self._tx() as s:
            self._own(s, LcTargetGroup, arn, "Target group")
            reachable = self._reachable(s)
            held = s.scalar(select(func.count()).where(LcTarget.target_group_arn == arn)) or 0
            if reachable is not None and held + len(targets) > rules.MAX_TARGETS:
                raise Conflict(
                    f"A target group holds at most {rules.MAX_TARGETS} targets; "
                    f"it has {held}, {len(targets)} more asked for"
                )
            for target in targets:
                validation.target_host(target.host)
                if not 1 <= target.port <= 65535:
                    raise InvalidInput(f"Target port {target.port}: accepted 1-65535")
                if reachable is not None:
                    _check_reachable(target.host, reachable)
                row = s.scalar(
                    select(LcTarget).where(
                        LcTarget.target_group_arn == arn,
                        LcTarget.host == target.host,
                        LcTarget.port == target.port,
                    )
                )
                if row is None:
                    s.add(
                        LcTarget(
                            target_group_arn=arn,
                            host=target.host,
                            port=target.port,
                            state="initial",
                            reason="Elb.RegistrationInProgress",
                        )
                    )
                elif row.drain_until is not None:  # re-registered while draining
                    row.drain_until, row.state = None, "initial"

    def _reachable(self, s: Session) -> list[ipaddress.IPv4Network] | None:
        """Where a tenant's account may send traffic: its VPCs' addresses in this region
        and what the operator allows; None for the operator's and the server's own."""
        account = s.get(LcAccount, self.account_id)
        if account is None or account.project is None:
            return None
        vpcs = s.scalars(self._regional(LcVpc)).all()
        own = [ipaddress.IPv4Network(vpc_range(v.net_index)) for v in vpcs]
        return own + self.cloud.target_addresses

    def deregister_targets(self, arn: str, targets: Sequence[c.Target]) -> None:
        with self._tx() as s:
            tg = self._own(s, LcTargetGroup, arn, "Target group")
            for target in targets:
                row = s.scalar(
                    select(LcTarget).where(
                        LcTarget.target_group_arn == arn,
                        LcTarget.host == target.host,
                        LcTarget.port == target.port,
                    )
                )
                if row is not None and row.drain_until is None:
                    row.state, row.reason = "draining", "Target.DeregistrationInProgress"
                    row.drain_until = utcnow() + timedelta(seconds=tg.deregistration_delay)

    def describe_target_health(self, arn: str) -> list[c.TargetHealthView]:
        with self._tx() as s:
            self._own(s, LcTargetGroup, arn, "Target group")
            return self._target_health(s, arn)

    def _target_health(self, s: Session, arn: str) -> list[c.TargetHealthView]:
        used = (
            s.scalar(select(LcListener.arn).where(LcListener.target_group_arn == arn).limit(1))
            is not None
        )
        rows = s.scalars(
            select(LcTarget).where(LcTarget.target_group_arn == arn).order_by(LcTarget.id)
        ).all()
        return [
            c.TargetHealthView(
                target=c.Target(t.host, t.port),
                state=t.state if used or t.state == "draining" else "unused",
                reason=t.reason if used else "Target.NotInUse",
            )
            for t in rows
        ]

    def service_listeners(self, service_id: str) -> list[c.ServiceListener] | None:
        # The emulator sees every account; a consumer's validator may look behind the service.
        with self._tx() as s:
            svc = s.get(LcEndpointService, service_id)
            if svc is None:
                return []
            listeners = s.scalars(
                select(LcListener)
                .where(LcListener.load_balancer_arn.in_(svc.load_balancer_arns))
                .order_by(LcListener.port)
            ).all()
            result = []
            for listener in listeners:
                tg = s.get(LcTargetGroup, listener.target_group_arn)
                result.append(
                    c.ServiceListener(
                        port=listener.port,
                        target_group=tg.name if tg else listener.target_group_arn,
                        targets=tuple(self._target_health(s, listener.target_group_arn)),
                    )
                )
            return result

    def delete_target_group(self, arn: str) -> None:
        with self._tx() as s:
            tg = self._own(s, LcTargetGroup, arn, "Target group")
            if s.scalar(select(LcListener.arn).where(LcListener.target_group_arn == arn)):
                raise Conflict(
                    f"Target group {tg.name} is in use by a listener; delete the listener first"
                )
            s.delete(tg)

    # -- load balancers and listeners ------------------------------------
    def create_load_balancer(
        self,
        *,
        name: str,
        subnet_ids: Sequence[str],
        tags: c.Tags | None = None,
        client_token: str | None = None,
    ) -> c.LoadBalancer:
        validation.elb_name(name, "load balancer")
        if not subnet_ids:
            raise InvalidInput("A load balancer needs at least one subnet")
        with self._tx() as s:
            if (found := self._by_token(s, LcLoadBalancer, client_token)) is not None:
                return lb_view(found)
            subnets = [self._own(s, LcSubnet, sid, "Subnet") for sid in subnet_ids]
            azs = [sub.az_id for sub in subnets]
            if len(set(azs)) != len(azs):
                raise InvalidInput(
                    f"A load balancer takes at most one subnet per AZ; got AZ IDs {', '.join(azs)}"
                )
            self._check_name_free(s, LcLoadBalancer, name, "load balancer")
            self._within_quota(s, LcLoadBalancer, "load balancers")
            lb = LcLoadBalancer(
                arn=self._arn("loadbalancer", f"net/{name}/{hex_id(16)}"),
                name=name,
                account_id=self.account_id,
                region=self.region,
                subnet_ids=list(subnet_ids),
                az_ids=azs,
                state="active",
                tags=clean_tags(tags),
                client_token=client_token,
            )
            s.add(lb)
            return lb_view(lb)

    def describe_load_balancer(self, arn: str) -> c.LoadBalancer:
        with self._tx() as s:
            return lb_view(self._own(s, LcLoadBalancer, arn, "Load balancer"))

    def describe_load_balancers(self, page: Page | None = None) -> list[c.LoadBalancer]:
        with self._tx() as s:
            query = self._paged(self._regional(LcLoadBalancer), LcLoadBalancer.arn, page)
            return [lb_view(lb) for lb in s.scalars(query)]

    def load_balancer_arn(self, name: str) -> str:
        """The ARN of this account's load balancer named `name` (or whose ARN it is)."""
        with self._tx() as s:
            found = self._named(s, LcLoadBalancer, LcLoadBalancer.arn, name, "Load balancer")
            return str(found.arn)

    def delete_load_balancer(self, arn: str) -> None:
        with self._tx() as s:
            lb = self._own(s, LcLoadBalancer, arn, "Load balancer")
            services = [
                svc
                for svc in s.scalars(select(LcEndpointService))
                if arn in svc.load_balancer_arns and svc.state != "Deleted"
            ]
            if services:
                raise Conflict(
                    f"Load balancer {lb.name} is used by endpoint service "
                    f"{services[0].id}; delete the endpoint service first"
                )
            s.delete(lb)

    def create_listener(
        self, *, load_balancer_arn: str, port: int, target_group_arn: str
    ) -> c.Listener:
        if not 1 <= port <= 65535:
            raise InvalidInput(f"Listener port {port}: accepted 1-65535")
        with self._tx() as s:
            lb = self._own(s, LcLoadBalancer, load_balancer_arn, "Load balancer")
            self._own(s, LcTargetGroup, target_group_arn, "Target group")
            existing = s.scalar(
                select(LcListener).where(
                    LcListener.load_balancer_arn == load_balancer_arn, LcListener.port == port
                )
            )
            if existing is not None:
                if existing.target_group_arn == target_group_arn:
                    return listener_view(existing)  # the same listener again: idempotent
                raise Conflict(f"Load balancer {lb.name} already has a listener on port {port}")
            listener = LcListener(
                arn=lb.arn.replace(":loadbalancer/", ":listener/") + f"/{hex_id(16)}",
                load_balancer_arn=load_balancer_arn,
                port=port,
                target_group_arn=target_group_arn,
            )
            s.add(listener)
            return listener_view(listener)

    def describe_listeners(self, load_balancer_arn: str) -> list[c.Listener]:
        with self._tx() as s:
            self._own(s, LcLoadBalancer, load_balancer_arn, "Load balancer")
            return [
                listener_view(li)
                for li in s.scalars(
                    select(LcListener)
                    .where(LcListener.load_balancer_arn == load_balancer_arn)
                    .order_by(LcListener.port)
                )
            ]

    def delete_listener(self, arn: str) -> None:
        with self._tx() as s:
            listener = s.get(LcListener, arn)
            if listener is None:
                raise NotFound(f"Listener {arn!r} does not exist")
            self._own(s, LcLoadBalancer, listener.load_balancer_arn, "Load balancer")
            s.delete(listener)


def _check_reachable(host: str, reachable: list[ipaddress.IPv4Network]) -> None:
    """A tenant's target is an address inside its VPCs or the operator's allowed ranges,
    so its health checks and traffic reach nothing else on this host."""
    try:
        address = ipaddress.IPv4Address(host)
    except ValueError:
        address = None
    if address is None or not any(address in network for network in reachable):
        ranges = ", ".join(str(n) for n in reachable) or "none yet: create a VPC first"
        raise InvalidInput(
            f"Target {host[:64]} is not an address in your VPCs or the ranges the operator "
            f"allows (PRIVLINK_CLOUD_TARGET_ADDRESSES); accepted: an IPv4 address in {ranges}"
        )
