"""Reading a council's Decidim over its public GraphQL API: version, installation and organisation names,
participatory spaces and their components. Each space type is asked for on its own, so a module that is
not installed does not hide the others. Whatever the server does wrong becomes a DecidimError with a code
the instance page can show (see shared/fixtures/decidim/NOTES.md for where Decidim bites).

From 0.31 a platform may require API authentication (DECIDIM_API_FORCE_API_AUTHENTICATION): with an API
user's key and secret (made in the platform's system panel) the client signs in at ``/api/sign_in`` and
sends the JWT it gets as ``Authorization: Bearer`` on every request, reusing it until its ``exp`` and
signing in again when it has expired or the API answers 401."""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

USER_AGENT = "Participa311-desk/1.0 (+mailto:suportparticipa311@diba.cat)"
SPACE_TYPES = {"participatoryProcesses": "participatory_processes", "assemblies": "assemblies",
               "conferences": "conferences", "initiatives": "initiatives"}
# Component __typename → module (manifest) name.
MODULES = {"Proposals": "proposals", "Meetings": "meetings", "Surveys": "surveys", "Budgets": "budgets",
           "Accountability": "accountability", "Pages": "pages", "Blogs": "blogs", "Debates": "debates",
           "Sortitions": "sortitions", "Elections": "elections"}
SPACE_FIELDS = ("__typename id slug title { translation(locale: \"ca\") } "
                "components { __typename id name { translation(locale: \"ca\") } }")


# A token this close to its expiry is not used: it could expire on the way.
TOKEN_MARGIN = timedelta(seconds=60)
# The codes that say the platform answered but the desk cannot get into its API: it is up. Each names what
# that says of access (instances.models.API_ACCESS_LABELS).
ACCESS_BY_CODE = {"credentials_missing": "missing", "credentials_refused": "refused", "no_sign_in": "unusable",
                  "no_token": "unusable", "forced_login": "forced_login"}
CREDENTIAL_CODES = frozenset(code for code in ACCESS_BY_CODE if code != "forced_login")


class DecidimError(Exception):
    """``code``: unreachable, timeout, tls, forced_login, redirected, rate_limited, http_error, not_json,
    graphql; and for API authentication: credentials_missing (the API requires credentials and none are
    set), credentials_refused (sign-in answered 401/403, or the token it gave was refused), no_token (sign-in
    worked but gave no token: the platform's DECIDIM_API_JWT_SECRET is probably unset), no_sign_in (there is
    no ``/api/sign_in``: Decidim before 0.31)."""

    def __init__(self, code: str, detail: str, status_code: int | None = None) -> None:
        super().__init__(f"{code}: {detail}")
        self.code, self.detail, self.status_code = code, detail, status_code


@dataclass
class ApiToken:
    """A JWT the platform gave at sign-in, and when it stops working (its ``exp``; None if unreadable)."""

    value: str
    expires_at: datetime | None

    def is_usable(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at - TOKEN_MARGIN


@dataclass
class ApiCredentials:
    """An API user's key and secret; ``token`` is the last one obtained, reused until it expires (the client
    replaces it when it signs in again, and sets ``token_changed`` so the caller keeps the new one)."""

    key: str
    secret: str
    token: ApiToken | None = None
    token_changed: bool = False


def token_expiry(jwt: str) -> datetime | None:
    """The ``exp`` claim of a JWT, read without checking its signature (the desk has no key to check it
    with, and needs only to know when to sign in again); None when there is none or it is unreadable."""
    parts = jwt.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        exp = claims.get("exp") if isinstance(claims, dict) else None
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            return None
        return datetime.fromtimestamp(exp, timezone.utc)
    except (ValueError, binascii.Error, OverflowError, OSError, UnicodeDecodeError):
        return None


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Facts:
    version: str | None = None  # None from 0.30 on unless the installation discloses it
    application_name: str = ""
    organisation_name: str = ""
    spaces: list[dict[str, Any]] = field(default_factory=list)  # {type, id, slug, title, components: [...]}
    modules: list[str] = field(default_factory=list)  # space types and component modules in use
    warnings: list[str] = field(default_factory=list)  # what could not be read, the rest being fine


class DecidimClient:
    def __init__(self, base_url: str, timeout: float = 10.0, verify: bool | str = True,
                 transport: httpx.BaseTransport | None = None, credentials: ApiCredentials | None = None,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials, self.clock = credentials, clock
        # Accept JSON: with forced API authentication Decidim answers a JSON request 401, an HTML one 302.
        self.http = httpx.Client(timeout=timeout, verify=verify, transport=transport, follow_redirects=False,
                                 headers={"User-Agent": USER_AGENT, "Accept": "application/json"})

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> DecidimClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, f"{self.base_url}{path}", **kwargs)
        except httpx.TimeoutException as error:
            raise DecidimError("timeout", str(error) or "no answer in time") from error
        except httpx.ConnectError as error:
            code = "tls" if "CERTIFICATE" in str(error).upper() or "SSL" in str(error).upper() else "unreachable"
            raise DecidimError(code, str(error)) from error
        except httpx.HTTPError as error:
            raise DecidimError("unreachable", str(error)) from error

    def sign_in(self) -> ApiToken:
        """Obtain a token with the API credentials (``POST /api/sign_in``); it replaces the one kept."""
        if self.credentials is None:
            raise DecidimError("credentials_missing", "no API key and secret are set")
        response = self._send("POST", "/api/sign_in", data={"api_user[key]": self.credentials.key,
                                                            "api_user[secret]": self.credentials.secret})
        if response.status_code in (401, 403):
            raise DecidimError("credentials_refused", f"sign_in: HTTP {response.status_code}", response.status_code)
        if response.status_code == 429:
            raise DecidimError("rate_limited", response.headers.get("retry-after", ""), 429)
        if response.status_code in (404, 405):
            raise DecidimError("no_sign_in", f"sign_in: HTTP {response.status_code}", response.status_code)
        if response.status_code != 200:
            raise DecidimError("http_error", f"sign_in: HTTP {response.status_code}", response.status_code)
        # devise-jwt puts it in the Authorization header; Decidim repeats it as jwt_token in the body.
        value = response.headers.get("authorization", "").removeprefix("Bearer").strip()
        if not value:
            try:
                body = response.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                body = None
            value = str(body.get("jwt_token") or "").removeprefix("Bearer").strip() if isinstance(body, dict) else ""
        if not value:
            raise DecidimError("no_token", "sign_in answered without a token (is DECIDIM_API_JWT_SECRET set?)",
                              response.status_code)
        token = ApiToken(value, token_expiry(value))
        self.credentials.token, self.credentials.token_changed = token, True
        return token

    def post_api(self, payload: dict[str, Any]) -> httpx.Response:
        """``POST /api`` with the bearer token when there are credentials (signing in when there is no usable
        token, and once more if the API refuses the one sent); network failures and credential problems are
        DecidimErrors, any other answer is returned as it is."""
        token, fresh = None, False
        if self.credentials is not None:
            token = self.credentials.token
            if token is None or not token.is_usable(self.clock()):
                token, fresh = self.sign_in(), True
        while True:
            headers = {"Authorization": f"Bearer {token.value}"} if token else {}
            response = self._send("POST", "/api", json=payload, headers=headers)
            if response.status_code != 401:
                return response
            if self.credentials is None:
                raise DecidimError("credentials_missing", "the API requires authentication (HTTP 401)", 401)
            if fresh:
                raise DecidimError("credentials_refused", "the API refused the token sign_in had just given", 401)
            token, fresh = self.sign_in(), True  # expired early, revoked, or the platform's JWT secret changed

    def query(self, text: str) -> dict[str, Any]:
        """The ``data`` of one GraphQL query; DecidimError when there is none."""
        response = self.post_api({"query": text})
        if response.is_redirect:
            location = response.headers.get("location", "")
            code = "forced_login" if "/users/sign_in" in location else "redirected"
            raise DecidimError(code, location, response.status_code)
        if response.status_code == 429:
            raise DecidimError("rate_limited", response.headers.get("retry-after", ""), 429)
        if response.status_code != 200:
            raise DecidimError("http_error", f"HTTP {response.status_code}", response.status_code)
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise DecidimError("not_json", response.text[:200]) from error
        if not isinstance(body, dict):
            raise DecidimError("not_json", str(body)[:200])
        if body.get("errors") and not body.get("data"):
            raise DecidimError("graphql", "; ".join(str(item.get("message", item)) for item in body["errors"]
                                                    if isinstance(item, dict))[:500])
        data = body.get("data")
        if not isinstance(data, dict):
            raise DecidimError("not_json", "no data in the answer")
        return data

    def facts(self) -> Facts:
        """Everything the instance page shows; the version query must work, the rest may be partial."""
        facts = Facts()
        decidim = self.query("{ decidim { version applicationName } }").get("decidim") or {}
        facts.version, facts.application_name = decidim.get("version"), decidim.get("applicationName") or ""
        try:
            name = (self.query("{ organization { name } }").get("organization") or {}).get("name")
        except DecidimError as error:  # 0.29+: the name is translated
            if error.code != "graphql":
                raise
            organisation = self.query('{ organization { name { translation(locale: "ca") } } }')
            name = ((organisation.get("organization") or {}).get("name") or {}).get("translation")
        facts.organisation_name = name if isinstance(name, str) else ""
        modules: set[str] = set()
        for field_name, module in SPACE_TYPES.items():
            try:
                spaces = self.query(f"{{ {field_name} {{ {SPACE_FIELDS} }} }}").get(field_name) or []
            except DecidimError as error:
                if error.code == "graphql" and "doesn't exist" in error.detail:
                    continue  # the module is not installed
                if error.code == "graphql":
                    facts.warnings.append(f"{field_name}: {error.detail}")
                    continue
                raise
            modules.add(module)
            for space in spaces:
                components = [{"module": MODULES.get(item.get("__typename"), "other"), "id": item.get("id"),
                               "name": (item.get("name") or {}).get("translation") or ""}
                              for item in space.get("components") or []]
                modules.update(item["module"] for item in components if item["module"] != "other")
                facts.spaces.append({"type": module, "id": space.get("id"), "slug": space.get("slug"),
                                     "title": (space.get("title") or {}).get("translation") or "",
                                     "components": components})
        facts.modules = sorted(modules)
        return facts
