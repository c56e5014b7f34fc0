"""Is an instance answering? ``GET /manifest.webmanifest`` (answers even behind forced login), then
``POST /api`` with ``{ __typename }``; short timeouts. Decidim has no health endpoint (NOTES.md §5)."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from helpdesk.instances.decidim import USER_AGENT


@dataclass(frozen=True)
class Probe:
    up: bool
    status_code: int | None
    latency_ms: int | None
    error: str = ""


def probe(base_url: str, timeout: float = 5.0, transport: httpx.BaseTransport | None = None) -> Probe:
    began = time.monotonic()
    try:
        with httpx.Client(timeout=timeout, transport=transport, follow_redirects=False,
                          headers={"User-Agent": USER_AGENT}) as client:
            manifest = client.get(f"{base_url.rstrip('/')}/manifest.webmanifest")
            if manifest.status_code != 200:
                return Probe(False, manifest.status_code, _ms(began), f"manifest: HTTP {manifest.status_code}")
            api = client.post(f"{base_url.rstrip('/')}/api", json={"query": "{ __typename }"})
    except httpx.TimeoutException:
        return Probe(False, None, None, "timeout")
    except httpx.HTTPError as error:
        return Probe(False, None, None, f"{error.__class__.__name__}: {error}"[:500])
    latency = _ms(began)
    if api.status_code == 302 and "/users/sign_in" in api.headers.get("location", ""):
        return Probe(True, api.status_code, latency)  # forced login: alive, just private
    if api.status_code != 200:
        return Probe(False, api.status_code, latency, f"api: HTTP {api.status_code}")
    return Probe(True, 200, latency)


def probe_all(urls: list[str], timeout: float = 5.0, workers: int = 16) -> list[Probe]:
    """Probe many instances at once (a slow one does not hold up the rest)."""
    if not urls:
        return []
    with ThreadPoolExecutor(max_workers=min(workers, len(urls))) as pool:
        return list(pool.map(lambda url: probe(url, timeout), urls))


def _ms(began: float) -> int:
    return int((time.monotonic() - began) * 1000)
