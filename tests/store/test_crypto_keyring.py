"""Envelopes, keyrings and blind indexes, without a database."""

from __future__ import annotations

import json
import stat
from datetime import date

import pytest

from voiceagent.store.blind import BlindIndex, normalize_name, normalize_phone
from voiceagent.store.crypto import aad_for, envelope_key_id, key_prefix, open_envelope, seal
from voiceagent.store.errors import DecryptionError, KeyringError, MissingKeyError
from voiceagent.store.keyring import (
    ensure_dev_keyring,
    generate_keyring,
    load_keyring,
    parse_keyring,
    write_keyring,
)

SECRET = "Maria Gonzalez"


def test_seal_roundtrip_carries_key_id_and_hides_plaintext() -> None:
    keyring = generate_keyring(key_id="k1")
    aad = aad_for("patients", "first_name", "p-001")
    envelope = seal(keyring, SECRET.encode(), aad)
    assert envelope.startswith(key_prefix("k1"))
    assert envelope_key_id(envelope) == "k1"
    assert SECRET.encode() not in envelope
    assert open_envelope(keyring, envelope, aad) == SECRET.encode()
    # A random nonce per value: the same plaintext never gives the same ciphertext.
    assert seal(keyring, SECRET.encode(), aad) != envelope


def test_value_bound_to_its_row_and_column() -> None:
    keyring = generate_keyring()
    envelope = seal(keyring, SECRET.encode(), "patients.first_name:p-001")
    for elsewhere in ("patients.first_name:p-002", "patients.last_name:p-001"):
        with pytest.raises(DecryptionError) as err:
            open_envelope(keyring, envelope, elsewhere)
        assert elsewhere in str(err.value)
        assert "Maria" not in str(err.value)


def test_tampered_ciphertext_fails() -> None:
    keyring = generate_keyring()
    aad = "patients.dob:p-001"
    envelope = bytearray(seal(keyring, b"1982-03-03", aad))
    envelope[-1] ^= 0x01
    with pytest.raises(DecryptionError, match="altered"):
        open_envelope(keyring, bytes(envelope), aad)
    with pytest.raises(DecryptionError, match="not an encrypted value"):
        open_envelope(keyring, b"1982-03-03", aad)


def test_missing_key_names_key_and_location() -> None:
    old = generate_keyring(key_id="old-key")
    envelope = seal(old, SECRET.encode(), "patients.last_name:p-009")
    with pytest.raises(MissingKeyError) as err:
        open_envelope(generate_keyring(key_id="new-key"), envelope, "patients.last_name:p-009")
    message = str(err.value)
    assert "'old-key'" in message and "patients.last_name:p-009" in message
    assert "Gonzalez" not in message


def test_keyring_inline_and_file(tmp_path) -> None:
    keyring = generate_keyring(key_id="k1").with_new_key("k2")
    assert keyring.active == "k2" and set(keyring.keys) == {"k1", "k2"}
    inline = load_keyring(keyring.to_json())
    assert inline.active == "k2" and inline.keys == keyring.keys
    path = tmp_path / "sub" / "keyring.json"
    write_keyring(path, keyring)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keyring(str(path)).keys == keyring.keys
    with pytest.raises(KeyringError, match="refusing to overwrite"):
        write_keyring(path, generate_keyring())
    material = json.loads(keyring.to_json())["keys"]["k1"]
    assert material not in repr(keyring) and material not in str(keyring)


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda d: d.update(active="nope"), "active key 'nope'"),
        (lambda d: d["keys"].update(k1="c2hvcnQ="), "32 bytes"),
        (lambda d: d.update(index_key="!!"), "base64"),
        (lambda d: d.pop("index_key"), "missing index_key"),
        (lambda d: d["keys"].update({"bad:id": d["keys"]["k1"]}), "invalid"),
    ],
)
def test_keyring_validation(mutate, problem) -> None:
    data = json.loads(generate_keyring(key_id="k1").to_json())
    mutate(data)
    with pytest.raises(KeyringError, match=problem):
        parse_keyring(json.dumps(data))


def test_missing_keyring_file_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(KeyringError, match="keys generate"):
        load_keyring(str(tmp_path / "absent.json"))


def test_ensure_dev_keyring_is_idempotent(tmp_path) -> None:
    path = tmp_path / "var" / "keyring.json"
    assert ensure_dev_keyring(path) is True
    first = path.read_bytes()
    assert ensure_dev_keyring(path) is False
    assert path.read_bytes() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keyring(str(path)).development is True


def test_normalisation() -> None:
    assert normalize_name("García-López") == "garcialopez"
    assert normalize_name("  O'Brien ") == "obrien"
    assert normalize_phone("(555) 123-4567") == "+15551234567"
    assert normalize_phone("555.123.4567") == normalize_phone("+1 555 123 4567")
    assert normalize_phone("hello") is None


def test_blind_index_matches_normalised_forms_only() -> None:
    index = BlindIndex(generate_keyring().index_key)
    dob = date(1982, 3, 3)
    assert index.last_name_dob("Gonzalez", dob) == index.last_name_dob("GONZÁLEZ", "1982-03-03")
    assert index.last_name_dob("Gonzalez", dob) != index.last_name_dob("Gonzales", dob)
    assert index.phone("555-123-4567") == index.phone("+15551234567")
    # Domain separation: the same text in two indexes gives unrelated digests.
    assert index.dob(dob) != index.last_name_dob("", dob)
    other = BlindIndex(generate_keyring().index_key)
    assert other.dob(dob) != index.dob(dob)
