"""The audit trail's hash chain: each entry's hash covers its fields and the previous entry's hash.

Changing, removing or reordering any entry changes every hash after it, so a verifier that
walks the chain from the first entry names the first one that no longer fits. The hash is
SHA-256 over a canonical JSON text (keys sorted, no spaces, UTF-8), so HQ, which keeps its
own copy of each station's entries, recomputes exactly the same values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# the previous hash of a station's first entry
GENESIS_HASH = "0" * 64

# the fields an entry's hash covers, besides the previous hash
HASHED_FIELDS: tuple[str, ...] = (
    "seq", "at", "actor_id", "actor_name", "actor_kind", "terminal", "action", "entity", "entity_id",
    "before", "after", "authorised_by",
)


def canonical(value: Any) -> str:
    """The one text form of a JSON value the hash is taken over."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def entry_hash(fields: Mapping[str, Any], prev_hash: str) -> str:
    """SHA-256 (hex) of the entry's hashed fields and the previous entry's hash."""
    document = {name: fields[name] for name in HASHED_FIELDS}
    document["prev_hash"] = prev_hash
    return hashlib.sha256(canonical(document).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """Where a chain stops verifying: the entry's seq and what is wrong with it."""

    seq: int
    problem: str


def verify_chain(entries: Iterable[Mapping[str, Any]], *, start_hash: str = GENESIS_HASH,
                 start_seq: int = 0) -> ChainBreak | None:
    """The first entry (in seq order) that breaks the chain, or None when every one fits.

    Each entry carries its hashed fields, `prev_hash` and `hash`; seqs must follow one another
    from `start_seq` + 1, so a removed entry is found as well as an altered one.
    """
    prev_hash, expected_seq = start_hash, start_seq + 1
    for entry in entries:
        seq = entry["seq"]
        if seq != expected_seq:
            return ChainBreak(expected_seq, f"entry {expected_seq} is missing (next is {seq})")
        if entry["prev_hash"] != prev_hash:
            return ChainBreak(seq, "its previous hash is not the hash of the entry before it")
        if entry_hash(entry, prev_hash) != entry["hash"]:
            return ChainBreak(seq, "its fields do not match its hash")
        prev_hash, expected_seq = entry["hash"], seq + 1
    return None
