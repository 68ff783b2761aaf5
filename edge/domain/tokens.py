"""Signed booking tokens: what the printed or texted QR code carries, and the check at the bay.

    SE1.<payload>.<mac>
    payload = base64url(JSON [booking_id, station_id, valid_from, valid_until, generation])
              (instants in UNIX seconds, UTC)
    mac     = base64url(HMAC-SHA256(key, "SE1." + payload)[:16])

base64url is unpadded and read strictly: a padding character, a character outside the
alphabet or a last character whose unused bits are not zero makes the token malformed, so
a token has exactly one valid spelling. `generation` counts the booking's reschedules: a
token of an earlier generation is stale (the caller compares it with the booking's own).
Tokens printed before generations existed carry four fields and are generation 0.

HMAC with a 128-bit tag (RFC 2104 allows truncation to half the hash) keeps the QR small
enough for a phone screen and a cheap scanner; the station and HQ share the key. The
token is bound to the booking, the station and a validity window, so a token copied to
another station, altered, used too early or too late is refused with a reason. Whether
the booking still exists, and in which state, is the caller's lookup.
Keys rotate by passing the current key first and the previous ones after it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from edge.errors import EdgeError

PREFIX = "SE1"
_TAG_BYTES = 16
MIN_KEY_BYTES = 16
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


class TokenRejected(EdgeError):
    """A booking token the station refuses; `reason` is malformed, altered, wrong_station, expired or not_yet_valid."""

    def __init__(self, message: str, *, reason: str, booking_id: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.booking_id = booking_id


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """Strict unpadded base64url: the one spelling `_b64encode` gives, or ValueError."""
    if not _BASE64URL.fullmatch(text):
        raise ValueError("not unpadded base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64encode(data) != text:  # a last character with unused bits set spells the same bytes again
        raise ValueError("not the canonical base64url spelling")
    return data


@dataclass(frozen=True, slots=True)
class TokenClaim:
    """What an authentic token says: its booking, its generation and its validity window."""

    booking_id: str
    generation: int
    valid_from: datetime
    valid_until: datetime

    def covers(self, now: datetime) -> bool:
        return self.valid_from <= now < self.valid_until

    def check_window(self, now: datetime) -> None:
        """TokenRejected (not_yet_valid or expired) unless `now` lies in the token's window."""
        if now < self.valid_from:
            raise TokenRejected(f"booking token for booking {self.booking_id} is not valid before "
                                f"{self.valid_from.isoformat()}", reason="not_yet_valid", booking_id=self.booking_id)
        if now >= self.valid_until:
            raise TokenRejected(f"booking token for booking {self.booking_id} expired at "
                                f"{self.valid_until.isoformat()}", reason="expired", booking_id=self.booking_id)


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
                key: bytes | Sequence[bytes], *, generation: int = 0) -> str:
    """The token for a booking at a station, valid from `valid_from` until (not including) `valid_until`."""
    if not booking_id or not station_id:
        raise ValueError("a token needs a booking id and a station id")
    if type(generation) is not int or generation < 0:
        raise ValueError(f"token for booking {booking_id}: generation must be a whole number >= 0")
    start, end = _epoch(valid_from, "valid_from"), _epoch(valid_until, "valid_until")
    if end <= start:
        raise ValueError(f"token for booking {booking_id}: valid_until must be after valid_from")
    payload = json.dumps([booking_id, station_id, start, end, generation], ensure_ascii=False,
                         separators=(",", ":"))
    signed = f"{PREFIX}.{_b64encode(payload.encode('utf-8'))}"
    return f"{signed}.{_b64encode(_tag(_keys(key)[0], signed))}"


def verify_token(text: str, station_id: str, now: datetime, key: bytes | Sequence[bytes]) -> str:
    """The booking id of a valid token for this station at `now`; TokenRejected says why not (its caller logs it)."""
    _epoch(now, "now")
    claim = read_token(text, station_id, key)
    claim.check_window(now)
    return claim.booking_id


def read_token(text: str, station_id: str, key: bytes | Sequence[bytes]) -> TokenClaim:
    """What an authentic token for this station claims, its window not yet checked; TokenRejected
    (malformed, wrong_station or altered) otherwise. Nothing is logged: the caller says what it refused."""
    keys = _keys(key)
    parts = text.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise TokenRejected(f"not a booking token (expected {PREFIX}.<payload>.<signature>)", reason="malformed")
    signed = f"{parts[0]}.{parts[1]}"
    try:
        tag = _b64decode(parts[2])
        fields = json.loads(_b64decode(parts[1]).decode("utf-8"))
        if not isinstance(fields, list) or len(fields) not in (4, 5):
            raise ValueError("not four or five fields")
        booking_id, token_station, start, end, *rest = fields
        generation = rest[0] if rest else 0
        if not (isinstance(booking_id, str) and isinstance(token_station, str)
                and all(type(n) is int for n in (start, end, generation))):
            raise ValueError("field types")
        window = (datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, OverflowError, OSError) as err:
        raise TokenRejected(f"booking token cannot be read ({err})", reason="malformed") from None
    # the claimed station is reported even before the signature is checked: either way it is refused,
    # and "issued for station X" tells the attendant more than "bad signature"
    if token_station != station_id:
        raise TokenRejected(f"booking token for booking {booking_id} was issued for station {token_station}, "
                            f"not {station_id}", reason="wrong_station", booking_id=booking_id)
    if not any(hmac.compare_digest(tag, _tag(key, signed)) for key in keys):
        raise TokenRejected(f"booking token for booking {booking_id} has a wrong signature "
                            f"(altered, or signed with another key)", reason="altered", booking_id=booking_id)
    return TokenClaim(booking_id, generation, *window)
