"""The errors sync raises: paho, cryptography and database errors are translated into these once."""

from __future__ import annotations


class SyncError(Exception):
    """Sync with HQ failed in a way the caller should report (a link, a message, a key)."""


class SignatureError(SyncError):
    """A message is unsigned, signed with an unknown key, or its signature does not match."""
