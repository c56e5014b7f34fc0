"""The Participa311 support desk: a Flask application built by :func:`create_app`."""
from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any, Mapping

from flask import Flask, request, session
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine

from helpdesk import config as settings
from helpdesk.extensions import babel, csrf, db, login_manager, migrate


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, CLI, error handlers.

    ``overrides`` replace settings after the environment (tests); ``INSTANCE_PATH`` among them moves
    the instance folder. Raises :class:`helpdesk.config.ConfigError` on a bad setting.
    """
    overrides = dict(overrides or {})
    instance = settings.instance_path()
    if "INSTANCE_PATH" in overrides:
        instance = Path(overrides.pop("INSTANCE_PATH"))
    values = settings.load(instance, overrides)
    instance.mkdir(parents=True, exist_ok=True)

    app = Flask("helpdesk", instance_path=str(instance), instance_relative_config=True,
                template_folder=str(settings.PROJECT_ROOT / "templates"),
                static_folder=str(settings.PROJECT_ROOT / "static"))
    app.config.update(values)
    app.config.update(_derived_settings(values))
    if values["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix
        count = values["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(settings.PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=_select_language, timezone_selector=lambda: app.config["TIMEZONE"])
    _setup_login()

    from helpdesk.core import templating
    from helpdesk.core.routing import DatabaseInteger, DeskRequest
    app.url_map.converters["int"] = DatabaseInteger  # before any route is added
    app.request_class = DeskRequest
    templating.register(app)
    _register_blueprints(app)

    from helpdesk.cli import register_commands
    register_commands(app)

    from helpdesk.core.views import register_error_handlers
    register_error_handlers(app)
    app.after_request(_security_headers)
    return app


def _register_blueprints(app: Flask) -> None:
    from helpdesk.core import lease, outbox  # noqa: F401 (their models belong to the schema)
    from helpdesk.mail import models as mail_models  # noqa: F401
    from helpdesk.tickets import clocks  # noqa: F401 (listens for calendar and policy changes)
    from helpdesk.accompaniment.views import bp as accompaniment
    from helpdesk.auth.views import bp as auth
    from helpdesk.catalog.views import bp as catalog
    from helpdesk.core.views import bp as core
    from helpdesk.councils.views import bp as councils
    from helpdesk.instances.views import bp as instances
    from helpdesk.instances.sign_in_views import bp as decidim_sign_in
    from helpdesk.kb.views import bp as kb
    from helpdesk.operations.views import bp as operations
    from helpdesk.sla.views import bp as sla
    from helpdesk.tickets.admin_views import bp as canned
    from helpdesk.tickets.call_views import bp as calls
    from helpdesk.mail.views import bp as mail
    from helpdesk.tickets.report_views import bp as reports
    from helpdesk.tickets.views import bp as tickets
    from helpdesk.tickets import live_views  # noqa: F401 (its routes are on the tickets blueprint)
    from helpdesk.tickets import reply_views  # noqa: F401 (reply preview and split, on the tickets blueprint)
    from helpdesk.tickets import preference_views  # noqa: F401 (the inbox's columns menu, on the tickets blueprint)
    from helpdesk.tickets import satisfaction_views  # noqa: F401 (ratings of resolved tickets, on the tickets blueprint)
    from helpdesk.accompaniment import context as _accompaniment_context  # noqa: F401 (its sessions beside a ticket)
    from helpdesk.notifications.views import bp as notifications
    from helpdesk.privacy.views import bp as privacy
    from helpdesk.core.accessibility import bp as accessibility
    from helpdesk.api.views import bp as api, routing_problem as api_routing_problem
    from helpdesk.api.token_views import bp as api_tokens
    from helpdesk.status.views import bp as platform_status
    from helpdesk.webhooks.views import bp as webhooks
    from helpdesk.dossier import history as _dossier_history  # noqa: F401 (records each Decidim version seen)
    from helpdesk.dossier.views import bp as dossier

    for blueprint in (core, auth, councils, instances, sla, tickets, calls, canned, reports, mail, catalog,
                      accompaniment, kb, operations, privacy, decidim_sign_in, notifications, accessibility, webhooks,
                      platform_status, dossier):
        app.register_blueprint(blueprint)
    for blueprint in (api, api_tokens):
        app.register_blueprint(blueprint)
    app.before_request(api_routing_problem)  # the API's 404 and 405 as problem documents


def _derived_settings(values: dict[str, Any]) -> dict[str, Any]:
    # A threaded worker serves many pages at once (the live desk asks every couple of seconds from each open
    # page): a pool larger than SQLAlchemy's 5 + 10 keeps them from queueing for a connection.
    engine_options: dict[str, Any] = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 30}
    if values["DATABASE_URL"].startswith("sqlite"):
        engine_options = {"connect_args": {"timeout": 30}}
    return {
        "SQLALCHEMY_DATABASE_URI": values["DATABASE_URL"],
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "helpdesk_session",
        "REMEMBER_COOKIE_SECURE": values["SESSION_COOKIE_SECURE"],
        "REMEMBER_COOKIE_HTTPONLY": True,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=values["SESSION_LIFETIME_HOURS"]),
        # The token lives as long as the session: agents keep forms open for a long time.
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": values["DEFAULT_LANGUAGE"],
        "BABEL_DEFAULT_TIMEZONE": values["TIMEZONE"],
        "BABEL_TRANSLATION_DIRECTORIES": str(settings.PROJECT_ROOT / "translations"),
        "MAX_CONTENT_LENGTH": 32 * 1024 * 1024,
    }


def _select_language() -> str:
    """The signed-in user's language, else the one picked in this session, else the default (Catalan)."""
    from flask import current_app
    if current_user and current_user.is_authenticated:
        return current_user.language
    chosen = session.get("language") if request else None
    return chosen if chosen in settings.LANGUAGES else current_app.config["DEFAULT_LANGUAGE"]


def _setup_login() -> None:
    from flask_babel import lazy_gettext as _l

    from helpdesk.auth.models import User

    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to open this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(token: str) -> User | None:
        from flask import current_app

        from helpdesk.auth import sessions
        from helpdesk.core.models import utcnow
        return sessions.resume(token, utcnow(), sessions.Lifetimes.from_config(current_app.config))


def _security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
        "frame-ancestors 'none'; form-action 'self'")
    # The desk uses none of the browser's devices or sensors: a script injected despite the CSP gets none.
    # browsing-topics is what replaced interest-cohort (FLoC, withdrawn), which browsers now report as unknown.
    response.headers.setdefault(
        "Permissions-Policy",
        "accelerometer=(), browsing-topics=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
        "hid=(), magnetometer=(), microphone=(), midi=(), payment=(), serial=(), usb=()")
    # Only over HTTPS (ProxyFix makes a request secure from X-Forwarded-Proto behind TRUSTED_PROXIES): browsers
    # ignore it over plain http, and a desk reached by http (development) must not pin itself to https.
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """Foreign keys on and write-ahead logging for every SQLite connection."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
