"""Encryption at rest for PowerOffice client keys (Fernet, key from FIELD_ENCRYPTION_KEY).

PowerOffice never shows a client key twice, so we hold the only copy: it is stored encrypted,
shown only as its last four characters, and never logged (SPEC Part A, item 1).
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class SecretUnreadable(Exception):
    """The stored secret cannot be decrypted (the encryption key changed)."""


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode())


def encrypt_secret(plaintext: str) -> str:
    return _fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(plaintext.encode()).decode()


def decrypt_secret(token: str) -> str:
    try:
        return _fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "Den lagrede klientnøkkelen kan ikke leses (krypteringsnøkkelen er endret). "
            "Lim inn klientnøkkelen på nytt i Datadeling."
        ) from None


def mask_secret(plaintext: str) -> str:
    return plaintext[-4:] if len(plaintext) >= 8 else ""
