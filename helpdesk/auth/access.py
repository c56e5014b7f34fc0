"""View guards: who may open a page. Record-level rules live on the models and in the queries."""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from helpdesk.auth.models import Role


def staff_required(view):
    """Signed-in staff only; council users get 403."""
    @wraps(view)
    @login_required
    def guarded(*args, **kwargs):
        if not current_user.is_staff:
            abort(403)
        return view(*args, **kwargs)
    return guarded


def roles_required(*roles: Role):
    """Signed-in users with one of ``roles`` only."""
    def decorator(view):
        @wraps(view)
        @login_required
        def guarded(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return guarded
    return decorator
