"""Authentication and tenancy over HTTP: 401 without a token, 404 across projects."""

from __future__ import annotations

import pytest

from tests.conftest import Api


def assert_error_shape(body: dict[str, object], status: int) -> str:
    message = body["message"]
    assert isinstance(message, str)
    assert message
    assert body["errors"] == [{"message": message, "status": status}]
    return message


class TestAuthentication:
    @pytest.mark.parametrize("scheme", ["aivenv1", "Bearer", "bearer"])
    def test_both_schemes_accepted(self, api: Api, scheme: str) -> None:
        """The avn CLI's `aivenv1` and the usual `Bearer` both work."""
        response = api.client.get("/v1/project/alpha", headers=api.auth(api.alpha, scheme))
        assert response.status_code == 200
        assert response.json()["project"]["project_name"] == "alpha"

    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {"Authorization": "aivenv1"},
            {"Authorization": "Basic abc"},
            {"Authorization": "aivenv1 plk_nope_nope"},
            {"Authorization": "Bearer garbage"},
        ],
    )
    def test_missing_or_invalid_token_is_401(self, api: Api, headers: dict[str, str]) -> None:
        response = api.client.get("/v1/project/alpha", headers=headers)
        assert response.status_code == 401
        assert "token" in assert_error_shape(response.json(), 401).lower()

    def test_revoked_token_is_401(self, api: Api) -> None:
        created = api.client.post(
            "/v1/admin/tokens", json={"project": "alpha"}, headers=api.auth(api.admin)
        ).json()
        headers = api.auth(created["full_token"])
        assert api.client.get("/v1/project/alpha", headers=headers).status_code == 200
        revoked = api.client.delete(
            f"/v1/admin/tokens/{created['token_id']}", headers=api.auth(api.admin)
        )
        assert revoked.json()["revoked"] is True
        assert api.client.get("/v1/project/alpha", headers=headers).status_code == 401


class TestTenancy:
    def test_foreign_project_is_404_like_a_missing_one(self, api: Api) -> None:
        """Project A's token cannot tell B exists: same status and message shape as a miss."""
        foreign = api.client.get("/v1/project/beta", headers=api.auth(api.alpha))
        missing = api.client.get("/v1/project/gamma", headers=api.auth(api.alpha))
        assert foreign.status_code == missing.status_code == 404
        assert assert_error_shape(foreign.json(), 404).replace("beta", "X") == assert_error_shape(
            missing.json(), 404
        ).replace("gamma", "X")

    def test_project_list_is_scoped(self, api: Api) -> None:
        names = [
            p["project_name"]
            for p in api.client.get("/v1/project", headers=api.auth(api.beta)).json()["projects"]
        ]
        assert names == ["beta"]
        admin_names = [
            p["project_name"]
            for p in api.client.get("/v1/project", headers=api.auth(api.admin)).json()["projects"]
        ]
        assert admin_names == ["alpha", "beta"]

    def test_admin_endpoints_need_admin(self, api: Api) -> None:
        response = api.client.post(
            "/v1/project", json={"project": "x"}, headers=api.auth(api.alpha)
        )
        assert response.status_code == 403
        assert "operator" in assert_error_shape(response.json(), 403)
        assert api.client.get("/v1/admin/tokens", headers=api.auth(api.alpha)).status_code == 403

    def test_admin_creates_project_and_scoped_token(self, api: Api) -> None:
        headers = api.auth(api.admin)
        assert (
            api.client.post("/v1/project", json={"project": "gamma"}, headers=headers).status_code
            == 201
        )
        again = api.client.post("/v1/project", json={"project": "gamma"}, headers=headers)
        assert again.status_code == 409
        token = api.client.post(
            "/v1/admin/tokens", json={"project": "gamma"}, headers=headers
        ).json()
        assert token["project"] == "gamma"
        assert token["admin"] is False
        assert (
            api.client.get("/v1/project/gamma", headers=api.auth(token["full_token"])).status_code
            == 200
        )
        listed = api.client.get(
            "/v1/admin/tokens", params={"project": "gamma"}, headers=headers
        ).json()["tokens"]
        assert [t["token_id"] for t in listed] == [token["token_id"]]
        assert "full_token" not in listed[0]
