"""Admin pages under /staff/admin (role admin): flows and policy, staff accounts, API tokens."""

from __future__ import annotations

from fastapi import APIRouter

from voiceagent.web.admin import flows, tokens, users

router = APIRouter(include_in_schema=False)
for module in (flows, users, tokens):
    router.include_router(module.router)
