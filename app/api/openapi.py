"""The OpenAPI 3.1 description of ``/api/v1``, built from the same enums the code uses, so
the channel, level and dimension names it lists are always the accepted ones."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from werkzeug.wrappers import Response

from ..models import Channel, Dimension, EvaluatorType, IdType, Level
from ..services.intake import MAX_BATCH
from . import bp, openapi_tasks

CODE = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9_-]+$"}


def _names(enum: Any, *, values: bool = True) -> list[str]:
    return [*(m.value for m in enum if values), *(m.label for m in enum)]


def rating_schema() -> dict[str, Any]:
    evaluator = {
        "type": "object", "additionalProperties": False,
        "description": "评价人；缺省为匿名评价。实名评价须有姓名及电话或证件号码（回访，R8）。",
        "properties": {
            "real_name": {"type": "boolean"},
            "name": {"type": "string", "minLength": 1, "maxLength": 50},
            "phone": {"type": "string", "description": "大陆手机号或固定电话"},
            "id_type": {"type": "string", "enum": _names(IdType)},
            "id_no": {"type": "string", "minLength": 5, "maxLength": 30},
            "person_type": {"type": "string", "enum": _names(EvaluatorType)},
        },
    }
    return {
        "type": "object", "additionalProperties": False,
        "required": ["id", "service_record_no", "service_item_code", "channel", "level", "evaluated_at"],
        "properties": {
            "id": {"type": "string", "minLength": 1, "maxLength": 128,
                   "description": "来源系统的评价编号（同一来源幂等）"},
            "service_record_no": {**CODE, "description": "办件编号"},
            "service_item_code": {**CODE, "description": "事项编码"},
            "department_code": {"type": "string", "pattern": "^[0-9A-HJ-NP-RTUWXY]{18}$",
                                "description": "部门统一社会信用代码；办件尚未同步时必填"},
            "staff_no": {"type": "string", "minLength": 1, "maxLength": 32},
            "channel": {"type": "string", "enum": _names(Channel)},
            "level": {"oneOf": [{"type": "integer", "minimum": 1, "maximum": 5,
                                 "description": "国家上传接口满意度代码：5=非常满意 … 1=非常不满意"},
                                {"type": "string", "enum": _names(Level, values=False)}]},
            "dimensions": {"type": "array", "maxItems": 9, "uniqueItems": True,
                           "items": {"type": "string", "enum": _names(Dimension)}},
            "comment": {"type": ["string", "null"], "maxLength": 1000},
            "evaluated_at": {"type": "string", "format": "date-time", "description": "ISO 8601，须带时区"},
            "follow_up": {"type": "boolean", "description": "追评"},
            "region_code": {"type": "string", "pattern": "^[0-9]{6}$"},
            "evaluator": evaluator,
        },
    }


def result_schema() -> dict[str, Any]:
    return {
        "type": "object", "required": ["status", "id"],
        "properties": {
            "status": {"type": "string", "enum": ["created", "duplicate", "invalid", "conflict"]},
            "id": {"type": ["string", "null"]},
            "rating_id": {"type": "integer"},
            "case_no": {"type": ["string", "null"]},
            "deadlines": {"type": "object", "properties": {
                "contact": {"type": ["string", "null"], "format": "date-time"},
                "rectify": {"type": ["string", "null"], "format": "date-time"}}},
            "deadlines_provisional": {"type": "boolean"},
            "errors": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    }


ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["status", "message"],
    "properties": {"status": {"type": "integer"}, "message": {"type": "string"}, "detail": {"type": "string"}}}}}
FIELD_ERRORS = {"type": "object", "required": ["errors"],
                "properties": {"errors": {"type": "object", "additionalProperties": {"type": "string"}}}}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def document() -> dict[str, Any]:
    rating, result = {"$ref": "#/components/schemas/Rating"}, {"$ref": "#/components/schemas/IntakeResult"}
    batch = {"type": "object", "additionalProperties": False, "required": ["evaluations"],
             "properties": {"evaluations": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH, "items": rating}}}
    batch_result = {"type": "object", "required": ["results", "summary"], "properties": {
        "results": {"type": "array", "items": result},
        "summary": {"type": "object", "additionalProperties": {"type": "integer"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "政务服务“好差评”差评办理系统 API", "version": "1",
                 "description": "评价器、二维码、政务服务网、赣服通、自助终端、热线和短信的评价接入；"
                                "以个人令牌办理任务的待办接口。"},
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer",
                                           "description": "来源的API密钥（hcp apikey create）"},
                                "userToken": openapi_tasks.security_scheme()},
            "schemas": {"Rating": rating_schema(), "IntakeResult": result_schema(), "Error": ERROR,
                        **openapi_tasks.schemas()},
        },
        "security": [{"apiKey": []}],
        "paths": {"/api/v1/evaluations": {"post": {
            "operationId": "postEvaluations",
            "summary": "提交一条评价，或一批（最多1000条）",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"oneOf": [rating, batch]}}}},
            "responses": {
                "201": _json(result, "已保存；差评同时开单，返回工单号与办理时限"),
                "200": _json({"anyOf": [result, batch_result]}, "同一来源同一编号的重复提交（返回首次结果），或批量结果"),
                "400": _json(ERROR, "请求体不是有效的JSON"),
                "401": _json(ERROR, "缺少或无效的API密钥"),
                "409": _json(result, "该办件已评价（一次一评）"),
                "413": _json({"anyOf": [ERROR, FIELD_ERRORS]}, "请求体或批量过大"),
                "415": _json(ERROR, "请求体须为JSON"),
                "422": _json({"anyOf": [result, FIELD_ERRORS]}, "字段错误（逐字段说明）"),
                "503": _json(ERROR, "数据库暂时不可用，请按Retry-After重试"),
            },
        }}, **openapi_tasks.paths()},
    }


@bp.get("/openapi.json")
def openapi() -> Response:
    """The description itself needs no key: it holds no data."""
    return jsonify(document())
