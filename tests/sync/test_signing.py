"""Ed25519 message signing: round trip, tampering, unknown and foreign keys, key files."""

from __future__ import annotations

import base64
import copy
import stat
from pathlib import Path

import pytest

from sync.errors import SignatureError, SyncError
from sync.signing import Keyring, Signer, canonical_bytes, station_of_kid


def uplink_message() -> dict:
    return {
        "v": 1, "msg_id": "0190f5b2-7c1e-7000-8000-000000000001", "station": "S042",
        "epoch": "e1", "stream": "booking",
        "events": [{"seq": 7, "type": "booking.created", "entity_id": "bk_1",
                    "idem_key": "S042:booking:bk_1:v1", "hlc": "1718000000123.0007.S042",
                    "body": {"plate": "沪A12345", "price": "120.00"}}],
    }


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.generate("S042-2026")


@pytest.fixture(scope="module")
def keyring(signer: Signer) -> Keyring:
    return Keyring({signer.kid: signer.public_pem()})


def test_canonical_bytes_ignore_sig_and_key_order() -> None:
    message = uplink_message()
    reordered = dict(reversed(list(message.items())))
    reordered["sig"] = {"kid": "x"}
    assert canonical_bytes(message) == canonical_bytes(reordered)
    assert "沪".encode() in canonical_bytes(message)  # UTF-8, not \\u escapes


def test_signed_message_verifies_and_names_its_key(signer: Signer, keyring: Keyring) -> None:
    message = uplink_message()
    signed = signer.sign(message)
    assert "sig" not in message  # the original is left alone
    assert signed["sig"]["kid"] == "S042-2026" and signed["sig"]["alg"] == "Ed25519"
    assert keyring.verify(signed) == "S042-2026"
    assert keyring.verify(signed, station_id="S042") == "S042-2026"


def test_signature_survives_json_round_trip(signer: Signer, keyring: Keyring) -> None:
    import json

    wire = json.dumps(signer.sign(uplink_message())).encode()
    assert keyring.verify(json.loads(wire)) == "S042-2026"


@pytest.mark.parametrize("tamper", [
    lambda m: m.update(station="S043"),
    lambda m: m.update(epoch="e2"),
    lambda m: m["events"][0].update(seq=8),
    lambda m: m["events"][0]["body"].update(price="1.00"),
    lambda m: m["events"][0].update(idem_key="S042:booking:bk_1:v2"),
    lambda m: m.update(extra=True),
    lambda m: m.pop("stream"),
], ids=["station", "epoch", "seq", "body", "idem_key", "added_field", "removed_field"])
def test_tampered_message_is_rejected(signer: Signer, keyring: Keyring, tamper) -> None:
    signed = signer.sign(uplink_message())
    tampered = copy.deepcopy(signed)
    tamper(tampered)
    with pytest.raises(SignatureError, match="does not match"):
        keyring.verify(tampered)


def test_unsigned_message_is_rejected(keyring: Keyring) -> None:
    with pytest.raises(SignatureError, match="unsigned"):
        keyring.verify(uplink_message())


def test_unknown_kid_is_rejected(keyring: Keyring) -> None:
    stranger = Signer.generate("S042-2099")
    with pytest.raises(SignatureError, match="unknown key id 'S042-2099'"):
        keyring.verify(stranger.sign(uplink_message()))


def test_key_id_swapped_to_a_known_one_does_not_verify(signer: Signer, keyring: Keyring) -> None:
    forged = Signer.generate("S042-forged").sign(uplink_message())
    forged["sig"]["kid"] = signer.kid
    with pytest.raises(SignatureError, match="does not match"):
        keyring.verify(forged)


def test_station_cannot_sign_as_another(signer: Signer) -> None:
    other = Signer.generate("S043-2026")
    keyring = Keyring({signer.kid: signer.public_pem(), other.kid: other.public_pem()})
    claims_s042 = other.sign(uplink_message())  # a valid signature, but by S043's key
    assert keyring.verify(claims_s042) == "S043-2026"
    with pytest.raises(SignatureError, match="S043-2026 does not belong to station S042"):
        keyring.verify(claims_s042, station_id="S042")


@pytest.mark.parametrize(("sig", "reason"), [
    ("abc", "not an object"),
    ({"alg": "Ed25519", "val": "AA=="}, "no key id"),
    ({"kid": "S042-2026", "alg": "HS256", "val": "AA=="}, "algorithm 'HS256'"),
    ({"kid": "S042-2026", "alg": "Ed25519", "val": "not base64!"}, "not valid base64"),
    ({"kid": "S042-2026", "alg": "Ed25519", "val": 5}, "not base64 text"),
    ({"kid": "S042-2026", "alg": "Ed25519", "val": base64.b64encode(b"short").decode()}, "does not match"),
])
def test_malformed_sig_is_rejected_with_its_reason(keyring: Keyring, sig, reason: str) -> None:
    message = uplink_message() | {"sig": sig}
    with pytest.raises(SignatureError, match=reason):
        keyring.verify(message)


def test_kid_must_name_its_station() -> None:
    assert station_of_kid("S042-2026") == "S042"
    assert station_of_kid("hq-2026") == "hq"
    with pytest.raises(SyncError):
        Signer.generate("S042")
    with pytest.raises(SyncError):
        Signer.generate("../S042-2026")


def test_key_files_round_trip_with_private_permissions(tmp_path: Path, signer: Signer) -> None:
    private_path, public_path = signer.save(tmp_path / "keys")
    assert private_path.name == "S042-2026.key" and public_path.name == "S042-2026.pub"
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    assert b"BEGIN PRIVATE KEY" in private_path.read_bytes()
    assert b"BEGIN PUBLIC KEY" in public_path.read_bytes()

    loaded = Signer.load(private_path)
    assert loaded.kid == "S042-2026"
    keyring = Keyring.load(tmp_path / "keys")
    assert keyring.kids == ["S042-2026"]
    assert keyring.verify(loaded.sign(uplink_message()), station_id="S042") == "S042-2026"


def test_saving_over_a_readable_file_makes_it_private(tmp_path: Path, signer: Signer) -> None:
    existing = tmp_path / "S042-2026.key"
    existing.write_text("old")
    existing.chmod(0o644)
    signer.save(tmp_path)
    assert stat.S_IMODE(existing.stat().st_mode) == 0o600


def test_rotation_keeps_old_messages_verifiable(tmp_path: Path, signer: Signer) -> None:
    signer.save(tmp_path)
    old_message = signer.sign(uplink_message())
    Signer.generate("S042-2027").save(tmp_path)
    keyring = Keyring.load(tmp_path)
    assert keyring.kids == ["S042-2026", "S042-2027"]
    assert keyring.verify(old_message) == "S042-2026"
    assert keyring.verify(Signer.load(tmp_path / "S042-2027.key").sign(uplink_message())) == "S042-2027"


def test_bad_key_files_name_the_file(tmp_path: Path) -> None:
    garbage = tmp_path / "S042-2026.key"
    garbage.write_text("not a key")
    with pytest.raises(SyncError, match="S042-2026.key"):
        Signer.load(garbage)
    with pytest.raises(SyncError, match="cannot read signing key"):
        Signer.load(tmp_path / "missing-1.key")
    (tmp_path / "S042-2026.pub").write_text("not a key")
    with pytest.raises(SyncError, match="S042-2026.pub"):
        Keyring.load(tmp_path)
