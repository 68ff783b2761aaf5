"""Widgets for making and moving bookings: the slot picker."""
