"""Paging through lists: the page asked for in the query string, kept within the list's pages."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from flask import current_app, request, url_for
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select

from helpdesk.core.validation import LARGEST_NUMBER, whole_number
from helpdesk.extensions import db


def paginate(statement: Select[Any], per_page: int | None = None, asked: str | None = None) -> Pagination:
    """The page of ``statement`` named by ``?page=`` (or ``asked``): junk is the first page, a number past the
    end the last."""
    per_page = per_page or current_app.config["PAGE_SIZE"]
    asked = request.args.get("page", "") if asked is None else asked
    number = whole_number(asked) or (LARGEST_NUMBER if re.fullmatch(r"[0-9]+", asked.strip()) else 1)
    page = db.paginate(statement, page=number, per_page=per_page, error_out=False)
    if number > 1 and not page.items and page.pages:
        page = db.paginate(statement, page=page.pages, per_page=per_page, error_out=False)
    return page


def page_url(number: int) -> str:
    """This page's address with another page number, every other query parameter kept as it was."""
    pairs = [(key, value) for key, value in request.args.items(multi=True) if key != "page"]
    base = url_for(request.endpoint, **(request.view_args or {})) if request.endpoint else request.path
    return base + "?" + urlencode([*pairs, ("page", number)])
