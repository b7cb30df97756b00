"""Encryption at rest for PowerOffice client keys (Fernet, keys from FIELD_ENCRYPTION_KEY).

PowerOffice never shows a client key twice, so we hold the only copy: it is stored encrypted,
shown only as its last four characters, and never logged (SPEC Part A, item 1).

FIELD_ENCRYPTION_KEY holds one Fernet key or several separated by commas, the newest first
(cryptography's MultiFernet): new data is encrypted with the first, stored data is read with
any of them, and ``secret_rotate`` re-encrypts with the first (``manage.py rotate_client_keys``).
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.views.decorators.debug import sensitive_variables


class SecretUnreadable(Exception):
    """The stored secret cannot be decrypted (the encryption key changed)."""


class MalformedEncryptionKey(ValueError):
    """FIELD_ENCRYPTION_KEY holds something that is not a Fernet key (the message says which)."""


def encryption_keys(value: str) -> list[str]:
    """The keys of a FIELD_ENCRYPTION_KEY value, newest first."""
    return [part.strip() for part in value.split(",") if part.strip()]


@sensitive_variables()
def encryption_key_problems(value: str) -> list[str]:
    """What is wrong with a FIELD_ENCRYPTION_KEY value, without ever quoting a key."""
    keys = encryption_keys(value)
    if not keys:
        return ["FIELD_ENCRYPTION_KEY holds no key."]
    problems = []
    for number, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            which = f"key number {number} of {len(keys)}" if len(keys) > 1 else "the key"
            problems.append(
                f"FIELD_ENCRYPTION_KEY: {which} is not a Fernet key "
                "(32 url-safe base64-encoded bytes, 44 characters)."
            )
    return problems


@lru_cache(maxsize=4)
@sensitive_variables()
def _fernet(value: str) -> MultiFernet:
    problems = encryption_key_problems(value)
    if problems:
        raise MalformedEncryptionKey(" ".join(problems))
    return MultiFernet([Fernet(key.encode()) for key in encryption_keys(value)])


def _keys() -> MultiFernet:
    return _fernet(settings.FIELD_ENCRYPTION_KEY)


@sensitive_variables("plaintext")
def encrypt_secret(plaintext: str) -> str:
    return _keys().encrypt(plaintext.encode()).decode()


_UNREADABLE = (
    "Den lagrede klientnøkkelen kan ikke leses (krypteringsnøkkelen er endret). "
    "Lim inn klientnøkkelen på nytt i Datadeling."
)


@sensitive_variables()
def decrypt_secret(token: str) -> str:
    try:
        return _keys().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(_UNREADABLE) from None


def secret_readable(token: str) -> bool:
    """Whether any of the keys reads ``token``."""
    try:
        decrypt_secret(token)
    except SecretUnreadable:
        return False
    return True


def secret_rotate(token: str) -> str:
    """``token`` encrypted again with the newest key. Raises SecretUnreadable."""
    try:
        return _keys().rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(_UNREADABLE) from None


def mask_secret(plaintext: str) -> str:
    return plaintext[-4:] if len(plaintext) >= 8 else ""
