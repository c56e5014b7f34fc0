"""E-mail the desk sends, as templates: each e-mail is registered once, beside the code that sends it, with
what sends it, who receives it and a sample to preview it; it is rendered in one language into a subject, a
plain-text body and an HTML alternative.

An e-mail called ``tickets/acknowledgement`` is ``templates/emails/tickets/acknowledgement.txt`` (the
``subject`` block and the text) and ``….html`` (autoescaped, inline styles, no external assets). Both extend
the layouts beside them, which add the support footer: the desk's address and phone (configuration) and the
support hours (the SLA calendar, described by the caller, which sits above this module). Undefined names are
errors, so a context that misses a value fails the test that renders it rather than sending a blank.
"""
from __future__ import annotations

import re
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, ContextManager, Mapping

from flask import current_app
from flask_babel import force_locale, format_date, format_time, get_locale
from jinja2 import Environment, StrictUndefined
from markupsafe import Markup, escape

from helpdesk.config import LANGUAGES
from helpdesk.core.urls import base_url

#: Every e-mail the desk sends, by name ("domain/name"), in the order the domains registered them.
EMAILS: dict[str, Email] = {}
_LINK = re.compile(r"(https?://[^\s<>()\"']+[^\s<>()\"'.,;:!?])")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Email:
    """One e-mail the desk sends: its templates, what sends it, who receives it and sample data."""

    name: str  # "tickets/acknowledgement"
    trigger: Any  # a lazy string: what makes the desk send it
    recipients: Any  # a lazy string: who receives it (and so which language it is written in)
    sample: Callable[[], dict[str, Any]] = field(compare=False)  # a context with made-up values, for the preview
    template: str = ""  # templates/emails/<template>.txt and .html; empty: the name (two e-mails may share one)

    @property
    def domain(self) -> str:
        return self.name.partition("/")[0]

    @property
    def short_name(self) -> str:
        return self.name.partition("/")[2]

    def render(self, language: str, context: Mapping[str, Any], *, hours: str) -> Rendered:
        """The e-mail in ``language`` with ``context``; ``hours`` describes the support hours in that language."""
        return render(self.template or self.name, language, context, hours=hours)


def register(name: str, *, trigger: Any, recipients: Any, sample: Callable[[], dict[str, Any]],
             template: str = "") -> Email:
    """Declare an e-mail (once, at import of the module that sends it)."""
    email = Email(name, trigger, recipients, sample, template)
    EMAILS[name] = email
    return email


def in_language(language: str) -> ContextManager[Any]:
    """Babel's force_locale reloads the catalogues each time: switch only when the language differs."""
    return nullcontext() if str(get_locale() or "") == language else force_locale(language)


def render(template: str, language: str, context: Mapping[str, Any], *, hours: str) -> Rendered:
    """Render the e-mail templates ``template`` in ``language`` (ca, es or en; else the desk's default)."""
    config = current_app.config
    if language not in LANGUAGES:
        language = config["DEFAULT_LANGUAGE"]
    values = {"language": language, "desk_name": config["MAIL_FROM_NAME"], "support_email": config["SUPPORT_EMAIL"],
              "support_phone": config["SUPPORT_PHONE"], "support_hours": hours,
              "base_url": base_url(), **context}
    env = environment()
    with in_language(language):
        text_template = env.get_template(f"emails/{template}.txt")
        subject = " ".join("".join(text_template.blocks["subject"](text_template.new_context(values))).split())
        text = text_template.render(values)
        html = env.get_template(f"emails/{template}.html").render({**values, "subject": subject})
    return Rendered(subject, _tidy(text), html)


def environment() -> Environment:
    """The app's template environment (loader, translations, filters), tuned for e-mail: block tags leave
    no blank lines, and an undefined name is an error."""
    env = current_app.extensions.get("helpdesk.emails")
    if env is None:
        env = current_app.jinja_env.overlay(undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        env.filters = {**env.filters, "paragraphs": paragraphs, "when": when}  # its own copy: the web pages' stays as it was
        current_app.extensions["helpdesk.emails"] = env
    return env


def when(moment: datetime) -> str:
    """A moment as people read it in the current language and the desk's time zone: the whole date (weekday,
    day, month, year) and the time on the 24-hour clock, without seconds."""
    return f"{format_date(moment, 'full')}, {format_time(moment, 'H:mm')}"


def paragraphs(text: str) -> Markup:
    """Plain text (an agent's reply, a manager's message) as HTML paragraphs: escaped, line breaks kept,
    addresses made links."""
    blocks = [block for block in re.split(r"\n\s*\n", (text or "").replace("\r\n", "\n").strip()) if block]
    rendered = []
    for block in blocks:
        lines = [_linked(line) for line in block.split("\n")]
        rendered.append('<p style="margin:0 0 1em">' + "<br>\n".join(lines) + "</p>")
    return Markup("\n".join(rendered))


def _linked(line: str) -> str:
    parts = _LINK.split(line)
    return "".join(f'<a href="{escape(part)}" style="color:#0b5cad">{escape(part)}</a>' if index % 2 else
                   str(escape(part)) for index, part in enumerate(parts))


def _tidy(text: str) -> str:
    """No blank lines at either end; one newline at the end."""
    return text.strip("\n") + "\n"
