"""The station side of HQ sync: per-stream ack marks, applied downlink seqs, link state."""

from __future__ import annotations
