"""Phone numbers, written ("(555) 987-6543") or spoken ("five five five ..."), to E.164."""

from __future__ import annotations

import phonenumbers

from voiceagent.understanding.entities.digits import parse_digits

DEFAULT_REGION = "US"


def _e164(candidate: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return None
    # "Possible" (right length for the region) rather than "valid": fictional 555 numbers
    # and new area codes must still be taken down; staff call back anyway.
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_phone(text: str, region: str = DEFAULT_REGION) -> str | None:
    """The phone number in ``text`` as E.164 (e.g. "+15551234567"), or None."""
    for match in phonenumbers.PhoneNumberMatcher(
        text, region, leniency=phonenumbers.Leniency.POSSIBLE
    ):
        found = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        if found:
            return found
    digits = parse_digits(text)
    if digits is None or len(digits) < 7:
        return None
    plus = "+" if "plus" in text.lower() or text.strip().startswith("+") else ""
    return _e164(plus + digits, region)
