"""The UI's widgets, one folder per area: common (chrome), board, booking."""
