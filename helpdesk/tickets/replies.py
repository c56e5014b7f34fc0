"""Replies written in Markdown: the agent's signature added after "-- ", and the HTML that the ticket page, the
preview and the e-mail's HTML part show. The text itself (Markdown reads well as it is) is the plain-text part.

The HTML comes from markdown-it-py and the desk's sanitiser, as FAQ articles do (raw HTML in the text is shown
as text, never run), with two differences that keep how replies already read in the mail: a line break stays a
line break (a greeting, a signature) and a bare address becomes a link (the FAQ insert writes "Title: URL").
"""
from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from helpdesk.core.html import sanitize_html

SIGNATURE_SEPARATOR = "-- "  # the usual mail convention: clients fold or grey what follows
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True})
# The linkify option needs linkify-it-py, which the desk does not ship; addresses are simple enough to find here.
_BARE_URL = re.compile(r"\bhttps?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


def _bare_links(state: StateCore) -> None:
    """Turn http(s) addresses in plain text (not already in a link or in code) into links."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        depth = 0
        for token in block.children:
            depth += (token.type == "link_open") - (token.type == "link_close")
            if token.type != "text" or depth or not _BARE_URL.search(token.content):
                children.append(token)
                continue
            position = 0
            for match in _BARE_URL.finditer(token.content):
                if match.start() > position:
                    children.append(_text(token.content[position:match.start()]))
                link = Token("link_open", "a", 1)
                link.attrSet("href", match.group(0))
                children += [link, _text(match.group(0)), Token("link_close", "a", -1)]
                position = match.end()
            if position < len(token.content):
                children.append(_text(token.content[position:]))
        block.children = children


def _text(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


_markdown.core.ruler.push("bare_links", _bare_links)


def with_signature(body: str, signature: str | None) -> str:
    """The reply's text with the agent's signature below the separator (as it is, when there is none)."""
    body, signature = body.rstrip(), (signature or "").replace("\r\n", "\n").strip()
    if not signature:
        return body
    return f"{body}\n\n{SIGNATURE_SEPARATOR}\n{signature}"


def is_signed(text: str) -> bool:
    """Whether the text ends in a signature (then the mail does not add the agent's name below it)."""
    return f"\n{SIGNATURE_SEPARATOR}\n" in text


def to_html(markdown: str) -> str:
    """The reply's Markdown as sanitised HTML: bold, lists, links, quotes; nothing that runs."""
    return sanitize_html(_markdown.render(markdown or "")).strip()
