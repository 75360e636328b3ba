"""Cached reads: the same answer as the route gives, until anything it shows changes —
through the API, another process writing the database, or the reconciler."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from privlink.api.cache import HEADER, ROUTES, SharedRead
from privlink.app import create_app
from privlink.services import tenancy
from privlink.settings import Settings
from privlink.store.base import utcnow
from privlink.store.db import make_engine, make_sessionmaker
from privlink.store.tables import ApiToken, ProjectVpc, Service
from privlink.testing import LoopThread
from tests.api.test_services import KAFKA, register
from tests.conftest import Api
from tests.support import wait_for

LIST = "/v1/project/alpha/service"
ONE = "/v1/project/alpha/service/kafka-1"


def get(api: Api, path: str, token: str) -> httpx.Response:
    return api.client.get(path, headers=api.auth(token))


def cached(response: httpx.Response) -> str | None:
    return response.headers.get(HEADER.decode())


def other_process(settings: Settings):  # type: ignore[no-untyped-def]
    """Sessions of their own on the same database, as `privlink admin` or a replica has."""
    return make_sessionmaker(make_engine(settings.database_url))


class TestHits:
    def test_a_repeated_read_is_the_same_answer_from_memory(self, api: Api) -> None:
        register(api, KAFKA)
        first, second = get(api, LIST, api.alpha), get(api, LIST, api.alpha)
        assert (first.status_code, cached(first)) == (200, "miss")
        assert (second.status_code, cached(second)) == (200, "hit")
        assert second.content == first.content
        assert second.headers["content-type"] == first.headers["content-type"]
        assert second.headers["x-request-id"] != first.headers["x-request-id"]

    def test_a_change_through_the_api_is_seen_at_once(self, api: Api) -> None:
        register(api, KAFKA)
        get(api, LIST, api.alpha)
        register(api, {**KAFKA, "service_name": "kafka-2"})
        listed = get(api, LIST, api.alpha)
        assert cached(listed) == "miss"
        assert [s["service_name"] for s in listed.json()["services"]] == ["kafka-1", "kafka-2"]

    def test_a_change_by_another_process_is_seen_at_once(
        self, api: Api, settings: Settings
    ) -> None:
        register(api, KAFKA)
        assert get(api, ONE, api.alpha).json()["service"]["plan"] == "business-4"
        with other_process(settings)() as session, session.begin():
            service = session.scalars(select(Service).where(Service.name == "kafka-1")).one()
            service.plan = "business-8"
        answer = get(api, ONE, api.alpha)
        assert (cached(answer), answer.json()["service"]["plan"]) == ("miss", "business-8")

    def test_bookkeeping_of_the_reconciler_keeps_answers(
        self, api: Api, settings: Settings
    ) -> None:
        created = api.client.post(
            "/v1/project/alpha/vpcs",
            json={"cloud_name": "aws-eu-west-1", "network_cidr": "10.0.0.0/24"},
            headers=api.auth(api.alpha),
        ).json()
        path = f"/v1/project/alpha/vpcs/{created['project_vpc_id']}"
        wait_for(lambda: get(api, path, api.alpha).json()["state"] == "ACTIVE")
        get(api, path, api.alpha)
        with other_process(settings)() as session, session.begin():
            session.execute(update(ProjectVpc).values(resync_at=utcnow() + timedelta(hours=1)))
        assert cached(get(api, path, api.alpha)) == "hit"
        with other_process(settings)() as session, session.begin():
            vpc = session.scalars(select(ProjectVpc)).one()
            vpc.resync_at, vpc.state = utcnow(), "DELETING"
        answer = get(api, path, api.alpha)
        assert (cached(answer), answer.json()["state"]) == ("miss", "DELETING")

    def test_misses_together_compute_once(self, api: Api) -> None:
        for i in range(20):
            register(api, {**KAFKA, "service_name": f"kafka-{i}"})
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: get(api, LIST, api.alpha), range(24)))
        assert {a.status_code for a in answers} == {200}
        assert len({a.content for a in answers}) == 1
        assert [cached(a) for a in answers].count("miss") == 1


class TestTenancy:
    def test_each_token_has_its_own_answers(self, api: Api) -> None:
        register(api, KAFKA)
        assert get(api, ONE, api.alpha).status_code == 200
        assert get(api, ONE, api.alpha).status_code == 200
        foreign = get(api, ONE, api.beta)
        assert (foreign.status_code, cached(foreign)) == (404, "miss")
        assert get(api, ONE, api.beta).status_code == 404  # refusals are never kept
        assert get(api, ONE, "").status_code == 401

    def test_a_revoked_token_gets_no_kept_answer(self, api: Api, settings: Settings) -> None:
        register(api, KAFKA)
        with other_process(settings)() as session, session.begin():
            reader = tenancy.create_token(session, project="alpha", role="read-only").secret
        assert cached(get(api, ONE, reader)) == "miss"
        assert cached(get(api, ONE, reader)) == "hit"
        with other_process(settings)() as session, session.begin():
            for token in session.scalars(select(ApiToken).where(ApiToken.role == "read-only")):
                token.revoked_at = utcnow()
        assert get(api, ONE, reader).status_code == 401


def test_every_cached_route_is_a_read_the_api_serves(api: Api) -> None:
    paths = api.client.get("/openapi.json", headers=api.auth(api.alpha)).json()["paths"]
    assert all("get" in paths.get(route, {}) for route in ROUTES)


@pytest.mark.parametrize("mib", [0])
def test_the_cache_can_be_turned_off(settings: Settings, mib: int) -> None:
    from fastapi.testclient import TestClient

    from privlink.store import migrate

    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    with make_sessionmaker(engine)() as session, session.begin():
        tenancy.create_project(session, name="alpha")
        token = tenancy.create_token(session, project="alpha").secret
    app = create_app(settings.model_copy(update={"response_cache_mib": mib}), engine=engine)
    with TestClient(app) as client:
        for _ in range(2):
            answer = client.get(LIST, headers=Api.auth(token))
            assert answer.status_code == 200
            assert HEADER.decode() not in answer.headers
    engine.dispose()


def test_shared_reads_start_after_their_callers_asked() -> None:
    """Callers arriving together share a read; one arriving while a read runs gets the
    next read, never one that started before it asked."""
    loop = LoopThread()

    async def scenario() -> tuple[list[int], list[int], int]:
        started = 0
        release: asyncio.Queue[None] = asyncio.Queue()
        running = asyncio.Event()

        async def read() -> int:
            nonlocal started
            started += 1
            mine = started
            running.set()
            await release.get()
            return mine

        shared = SharedRead(read)
        first = [asyncio.create_task(shared()) for _ in range(5)]
        await running.wait()  # the first read runs: who comes now needs the next
        later = [asyncio.create_task(shared()) for _ in range(5)]
        await asyncio.sleep(0)
        release.put_nowait(None)
        early = await asyncio.gather(*first)
        release.put_nowait(None)
        late = await asyncio.gather(*later)
        return list(early), list(late), started

    try:
        early, late, reads = loop.run(scenario())
    finally:
        loop.close()
    assert (early, late, reads) == ([1] * 5, [2] * 5, 2)
