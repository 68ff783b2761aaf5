"""The demo's HQ: a local Mosquitto on a free port and one `station-edge hq run` worker, when Mosquitto is installed.

The station signs its uplink and HQ its downlink with Ed25519 keys made here for the demo
(in the data directory's `hq/` folder). The broker listens on 127.0.0.1 only, without TLS
or passwords: it is a demo on one machine, not the production broker of docs/security.md.
"""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sync.signing import Signer

MOSQUITTO_PATHS = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")
BROKER_START_SECONDS = 10.0


def find_mosquitto() -> str | None:
    return shutil.which("mosquitto") or next((p for p in MOSQUITTO_PATHS if Path(p).is_file()), None)


@dataclass(frozen=True)
class DemoHq:
    port: int
    station_key: Path
    hq_keys: Path

    def sync_toml(self) -> str:
        return (f'[sync]\nbroker_host = "127.0.0.1"\nbroker_port = {self.port}\n'
                f'signing_key = "{self.station_key}"\nhq_keys = "{self.hq_keys}"\nack_timeout_s = 5\n')


def start_hq(folder: Path, station_id: str, start: Callable[[str, list[str]], subprocess.Popen]) -> DemoHq | None:
    """Broker and HQ worker started through `start` (the demo's child launcher); None without Mosquitto."""
    mosquitto = find_mosquitto()
    if mosquitto is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    station_key, hq_key, station_pubs, hq_pubs = _keys(folder, station_id)
    port = _free_port()
    config = folder / "mosquitto.conf"
    # run as whoever runs the demo: a broker started as root would otherwise switch to the mosquitto user,
    # and the kernel forgets the parent-death signal on such a switch (an orphan if the demo is killed)
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                      f"user {getpass.getuser()}\n", encoding="utf-8")
    broker = start("broker", [mosquitto, "-c", str(config)])
    _wait_listening(port, broker)
    cli = [sys.executable, "-m", "edge.cli.main"]
    database = str(folder / "hq.db")
    subprocess.run([*cli, "hq", "init", "--db", database], check=True, capture_output=True, timeout=60)
    start("hq", [*cli, "hq", "run", "--db", database, "--broker", f"127.0.0.1:{port}",
                 "--station-keys", str(station_pubs), "--signing-key", str(hq_key)])
    return DemoHq(port, station_key, hq_pubs)


def _keys(folder: Path, station_id: str) -> tuple[Path, Path, Path, Path]:
    """The station's and HQ's key pairs, each side's public key in the other's keyring folder (made once)."""
    station_pubs, hq_pubs = folder / "station-pubs", folder / "hq-pubs"
    station_key, hq_key = folder / f"{station_id}-DEMO.key", folder / "HQ-DEMO.key"
    if not (station_key.is_file() and hq_key.is_file()):
        for signer, pubs in ((Signer.generate(f"{station_id}-DEMO"), station_pubs), (Signer.generate("HQ-DEMO"), hq_pubs)):
            signer.save(folder)
            signer.publish(pubs)
    return station_key, hq_key, station_pubs, hq_pubs


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_listening(port: int, broker: subprocess.Popen) -> None:
    deadline = time.monotonic() + BROKER_START_SECONDS
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if broker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the demo's Mosquitto did not start on port {port} (see broker.log)") from None
            time.sleep(0.05)
