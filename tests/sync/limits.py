"""The message and queue limits of the shipped broker config (deploy/mosquitto/mosquitto.conf),
for the test brokers that must behave like the deployed one where sizes matter."""

from __future__ import annotations

from pathlib import Path

SHIPPED_BROKER_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "mosquitto.conf"
_LIMITS = ("max_packet_size", "max_queued_messages", "max_queued_bytes", "max_inflight_messages",
           "max_inflight_bytes", "persistent_client_expiration")


def shipped_limits() -> list[str]:
    """The limit lines of the shipped config, as they stand there."""
    lines = SHIPPED_BROKER_CONFIG.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.split(" ", 1)[0] in _LIMITS]
