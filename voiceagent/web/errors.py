"""Errors as users see them: JSON bodies under /api, pages (or a redirect to sign in)
under /staff. Neither ever carries a stack trace or anything about a patient.

API error body::

    {"error": {"status": 404, "code": "not_found", "message": "call not found"}}
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from voiceagent.logs import get_logger
from voiceagent.store.errors import InvalidTransition, NotFound
from voiceagent.web.auth import CsrfFailed, Forbidden, LoginRequired
from voiceagent.web.state import web_state

log = get_logger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "invalid_request",
    429: "too_many_requests",
    500: "internal_error",
}


class ErrorDetail(BaseModel):
    status: int
    code: str
    message: str
    fields: list[dict[str, str]] | None = None


class ErrorBody(BaseModel):
    """Every API error has this shape."""

    error: ErrorDetail


API_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No valid bearer token or staff session"},
    403: {"model": ErrorBody, "description": "The token's role does not allow this"},
    422: {"model": ErrorBody, "description": "A filter could not be understood"},
}


class ApiError(Exception):
    def __init__(
        self, status: int, message: str, fields: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields


def _is_api(request: Request) -> bool:
    return request.url.path == "/api" or request.url.path.startswith("/api/")


def _is_staff(request: Request) -> bool:
    return request.url.path.startswith("/staff")


def api_error(
    status: int, message: str, *, fields: list[dict[str, str]] | None = None, **headers: str
) -> JSONResponse:
    detail = ErrorDetail(status=status, code=CODES.get(status, "error"), message=message)
    if fields is not None:
        detail.fields = fields
    return JSONResponse(
        ErrorBody(error=detail).model_dump(exclude_none=True),
        status_code=status,
        headers=headers or None,
    )


def _page_error(request: Request, status: int, title: str, text: str) -> Response:
    web = web_state(request)
    principal = getattr(request.state, "principal", None)
    return web.page(request, "error.html", principal, status_code=status, title=title, text=text)


def install(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        web = web_state(request)
        if _is_api(request):
            return api_error(
                401,
                "a valid bearer token or staff session is needed",
                **{"WWW-Authenticate": "Bearer"},
            )
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        where = "/staff/login?next=" + quote(target, safe="")
        if exc.expired:
            where += "&msg=expired"
        if request.method != "GET":
            where = "/staff/login" + ("?msg=expired" if exc.expired else "")
        response = RedirectResponse(where, status_code=303)
        response.delete_cookie(web.policy.cookie_name, path="/")
        return response

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        if _is_api(request):
            return api_error(403, "this needs the admin role")
        return _page_error(request, 403, "Admins only", "This page is for clinic administrators.")

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, exc: CsrfFailed) -> Response:
        log.warning("csrf_rejected", path=request.url.path)
        if _is_api(request):
            return api_error(403, "missing or invalid CSRF token")
        return _page_error(
            request,
            403,
            "Form expired",
            "This form was not sent from a current dashboard page. Go back, reload the "
            "page and try again.",
        )

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return api_error(exc.status, exc.message, fields=exc.fields)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        if _is_api(request):
            return api_error(404, f"{exc.record_type} not found")
        return _page_error(request, 404, "Not found", f"That {exc.record_type} does not exist.")

    @app.exception_handler(InvalidTransition)
    async def _conflict(request: Request, exc: InvalidTransition) -> Response:
        if _is_api(request):
            return api_error(409, "the record is not in a state that allows this")
        return _page_error(request, 409, "Already handled", "Someone already handled this item.")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        # The offending input is left out: it may be whatever a client typed.
        fields = [
            {
                "field": ".".join(str(part) for part in err.get("loc", ()) if part != "query"),
                "problem": str(err.get("msg", "invalid")),
            }
            for err in exc.errors()
        ]
        if _is_api(request):
            return api_error(422, "the request could not be understood", fields=fields)
        if _is_staff(request):
            return _page_error(request, 400, "Bad request", "Some of the form was not valid.")
        return await request_validation_exception_handler(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_api(request):
            message = exc.detail if isinstance(exc.detail, str) else "request failed"
            return api_error(exc.status_code, message, **(exc.headers or {}))
        if _is_staff(request) and exc.status_code in (404, 405):
            return _page_error(request, exc.status_code, "Not found", "There is no such page.")
        return await http_exception_handler(request, exc)  # other routes: FastAPI's default

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # Type only: messages of unexpected errors may quote data.
        log.error("request_failed", path=request.url.path, error=type(exc).__name__)
        if _is_api(request):
            return api_error(500, "internal error")
        if _is_staff(request):
            return _page_error(
                request, 500, "Something went wrong", "The error was logged. Try again."
            )
        return PlainTextResponse("Internal Server Error", status_code=500)
