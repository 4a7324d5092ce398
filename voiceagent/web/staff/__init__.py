"""The staff dashboard under /staff: sign-in, the live queue, work queues and call history."""

from __future__ import annotations

from fastapi import APIRouter

from voiceagent.web.staff import calls, login, queue, work

router = APIRouter(include_in_schema=False)
for module in (login, queue, work, calls):
    router.include_router(module.router)
