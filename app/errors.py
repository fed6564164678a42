"""Error pages and JSON errors. No traceback ever reaches a client: Flask logs an unhandled
exception and answers it through the 500 handler below."""

from __future__ import annotations

from flask import Flask, Response, jsonify, render_template, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

RETRY_AFTER_SECONDS = 30

MESSAGES = {
    400: "请求无效",
    401: "请先登录",
    403: "没有权限访问该页面",
    404: "页面不存在",
    405: "不支持该请求方法",
    413: "提交的内容过大",
    415: "不支持的内容类型",
    429: "请求过于频繁，请稍后再试",
    500: "系统内部错误，已记录，请稍后再试",
    503: "系统暂时不可用，请稍后再试",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _render(status: int, detail: str | None = None) -> Response:
    message = MESSAGES.get(status, "请求无法完成")
    if _wants_json():
        body = {"error": {"status": status, "message": message}}
        if detail:
            body["error"]["detail"] = detail
        response = jsonify(body)
    else:
        response = Response(render_template("error.html", status=status, message=message, detail=detail))
    response.status_code = status
    return response


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        # A description given where the error was raised is shown; werkzeug's defaults are not.
        explicit = error.description if error.description != type(error).description else None
        response = _render(error.code or 500, explicit)
        if error.code == 405 and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        if error.code == 401 and request.path.startswith("/api/"):
            response.headers["WWW-Authenticate"] = 'Bearer realm="hcp"'
        return response

    @app.errorhandler(DBAPIError)
    def _database(error: DBAPIError) -> Response:
        # Unreachable, restarting or locked database: the client may retry later.
        if error.connection_invalidated or isinstance(error, OperationalError):
            app.logger.error("database unavailable: %s", error.orig.__class__.__name__)
            response = _render(503)
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        app.logger.exception("database error")
        return _render(500)

