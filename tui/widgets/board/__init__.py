"""Widgets of the board: the per-bay timeline of today."""
