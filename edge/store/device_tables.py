"""Live device state kept for the UI and capacity: bay occupancy, technicians clocked in, device health, attendant prompts."""

from __future__ import annotations
