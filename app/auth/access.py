"""Role checks for views: signed in (else to the login page), and holding one of the roles
(else 403). Department checks belong to the services, which answer 404 for what a user may
not see."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort
from flask_login import current_user, login_required

from ..models import Role

F = TypeVar("F", bound=Callable[..., Any])


def roles_required(*roles: Role) -> Callable[[F], F]:
    if not roles:
        raise ValueError("roles_required needs at least one role")

    def decorate(view: F) -> F:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return cast(F, login_required(checked))

    return decorate
