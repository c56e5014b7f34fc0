"""The signature of a delivery: HMAC-SHA256, keyed with the subscription's secret, over
``"{timestamp}.{body}"`` (the Unix time of the attempt, a dot, the body's exact bytes), sent as

    X-Participa311-Signature: t=1767225600,v1=5257a869e7…

A receiver computes the same HMAC with its copy of the secret, compares it in constant time with each
``v1`` (for a day after the secret is rotated there are two: the new secret's and the former one's), and
refuses a timestamp more than five minutes away from its own clock, so a delivery caught on the way cannot
be replayed later. ``verify`` is that check, for receivers written in Python and for the tests.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

HEADER = "X-Participa311-Signature"
EVENT_HEADER = "X-Participa311-Event"
DELIVERY_HEADER = "X-Participa311-Delivery"
TOLERANCE_SECONDS = 5 * 60
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"{timestamp}.{body}"`` keyed with ``secret``."""
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()


def header(keys: list[str], timestamp: int, body: bytes) -> str:
    """The signature header's value: the timestamp, then one ``v1`` per secret."""
    return ",".join([f"t={timestamp}", *(f"v1={sign(key, timestamp, body)}" for key in keys)])


def verify(value: str, body: bytes, secret: str, now: float, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """True when ``value`` (the header) signs ``body`` with ``secret`` at a time within ``tolerance`` of ``now``."""
    pairs = [item.partition("=") for item in value.split(",")]
    stamps = [text for key, _, text in pairs if key.strip() == "t"]
    signatures = [text.strip() for key, _, text in pairs if key.strip() == "v1"]
    if len(stamps) != 1 or not stamps[0].strip().isdigit() or not signatures:
        return False
    timestamp = int(stamps[0])
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)
