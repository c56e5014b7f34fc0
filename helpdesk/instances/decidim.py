"""Reading a council's Decidim over its public GraphQL API: version, installation and organisation names,
participatory spaces and their components. Each space type is asked for on its own, so a module that is
not installed does not hide the others. Whatever the server does wrong becomes a DecidimError with a code
the instance page can show (see shared/fixtures/decidim/NOTES.md for where Decidim bites)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
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


class DecidimError(Exception):
    """``code``: unreachable, timeout, tls, forced_login, redirected, rate_limited, http_error, not_json,
    graphql."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code, self.detail = code, detail


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
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(timeout=timeout, verify=verify, transport=transport, follow_redirects=False,
                                 headers={"User-Agent": USER_AGENT, "Accept": "application/json"})

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> DecidimClient:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def query(self, text: str) -> dict[str, Any]:
        """The ``data`` of one GraphQL query; DecidimError when there is none."""
        try:
            response = self.http.post(f"{self.base_url}/api", json={"query": text})
        except httpx.TimeoutException as error:
            raise DecidimError("timeout", str(error) or "no answer in time") from error
        except httpx.ConnectError as error:
            code = "tls" if "CERTIFICATE" in str(error).upper() or "SSL" in str(error).upper() else "unreachable"
            raise DecidimError(code, str(error)) from error
        except httpx.HTTPError as error:
            raise DecidimError("unreachable", str(error)) from error
        if response.is_redirect:
            location = response.headers.get("location", "")
            code = "forced_login" if "/users/sign_in" in location else "redirected"
            raise DecidimError(code, location)
        if response.status_code == 429:
            raise DecidimError("rate_limited", response.headers.get("retry-after", ""))
        if response.status_code != 200:
            raise DecidimError("http_error", f"HTTP {response.status_code}")
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
