"""The task API's part of the OpenAPI description (merged in by ``openapi.document``):
parameters and enums come from the same definitions the inbox service validates against."""

from __future__ import annotations

from typing import Any

from ..models import CaseStage, Dimension, Level
from ..services.inbox_query import DATE_FIELDS, MAX_PAGE, PER_PAGE_CHOICES, SORTS, STAGES, TABS

SECURITY = [{"userToken": []}]
ERROR = {"$ref": "#/components/schemas/Error"}
FIELD_ERRORS = {"$ref": "#/components/schemas/FieldErrors"}
TIME = {"type": ["string", "null"], "format": "date-time", "description": "ISO 8601，北京时间"}
NAME = {"type": "string"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _object(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "required": sorted(properties), "properties": properties, **extra}


def security_scheme() -> dict[str, Any]:
    return {"type": "http", "scheme": "bearer",
            "description": "个人令牌（hcp users token USERNAME），以该用户的角色和部门办理任务"}


def schemas() -> dict[str, Any]:
    levels = [level.label for level in Level]
    task = _object({
        "id": {"type": "integer"}, "task": {**NAME, "description": "BPMN任务编号"}, "name": NAME,
        "role": {"type": ["string", "null"]}, "status": {"type": "string", "enum": ["ready", "completed"]},
        "stage": {"type": ["string", "null"], "enum": [s.value for s in CaseStage] + [None]},
        "stage_label": {"type": ["string", "null"]}, "case_no": NAME, "department": NAME, "service_item": NAME,
        "level": {"type": "string", "enum": levels},
        "level_code": {"type": "integer", "minimum": 1, "maximum": 5, "description": "国家上传接口满意度代码"},
        "dimensions": {"type": "array", "items": {"type": "string", "enum": [d.label for d in Dimension]}},
        "created_at": TIME, "deadline": TIME,
        "deadline_provisional": {"type": "boolean", "description": "节假日数据缺失时按临时规则计算（暂定）"},
        "working_days_left": {"type": ["integer", "null"], "description": "0 = 今日到期，负数 = 已逾期"},
        "urgency": {"type": "string", "enum": ["overdue", "soon", "ok", "none"]},
        "claimed_by": {"oneOf": [{"type": "null"}, _object({"id": {"type": "integer"}, "name": NAME})]},
        "completed_at": TIME,
        "actions": _object({"claim": {"type": "boolean"}, "unclaim": {"type": "boolean"}}),
    })
    task_list = _object({
        "tab": {"type": "string", "enum": list(TABS)},
        "tabs": {"type": "array", "items": {"type": "string", "enum": list(TABS)}},
        "page": {"type": "integer", "minimum": 1}, "per_page": {"type": "integer", "enum": list(PER_PAGE_CHOICES)},
        "total": {"type": "integer", "minimum": 0}, "pages": {"type": "integer", "minimum": 1},
        "tasks": {"type": "array", "items": {"$ref": "#/components/schemas/Task"}},
    })
    changed = _object({"id": {"type": "integer"}, "task": NAME, "name": NAME, "status": {"type": "string"},
                       "claimed_by": {"type": ["integer", "null"]}})
    next_task = {"oneOf": [{"type": "null"}, _object({"id": {"type": "integer"}, "task": NAME, "name": NAME})]}
    completed = _object({"case_no": NAME, "status": {"type": "string", "enum": ["open", "closed"]},
                         "stage": {"type": "string", "enum": [s.value for s in CaseStage]},
                         "next_task": {**next_task, "description": "该用户在同一工单上的下一个待办任务"}})
    contact = _object({"real_name": {"type": "boolean"}, "masked": {"type": "boolean"}, "name": NAME,
                       "phone": NAME, "id_no": NAME},
                      description="评价人；除认领联系群众或回访任务的经办人外均脱敏显示")
    open_task = _object({"id": {"type": "integer"}, "task": NAME, "name": NAME, "role": {"type": ["string", "null"]},
                         "due_at": TIME, "claimed": {"type": "boolean"}})
    case = _object({
        "case_no": NAME, "status": {"type": "string", "enum": ["open", "closed"]},
        "stage": {"type": "string", "enum": [s.value for s in CaseStage]}, "stage_label": NAME,
        "level": {"type": "string", "enum": levels}, "level_code": {"type": "integer", "minimum": 1, "maximum": 5},
        "dimensions": {"type": "array", "items": {"type": "string"}}, "comment": {"type": ["string", "null"]},
        "service_item": _object({"code": NAME, "name": NAME}), "department": NAME, "received_at": TIME,
        "overdue": {"type": "boolean"}, "is_complex": {"type": "boolean"},
        "deadlines": _object({"contact": TIME, "rectify": TIME, "close": TIME, "provisional": {"type": "boolean"}}),
        "contact": contact, "open_tasks": {"type": "array", "items": open_task},
    })
    field_errors = {"type": "object", "required": ["errors"], "properties": {
        "errors": {"type": "object", "additionalProperties": {"type": "string"}}}}
    return {"Task": task, "TaskList": task_list, "TaskChanged": changed, "TaskCompleted": completed,
            "CaseSummary": case, "FieldErrors": field_errors}


def _parameters() -> list[dict[str, Any]]:
    blank = {"type": "string", "maxLength": 0}

    def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
        # An empty value means "not given", as the inbox's filter form sends it.
        return {"name": name, "in": "query", "required": False, "schema": {"anyOf": [schema, blank]},
                "description": description + "（空值等同于未填写）"}

    return [
        query("tab", {"type": "string", "enum": list(TABS)},
              "；".join(f"{tab}：{label}" for tab, (label, _) in TABS.items())),
        query("task", {"type": "string"}, "按任务（BPMN任务编号）筛选"),
        query("stage", {"type": "string", "enum": [s.value for s in STAGES]}, "按阶段筛选"),
        query("item", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}, "按服务事项（编号）筛选"),
        query("overdue", {"type": "string", "enum": ["1", "0", "true", "false"]}, "仅看逾期"),
        query("date_field", {"type": "string", "enum": list(DATE_FIELDS)}, "日期范围所指：任务到达或截止日期"),
        query("date_from", {"type": "string", "format": "date"}, "起始日期（含），北京时间"),
        query("date_to", {"type": "string", "format": "date"}, "结束日期（含），北京时间"),
        query("sort", {"type": "string", "enum": list(SORTS)}, "排序（completed 仅用于 done）"),
        query("dir", {"type": "string", "enum": ["asc", "desc"]}, "排序方向"),
        query("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}, "页码"),
        query("per_page", {"type": "integer", "enum": list(PER_PAGE_CHOICES)}, "每页条数"),
    ]


def paths() -> dict[str, Any]:
    task_id = {"name": "task_id", "in": "path", "required": True,
               "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}}
    common = {"401": _json(ERROR, "缺少或无效的个人令牌"), "404": _json(ERROR, "任务或工单不存在，或该用户无权查看"),
              "429": _json(ERROR, "请求过于频繁")}
    refused = _json(ERROR, "不能办理：角色、部门不符，已被他人认领，或已由他人办理（detail 说明原因）")
    nul_refused = _json(ERROR, "路径或查询参数含有不允许的控制字符（NUL）")

    def action(operation: str, summary: str) -> dict[str, Any]:
        return {"post": {"operationId": operation, "summary": summary, "security": SECURITY,
                         "parameters": [task_id],
                         "responses": {"200": _json({"$ref": "#/components/schemas/TaskChanged"}, "已完成"),
                                       "403": _json(ERROR, "该用户没有办理任务的角色"), "409": refused, **common}}}

    return {
        "/api/v1/tasks": {"get": {
            "operationId": "getTasks", "summary": "当前用户的待办（与待办页面相同的分类、筛选和分页）",
            "security": SECURITY, "parameters": _parameters(),
            "responses": {"200": _json({"$ref": "#/components/schemas/TaskList"}, "一页任务"),
                          "400": nul_refused, "403": _json(ERROR, "该用户没有办理任务的角色"),
                          "422": _json(FIELD_ERRORS, "筛选条件有误（逐字段说明）"), **common}}},
        "/api/v1/tasks/{task_id}/claim": action("claimTask", "认领任务"),
        "/api/v1/tasks/{task_id}/unclaim": action("unclaimTask", "退回已认领的任务（本人，或本部门负责人）"),
        "/api/v1/tasks/{task_id}/complete": {"post": {
            "operationId": "completeTask", "summary": "提交任务表单，办结任务", "security": SECURITY,
            "parameters": [task_id],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "description": "任务表单的字段名 → 值（表单定义见 bpmn/forms；日期时间须带时区）"}}}},
            "responses": {"200": _json({"$ref": "#/components/schemas/TaskCompleted"}, "已提交"),
                          "400": _json(ERROR, "请求体不是JSON对象"), "403": _json(ERROR, "该用户没有办理任务的角色"),
                          "409": refused, "413": _json(ERROR, "请求体过大"), "415": _json(ERROR, "请求体须为JSON"),
                          "422": _json(FIELD_ERRORS, "表单字段错误（逐字段说明）"), **common}}},
        "/api/v1/cases/{case_no}": {"get": {
            "operationId": "getCase", "summary": "工单概要：评价、时限、阶段、待办任务（评价人信息脱敏）",
            "security": SECURITY,
            "parameters": [{"name": "case_no", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _json({"$ref": "#/components/schemas/CaseSummary"}, "工单概要"), "400": nul_refused,
                          **common}}},
    }
