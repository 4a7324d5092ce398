"""Blind indexes: HMAC-SHA256 of normalised values under the keyring's index key.

They let the store find a patient by date of birth, last name + date of birth, or phone
number without decrypting the table. Each purpose is domain-separated so the same input
gives unrelated digests in different indexes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from datetime import date

import phonenumbers

DEFAULT_REGION = "US"
_NOT_LETTER = re.compile(r"[^a-z]")


def normalize_name(value: str) -> str:
    """Lower-case ASCII letters only: 'García-López' -> 'garcialopez', "O'Brien" -> 'obrien'."""
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NOT_LETTER.sub("", stripped.casefold())


def normalize_phone(value: str, region: str = DEFAULT_REGION) -> str | None:
    """E.164 ('+15551234567'), or None when the text cannot be a phone number."""
    try:
        number = phonenumbers.parse(str(value), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_dob(value: date | str) -> str:
    if isinstance(value, str):
        value = date.fromisoformat(value.strip())
    return value.isoformat()


class BlindIndex:
    def __init__(self, index_key: bytes) -> None:
        self._key = index_key

    def _digest(self, purpose: str, normalised: str) -> str:
        message = f"{purpose}\x00{normalised}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def dob(self, value: date | str) -> str:
        return self._digest("dob", normalize_dob(value))

    def last_name_dob(self, last_name: str, dob: date | str) -> str | None:
        name = normalize_name(last_name)
        return self._digest("last_name_dob", f"{name}|{normalize_dob(dob)}") if name else None

    def phone(self, value: str) -> str | None:
        e164 = normalize_phone(value)
        return self._digest("phone", e164) if e164 else None
