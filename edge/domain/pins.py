"""Staff PINs: checked for shape, stored only as a slow salted hash (scrypt), compared in constant time.

A stored PIN reads `scrypt$<n>$<r>$<p>$<salt>$<hash>` (salt and hash in base64), so the cost
can be raised later without breaking the PINs already stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

from edge.errors import InvalidInput

# about 50 ms and 16 MiB per check on a station box: cheap for a person, dear for a guesser
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_PIN = re.compile(r"[0-9]{4,8}")


def check_pin(pin: str) -> str:
    if not _PIN.fullmatch(pin):
        raise InvalidInput("pin", "a PIN is 4 to 8 digits")
    return pin


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    check_pin(pin)
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def is_pin_hash(stored: str) -> bool:
    parts = stored.split("$")
    return len(parts) == 6 and parts[0] == "scrypt" and all(p.isdigit() for p in parts[1:4])


def verify_pin(pin: str, stored: str) -> bool:
    """Whether `pin` is the one `stored` was made from; a malformed stored value matches nothing."""
    if not is_pin_hash(stored) or not _PIN.fullmatch(pin):
        return False
    _, n, r, p, salt, digest = stored.split("$")
    try:
        expected = base64.b64decode(digest, validate=True)
        computed = hashlib.scrypt(pin.encode(), salt=base64.b64decode(salt, validate=True), n=int(n), r=int(r),
                                  p=int(p), dklen=len(expected), maxmem=64 * 1024 * 1024)
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(computed, expected)
