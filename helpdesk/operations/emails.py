"""The e-mail the desk sends, previewed for administrators with each e-mail's own sample data: the list of
every e-mail (what sends it, who receives it), and each one's subject, text and HTML in Catalan, Spanish
and English. The HTML is served on its own address with ``Content-Security-Policy: sandbox`` and shown in a
sandboxed frame, so that nothing in it runs with the desk's rights."""
from __future__ import annotations

from flask import Response, abort, make_response, render_template, request
from flask_babel import lazy_gettext as _l

from helpdesk.accompaniment import mail as _accompaniment_mail  # noqa: F401 (registers its e-mails)
from helpdesk.auth.access import roles_required
from helpdesk.auth.models import Role
from helpdesk.catalog import mail as _catalog_mail  # noqa: F401 (registers its e-mails)
from helpdesk.auth import mail as _auth_mail  # noqa: F401 (registers its e-mails)
from helpdesk.config import LANGUAGE_LABELS, LANGUAGES
from helpdesk.core.emails import EMAILS, Email, Rendered
from helpdesk.notifications import mail as _notifications_mail  # noqa: F401 (registers its e-mails)
from helpdesk.operations.views import bp
from helpdesk.sla.hours import support_hours
from helpdesk.status import mail as _status_mail  # noqa: F401 (registers its e-mails)
from helpdesk.tickets import mailing as _tickets_mail  # noqa: F401 (registers its e-mails)
from helpdesk.tickets import satisfaction as _satisfaction_mail  # noqa: F401 (registers its e-mail)

DOMAIN_LABELS = {"tickets": _l("Tickets"), "catalog": _l("Service Catalogue"), "accompaniment": _l("Accompaniment"),
                 "auth": _l("Accounts"), "notifications": _l("Notifications"),
                 "status": _l("Platform status"), "webhooks": _l("Webhooks")}
# The preview's own page: no script, no outside file, no form, only the e-mail's inline styles.
PREVIEW_POLICY = ("sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                  "frame-ancestors 'self'; form-action 'none'; base-uri 'none'")


def _email(domain: str, name: str) -> Email:
    email = EMAILS.get(f"{domain}/{name}")
    if email is None:
        abort(404)
    return email


def _sample(email: Email, language: str) -> Rendered:
    return email.render(language, email.sample(), hours=support_hours(language))


@bp.get("/admin/emails")
@roles_required(Role.ADMIN)
def emails() -> str:
    return render_template("operations/emails.html", emails=list(EMAILS.values()), domains=DOMAIN_LABELS)


@bp.get("/admin/emails/<domain>/<name>")
@roles_required(Role.ADMIN)
def email(domain: str, name: str) -> str:
    chosen = _email(domain, name)
    language = request.args.get("language", "")
    if language not in LANGUAGES:
        language = LANGUAGES[0]
    return render_template("operations/email.html", email=chosen, rendered=_sample(chosen, language),
                           language=language, languages=LANGUAGE_LABELS, domains=DOMAIN_LABELS)


@bp.get(f"/admin/emails/<domain>/<name>/<any({', '.join(LANGUAGES)}):language>.html")
@roles_required(Role.ADMIN)
def email_html(domain: str, name: str, language: str) -> Response:
    response = make_response(_sample(_email(domain, name), language).html)
    response.headers["Content-Security-Policy"] = PREVIEW_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Cache-Control"] = "no-store"
    return response
