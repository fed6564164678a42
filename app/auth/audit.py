"""Writing the audit log from a view: who (the signed-in user unless told), from where."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_login import current_user

from ..extensions import db
from ..models import User
from ..services.audit_log import log_action


def audit(action: str, *, actor: User | str | None = None, target: str | None = None,
          detail: dict[str, Any] | None = None) -> None:
    """Add an entry to the audit log in the request's transaction (the view commits)."""
    if actor is None:
        actor = current_user._get_current_object() if current_user.is_authenticated else "anonymous"
    log_action(db.session, action, actor=actor, target=target, detail=detail, ip=request.remote_addr)
