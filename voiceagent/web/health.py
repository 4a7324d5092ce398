"""Liveness/readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from voiceagent.web.auth import BearerCredentials
from voiceagent.web.metrics_access import may_read_metrics
from voiceagent.web.state import WebState, web_state

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str  # ok | degraded | draining | starting
    checks: dict[str, bool] | None = None


@router.get(
    "/healthz",
    summary="Ready to take calls",
    response_model=Health,
    responses={503: {"model": Health, "description": "Starting, draining or degraded"}},
)
async def healthz(request: Request) -> JSONResponse:
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is None:
        return JSONResponse({"status": "starting"}, status_code=503)
    if runtime.draining:
        return JSONResponse({"status": "draining"}, status_code=503)
    checks = await runtime.health()
    ok = all(checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "degraded", "checks": checks}, status_code=200 if ok else 503
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="A bearer API token, or a direct connection from loopback or an address in "
    "VOICEAGENT_METRICS_ALLOW.",
    response_class=Response,
    responses={
        200: {
            "description": "The text exposition format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        401: {"description": "No valid bearer token, and not an allowed address (no body)"},
    },
)
def metrics(
    request: Request,
    web: Annotated[WebState, Depends(web_state)],
    credentials: BearerCredentials,
) -> Response:
    # Not async: a token check reads the database.
    peer = request.client.host if request.client else None
    bearer = credentials.credentials if credentials else None
    if not may_read_metrics(web, peer, request.headers, bearer):
        return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
