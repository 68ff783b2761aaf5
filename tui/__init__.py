"""The forecourt terminal UI (Textual), working on the station store through `edge` services."""
