"""Hybrid logical clock: event stamps that order causally even when wall clocks drift."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Hlc:
    wall_ms: int
    logical: int

    def encode(self) -> str:
        """Fixed-width text that sorts like the clock: '0001763900000000-00000'."""
        return f"{self.wall_ms:016d}-{self.logical:05d}"

    @classmethod
    def decode(cls, text: str) -> "Hlc":
        wall, logical = text.split("-")
        return cls(int(wall), int(logical))


ZERO = Hlc(0, 0)


def tick(last: Hlc, now_ms: int) -> Hlc:
    """The stamp for a local event after `last`: never behind it, even if the clock stepped back."""
    if now_ms > last.wall_ms:
        return Hlc(now_ms, 0)
    return Hlc(last.wall_ms, last.logical + 1)
