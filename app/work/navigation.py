"""Template helpers of the navigation bar: links to endpoints that may not be registered
(other parts of the UI are built separately), shown only to the roles that have them,
and the badge of urgent tasks on the inbox link."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, request, url_for
from flask_login import current_user
from sqlalchemy.exc import DBAPIError

from ..extensions import db
from ..models import Role
from ..services.inbox import badge_count
from ..services.inbox_query import WORK_ROLES
from . import bp

# Roles that work tasks from an inbox (and land there after signing in).
INBOX_ROLES = WORK_ROLES
# (endpoint, label, roles that see it — None: everyone signed in)
NAV_LINKS: tuple[tuple[str, str, tuple[Role, ...] | None], ...] = (
    ("work.inbox", "待办", INBOX_ROLES),
    ("cases.verifier_queue", "审核队列", (Role.VERIFIER,)),
    ("supervision.board", "督办看板", (Role.SUPERVISOR,)),
    ("designer.library", "流程设计", (Role.DESIGNER, Role.AUDITOR, Role.ADMIN)),
    ("reports.index", "统计报表", (Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN, Role.LEAD)),
    ("reports.bulletin_list", "月度通报", (Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)),
    ("audit.index", "审计", (Role.AUDITOR, Role.SUPERVISOR)),
    ("notifications.index", "消息", None),
    ("admin.users", "系统管理", (Role.ADMIN,)),
    ("records.outbox", "省级推送", (Role.ADMIN,)),
    ("records.imports", "纸质评价导入", (Role.ADMIN,)),
    ("auth.change_password", "修改密码", None),
)


@dataclass(frozen=True)
class NavLink:
    endpoint: str
    label: str
    url: str
    active: bool
    badge: int | None = None


@bp.app_template_global()
def nav_url(endpoint: str, **values: Any) -> str | None:
    """The URL of ``endpoint``, or None when no view of that name is registered."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


@bp.app_template_global()
def nav_links() -> list[NavLink]:
    """The navigation links of the signed-in user: registered endpoints their roles have."""
    if not current_user.is_authenticated:
        return []
    links = []
    for endpoint, label, roles in NAV_LINKS:
        url = nav_url(endpoint)
        if url is None or (roles is not None and not current_user.has_role(*roles)):
            continue
        badge = _inbox_badge() if endpoint == "work.inbox" else None
        links.append(NavLink(endpoint, label, url, request.endpoint == endpoint, badge))
    return links


def _inbox_badge() -> int | None:
    """Tasks overdue or due today for the signed-in user."""
    try:
        return badge_count(db.session, current_user._get_current_object())
    except DBAPIError:  # an error page about the database itself: no badge
        current_app.logger.warning("inbox badge unavailable: database error")
        return None
