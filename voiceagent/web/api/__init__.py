"""The JSON API under /api (bearer token or staff session)."""

from __future__ import annotations

from fastapi import APIRouter

from voiceagent.web.api import admin, routes

router = APIRouter()
router.include_router(routes.router)
router.include_router(admin.router)
