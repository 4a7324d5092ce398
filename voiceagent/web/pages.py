"""Small helpers the staff and admin pages share: redirects after a form, filter round-trips."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from fastapi.responses import RedirectResponse

FILTER_KEYS = ("status", "since", "until", "patient_id", "transferred", "name")


def filter_query(query: str) -> str:
    """Only the known filter keys of a query string (what a form sends back as ``back``)."""
    kept = [(k, v) for k, v in parse_qsl(query) if k in FILTER_KEYS and v]
    return urlencode(kept)


def back_to(
    path: str, msg: str | None = None, back: str = "", anchor: str = ""
) -> RedirectResponse:
    """See-other redirect to ``path`` keeping the list's filters, with a message code."""
    params = parse_qsl(filter_query(back))
    if msg:
        params.append(("msg", msg))
    query = urlencode(params)
    return RedirectResponse(
        path + (f"?{query}" if query else "") + (f"#{anchor}" if anchor else ""), status_code=303
    )


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only our own pages (no open redirect)."""
    if (
        target
        and target.startswith("/staff")
        and not target.startswith("//")
        and "\\" not in target
        and not target.startswith("/staff/login")
        and not target.startswith("/staff/events")
    ):
        return target
    return "/staff"
