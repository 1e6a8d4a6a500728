"""The directory's client for the matcher service (the lot page calls it over HTTP)."""

from __future__ import annotations

from typing import Any

import requests


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
        try:
            response = self.session.post(f"{self.base_url}/match", json=body, params={"limit": limit},
                                         timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise MatcherError("the matching service is not reachable; try again shortly") from exc
        payload = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        if response.status_code >= 400:
            raise MatcherError(payload.get("detail", f"matching failed ({response.status_code})"),
                               payload.get("errors", []))
        return payload  # type: ignore[no-any-return]

    def close(self) -> None:
        self.session.close()
