"""Signed booking tokens: what the printed or texted QR code carries, and the check at the bay.

    SE1.<payload>.<mac>
    payload = base64url(JSON [booking_id, station_id, valid_from, valid_until])  (UNIX seconds, UTC)
    mac     = base64url(HMAC-SHA256(key, "SE1." + payload)[:16])

HMAC with a 128-bit tag (RFC 2104 allows truncation to half the hash) keeps the QR small
enough for a phone screen and a cheap scanner; the station and HQ share the key. The
token is bound to the booking, the station and a validity window, so a token copied to
another station, altered, used too early or too late is refused with a reason. Whether
the booking still exists (an unknown or cancelled booking) is the caller's lookup.
Keys rotate by passing the current key first and the previous ones after it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import UTC, datetime

from edge.errors import EdgeError


PREFIX = "SE1"
_TAG_BYTES = 16
MIN_KEY_BYTES = 16


class TokenRejected(EdgeError):
    """A booking token the station refuses; `reason` is malformed, altered, wrong_station, expired or not_yet_valid."""

    def __init__(self, message: str, *, reason: str, booking_id: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.booking_id = booking_id


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _epoch(moment: datetime, name: str) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, not {moment!r}")
    return int(moment.timestamp())


def _keys(key: bytes | Sequence[bytes]) -> list[bytes]:
    keys = [key] if isinstance(key, bytes | bytearray) else list(key)
    if not keys or any(not isinstance(k, bytes | bytearray) or len(k) < MIN_KEY_BYTES for k in keys):
        raise ValueError(f"a token key is bytes of at least {MIN_KEY_BYTES} bytes")
    return [bytes(k) for k in keys]


def _tag(key: bytes, signed: str) -> bytes:
    return hmac.new(key, signed.encode("ascii"), hashlib.sha256).digest()[:_TAG_BYTES]


def issue_token(booking_id: str, station_id: str, valid_from: datetime, valid_until: datetime,
                key: bytes | Sequence[bytes]) -> str:
    """The token for a booking at a station, valid from `valid_from` until (not including) `valid_until`."""
    if not booking_id or not station_id:
        raise ValueError("a token needs a booking id and a station id")
    start, end = _epoch(valid_from, "valid_from"), _epoch(valid_until, "valid_until")
    if end <= start:
        raise ValueError(f"token for booking {booking_id}: valid_until must be after valid_from")
    payload = json.dumps([booking_id, station_id, start, end], ensure_ascii=False, separators=(",", ":"))
    signed = f"{PREFIX}.{_b64encode(payload.encode('utf-8'))}"
    return f"{signed}.{_b64encode(_tag(_keys(key)[0], signed))}"


def verify_token(text: str, station_id: str, now: datetime, key: bytes | Sequence[bytes]) -> str:
    """The booking id of a valid token for this station at `now`; TokenRejected says why not (its caller logs it)."""
    return _verify(text.strip(), station_id, _epoch(now, "now"), _keys(key))


def _verify(text: str, station_id: str, at: int, keys: list[bytes]) -> str:
    parts = text.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise TokenRejected(f"not a booking token (expected {PREFIX}.<payload>.<signature>)", reason="malformed")
    signed = f"{parts[0]}.{parts[1]}"
    try:
        tag = _b64decode(parts[2])
        fields = json.loads(_b64decode(parts[1]).decode("utf-8"))
        booking_id, token_station, start, end = fields
        if not (isinstance(booking_id, str) and isinstance(token_station, str)
                and type(start) is int and type(end) is int):
            raise ValueError("field types")
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as err:
        raise TokenRejected(f"booking token cannot be read ({err})", reason="malformed") from None
    # the claimed station is reported even before the signature is checked: either way it is refused,
    # and "issued for station X" tells the attendant more than "bad signature"
    if token_station != station_id:
        raise TokenRejected(f"booking token for booking {booking_id} was issued for station {token_station}, "
                            f"not {station_id}", reason="wrong_station", booking_id=booking_id)
    if not any(hmac.compare_digest(tag, _tag(key, signed)) for key in keys):
        raise TokenRejected(f"booking token for booking {booking_id} has a wrong signature "
                            f"(altered, or signed with another key)", reason="altered", booking_id=booking_id)
    if at < start:
        raise TokenRejected(f"booking token for booking {booking_id} is not valid before "
                            f"{datetime.fromtimestamp(start, UTC).isoformat()}",
                            reason="not_yet_valid", booking_id=booking_id)
    if at >= end:
        raise TokenRejected(f"booking token for booking {booking_id} expired at "
                            f"{datetime.fromtimestamp(end, UTC).isoformat()}",
                            reason="expired", booking_id=booking_id)
    return booking_id
