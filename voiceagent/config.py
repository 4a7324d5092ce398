"""Process configuration, read from environment variables prefixed ``VOICEAGENT_``.

Every variable is documented in the README; keep the two in step.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, IPvAnyNetwork, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VOICEAGENT_", extra="ignore")

    # --- server -------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str = Field(
        "http://127.0.0.1:8000",
        description="The URL Twilio uses to reach us (https://... behind a proxy). Signatures "
        "are checked against it and every URL in TwiML is built from it.",
    )
    log_level: str = "INFO"
    log_json: bool = False

    # --- storage ------------------------------------------------------------------------
    database_url: str = "sqlite:///var/voiceagent.db"
    keyring: str = Field(
        "var/keyring.json",
        description="Inline JSON or a path to a JSON file: active key id, data keys, index key.",
    )
    clinic_file: Path = REPO_ROOT / "dialogs" / "demo-clinic.yaml"
    dialogs_dir: Path = REPO_ROOT / "dialogs"
    reload_dialogs: bool = Field(
        True, description="Watch dialogs_dir and reload flows and policy when files change."
    )
    retention_days: int = 365
    dev_clock_start: str | None = Field(
        None,
        description="Development only: the server's clock starts at this ISO date-time "
        "(clinic-local without an offset) and runs forward in real time, for demos and "
        "evaluations of business-hours behaviour. Refused with a production keyring.",
    )

    # --- Twilio -------------------------------------------------------------------------
    twilio_account_sid: str = "AC00000000000000000000000000000000"
    twilio_auth_token: SecretStr = SecretStr("")
    twilio_api_url: str | None = Field(
        None,
        description="Base URL of Twilio's REST API; unset means Twilio itself. Tests point it "
        "at a local fake.",
    )
    stream_token_ttl_seconds: int = 60
    disclosure: str = (
        "This call is answered by an automated assistant and may be recorded for quality."
    )

    # --- models -------------------------------------------------------------------------
    asr_model_path: Path | None = None
    asr_threads: int = 2
    asr_beam_size: int = 1
    tts_voice_path: Path | None = None
    tts_config_path: Path | None = None
    speech_workers: int = Field(2, description="Threads that run ASR and TTS off the event loop.")

    # --- turn taking --------------------------------------------------------------------
    end_of_turn_ms: int = Field(600, description="Silence after speech that ends a turn.")
    complete_answer_wait_ms: int = Field(
        120,
        description="Silence after which the agent checks whether what the caller said is "
        "already a complete answer and, if so, ends the turn without waiting end_of_turn_ms.",
    )
    max_utterance_ms: int = 15000
    barge_in_min_speech_ms: int = Field(
        300, description="Caller speech needed, while the agent talks, before it stops talking."
    )
    vad_aggressiveness: int = Field(2, ge=0, le=3)
    no_input_timeout_ms: int = 8000
    dtmf_timeout_ms: int = 3000

    # --- staff dashboard and API ------------------------------------------------------
    session_idle_timeout_seconds: int = Field(
        900, gt=0, description="Staff are signed out after this long without a page request."
    )
    session_absolute_timeout_seconds: int = Field(
        43200, gt=0, description="A staff session ends this long after sign-in, busy or not."
    )
    login_free_failures: int = Field(
        3,
        ge=1,
        description="Failed sign-ins for one username from one client address before each "
        "further try from there waits 1, 2, 4 ... seconds after the last failure. Other "
        "addresses are unaffected, so nobody can lock a user out (counted in the database).",
    )
    login_max_delay_seconds: int = Field(
        60, gt=0, description="The longest wait between two sign-in tries of one pair."
    )
    login_max_failures_per_ip: int = Field(
        50,
        gt=0,
        description="Failed sign-ins from one client address, whatever the usernames, within "
        "the window before that address waits until the oldest leave it (password spraying).",
    )
    login_window_seconds: int = Field(
        900, gt=0, description="Failed sign-ins older than this are forgotten by both limits."
    )
    # NoDecode: a comma-separated list in the environment, not JSON.
    trusted_proxies: Annotated[list[IPvAnyNetwork], NoDecode] = Field(
        default_factory=list,
        description="Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For "
        "names the client; from any other peer the header is ignored.",
    )
    staff_password_min_length: int = Field(12, ge=8)
    live_queue_poll_seconds: float = Field(
        0.3,
        gt=0,
        description="How often each replica checks the database for queue changes "
        "it pushes to open dashboards.",
    )
    api_token_default_days: int = Field(
        90,
        gt=0,
        description="Days until a new API token expires when its creator names no expiry "
        "(the admin page and `staff token create` without --expires-days).",
    )
    # NoDecode: a comma-separated list in the environment, not JSON.
    metrics_allow: Annotated[list[IPvAnyNetwork], NoDecode] = Field(
        default_factory=list,
        description="Addresses or networks (CIDR) besides loopback whose direct, unproxied "
        "requests may read /metrics without a token, e.g. a Prometheus on the LAN.",
    )
    openapi: bool = Field(
        False, description="Development only: serve the API's OpenAPI document at /openapi.json."
    )

    @field_validator("metrics_allow", "trusted_proxies", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        """Comma-separated addresses or networks, as the environment gives them."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("public_base_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def twilio_auth_token_value(self) -> str:
        return self.twilio_auth_token.get_secret_value()


@lru_cache
def get_settings() -> Settings:
    return Settings()
