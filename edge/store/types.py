"""Column types: UTC instants as fixed-width ISO text, JSON lists and maps as text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.types import TypeDecorator

_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


# the same instants (slot starts, today's bounds) are formatted again and again, and strftime
# costs more than the cache's lookup; equal instants in other zones share one entry rightly
@lru_cache(maxsize=8192)
def to_db_time(instant: datetime) -> str:
    """An aware instant as the stored text: sortable, second precision, always UTC."""
    if instant.tzinfo is None:
        raise ValueError(f"naive datetime {instant!r}: the store keeps aware UTC instants only")
    return instant.astimezone(UTC).strftime(_FORMAT)


def from_db_time(text: str) -> datetime:
    return datetime.strptime(text, _FORMAT).replace(tzinfo=UTC)


class UtcDateTime(TypeDecorator):
    """An aware datetime stored as 'YYYY-MM-DDTHH:MM:SSZ' so text order is time order."""

    impl = String(20)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> str | None:
        return None if value is None else to_db_time(value)

    def process_result_value(self, value: str | None, dialect: Any) -> datetime | None:
        return None if value is None else from_db_time(value)


class JsonText(TypeDecorator):
    """A JSON value stored as compact UTF-8 text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else dumps(value)

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return None if value is None else json.loads(value)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
