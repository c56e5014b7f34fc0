"""The OpenAPI document at /api/v1/openapi.json and a browsable page of it (Swagger UI, whose files come
with the swagger-ui-py package and are served by the desk itself: no CDN, and no inline script, so the
page passes the desk's Content-Security-Policy)."""
from __future__ import annotations

from pathlib import Path

import swagger_ui
from flask import abort, render_template, send_from_directory
from flask_babel import get_locale

from helpdesk.api.spec import document
from helpdesk.api.views import bp

ASSETS = Path(swagger_ui.__file__).parent / "static"
SERVED = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png",
                    "favicon-16x16.png", "LICENSE"})


@bp.get("/openapi.json")
def openapi():
    return document()


@bp.get("/docs")
def docs():
    return render_template("api/docs.html", language=str(get_locale() or "ca"))


@bp.get("/docs/assets/<name>")
def docs_asset(name: str):
    if name not in SERVED:
        abort(404)
    return send_from_directory(ASSETS, name, max_age=86400,
                               mimetype="text/plain" if name == "LICENSE" else None)
