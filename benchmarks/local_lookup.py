"""How long the local cloud takes to find one owner's resources by tag, at 1,000 and
10,000 resources in one account: the indexed owner-tag lookup beside a full scan (the
same call with only a non-owner tag), in one run. Run with `make bench-lookup`."""

from __future__ import annotations

import functools
import statistics
import tempfile
import time
from pathlib import Path

from privlink.cloud.local.control import LocalCloud
from privlink.store import migrate
from privlink.store.cloud_tables import LcTargetGroup
from privlink.store.db import make_engine, make_sessionmaker

RUNS = 30


def timed(call: object) -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        call()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
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
            account = local.account("bench", "eu-west-1")
            owner = {"privlink:privatelink": f"pl-{count // 2}"}
            unit = {"privlink:unit": f"u-{count // 2}"}
            assert account.find_by_tags("target-group", owner) == account.find_by_tags(
                "target-group", unit
            )
            indexed = timed(functools.partial(account.find_by_tags, "target-group", owner))
            scan = timed(functools.partial(account.find_by_tags, "target-group", unit))
            print(f"{count:>8}{indexed * 1000:>14.2f}{scan * 1000:>12.2f}{scan / indexed:>16.1f}x")
            engine.dispose()


if __name__ == "__main__":
    main()
