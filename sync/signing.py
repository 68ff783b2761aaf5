"""Ed25519 signatures on sync messages: a Signer per station (or HQ) key, a Keyring to verify them.

A signed message carries `sig = {"kid", "alg", "val"}`; the signature covers the
canonical JSON of every other field. Key ids follow `{station_id}-{label}` (e.g.
`S042-2026`), so a key can be rotated by adding a new kid and the keyring can tell which
station a key belongs to. Key files: `{kid}.key` (PKCS8 PEM, private, mode 0600) and
`{kid}.pub` (SubjectPublicKeyInfo PEM).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sync.errors import SignatureError, SyncError

ALGORITHM = "Ed25519"
PRIVATE_SUFFIX = ".key"
PUBLIC_SUFFIX = ".pub"


def canonical_bytes(message: dict[str, Any]) -> bytes:
    """The bytes a signature covers: the message without `sig`, as sorted compact UTF-8 JSON."""
    unsigned = {key: value for key, value in message.items() if key != "sig"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def station_of_kid(kid: str) -> str:
    """The station a key id belongs to: everything before the last '-' (`S042-2026` -> `S042`)."""
    station, separator, label = kid.rpartition("-")
    if not separator or not station or not label:
        raise SignatureError(f"key id {kid!r} does not follow the form STATION-LABEL")
    return station


def check_key_id(kid: str) -> str:
    """`kid` if it is a usable key id (STATION-LABEL, safe as a file name); SyncError if not."""
    if not kid or "/" in kid or kid.startswith("."):
        raise SyncError(f"key id {kid!r} is not usable as a key file name")
    station_of_kid(kid)
    return kid


class Signer:
    """One private key and its key id: signs messages."""

    def __init__(self, kid: str, private_key: Ed25519PrivateKey) -> None:
        self.kid = check_key_id(kid)
        self._private_key = private_key

    @classmethod
    def generate(cls, kid: str) -> Signer:
        return cls(kid, Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Signer:
        """Load `{kid}.key`; the key id is the file name without its suffix."""
        path = Path(path)
        try:
            private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except OSError as err:
            raise SyncError(f"cannot read signing key {path}: {err.strerror or err}") from err
        except (ValueError, TypeError, UnsupportedAlgorithm) as err:
            raise SyncError(f"{path} is not an unencrypted PEM private key: {err}") from err
        if not isinstance(private_key, Ed25519PrivateKey):
            raise SyncError(f"{path} holds a {type(private_key).__name__}, not an Ed25519 key")
        return cls(path.stem, private_key)

    def sign(self, message: dict[str, Any]) -> dict[str, Any]:
        """A copy of `message` with its `sig` (any old `sig` is replaced)."""
        signature = self._private_key.sign(canonical_bytes(message))
        signed = {key: value for key, value in message.items() if key != "sig"}
        signed["sig"] = {"kid": self.kid, "alg": ALGORITHM, "val": base64.b64encode(signature).decode("ascii")}
        return signed

    def public_pem(self) -> bytes:
        return self._private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def save(self, directory: str | os.PathLike[str]) -> tuple[Path, Path]:
        """Write `{kid}.key` (mode 0600, never world-readable, even briefly) and `{kid}.pub`."""
        directory = Path(directory)
        private_path = directory / f"{self.kid}{PRIVATE_SUFFIX}"
        private_pem = self._private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        try:
            directory.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(private_pem)
            os.chmod(private_path, 0o600)  # O_CREAT's mode does not apply to an existing file
        except OSError as err:
            raise SyncError(f"cannot write key files for {self.kid} in {directory}: {err.strerror or err}") from err
        return private_path, self.publish(directory)

    def publish(self, keyring_directory: str | os.PathLike[str]) -> Path:
        """Write `{kid}.pub` into a keyring directory (made if missing), where `Keyring.load` finds it."""
        directory = Path(keyring_directory)
        public_path = directory / f"{self.kid}{PUBLIC_SUFFIX}"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            public_path.write_bytes(self.public_pem())
        except OSError as err:
            raise SyncError(f"cannot write {public_path}: {err.strerror or err}") from err
        return public_path


class Keyring:
    """Public keys by key id: verifies signed messages and says which key signed them."""

    def __init__(self, public_keys: dict[str, bytes] | None = None) -> None:
        self._keys: dict[str, Ed25519PublicKey] = {}
        for kid, pem in (public_keys or {}).items():
            self.add(kid, pem)

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> Keyring:
        """Every `*.pub` file of `directory`, keyed by its file name without the suffix."""
        directory = Path(directory)
        keyring = cls()
        try:
            paths = sorted(directory.glob(f"*{PUBLIC_SUFFIX}"))
            for path in paths:
                keyring.add(path.stem, path.read_bytes(), source=str(path))
        except OSError as err:
            raise SyncError(f"cannot read public keys in {directory}: {err.strerror or err}") from err
        return keyring

    def add(self, kid: str, pem: bytes, *, source: str | None = None) -> None:
        check_key_id(kid)
        where = source or f"public key {kid}"
        try:
            public_key = serialization.load_pem_public_key(pem)
        except (ValueError, TypeError, UnsupportedAlgorithm) as err:
            raise SyncError(f"{where} is not a PEM public key: {err}") from err
        if not isinstance(public_key, Ed25519PublicKey):
            raise SyncError(f"{where} holds a {type(public_key).__name__}, not an Ed25519 key")
        self._keys[kid] = public_key

    @property
    def kids(self) -> list[str]:
        return sorted(self._keys)

    def __contains__(self, kid: object) -> bool:
        return kid in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def verify(self, message: dict[str, Any], *, station_id: str | None = None) -> str:
        """The key id that signed `message`; SignatureError if it did not, or (given
        `station_id`) if the key belongs to another station."""
        sig = message.get("sig")
        if sig is None:
            raise SignatureError("message is unsigned (no sig)")
        if not isinstance(sig, dict):
            raise SignatureError("sig is not an object with kid, alg and val")
        kid, alg, value = sig.get("kid"), sig.get("alg"), sig.get("val")
        if not isinstance(kid, str) or not kid:
            raise SignatureError("sig has no key id (kid)")
        if alg != ALGORITHM:
            raise SignatureError(f"sig algorithm {alg!r} is not {ALGORITHM}")
        if station_id is not None and station_of_kid(kid) != station_id:
            raise SignatureError(f"key {kid} does not belong to station {station_id}")
        public_key = self._keys.get(kid)
        if public_key is None:
            raise SignatureError(f"unknown key id {kid!r}")
        if not isinstance(value, str):
            raise SignatureError(f"sig value of key {kid} is not base64 text")
        try:
            signature = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as err:
            raise SignatureError(f"sig value of key {kid} is not valid base64") from err
        try:
            public_key.verify(signature, canonical_bytes(message))
        except InvalidSignature as err:
            raise SignatureError(f"signature of key {kid} does not match the message") from err
        return kid
