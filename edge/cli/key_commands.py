"""station-edge subcommands `keys generate` and `keys show`: the Ed25519 keys that sign sync messages."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from edge.cli.main import CliUsageError
from edge.cli.output import emit_json, table
from sync.errors import SyncError
from sync.signing import PRIVATE_SUFFIX, PUBLIC_SUFFIX, Keyring, Signer, check_key_id, station_of_kid


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("keys", help="signing keys for sync with HQ (one per station, with a key id)")
    keys_sub = p.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    q = keys_sub.add_parser("generate", parents=[common], help="make a new key pair KID.key (private) and KID.pub")
    q.add_argument("--kid", type=_key_id, required=True, help="key id STATION-LABEL, e.g. S042-2026")
    q.add_argument("--out", type=Path, required=True, help="directory for the key files (created if missing)")
    q.set_defaults(handler=generate)
    q = keys_sub.add_parser("show", parents=[common], help="the key ids found in a directory")
    q.add_argument("directory", type=Path, help="directory holding *.pub and *.key files")
    q.set_defaults(handler=show)


def _key_id(text: str) -> str:
    try:
        return check_key_id(text)
    except SyncError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def fingerprint(public_pem: bytes) -> str:
    """A short SHA-256 of the public key file, for comparing keys between station and HQ by eye."""
    return hashlib.sha256(public_pem).hexdigest()[:16]


def generate(args: argparse.Namespace) -> None:
    existing = [args.out / f"{args.kid}{suffix}" for suffix in (PRIVATE_SUFFIX, PUBLIC_SUFFIX)]
    if any(path.exists() for path in existing):
        raise CliUsageError(f"--kid {args.kid}: {args.out} already holds that key; rotate with a new key id")
    signer = Signer.generate(args.kid)
    try:
        private_path, public_path = signer.save(args.out)
    except SyncError as err:
        raise CliUsageError(f"--out {args.out}: {err}") from err
    result = {"kid": signer.kid, "station": station_of_kid(signer.kid), "private_key": str(private_path),
              "public_key": str(public_path), "fingerprint": fingerprint(signer.public_pem())}
    if args.json:
        emit_json(result)
        return
    print(f"key {result['kid']} (fingerprint {result['fingerprint']}):\n"
          f"  private {private_path} (keep on the station, mode 0600)\n"
          f"  public  {public_path} (copy to HQ's keyring)")


def show(args: argparse.Namespace) -> None:
    if not args.directory.is_dir():
        raise CliUsageError(f"{args.directory} is not a directory")
    try:
        keyring = Keyring.load(args.directory)
    except SyncError as err:
        raise CliUsageError(str(err)) from err
    private_kids = {path.stem for path in args.directory.glob(f"*{PRIVATE_SUFFIX}")}
    keys = [
        {"kid": kid, "station": station_of_kid(kid), "private": kid in private_kids,
         "fingerprint": fingerprint((args.directory / f"{kid}{PUBLIC_SUFFIX}").read_bytes())}
        for kid in keyring.kids
    ]
    keys += [{"kid": kid, "station": None, "private": True, "fingerprint": None}
             for kid in sorted(private_kids - set(keyring.kids))]
    if args.json:
        emit_json(keys)
        return
    if not keys:
        print(f"no keys in {args.directory}")
        return
    print(table(("kid", "station", "private", "fingerprint"),
                [(k["kid"], k["station"] or "", "yes" if k["private"] else "no", k["fingerprint"] or "(no .pub)")
                 for k in keys]))
