"""The API fuzzed against its own OpenAPI document (schemathesis): every operation, with a
project token, must answer without a server error and as documented (status, content
type, body schema). Bounded and seeded here; `make fuzz` runs the same for longer."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import checks

from privlink.app import create_app
from privlink.services import registry, tenancy, vpcs
from privlink.settings import DataplaneMode, Settings
from privlink.store import migrate, sealing
from privlink.store.db import make_engine, make_sessionmaker

EXAMPLES = int(os.environ.get("PRIVLINK_FUZZ_EXAMPLES", "6"))
# Valid requests and invalid ones (which must be refused with a documented 4xx).
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
TOKEN: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The app (no background loops: each request does its own work) with project `alpha`,
    a Kafka service and a project VPC, so many generated requests reach real objects."""
    data = tmp_path_factory.mktemp("fuzz")
    settings_ = Settings(data_dir=data, demo=False, dataplane=DataplaneMode.userspace)
    engine = make_engine(settings_.database_url)
    migrate.upgrade(engine)
    with make_sessionmaker(engine, sealing.load(settings_))() as session, session.begin():
        project = tenancy.create_project(session, name="alpha")
        project.privatelink_enabled = True
        TOKEN["alpha"] = tenancy.create_token(session, project="alpha").secret
        registry.register_service(
            session,
            project=project,
            name="kafka-1",
            service_type="kafka",
            cloud_name="aws-eu-west-1",
            plan="business-4",
            components={"kafka": ["127.0.0.1:9"]},
            users=None,
        )
        vpcs.create_vpc(
            session, project=project, cloud_name="aws-eu-west-1", network_cidr="10.0.0.0/24"
        )
    app = create_app(settings_, engine=engine, run_dataplane=False)
    with TestClient(app):
        yield schemathesis.openapi.from_asgi("/openapi.json", app)
    engine.dispose()


CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


def test_every_operation_answers_as_documented(
    api_schema: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Generated requests for each operation in turn (a fixed seed: the same every run)."""
    headers = {"Authorization": f"aivenv1 {TOKEN['alpha']}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 60
    sent = [0]
    started = time.monotonic()

    for operation, mode in itertools.product(operations, MODES):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: schemathesis.Case) -> None:
            if "project" in (case.path_parameters or {}):
                case.path_parameters["project"] = "alpha"
            sent[0] += 1
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            call()
        except Unsatisfiable:
            # Nothing invalid to send (no parameters or body): the positive run covers it.
            assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
    with capsys.disabled():
        print(
            f"\nfuzz: {len(operations)} operations x {len(MODES)} modes, {sent[0]} requests in "
            f"{time.monotonic() - started:.0f} s: no server error, no schema violation"
        )
