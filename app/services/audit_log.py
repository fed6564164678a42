"""The audit log of user actions outside cases (issue 8): written by the service or view
that performed the action, in the same transaction; searched by auditors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from calendars import SHANGHAI
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.clock import current_clock

from ..models import AuditEntry, User
from .request_values import DAY_RANGE_MESSAGE, day_in_range

ACTIONS = {
    "login": "登录", "login_failed": "登录失败", "logout": "退出", "password_changed": "修改密码",
    "user_created": "创建用户", "user_updated": "修改用户", "roles_changed": "变更角色",
    "password_reset": "重置密码", "user_deactivated": "停用用户", "user_activated": "启用用户",
    "api_key_created": "创建API密钥", "api_key_revoked": "吊销API密钥",
    "token_created": "创建个人令牌", "token_revoked": "吊销个人令牌",
    "calendar_loaded": "加载节假日数据", "process_deployed": "部署流程", "process_approved": "批准流程",
    "instance_migrated": "迁移流程实例", "ratings_imported": "导入纸质评价", "outbox_retried": "重试省级推送",
    "case_exported": "导出案卷", "report_exported": "导出报表", "audit_verified": "核验历史",
    "case_replayed": "重演案件", "cases_archived": "归档案件",
}
PER_PAGE = 50


def log_action(session: Session, action: str, *, actor: User | str | None, target: str | None = None,
               detail: dict[str, Any] | None = None, ip: str | None = None,
               at: datetime | None = None) -> AuditEntry:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    entry = AuditEntry(occurred_at=at or current_clock().now(), action=action,
                       actor_id=actor.id if isinstance(actor, User) else None,
                       actor=(actor.username if isinstance(actor, User) else (actor or "system"))[:64],
                       target=target[:200] if target else None, ip=ip, detail=detail or {})
    session.add(entry)
    return entry


class AuditQueryError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


@dataclass(frozen=True)
class AuditQuery:
    action: str | None = None
    actor: str | None = None
    target: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1

    @classmethod
    def parse(cls, args: Any) -> AuditQuery:
        action = args.get("action") or None
        if action is not None and action not in ACTIONS:
            raise AuditQueryError("action", "未知的操作类型")
        actor = (args.get("actor") or "").strip() or None
        target = (args.get("target") or "").strip() or None
        for name, value in (("actor", actor), ("target", target)):
            if value is not None and len(value) > 100:
                raise AuditQueryError(name, "不超过100个字符")
        days = []
        for name in ("date_from", "date_to"):
            raw = (args.get(name) or "").strip()
            try:
                days.append(date.fromisoformat(raw) if raw else None)
            except ValueError:
                raise AuditQueryError(name, "日期格式应为 YYYY-MM-DD") from None
            if days[-1] is not None and not day_in_range(days[-1]):
                raise AuditQueryError(name, "日期" + DAY_RANGE_MESSAGE)
        if days[0] and days[1] and days[0] > days[1]:
            raise AuditQueryError("date_to", "结束日期早于开始日期")
        try:
            page = int(args.get("page") or 1)
        except ValueError:
            raise AuditQueryError("page", "页码须为正整数") from None
        if page < 1:
            raise AuditQueryError("page", "页码须为正整数")
        return cls(action, actor, target, days[0], days[1], page)


@dataclass
class AuditPage:
    rows: list[AuditEntry]
    total: int
    page: int
    pages: int


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(session: Session, query: AuditQuery) -> AuditPage:
    """Entries matching ``query``, newest first; dates are Beijing days."""
    conditions = []
    if query.action:
        conditions.append(AuditEntry.action == query.action)
    if query.actor:
        conditions.append(AuditEntry.actor.like(f"{_like(query.actor)}%", escape="\\"))
    if query.target:
        conditions.append(AuditEntry.target.like(f"%{_like(query.target)}%", escape="\\"))
    if query.date_from:
        conditions.append(AuditEntry.occurred_at >= datetime.combine(query.date_from, time(), SHANGHAI))
    if query.date_to:
        conditions.append(AuditEntry.occurred_at < datetime.combine(query.date_to + timedelta(days=1), time(), SHANGHAI))
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(*conditions)) or 0
    pages = max(1, -(-total // PER_PAGE))
    page = min(query.page, pages)
    rows = session.scalars(select(AuditEntry).where(*conditions).order_by(AuditEntry.id.desc())
                           .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    return AuditPage(list(rows), total, page, pages)
