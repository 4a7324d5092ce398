"""Transparent column encryption for the ORM models.

A model declares the ciphertext column as a private mapped attribute and the plaintext as
an :class:`Encrypted` descriptor of the same public name::

    _first_name: Mapped[bytes] = mapped_column("first_name", LargeBinary)
    first_name = Encrypted(str)

Setting ``patient.first_name`` keeps the plaintext pending and marks the row dirty; the
``before_insert``/``before_update`` mapper hooks seal it at flush, when the row id (a
client-side id) is known and can be bound into the associated data. Reading decrypts
lazily, once per ciphertext, so loading a list of rows decrypts nothing until a value is
used. The keyring comes from the session (``Session.info["keyring"]``, set by
:class:`voiceagent.store.db.Database`), and is remembered by loaded objects so they can
still be read after their session closed.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Generic, TypeVar, overload

from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapper, object_session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.base import instance_state

from voiceagent.store.blind import BlindIndex
from voiceagent.store.crypto import aad_for, open_envelope, seal
from voiceagent.store.errors import KeyringError, StoreError
from voiceagent.store.ids import new_id
from voiceagent.store.keyring import Keyring

T = TypeVar("T", str, date, dict)

KEYRING_INFO = "keyring"
_KEYRING_STASH = "_store_keyring"
_PENDING = object()


class Encrypted(Generic[T]):
    """Plaintext view (``str``, ``date`` or JSON ``dict``) of an encrypted column."""

    def __init__(self, kind: type[T]) -> None:
        if kind not in (str, date, dict):
            raise TypeError(f"unsupported encrypted kind {kind!r}")
        self.kind = kind

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.ct_attr = f"_{name}"
        self.cache_key = f"_plain_{name}"

    # --- plaintext <-> bytes ----------------------------------------------------------
    def encode(self, value: Any) -> bytes:
        if self.kind is date:
            return value.isoformat().encode()
        if self.kind is dict:
            return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
        return str(value).encode()

    def decode(self, raw: bytes) -> Any:
        text = raw.decode()
        if self.kind is date:
            return date.fromisoformat(text)
        if self.kind is dict:
            return json.loads(text)
        return text

    def _check(self, instance: object, value: Any) -> Any:
        if value is None:
            return None
        if self.kind is date and isinstance(value, str):
            value = date.fromisoformat(value)
        if not isinstance(value, self.kind):
            # The message names the column, never the value.
            raise TypeError(f"{type(instance).__name__}.{self.name} takes {self.kind.__name__}")
        return value

    def aad(self, instance: Any) -> str:
        return aad_for(instance.__tablename__, self.name, instance.id)

    # --- descriptor -------------------------------------------------------------------
    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Encrypted[T]: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T | None: ...
    def __get__(self, instance: object | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        cached = instance.__dict__.get(self.cache_key)
        if cached is not None and cached[0] is _PENDING:
            return cached[1]
        envelope = getattr(instance, self.ct_attr)
        if envelope is None:
            return None
        envelope = bytes(envelope)
        if cached is not None and cached[0] == envelope:
            return cached[1]
        plaintext = self.decode(open_envelope(keyring_for(instance), envelope, self.aad(instance)))
        instance.__dict__[self.cache_key] = (envelope, plaintext)
        return plaintext

    def __set__(self, instance: object, value: T | None) -> None:
        value = self._check(instance, value)
        state = instance_state(instance)
        if state.persistent or state.detached:
            try:
                if self.__get__(instance) == value:
                    return  # same plaintext: no new nonce, no UPDATE
            except (StoreError, SQLAlchemyError):
                pass  # unreadable old value (key gone, detached and expired): overwrite it
        instance.__dict__[self.cache_key] = (_PENDING, value)
        # Clearing the ciphertext makes the unit of work see a change; the flush hook
        # seals the pending plaintext into it.
        setattr(instance, self.ct_attr, None)
        if state.persistent:
            flag_modified(instance, self.ct_attr)


def encrypted_fields(cls: type) -> list[Encrypted[Any]]:
    found: dict[str, Encrypted[Any]] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, Encrypted):
                found[name] = value
    return list(found.values())


def keyring_for(instance: object) -> Keyring:
    session = object_session(instance)
    if session is not None:
        keyring = session.info.get(KEYRING_INFO)
        if keyring is not None:
            instance.__dict__[_KEYRING_STASH] = keyring
            return keyring
    keyring = instance.__dict__.get(_KEYRING_STASH)
    if keyring is None:
        raise KeyringError(
            f"no keyring available for {type(instance).__name__}: "
            "use a session from Database.session()"
        )
    return keyring


def _seal_pending(_mapper: Mapper[Any], _connection: Any, target: Any) -> None:
    fields = _fields_of(type(target))
    if not fields:
        return
    if target.id is None:
        target.id = new_id()
    keyring: Keyring | None = None
    sealed = False
    for field in fields:
        cached = target.__dict__.get(field.cache_key)
        if cached is None or cached[0] is not _PENDING:
            continue
        keyring = keyring or keyring_for(target)
        value = cached[1]
        envelope = None if value is None else seal(keyring, field.encode(value), field.aad(target))
        setattr(target, field.ct_attr, envelope)
        target.__dict__[field.cache_key] = None if envelope is None else (envelope, value)
        sealed = True
    compute = getattr(target, "compute_blind_indexes", None)
    if sealed and compute is not None and keyring is not None:
        compute(BlindIndex(keyring.index_key))


def _remember_keyring(target: Any, context: Any, *_args: Any) -> None:
    session = getattr(context, "session", None)
    keyring = session.info.get(KEYRING_INFO) if session is not None else None
    if keyring is not None:
        target.__dict__[_KEYRING_STASH] = keyring


def _drop_pending(target: Any, attrs: Any) -> None:
    # An expired attribute (rollback, refresh) must not keep an unflushed plaintext.
    for field in _fields_of(type(target)):
        if attrs is None or field.ct_attr in attrs:
            target.__dict__.pop(field.cache_key, None)


_FIELDS_CACHE: dict[type, list[Encrypted[Any]]] = {}


def _fields_of(cls: type) -> list[Encrypted[Any]]:
    fields = _FIELDS_CACHE.get(cls)
    if fields is None:
        fields = _FIELDS_CACHE[cls] = encrypted_fields(cls)
    return fields


def install(base: type) -> None:
    """Attach the sealing and keyring hooks to every model under ``base``."""
    event.listen(base, "before_insert", _seal_pending, propagate=True)
    event.listen(base, "before_update", _seal_pending, propagate=True)
    event.listen(base, "load", _remember_keyring, propagate=True)
    event.listen(base, "refresh", _remember_keyring, propagate=True)
    event.listen(base, "expire", _drop_pending, propagate=True)
