"""The dossier as a PDF, made by WeasyPrint from an HTML template with print CSS.

WeasyPrint lays text out with Pango (a system library, with HarfBuzz and fontconfig); where it is missing,
WeasyPrint cannot be imported and ``unavailable()`` says so, so the page can tell people instead of failing.
It is imported when first needed: loading it costs about a second that no other page should pay.

The document fetches nothing from the network: its only fetcher serves the app's own static files (its
stylesheet) from the disk and refuses every other address, so a link in a council's name or a project's
title cannot make the server call out. Fonts are the system's (fontconfig)."""
from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

_loaded: dict[str, Any] = {}

#: The address the document is laid out at: never fetched, only a base for the static files' links.
BASE_URL = "https://dossier.invalid/"


def _weasyprint() -> Any:
    """The weasyprint module; ImportError or OSError (a system library missing) when it cannot load."""
    if "module" not in _loaded:
        import weasyprint
        _loaded["module"] = weasyprint
    return _loaded["module"]


def unavailable() -> str | None:
    """Why no PDF can be made here (WeasyPrint or its system libraries missing), or None when it can."""
    try:
        _weasyprint()
    except (ImportError, OSError) as error:
        return f"{type(error).__name__}: {error}"
    return None


def static_file(url: str, static_folder: str, static_url_path: str) -> tuple[bytes, str] | None:
    """The bytes and type of the app's static file at ``url`` (under BASE_URL), or None for anything else."""
    prefix = BASE_URL + static_url_path.strip("/") + "/"
    if not url.startswith(prefix):
        return None
    name = url[len(prefix):].split("?")[0].split("#")[0]
    root = Path(static_folder).resolve()
    path = (root / name).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path.read_bytes(), mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _fetcher(module: Any, static_folder: str, static_url_path: str) -> Any:
    """A fetcher in the form the installed WeasyPrint expects: a URLFetcher subclass in recent versions, a function
    returning a dict in older ones."""
    def serve(url: str) -> tuple[bytes, str]:
        found = static_file(url, static_folder, static_url_path)
        if found is None:
            raise ValueError(f"the dossier fetches only the desk's static files, not {url[:200]}")
        return found

    base = getattr(getattr(module, "urls", None), "URLFetcher", None)
    if base is None:
        def fetch(url: str) -> dict[str, Any]:
            body, mime_type = serve(url)
            return {"string": body, "mime_type": mime_type, "redirected_url": url}
        return fetch

    response = module.urls.URLFetcherResponse

    class StaticOnly(base):  # type: ignore[misc, valid-type]
        def fetch(self, url: str, headers: Any = None) -> Any:
            body, mime_type = serve(url)
            return response(url, body, {"Content-Type": mime_type})

    return StaticOnly()


def render(html: str, static_folder: str, static_url_path: str) -> bytes:
    """The PDF of ``html`` (its links to static files relative to BASE_URL)."""
    module = _weasyprint()
    document = module.HTML(string=html, base_url=BASE_URL,
                           url_fetcher=_fetcher(module, static_folder, static_url_path))
    return bytes(document.write_pdf())
