"""Is an instance answering? ``GET /manifest.webmanifest`` (answers even behind forced login), then
``POST /api`` with ``{ __typename }``; short timeouts. Decidim has no health endpoint (NOTES.md §5).

A platform whose API wants credentials (missing, or refused at ``/api/sign_in``) is up: the monitor must
not call that an outage. The probe says so in ``api_access`` and in its ``error``, which the monitor keeps
in its log of checks; ``probe_all`` also writes it, and any token obtained, on the instance."""
from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import httpx
from flask import current_app, has_app_context
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from helpdesk.core.sealing import SealBroken
from helpdesk.extensions import db
from helpdesk.instances.decidim import ACCESS_BY_CODE, CREDENTIAL_CODES, ApiCredentials, DecidimClient, DecidimError
from helpdesk.instances.models import PlatformInstance

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Probe:
    up: bool
    status_code: int | None
    latency_ms: int | None
    error: str = ""
    api_access: str = ""  # as instances.models.API_ACCESS_LABELS; "" when the API was not reached


def probe(base_url: str, timeout: float = 5.0, transport: httpx.BaseTransport | None = None,
          credentials: ApiCredentials | None = None) -> Probe:
    """One look at a platform, with its API credentials when it has some (a new token lands in them)."""
    began = time.monotonic()
    with DecidimClient(base_url, timeout=timeout, transport=transport, credentials=credentials) as client:
        try:
            manifest = client.http.get(f"{client.base_url}/manifest.webmanifest")
        except httpx.TimeoutException:
            return Probe(False, None, None, "timeout")
        except httpx.HTTPError as error:
            return Probe(False, None, None, f"{error.__class__.__name__}: {error}"[:500])
        if manifest.status_code != 200:
            return Probe(False, manifest.status_code, _ms(began), f"manifest: HTTP {manifest.status_code}")
        try:
            api = client.post_api({"query": "{ __typename }"})
        except DecidimError as error:
            if error.code in CREDENTIAL_CODES:  # it answered: alive, but not to the desk
                return Probe(True, error.status_code, _ms(began), f"api: {error.code}: {error.detail}"[:500],
                             ACCESS_BY_CODE[error.code])
            if error.code == "timeout":
                return Probe(False, None, None, "timeout")
            return Probe(False, error.status_code, _ms(began), f"api: {error.code}: {error.detail}"[:500])
    latency = _ms(began)
    if api.status_code == 302 and "/users/sign_in" in api.headers.get("location", ""):
        return Probe(True, api.status_code, latency, api_access="forced_login")  # alive, just private
    if api.status_code != 200:
        return Probe(False, api.status_code, latency, f"api: HTTP {api.status_code}")
    return Probe(True, 200, latency, api_access="signed_in" if credentials is not None else "open")


def probe_all(urls: list[str], timeout: float = 5.0, workers: int = 16) -> list[Probe]:
    """Probe many instances at once (a slow one does not hold up the rest). Inside the app, an instance with
    API credentials is probed with them; what the API said of access, and the token obtained, are written on
    the instance (the monitor commits them with the check)."""
    if not urls:
        return []
    known: dict[str, PlatformInstance] = {}
    credentials: dict[str, ApiCredentials | None] = {}
    unreadable: set[str] = set()
    secret_key = ""
    if has_app_context():
        secret_key = current_app.config["SECRET_KEY"]
        known = {item.base_url: item for item in db.session.scalars(
            select(PlatformInstance).where(PlatformInstance.base_url.in_(urls)))}
        for url, instance in known.items():
            try:
                credentials[url] = instance.api_credentials(secret_key)
            except SealBroken:
                credentials[url], unreadable = None, unreadable | {url}
    with ThreadPoolExecutor(max_workers=min(workers, len(urls))) as pool:
        results = list(pool.map(lambda url: probe(url, timeout, credentials=credentials.get(url)), urls))
    for index, (url, result) in enumerate(zip(urls, results, strict=True)):
        probed = known.get(url)
        if probed is None:
            continue
        probed.keep_api_token(credentials.get(url), secret_key)
        access = "unreadable" if url in unreadable and result.api_access == "missing" else result.api_access
        if access:
            probed.api_access = access
        if result.up and access in ACCESS_NOTES:
            results[index] = replace(result, api_access=access, error=_access_note(access, result.error))
            log.warning("%s: %s", probed.host, results[index].error)
    return results


ACCESS_NOTES = {"missing": _l("Up, but the API requires credentials and none are set"),
                "refused": _l("Up, but the platform refused the API credentials"),
                "unusable": _l("Up, but the API credentials cannot be used (no API sign-in, or no token given)"),
                "unreadable": _l("Up, but the API secret was saved under another secret key")}


def _access_note(access: str, detail: str) -> str:
    """The monitor's record of an API the desk cannot read, in the desk's language (as its notes are)."""
    with force_locale(current_app.config["DEFAULT_LANGUAGE"]):
        return f"{ACCESS_NOTES[access]} ({detail})"[:500]


def _ms(began: float) -> int:
    return int((time.monotonic() - began) * 1000)
