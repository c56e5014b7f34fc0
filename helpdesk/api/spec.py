"""The OpenAPI 3.1 document, written by Spectree from the views' pydantic models and docstrings."""
from __future__ import annotations

import json
from typing import Any

from flask_babel import gettext as _
from spectree import Response, SecurityScheme, SpecTree
from spectree.models import SecuritySchemeData, SecureType

from helpdesk.api.problems import MEDIA_TYPE, ApiProblem, field_error
from helpdesk.api.schemas import Problem


def _refuse_invalid(request: Any, response: Any, error: Any, instance: Any, *args: Any) -> None:
    """Spectree's hook before each view: a request its models refuse becomes a 422 problem document."""
    if error is None:
        return
    errors = [field_error("/" + "/".join(str(part) for part in item.get("loc", ())), item.get("msg", ""))
              for item in error.errors()]
    raise ApiProblem(422, _("Some values are missing or not valid: nothing was changed."), slug="invalid-request",
                     errors=errors)


api = SpecTree(
    "flask", mode="strict", annotations=False, naming_strategy=lambda model: model.__name__, before=_refuse_invalid, page_templates={},
    path="api/v1/_spectree", filename="openapi.json", title="Participa311 support desk API", version="1",
    description=("The support desk of the Plataforma Participa311, for other systems. Authenticate with a personal "
                 "access token (My account → API tokens) sent as `Authorization: Bearer <token>`: it acts as "
                 "its user, with the same roles and the same council visibility as the screens. Lists are "
                 "paged by `cursor` (the `next_cursor` of the page before); reads carry an `ETag` "
                 "(`If-None-Match` answers 304); a change with `If-Match` is refused with 412 when the record "
                 "changed meanwhile; a create with an `Idempotency-Key` is made once, the same key again gives "
                 "the first answer. Errors are RFC 9457 problem documents."),
    security_schemes=[SecurityScheme(name="bearer", data=SecuritySchemeData(type=SecureType.HTTP, scheme="bearer"))],
    security={"bearer": []},
)

ERRORS = {"HTTP_400": Problem, "HTTP_401": Problem, "HTTP_403": Problem, "HTTP_404": Problem,
          "HTTP_422": Problem, "HTTP_429": Problem}


def answers(ok: Any = None, status: str = "HTTP_200", *others: str, **more: Any) -> Response:
    """The responses of a view: its success, the problem documents every view may give, and ``more``."""
    codes = {status: ok} if ok is not None else {}
    return Response(*others, **codes, **ERRORS, **more)


_document: dict[str, Any] | None = None


def document() -> dict[str, Any]:
    """The OpenAPI document (made once: the routes are the same in every app the factory builds)."""
    global _document
    if _document is None:
        spec = json.loads(json.dumps(api.spec))  # plain values (its enums as strings), a copy of its own
        for path in spec["paths"].values():
            for operation in path.values():
                for code, answer in operation.get("responses", {}).items():
                    content = answer.get("content", {})
                    if code[:1] in "45" and "application/json" in content:
                        answer["content"] = {MEDIA_TYPE: content["application/json"]}
        _document = spec
    return _document
