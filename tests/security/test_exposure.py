"""What the running server shows beyond its pages and API, over real sockets: /metrics only
to loopback (never through a proxy) or a token, transfers counted without the reason (a
crisis call must not be datable from a scrape), and no OpenAPI document or docs page."""

from __future__ import annotations

import secrets

import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.security import callers
from tests.security.callers import Credentials
from voiceagent.dialog.base import Utterance
from voiceagent.metrics import TRANSFER_URGENCIES
from voiceagent.simulate.sandbox import Sandbox
from voiceagent.store import Actor
from voiceagent.store.repos import calls as call_repo

THROUGH_THE_PROXY = {"X-Forwarded-For": "203.0.113.9"}


def scrape(clinic: Sandbox) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Every sample of /metrics (read from loopback), by name and labels."""
    response = callers.send(clinic, Credentials(), "GET", "/metrics")
    assert response.status_code == 200
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def policy_codes(clinic: Sandbox) -> set[str]:
    """Ids and reason codes of the policy's emergencies and sensitive topics."""
    policy = yaml.safe_load((clinic.settings.dialogs_dir / "policy.yaml").read_text())
    entries = policy["emergencies"] + policy["sensitive_topics"]
    codes = {entry["id"] for entry in entries}
    return codes | {entry["reason_code"] for entry in entries if "reason_code" in entry}


def test_a_crisis_call_is_counted_only_as_an_emergency(clinic: Sandbox) -> None:
    """A caller says they want to end their life: the dialog hands off as it should, and the
    transfer counter moves only under urgency="emergency", which chest pain, strokes and
    every other emergency share. No label anywhere names self-harm or a sensitive topic."""
    before = scrape(clinic)["voiceagent_transfers_total"]
    call_sid = "CA" + secrets.token_hex(16)
    with clinic.runtime.db.session() as session:
        call_repo.open_call(
            session, Actor.system("tests"), call_sid=call_sid, started_at=clinic.runtime.clock()
        )
    dialog = clinic.runtime.dialogs.new_dialog(call_sid)
    dialog.greet()
    reply = dialog.on_utterance(Utterance("I want to kill myself.", 0.95, 1500))
    assert "988" in " ".join(reply.say).replace(" ", "")  # the crisis line's guidance
    after = scrape(clinic)
    transfers = after["voiceagent_transfers_total"]
    assert set(transfers) == {(("urgency", u),) for u in TRANSFER_URGENCIES}
    moved = {key: transfers[key] - before.get(key, 0.0) for key in transfers}
    assert moved == {
        (("urgency", "emergency"),): 1.0,
        (("urgency", "routine"),): 0.0,
        (("urgency", "urgent"),): 0.0,
    }
    values = {value for samples in after.values() for key in samples for _, value in key}
    assert values & policy_codes(clinic) == set()


def test_loopback_reads_metrics_but_a_proxied_request_needs_a_token(clinic: Sandbox) -> None:
    """The reverse proxy on this host connects from loopback too; what it forwards names the
    client, and is then treated like any other outside request."""
    direct = callers.send(clinic, Credentials(), "GET", "/metrics")
    assert direct.status_code == 200 and "voiceagent_calls_started_total" in direct.text
    for header in (THROUGH_THE_PROXY, {"X-Forwarded-For": "127.0.0.1"}, {"X-Real-IP": "::1"}):
        refused = callers.send(clinic, Credentials(), "GET", "/metrics", extra_headers=header)
        assert refused.status_code == 401 and refused.content == b"", header
        assert refused.headers["www-authenticate"] == "Bearer"
    token = Credentials(bearer=callers.new_token(clinic, "staff"))
    proxied = callers.send(clinic, token, "GET", "/metrics", extra_headers=THROUGH_THE_PROXY)
    assert proxied.status_code == 200 and "voiceagent_calls_started_total" in proxied.text


def test_no_openapi_document_or_docs_page(clinic: Sandbox) -> None:
    admin = Credentials(bearer=callers.new_token(clinic, "admin"))
    for path in ("/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"):
        for caller in (Credentials(), admin):
            assert callers.send(clinic, caller, "GET", path).status_code == 404, path
