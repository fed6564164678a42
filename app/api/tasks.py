"""The task API for mobile and integration clients, authenticated by a personal token
(``Authorization: Bearer hcpu_…``): the user's inbox, claim / unclaim / complete, a case.
Same services, same role and department checks as the web pages; what the user may not
see is a 404."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from calendars import SHANGHAI
from flask import abort, current_app, g, jsonify, request
from werkzeug.wrappers import Response

from ..extensions import db, limiter
from ..models import User
from ..services import task_work
from ..services.case_tasks import FormInvalid, TaskError
from ..services.inbox import InboxRow, list_tasks
from ..services.inbox_query import WORK_ROLES, InboxQueryError, parse_query, task_choices
from . import bp
from .user_auth import user_token_required

MAX_BODY = 256 * 1024  # a task form's values


def _user() -> User:
    user: User = g.api_user
    if not user.has_role(*WORK_ROLES):
        abort(403, description="该用户没有办理任务的角色")
    return user


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(SHANGHAI).isoformat() if moment else None


def task_json(row: InboxRow) -> dict[str, Any]:
    return {
        "id": row.task_id, "task": row.bpmn_id, "name": row.task_name, "role": row.role, "status": row.status,
        "stage": row.stage, "stage_label": row.stage_label or None, "case_no": row.case_no,
        "department": row.department, "service_item": row.item, "level": row.level.label,
        "level_code": row.level.national_code, "dimensions": [d.label for d in row.dimensions],
        "created_at": _iso(row.created_at), "deadline": _iso(row.deadline), "deadline_provisional": row.provisional,
        "working_days_left": row.days_left, "urgency": row.urgency,
        "claimed_by": {"id": row.claimed_by, "name": row.claimed_by_name} if row.claimed_by else None,
        "completed_at": _iso(row.completed_at),
        "actions": {"claim": row.can_claim, "unclaim": row.can_unclaim},
    }


def _rate() -> str:
    return str(current_app.config["API_RATE_LIMIT"])


@bp.get("/tasks")
@limiter.limit(_rate)
@user_token_required
def get_tasks() -> tuple[Response, int]:
    user = _user()
    try:
        query = parse_query(request.args, user, tasks={task for task, _ in task_choices(db.session)})
    except InboxQueryError as error:
        return jsonify({"errors": error.errors}), 422
    page = list_tasks(db.session, user, query)
    return jsonify({"tab": query.tab, "tabs": [tab for tab, _ in page.tabs], "page": query.page,
                    "per_page": query.per_page, "total": page.total, "pages": page.pages,
                    "tasks": [task_json(row) for row in page.rows]}), 200


def _changed(task: Any) -> tuple[Response, int]:
    return jsonify({"id": task.id, "task": task.bpmn_id, "name": task.name, "status": task.status,
                    "claimed_by": task.claimed_by}), 200


def _act(action: Any) -> tuple[Response, int]:
    try:
        task = action()
    except task_work.NotVisible:
        db.session.rollback()
        abort(404)
    except TaskError as error:
        db.session.rollback()
        abort(409, description=str(error))
    db.session.commit()
    return _changed(task)


@bp.post("/tasks/<int:task_id>/claim")
@limiter.limit(_rate)
@user_token_required
def claim_task(task_id: int) -> tuple[Response, int]:
    user = _user()
    return _act(lambda: task_work.claim(db.session, user, task_id))


@bp.post("/tasks/<int:task_id>/unclaim")
@limiter.limit(_rate)
@user_token_required
def unclaim_task(task_id: int) -> tuple[Response, int]:
    user = _user()
    return _act(lambda: task_work.unclaim(db.session, user, task_id))


@bp.post("/tasks/<int:task_id>/complete")
@limiter.limit(_rate)
@user_token_required
def complete_task(task_id: int) -> tuple[Response, int]:
    user = _user()
    request.max_content_length = MAX_BODY
    if not request.is_json:
        abort(415, description="请求体须为JSON（Content-Type: application/json）")
    values = request.get_json(silent=True)
    if not isinstance(values, dict):
        abort(400, description="请求体须为JSON对象：表单字段名 → 值")
    try:
        case = task_work.submit(db.session, user, task_id, values)
    except task_work.NotVisible:
        db.session.rollback()
        abort(404)
    except FormInvalid as invalid:
        db.session.rollback()
        return jsonify({"errors": invalid.errors}), 422
    except TaskError as error:
        db.session.rollback()
        abort(409, description=str(error))
    db.session.commit()
    following = task_work.next_task(db.session, user, case)
    return jsonify({"case_no": case.case_no, "status": case.status.value, "stage": case.stage.value,
                    "next_task": {"id": following.id, "task": following.bpmn_id, "name": following.name}
                    if following else None}), 200


@bp.get("/cases/<case_no>")
@limiter.limit(_rate)
@user_token_required
def get_case(case_no: str) -> tuple[Response, int]:
    user = g.api_user
    try:
        case = task_work.visible_case(db.session, user, case_no)
    except task_work.NotVisible:
        abort(404)
    return jsonify(task_work.case_summary(db.session, user, case).as_json()), 200
