"""Slot escrow: which node owns a (bay, cell) and the leases that moved ownership."""

from __future__ import annotations
