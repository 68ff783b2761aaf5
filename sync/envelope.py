"""Sync messages: topics, the envelope of each message kind, and the checks that tell a
well-formed message from a malformed (poison) one. docs/protocol.md describes them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from edge.domain.ids import uuid7
from sync.errors import SyncError

VERSION = 1
UP_STREAMS = ("payment", "audit", "booking", "checkin", "member", "ops", "sensor")
DOWN_LOG_STREAMS = ("booking", "lease", "member", "catalog", "enterprise", "cmd")
CONTROL_UP = ("hello", "ack", "resync", "ping")  # st/{sid}/up/{control}: the station's side of the conversation
HQ_INGEST = "$share/hq/st/+/up/#"
PRESENCE = "st/+/status"
MAX_PACKET_BYTES = 1 << 20  # the shipped broker's max_packet_size (deploy/mosquitto/mosquitto.conf)
ENVELOPE_BYTES = 4096  # a message's topic, fields besides its items or events, and signature, at most


class MalformedMessage(SyncError):
    """A message that cannot be read as any sync message: it is quarantined, never retried."""


class Misaddressed(MalformedMessage):
    """A genuinely signed message that is not for its receiver, or not for the topic it came on
    (a replay from another station, stream or epoch): quarantined and alerted, never applied."""


def up_topic(station_id: str, stream: str) -> str:
    return f"st/{station_id}/up/{stream}"


def down_topic(station_id: str, stream: str) -> str:
    return f"hq/{station_id}/down/{stream}"


def status_topic(station_id: str) -> str:
    return f"st/{station_id}/status"


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode(payload: bytes) -> dict[str, Any]:
    try:
        message = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as err:
        raise MalformedMessage(f"not JSON: {err}") from err
    if not isinstance(message, dict):
        raise MalformedMessage("not a JSON object")
    if message.get("v") != VERSION:
        raise MalformedMessage(f"unknown envelope version {message.get('v')!r}")
    return message


def topic_parts(topic: str) -> tuple[str, str, str]:
    """('st'|'hq', station id, last level) of a sync topic."""
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] not in ("st", "hq") or parts[2] not in ("up", "down") or not parts[1]:
        raise MalformedMessage(f"not a sync topic: {topic!r}")
    return parts[0], parts[1], parts[3]


def check_addressed(message: dict[str, Any], topic: str, station_id: str, *, side: str, leaf: str) -> None:
    """Misaddressed unless the signed `station` field, the topic's station and `station_id` agree,
    the topic is on `side` ('hq' for downlink, 'st' for uplink) and its last level is `leaf` (the
    stream or control kind the message belongs on)."""
    topic_side, topic_station, topic_leaf = topic_parts(topic)
    named = message.get("station")
    if named != station_id or topic_station != station_id:
        raise Misaddressed(f"{message.get('kind', 'message')} for station {named!r} on {topic!r} "
                           f"(this is {station_id})")
    if topic_side != side or topic_leaf != leaf:
        raise Misaddressed(f"{message.get('kind', 'message')} of {leaf!r} on {topic!r}")


def payload_budget(max_packet_bytes: int) -> int:
    """Bytes of items or events one message may carry under a broker packet limit."""
    return max_packet_bytes - ENVELOPE_BYTES


def new_message(kind: str, **fields: Any) -> dict[str, Any]:
    return {"v": VERSION, "msg_id": uuid7(), "kind": kind, **fields}


# -- uplink event batches ---------------------------------------------------------

EVENT_FIELDS = ("seq", "type", "entity_id", "idem_key", "hlc", "body")


@dataclass(frozen=True, slots=True)
class UpEvent:
    seq: int
    type: str
    entity_id: str
    idem_key: str
    hlc: str
    body: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "type": self.type, "entity_id": self.entity_id, "idem_key": self.idem_key,
                "hlc": self.hlc, "body": self.body}

    def canonical(self) -> str:
        """The event as sorted compact JSON: what HQ stores and what a replay must match."""
        return json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @staticmethod
    def digest_of(canonical: str) -> str:
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class UpBatch:
    station: str
    epoch: str
    stream: str
    first: int
    last: int
    head: int  # the stream's last seq at the station when the batch was read (HQ shows the lag)
    known_acked: int  # the station's ack mark: HQ repeats every rejection above it
    events: tuple[UpEvent, ...]


def batch_message(station: str, epoch: str, stream: str, events: list[dict[str, Any]], *,
                  head: int, known_acked: int) -> dict[str, Any]:
    return new_message("events", station=station, epoch=epoch, stream=stream, first=events[0]["seq"],
                       last=events[-1]["seq"], head=head, known_acked=known_acked, events=events)


def parse_batch(message: dict[str, Any]) -> UpBatch:
    try:
        events = tuple(_event(e) for e in message["events"])
        batch = UpBatch(
            station=_text(message["station"]), epoch=_text(message["epoch"]), stream=_text(message["stream"]),
            first=_int(message["first"]), last=_int(message["last"]), head=_int(message["head"]),
            known_acked=_int(message["known_acked"]), events=events,
        )
    except (KeyError, TypeError, ValueError) as err:
        raise MalformedMessage(f"bad event batch: {err!r}") from err
    if batch.stream not in UP_STREAMS:
        raise MalformedMessage(f"unknown uplink stream {batch.stream!r}")
    seqs = [e.seq for e in events]
    if not events or seqs != list(range(batch.first, batch.last + 1)):
        raise MalformedMessage(f"batch seqs {batch.first}..{batch.last} do not match its events")
    return batch


def _event(raw: Any) -> UpEvent:
    if not isinstance(raw, dict) or not isinstance(raw.get("body"), dict):
        raise ValueError("event is not an object with a body object")
    return UpEvent(seq=_int(raw["seq"]), type=_text(raw["type"]), entity_id=_text(raw["entity_id"]),
                   idem_key=_text(raw["idem_key"]), hlc=_text(raw["hlc"]), body=raw["body"])


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{value!r} is not a non-empty string")
    return value


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{value!r} is not a whole number")
    return value


def require(message: dict[str, Any], *fields: str) -> None:
    """MalformedMessage unless every field is present."""
    missing = [f for f in fields if f not in message]
    if missing:
        raise MalformedMessage(f"{message.get('kind', 'message')} lacks {', '.join(missing)}")


def whole(message: dict[str, Any], field: str) -> int:
    try:
        return _int(message[field])
    except (KeyError, ValueError) as err:
        raise MalformedMessage(f"{message.get('kind', 'message')}.{field}: {err}") from err
