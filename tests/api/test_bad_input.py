"""Bad input gets a 4xx in the avn error shape and changes nothing."""

from __future__ import annotations

import pytest

from privlink.api.middleware import MAX_BODY_BYTES
from tests.api.test_auth import assert_error_shape
from tests.conftest import Api


def project_names(api: Api) -> list[str]:
    body = api.client.get("/v1/project", headers=api.auth(api.admin)).json()
    return [p["project_name"] for p in body["projects"]]


class TestBadInput:
    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            (b'{"project": "x"', "not valid JSON"),
            (b"not json at all", "not valid JSON"),
            (b'{"project": "x", "colour": "blue"}', "Unknown field 'colour'"),
            (b'{"project": 42}', "project"),
            (b'{"project": ["a"]}', "project"),
            (b"{}", "Missing field 'project'"),
            (b"[]", "valid dictionary"),
            (b'{"project": "' + b"a" * 300 + b'"}', "at most 63 characters"),
            (b'{"project": "Bad_Name"}', "Invalid project name"),
        ],
    )
    def test_rejected_with_message(self, api: Api, body: bytes, expected: str) -> None:
        """Each malformed body gets a 400 whose message says what was wrong."""
        before = project_names(api)
        response = api.client.post(
            "/v1/project",
            content=body,
            headers={**api.auth(api.admin), "Content-Type": "application/json"},
        )
        assert response.status_code == 400, response.text
        assert expected in assert_error_shape(response.json(), 400)
        assert project_names(api) == before

    def test_huge_declared_body_is_413(self, api: Api) -> None:
        response = api.client.post(
            "/v1/project",
            content=b"x" * (MAX_BODY_BYTES + 1),
            headers={**api.auth(api.admin), "Content-Type": "application/json"},
        )
        assert response.status_code == 413
        assert "KiB" in assert_error_shape(response.json(), 413)

    def test_huge_streamed_body_is_413(self, api: Api) -> None:
        """A chunked body with no Content-Length is cut off at the limit too."""

        def chunks() -> object:
            for _ in range(40):
                yield b"y" * 65536

        response = api.client.post(
            "/v1/project",
            content=chunks(),  # type: ignore[arg-type]
            headers={**api.auth(api.admin), "Content-Type": "application/json"},
        )
        assert response.status_code == 413
        assert_error_shape(response.json(), 413)

    def test_over_long_path_segment_is_400(self, api: Api) -> None:
        response = api.client.get("/v1/project/" + "a" * 500, headers=api.auth(api.admin))
        assert response.status_code == 400
        assert_error_shape(response.json(), 400)

    def test_unknown_query_parameters_are_ignored(self, api: Api) -> None:
        """The avn CLI adds query parameters privlink does not know; they do no harm."""
        response = api.client.get(
            "/v1/project/alpha",
            params={"limit": "999", "whatever": "x"},
            headers=api.auth(api.alpha),
        )
        assert response.status_code == 200

    def test_unknown_path_and_method(self, api: Api) -> None:
        missing = api.client.get("/v1/nothing-here", headers=api.auth(api.admin))
        assert missing.status_code == 404
        assert "/openapi.json" in assert_error_shape(missing.json(), 404)
        wrong = api.client.patch("/v1/project", headers=api.auth(api.admin))
        assert wrong.status_code == 405
        assert_error_shape(wrong.json(), 405)
