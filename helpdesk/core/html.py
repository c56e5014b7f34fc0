"""HTML from outside (e-mail, pasted text) made safe to show: nh3 keeps a small allow-list of tags."""
from __future__ import annotations

import nh3

ALLOWED_TAGS = {"a", "abbr", "b", "blockquote", "br", "code", "dd", "div", "dl", "dt", "em", "h1", "h2", "h3",
                "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "small", "span", "strong", "sub",
                "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
                      "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}, "abbr": {"title"}}
# Links may leave; images only come from our own attachments (cid: parts become attachment URLs).
URL_SCHEMES = {"http", "https", "mailto", "tel"}


def sanitize_html(html: str) -> str:
    """Keep text and harmless markup; drop scripts, styles, event handlers, forms and remote images."""
    if not html:
        return ""
    cleaned = nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES,
                        link_rel="noopener noreferrer nofollow", strip_comments=True,
                        attribute_filter=_no_remote_images)
    return cleaned


def _no_remote_images(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src" and not value.startswith("/attachments/"):
        return None  # remote images track who reads the mail and break the page's CSP anyway
    return value
