"""The directory's client for the matcher service (the lot page calls it over HTTP)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests
from flask import current_app

from shared.web import settings


class MatcherError(Exception):
    """The matcher refused the lot (its problem body is kept to show the user) or is unreachable."""

    def __init__(self, detail: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.detail, self.errors = detail, errors or []


class MatcherClient:
    def __init__(self, base_url: str, timeout_s: float) -> None:
        self.base_url, self.timeout_s = base_url.rstrip("/"), timeout_s
        self.session = requests.Session()

    def match(self, body: dict[str, Any], limit: int = 10) -> dict[str, Any]:
        return self._post("/match", body, {"limit": limit})

    def partners(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /partners`: ranked partners with their features and what each adds."""
        return self._post("/partners", body)

    def consortia(self, body: dict[str, Any], max_members: int | None = None) -> dict[str, Any]:
        """`POST /consortia` with a plain request, or an OCDS release and the most members wanted."""
        return self._post("/consortia", body, {} if max_members is None else {"max_members": max_members})

    def _post(self, path: str, body: dict[str, Any], params: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = self.session.post(f"{self.base_url}{path}", json=body, params=params, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise MatcherError("the matching service is not reachable; try again shortly") from exc
        payload = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        if response.status_code >= 400:
            raise MatcherError(payload.get("detail", f"matching failed ({response.status_code})"),
                               payload.get("errors", []))
        return payload  # type: ignore[no-any-return]

    def organisation(self, method: str, organisation_id: str, path: str, key: str, **kwargs: Any) -> requests.Response:
        """A Buy Social call with a member's key, answered as it came: the page decides what a 401,
        404 or file means. The key travels only in the header, never in a URL."""
        url = f"{self.base_url}/organisations/{quote(organisation_id, safe='')}{path}"
        try:
            return self.session.request(method, url, headers={"X-API-Key": key}, timeout=self.timeout_s, **kwargs)
        except requests.RequestException as exc:
            raise MatcherError("the Buy Social service is not reachable; try again shortly") from exc

    def close(self) -> None:
        self.session.close()


def matcher_client() -> MatcherClient:
    """The app's one client (its connection pool is shared by every request), made on first use."""
    ext = current_app.extensions
    if "matcher_client" not in ext:
        ext["matcher_client"] = MatcherClient(settings().matcher_url, settings().matcher_timeout_s)
    return ext["matcher_client"]  # type: ignore[no-any-return]
