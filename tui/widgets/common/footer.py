"""The key footer in the UI's language: binding descriptions are message ids, translated as drawn."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer

from tui.i18n import N_, _

# Textual's own widgets' key descriptions that show in the footer (an open drop-down's), for the catalog
TEXTUAL_KEYS = (N_("Dismiss menu"),)


class TranslatedFooter(Footer):
    """Footer whose key descriptions go through the current catalog (recomposed on a language switch)."""

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            # the footer's keys carry `description`; translating them here keeps BINDINGS plain data
            if getattr(widget, "description", None):
                widget.description = _(widget.description)
            yield widget
