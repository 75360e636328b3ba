"""A small httpx client for the privlink API, used by the CLI commands.

Where to connect and with which token: `--url`/`PRIVLINK_URL` (default
http://127.0.0.1:8080) and `--token`/`PRIVLINK_TOKEN`; with no token given, the
admin token that `privlink serve` saved under `PRIVLINK_DATA_DIR` is used.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8080"


class ApiError(Exception):
    """The API answered with an error, or could not be reached."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def default_token() -> str | None:
    token = os.environ.get("PRIVLINK_TOKEN")
    if token:
        return token
    saved = Path(os.environ.get("PRIVLINK_DATA_DIR", ".privlink")) / "admin-token"
    try:
        return saved.read_text().strip() or None
    except OSError:
        return None


class Client:
    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = (url or os.environ.get("PRIVLINK_URL") or DEFAULT_URL).rstrip("/")
        headers = {}
        token = token or default_token()
        if token:
            headers["Authorization"] = f"aivenv1 {token}"
        self.http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )

    def request(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        try:
            response = self.http.request(method, path, json=json, params=params)
        except httpx.TransportError as error:
            raise ApiError(
                f"Cannot reach privlink at {self.url} ({error}); is "
                "`privlink serve` running? Set --url or PRIVLINK_URL."
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = {"message": response.text[:500]}
        if response.status_code >= 400:
            message = body.get("message") if isinstance(body, dict) else None
            raise ApiError(message or f"HTTP {response.status_code}", response.status_code)
        return body

    def text(self, path: str, **params: Any) -> str:
        """A GET whose answer is text (CSV), not JSON."""
        try:
            response = self.http.get(
                path, params={k: v for k, v in params.items() if v is not None}
            )
        except httpx.TransportError as error:
            raise ApiError(f"Cannot reach privlink at {self.url} ({error})") from None
        if response.status_code >= 400:
            raise ApiError(response.json().get("message", f"HTTP {response.status_code}"))
        return response.text

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, json=body if body is not None else {})

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)
