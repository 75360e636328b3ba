"""Console sessions without a browser: the cookie, CSRF, log-out, the admin's switcher."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support import running_app

NETWORK = "/console/projects/alpha/services/mqtt-1/network"


def register(client, admin: str) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/v1/project/alpha/service",
        json={
            "service_name": "mqtt-1",
            "service_type": "mqtt",
            "cloud_name": "aws-eu-west-1",
            "plan": "dedicated-4",
            "components": {"mqtt": ["127.0.0.1:1883"]},
        },
        headers={"Authorization": f"aivenv1 {admin}"},
    )
    assert response.status_code == 201, response.text


def log_in(client, token: str, **kw):  # type: ignore[no-untyped-def]
    """The log-in form as a browser sends it: with the CSRF token the page carries."""
    form = client.get("/login")
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', form.text)
    assert csrf is not None
    return client.post("/login", data={"token": token, "csrf": csrf.group(1)}, **kw)


def test_cookie_csrf_and_log_out(tmp_path: Path) -> None:
    with running_app(tmp_path, run_dataplane=False) as app:
        register(app.client, app.admin)
        logged_in = log_in(app.client, app.token, follow_redirects=False)
        cookie = logged_in.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=strict" in cookie
        session_cookie = app.client.cookies["privlink_session"]
        assert session_cookie
        assert app.token not in session_cookie  # a session secret, never the API token
        page = app.client.get(NETWORK)
        csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
        assert csrf is not None
        # A post without this session's CSRF token changes nothing.
        forged = app.client.post(
            f"{NETWORK[: -len('/network')]}/privatelink",
            data={"csrf": "0" * 64, "principals": "arn:aws:iam::123456789012:root"},
        )
        assert forged.status_code == 403
        assert "did not come from this console" in forged.text
        assert (
            app.client.get(
                "/v1/project/alpha/service/mqtt-1/privatelink/aws",
                headers={"Authorization": f"aivenv1 {app.token}"},
            ).status_code
            == 404
        )
        # Inline checks answer with the API's own messages.
        check = app.client.post(
            "/console/check/principals", data={"csrf": csrf.group(1), "value": "nope"}
        ).json()
        assert check["ok"] is False
        assert "Invalid principal" in check["message"]
        good = app.client.post(
            "/console/check/service_name",
            data={
                "csrf": csrf.group(1),
                "value": "com.amazonaws.vpce.eu-west-1.vpce-svc-0123456789abcdef0",
            },
        ).json()
        assert good == {"ok": True, "message": ""}
        app.client.post("/logout", data={"csrf": csrf.group(1)})
        after = app.client.get(NETWORK, follow_redirects=False)
        assert (after.status_code, after.headers["location"]) == (303, "/login")
        # Log-out ended the session on the server: the old cookie, replayed, is worthless.
        app.client.cookies.set("privlink_session", session_cookie)
        replayed = app.client.get(NETWORK, follow_redirects=False)
        assert (replayed.status_code, replayed.headers["location"]) == (303, "/login")


def test_log_in_needs_the_forms_csrf_token(tmp_path: Path) -> None:
    with running_app(tmp_path, run_dataplane=False) as app:
        app.client.get("/login")
        forged = app.client.post("/login", data={"token": app.token, "csrf": "0" * 64})
        assert forged.status_code == 403
        assert "privlink_session" not in app.client.cookies


def test_an_admin_switches_between_projects(tmp_path: Path) -> None:
    with running_app(tmp_path, run_dataplane=False) as app:
        register(app.client, app.admin)
        app.client.post(
            "/v1/project",
            json={"project": "beta"},
            headers={"Authorization": f"aivenv1 {app.admin}"},
        )
        log_in(app.client, app.admin)
        services = app.client.get("/console/projects/alpha/services")
        assert re.findall(r"<option value=\"(\w+)\"", services.text) == ["alpha", "beta"]
        switched = app.client.get(
            "/console/switch", params={"project": "beta"}, follow_redirects=True
        )
        assert switched.status_code == 200
        assert "Services of beta" in switched.text
