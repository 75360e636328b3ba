"""How long the local cloud takes to find one owner's resources by tag, at 1,000 and
10,000 resources in one account: the indexed owner-tag lookup beside a full scan (the
same call with only a non-owner tag); and the health checker's read of every used target
group with its targets beside one query per group (how it was read before). One run.
Run with `make bench-lookup`."""

from __future__ import annotations

import functools
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from privlink.cloud.local.control import LocalCloud
from privlink.store import migrate
from privlink.store.cloud_tables import LcListener, LcLoadBalancer, LcTarget, LcTargetGroup
from privlink.store.db import make_engine, make_sessionmaker

RUNS = 30


def timed(call: object) -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        call()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def per_group(local: LocalCloud) -> int:
    """The health checker's read as it was: one query for the targets of each group."""
    with local.tx() as s:
        used = set(s.scalars(select(LcListener.target_group_arn)))
        groups = s.scalars(select(LcTargetGroup).where(LcTargetGroup.arn.in_(used))).all()
        return sum(
            len(list(s.scalars(select(LcTarget).where(LcTarget.target_group_arn == tg.arn))))
            for tg in groups
        )


def main() -> None:
    rows = []
    print(f"find_by_tags, one owner's target group among N in one account (median of {RUNS})")
    print(f"{'N':>8}{'indexed ms':>14}{'scan ms':>12}{'scan / indexed':>17}")
    for count in (1_000, 10_000):
        with tempfile.TemporaryDirectory() as folder:
            engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
            migrate.upgrade(engine)
            local = LocalCloud(make_sessionmaker(engine))
            account_id = local.create_account("bench").id
            with local.tx() as s:  # rows straight in: creating 10,000 one by one takes minutes
                for i in range(count):
                    s.add(
                        LcTargetGroup(
                            arn=f"arn:aws:elasticloadbalancing:eu-west-1:{account_id}:tg/{i}",
                            name=f"tg-{i}",
                            account_id=account_id,
                            region="eu-west-1",
                            port=80,
                            hc_interval=5,
                            hc_timeout=5,
                            hc_healthy_threshold=2,
                            hc_unhealthy_threshold=2,
                            deregistration_delay=0,
                            proxy_protocol_v2=False,
                            tags={"privlink:privatelink": f"pl-{i}", "privlink:unit": f"u-{i}"},
                        )
                    )
                lb = f"arn:aws:elasticloadbalancing:eu-west-1:{account_id}:loadbalancer/net/b/1"
                s.add(
                    LcLoadBalancer(
                        arn=lb,
                        name="b",
                        account_id=account_id,
                        region="eu-west-1",
                        subnet_ids=[],
                        az_ids=[],
                        state="active",
                    )
                )
                s.flush()
                for i in range(count):
                    tg = f"arn:aws:elasticloadbalancing:eu-west-1:{account_id}:tg/{i}"
                    s.add(LcTarget(target_group_arn=tg, host="127.0.0.1", port=1000 + i % 60000))
                    s.add(
                        LcListener(
                            arn=f"{lb}/l/{i}",
                            load_balancer_arn=lb,
                            port=1 + i % 65535,
                            target_group_arn=tg,
                        )
                    )
            account = local.account("bench", "eu-west-1")
            owner = {"privlink:privatelink": f"pl-{count // 2}"}
            unit = {"privlink:unit": f"u-{count // 2}"}
            assert account.find_by_tags("target-group", owner) == account.find_by_tags(
                "target-group", unit
            )
            indexed = timed(functools.partial(account.find_by_tags, "target-group", owner))
            scan = timed(functools.partial(account.find_by_tags, "target-group", unit))
            print(f"{count:>8}{indexed * 1000:>14.2f}{scan * 1000:>12.2f}{scan / indexed:>16.1f}x")
            assert sum(len(t) for _, t in local.health_targets()) == per_group(local) == count
            together = timed(local.health_targets)
            separate = timed(functools.partial(per_group, local))
            rows.append((count, together, separate))
            engine.dispose()
    print(f"\nhealth checker's read of N used target groups with a target each (median of {RUNS})")
    print(f"{'N':>8}{'2 queries ms':>14}{'per group ms':>14}{'per group / 2':>16}")
    for count, together, separate in rows:
        ratio = separate / together
        print(f"{count:>8}{together * 1000:>14.1f}{separate * 1000:>14.1f}{ratio:>15.1f}x")


if __name__ == "__main__":
    main()
