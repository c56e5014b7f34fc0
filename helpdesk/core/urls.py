"""The desk's own public address, for links that leave the browser (e-mail, calendar files, a platform's
sign-in callback): ``BASE_URL`` when it is set; otherwise the address the page was served at, or, outside
a web request (the scheduler, the CLI), the local address ``helpdesk run`` serves on."""
from __future__ import annotations

from flask import current_app, has_request_context, request


def base_url() -> str:
    """The desk's address without a trailing slash, such as ``https://suport.example.org``."""
    configured = str(current_app.config.get("BASE_URL") or "").strip()
    if configured:
        return configured.rstrip("/")
    if has_request_context():
        # url_root is host_url (the scheme, host and port the person used; ProxyFix corrects them behind
        # TRUSTED_PROXIES) plus the prefix the desk is mounted under, if any. It trusts the Host header,
        # which is why production sets BASE_URL.
        return str(request.url_root).rstrip("/")
    return f"http://127.0.0.1:{current_app.config['PORT']}"
