"""Secrets the desk must keep in its database (mailbox passwords), sealed with a key derived from
SECRET_KEY: a copy of the database alone does not give them away. Changing SECRET_KEY means typing
them again."""
from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SealBroken(Exception):
    """The sealed text was made with another SECRET_KEY (or altered)."""


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"helpdesk sealed settings"
               ).derive(secret_key.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(key))


def seal(text: str, secret_key: str) -> str:
    return _fernet(secret_key).encrypt(text.encode("utf-8")).decode("ascii")


def unseal(token: str, secret_key: str) -> str:
    try:
        return _fernet(secret_key).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError) as error:
        raise SealBroken("sealed with another SECRET_KEY: type the password again") from error
