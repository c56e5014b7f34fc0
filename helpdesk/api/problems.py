"""Every refusal under /api/v1 as an RFC 9457 problem document (``application/problem+json``)."""
from __future__ import annotations

from typing import Any

from flask import Response, current_app, json
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

PROBLEM_TYPE = "https://participa311.diba.cat/problems/"  # + a slug: a stable name clients can branch on
MEDIA_TYPE = "application/problem+json"


class ApiProblem(HTTPException):
    """An answer that refuses the request; raised anywhere under the API, answered as a problem document."""

    def __init__(self, status: int, detail: str, *, slug: str = "", title: str = "",
                 errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(description=detail)
        self.code = status
        self.detail = detail
        self.slug = slug or _slug(status)
        self.title = title or HTTP_STATUS_CODES.get(status, "Error")
        self.errors = errors or []
        self.extra_headers = headers or {}

    def get_response(self, environ: Any = None, scope: Any = None) -> Response:  # type: ignore[override]
        return problem_response(self.code or 500, self.detail, slug=self.slug, title=self.title,
                                errors=self.errors, headers=self.extra_headers)


def _slug(status: int) -> str:
    return HTTP_STATUS_CODES.get(status, "error").lower().replace(" ", "-").replace("'", "")


def problem_response(status: int, detail: str, *, slug: str = "", title: str = "",
                     errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {"type": PROBLEM_TYPE + (slug or _slug(status)),
                            "title": title or HTTP_STATUS_CODES.get(status, "Error"),
                            "status": status, "detail": str(detail)}
    if errors:
        body["errors"] = errors
    response = current_app.response_class(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_http_exception(error: HTTPException) -> Response:
    """Werkzeug's own errors (404, 405, 413 …) as problem documents, with their headers (Allow)."""
    if isinstance(error, ApiProblem):
        return error.get_response()
    status = error.code or 500
    details = {404: _("There is no such record, or it is not yours to see."),
               405: _("This address does not take that method."),
               413: _("The request is larger than the desk accepts.")}
    headers = {name: value for name, value in error.get_headers() if name.lower() == "allow"}
    return problem_response(status, details.get(status, error.description or ""), headers=headers)


def field_error(field: str | None, message: str) -> dict[str, Any]:
    """One validation error: the field it is about (a JSON pointer into the body or the parameter's name)."""
    return {"field": field or "", "detail": str(message)}
