"""X-Twilio-Signature checks, against the URL Twilio used (the public one, not ours).

Behind a reverse proxy the app sees http://127.0.0.1:8000/...; Twilio signed
https://clinic.example.org/..., so URLs are rebuilt from the configured public base URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from twilio.request_validator import RequestValidator

SIGNATURE_HEADER = "X-Twilio-Signature"


class SignatureChecker:
    def __init__(self, auth_token: str, public_base_url: str) -> None:
        self._validator = RequestValidator(auth_token) if auth_token else None
        self._base = public_base_url.rstrip("/")

    @property
    def configured(self) -> bool:
        return self._validator is not None

    def http_url(self, path: str, query: str = "") -> str:
        return f"{self._base}{path}" + (f"?{query}" if query else "")

    def ws_url(self, path: str, query: str = "") -> str:
        parts = urlsplit(self.http_url(path, query))
        scheme = "wss" if parts.scheme == "https" else "ws"
        return parts._replace(scheme=scheme).geturl()

    def valid(self, url: str, params: Mapping[str, str], signature: str | None) -> bool:
        if self._validator is None or not signature:
            return False
        return bool(self._validator.validate(url, dict(params), signature))

    def sign(self, url: str, params: Mapping[str, str]) -> str:
        """What Twilio would send; used by the simulator and tests."""
        if self._validator is None:
            raise ValueError("no Twilio auth token configured")
        return self._validator.compute_signature(url, dict(params))
