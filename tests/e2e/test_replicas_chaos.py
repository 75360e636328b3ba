"""Three replicas on one PostgreSQL through a burst of creates and deletes, while one is
killed and restarted and another is paused past its leases (issue 14).

Every object must converge, each PrivateLink own exactly one load balancer and one
endpoint service, nothing deleted leave a resource behind (counted in the local
cloud's tables), and the paused replica's steps must not land once their leases were
taken: it finds them lost and drops them.
"""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from privlink import demo
from privlink.domain import naming
from privlink.services import tenancy
from privlink.store import migrate
from privlink.store.cloud_tables import (
    LcEndpointService,
    LcListener,
    LcLoadBalancer,
    LcTargetGroup,
    finder_of,
)
from privlink.store.db import make_engine, make_sessionmaker
from privlink.store.tables import Privatelink, Project
from privlink.testing import LoopThread
from tests.e2e.server import Server
from tests.support import free_port, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
CREATES, DELETES = 300, 100
LEASE = 15  # reconcile/queue.LEASE, in seconds
PAUSE = LEASE + 8


@pytest.fixture
def node() -> Iterator[str]:
    """One greeting node every service sits behind."""
    port = free_port()
    loop = LoopThread()
    servers = loop.run(demo.start_nodes((("node", "127.0.0.1", port),)))
    yield f"127.0.0.1:{port}"
    loop.run(demo.stop_nodes(servers))
    loop.close()


class Replicas:
    def __init__(self, url: str, tmp_path: Path) -> None:
        keys = Fernet.generate_key().decode()
        self.servers = [
            Server(
                tmp_path / f"replica-{i}",
                PRIVLINK_SECRET_KEYS=keys,
                PRIVLINK_LOG_FORMAT="json",
                PRIVLINK_LOG_LEVEL="info",
                # Slow cloud calls keep steps in flight when a replica is paused.
                PRIVLINK_CLOUD_CALL_DELAY="0.02",
                PRIVLINK_HEALTH_CHECK_INTERVAL="5",
            )
            for i in range(3)
        ]
        for server in self.servers:
            server.env["PRIVLINK_DATABASE_URL"] = url
        self.up = list(self.servers)  # those answering now
        self.turn = itertools.count()
        self.lock = threading.Lock()

    def next(self) -> Server:
        with self.lock:
            return self.up[next(self.turn) % len(self.up)]

    def call(self, token: str, method: str, path: str, body: Any = None) -> httpx.Response:
        """One request to the next replica answering, as a client behind a load balancer
        makes it: a replica going away mid-request, or a 503 (database busy while a
        paused replica's locks last), is retried on another after Retry-After."""
        for _ in range(10):
            server = self.next()
            try:
                answer = httpx.request(
                    method,
                    f"{server.url}{path}",
                    json=body,
                    headers={"Authorization": f"aivenv1 {token}"},
                    timeout=30,
                )
            except httpx.TransportError:
                continue
            if answer.status_code != 503:
                return answer
            time.sleep(float(answer.headers.get("retry-after", "1")))
        raise AssertionError(f"{method} {path}: no replica answered")

    def leave(self, server: Server) -> None:
        with self.lock:
            self.up.remove(server)

    def join(self, server: Server) -> None:
        with self.lock:
            self.up.append(server)


def pause_in_a_step(server: Server, sessions: Any) -> None:
    """SIGSTOP the replica at an instant it holds a PrivateLink's lease, so a step of its
    is in flight (steps are short: stopping at a random instant may find none)."""
    assert server.process is not None
    held_by_it = Privatelink.lease_owner.like(f"%:{server.process.pid}:%")
    for _ in range(400):
        server.process.send_signal(signal.SIGSTOP)
        with sessions() as s:
            if s.scalar(select(func.count()).where(held_by_it)):
                return
        server.process.send_signal(signal.SIGCONT)
        time.sleep(0.02)
    raise AssertionError("the replica to pause never held a lease during the burst")


def lines(server: Server) -> list[dict[str, Any]]:
    found = []
    for line in server.log.read_text().splitlines():
        if line.startswith("{"):
            found.append(json.loads(line))
    return found


@pytest.mark.timeout(480)
def test_three_replicas_converge_through_a_kill_and_a_pause(
    postgres_server: str, tmp_path: Path, node: str
) -> None:
    from tests.conftest import _fresh_postgres_database

    url = _fresh_postgres_database(postgres_server)
    engine = make_engine(url)
    migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions() as session, session.begin():
        operator = tenancy.create_token(session, project=None, role="operator").secret
        tenancy.create_project(session, name="chaos")
        session.scalars(select(Project)).one().privatelink_enabled = True
    replicas = Replicas(url, tmp_path)
    for server in replicas.servers:
        server.start()
    try:
        _burst(replicas, operator, node, sessions)
    finally:
        for server in replicas.servers:
            if server.process is not None:
                server.process.send_signal(signal.SIGCONT)
                try:
                    server.stop()
                except subprocess.TimeoutExpired:
                    server.stop(signal.SIGKILL)
        engine.dispose()


def _burst(replicas: Replicas, operator: str, node: str, sessions: Any) -> None:
    call = replicas.call
    principal = call(operator, "POST", "/v1/cloud/accounts", {"name": "acme"}).json()["principal"]
    vpc = call(
        operator,
        "POST",
        "/v1/project/chaos/vpcs",
        {"cloud_name": "aws-eu-west-1", "network_cidr": "10.0.0.0/24"},
    ).json()["project_vpc_id"]
    wait_for(
        lambda: call(operator, "GET", f"/v1/project/chaos/vpcs/{vpc}").json()["state"] == "ACTIVE"
    )
    names = [f"pg-{i}" for i in range(CREATES)]

    def register(name: str) -> None:
        body = {
            "service_name": name,
            "service_type": "pg",
            "cloud_name": "aws-eu-west-1",
            "plan": "business-4",
            "components": {"pg": [node]},
        }
        assert call(operator, "POST", "/v1/project/chaos/service", body).status_code == 201
        moved = call(operator, "PUT", f"/v1/project/chaos/service/{name}", {"project_vpc_id": vpc})
        assert moved.status_code == 200, moved.text

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(register, names))

    killed, paused = replicas.servers[1], replicas.servers[2]
    deleted = names[:DELETES]

    paused_at: list[float] = []  # when the paused replica was stopped

    def create(index: int) -> None:
        name = names[index]
        answer = call(
            operator,
            "POST",
            f"/v1/project/chaos/service/{name}/privatelink/aws",
            {"principals": [principal]},
        )
        # A replica killed or paused after committing loses the answer; the retry on
        # another replica then finds the PrivateLink made (a 409 naming it).
        made = answer.status_code == 409 and "already has an AWS PrivateLink" in answer.text
        assert answer.status_code in (200, 201) or made, answer.text
        if index == CREATES // 3:
            replicas.leave(killed)
            assert killed.process is not None
            killed.process.send_signal(signal.SIGKILL)
        if index == CREATES // 2:
            replicas.leave(paused)
            pause_in_a_step(paused, sessions)
            paused_at.append(time.monotonic())

    def delete(name: str) -> None:
        answer = call(operator, "DELETE", f"/v1/project/chaos/service/{name}/privatelink/aws")
        # As above: a retried delete finds it deleting (409) or gone (404).
        again = answer.status_code == 404 or (
            answer.status_code == 409 and "delet" in answer.text.lower()
        )
        assert answer.status_code in (200, 202, 204) or again, answer.text

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(create, range(CREATES)))
        list(pool.map(delete, deleted))
    killed.stop(signal.SIGKILL)
    killed.start()
    replicas.join(killed)
    time.sleep(max(0.0, PAUSE - (time.monotonic() - paused_at[0])))  # past its leases
    assert paused.process is not None
    paused.process.send_signal(signal.SIGCONT)
    replicas.join(paused)

    kept = names[DELETES:]

    def converged() -> bool:
        with sessions() as s:
            states = dict(
                s.execute(select(Privatelink.state, func.count()).group_by(Privatelink.state)).all()
            )
        return states == {"active": len(kept)}

    try:
        wait_for(converged, timeout=240, interval=0.5)
    except AssertionError:
        with sessions() as s:
            stuck = s.execute(
                select(Privatelink.state, Privatelink.reason, Privatelink.next_attempt_at)
                .where(Privatelink.state != "active")
                .limit(5)
            ).all()
        raise AssertionError(f"not converged; e.g. {stuck}") from None
    for name in deleted:
        gone = call(operator, "GET", f"/v1/project/chaos/service/{name}/privatelink/aws")
        assert gone.status_code == 404, gone.text

    with sessions() as s:
        ids = set(s.scalars(select(Privatelink.id)))
        finders = {
            model: dict(
                s.execute(
                    select(model.finder, func.count()).group_by(model.finder)  # type: ignore[attr-defined]
                ).all()
            )
            for model in (LcLoadBalancer, LcEndpointService, LcTargetGroup, LcListener)
        }
    assert len(ids) == len(kept)
    owners = {finder_of(naming.finder_tags(naming.Kind.privatelink, pl_id)) for pl_id in ids}
    for model in (LcLoadBalancer, LcEndpointService):
        per_link = finders[model]
        assert {owner: per_link.get(owner, 0) for owner in owners} == dict.fromkeys(owners, 1)
    for model, per_owner in finders.items():
        prefix = naming.tag_key(naming.Kind.privatelink) + "="
        strays = {f for f in per_owner if f and f.startswith(prefix)} - owners
        assert not strays, f"{model.__tablename__} left behind for deleted PrivateLinks: {strays}"

    # The paused replica woke to find its leases taken: it dropped those steps.
    lost = [line for line in lines(paused) if "lease lost" in line.get("event", "")]
    assert lost, "the paused replica had no step in flight to fence"
