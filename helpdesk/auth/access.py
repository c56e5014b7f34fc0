"""View guards: who may open a page. Record-level rules live on the models and in the queries."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import abort
from flask_login import current_user, login_required

from helpdesk.auth.models import Role

P = ParamSpec("P")
R = TypeVar("R")


def staff_required(view: Callable[P, R]) -> Callable[P, R]:
    """Signed-in staff only; council users get 403."""
    @wraps(view)
    @login_required
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        if not current_user.is_staff:
            abort(403)
        return view(*args, **kwargs)
    return guarded


def roles_required(*roles: Role) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Signed-in users with one of ``roles`` only."""
    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        @login_required
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return guarded
    return decorator
