"""The forecourt terminal app: screens, global keys, the store watch, the language switch."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable
from typing import ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen

from edge.domain.permissions import LOCKED, Actor, ActorKind
from edge.services import bookings, printing, staff
from edge.services.station import Station
from tui import i18n
from tui.i18n import N_, _
from tui.messages import ReceiptPrintAsked, ServiceDone, ServiceFailed, StoreChanged
from tui.screens.base import StationScreen
from tui.screens.board import BoardScreen
from tui.screens.booking_detail import BookingDetailScreen
from tui.screens.checkin import CheckInScreen
from tui.screens.checkout import CheckoutScreen
from tui.screens.dialogs import PromptDialog
from tui.screens.members import MembersScreen
from tui.screens.new_booking import NewBookingScreen
from tui.screens.shift import ShiftScreen
from tui.screens.receipts import ReceiptsScreen
from tui.screens.sign_in import SignInScreen
from tui.screens.technicians import TechniciansScreen
from tui.screens.waitlist import WaitlistScreen
from tui.screens.approvals import ApprovalsScreen
from tui.screens.complaints import ComplaintsScreen
from tui.screens.disruptions import DisruptionsScreen
from tui.screens.reports import ReportsScreen
from tui.screens.stock import StockScreen
from tui.workers import call_in_thread, watch_store

# `data_version` is polled this often: another writer's commit shows within half a second
WATCH_SECONDS = 0.2
# time alone changes the board (late alerts, the clock): redraw this often without a commit
TICK_SECONDS = 30.0
# how often the terminal checks whether it has sat idle long enough to lock
IDLE_CHECK_SECONDS = 1.0
NAVIGATION = frozenset({"board", "check_in", "new_booking", "find_booking", "members", "technicians", "waitlist",
                        "toggle_language", "shift"})
# the desk's screens, reachable from everywhere too
NAVIGATION |= {"stock", "approvals", "disruptions", "complaints", "reports"}
# the till's screens
NAVIGATION |= {"checkout", "receipts"}


class StationApp(App[None]):
    """One station's forecourt terminal, working on its SQLite file through `edge` services."""

    CSS_PATH = ["styles/app.tcss", "styles/board.tcss", "styles/forms.tcss", "styles/desk.tcss", "styles/till.tcss"]
    TITLE = "station-edge"
    ENABLE_COMMAND_PALETTE = False
    # the navigation keys work everywhere; the board's footer lists them (BoardScreen.BINDINGS),
    # other screens' footers keep to their own keys so they fit 80 columns
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "board", N_("Board"), show=False),
        Binding("c", "check_in", N_("Check in"), show=False),
        Binding("n", "new_booking", N_("Book"), show=False),
        Binding("g", "find_booking", N_("Find"), show=False),
        Binding("m", "members", N_("Members"), show=False),
        Binding("t", "technicians", N_("Techs"), show=False),
        Binding("w", "waitlist", N_("Waitlist"), show=False),
        Binding("s", "shift", N_("Shift"), show=False),
        Binding("k", "stock", N_("Stock"), show=False),
        Binding("a", "approvals", N_("Approvals"), show=False),
        Binding("d", "disruptions", N_("Disruptions"), show=False),
        Binding("h", "complaints", N_("Complaints"), show=False),
        Binding("o", "reports", N_("Reports"), show=False),
        Binding("p", "checkout", N_("Checkout"), show=False),
        Binding("r", "receipts", N_("Receipts"), show=False),
        # the description names the language the key switches to
        Binding("l", "toggle_language", N_("中文")),
        Binding("q", "quit", N_("Quit"), show=False),
        Binding("ctrl+l", "lock", N_("Lock"), show=False, priority=True),
        # over SSH and on the forecourt tty Ctrl+C is how people stop a program
        Binding("ctrl+c", "quit", N_("Quit"), show=False, priority=True),
    ]

    def __init__(self, station: Station, *, language: str = "en", watch_interval: float = WATCH_SECONDS,
                 sign_in: bool = False, operator: Actor | None = None, sign_in_hint: str = "",
                 idle_check: float = IDLE_CHECK_SECONDS, idle_clock: Callable[[], float] = time.monotonic) -> None:
        """`sign_in`: staff sign in at start (unless `operator` already works here) and the terminal
        locks after `[terminal] lock_after_seconds` without a key press; `operator` starts signed in."""
        i18n.set_language(language)
        super().__init__()
        self.station = station
        self.watch_interval = watch_interval
        self._stop_watch = threading.Event()
        if operator is not None:
            station.actor = operator
        self.sign_in = sign_in
        self.sign_in_hint = sign_in_hint
        self._idle_check = idle_check
        self._idle_clock = idle_clock
        self._last_key = idle_clock()

    def get_default_screen(self) -> Screen:
        return BoardScreen()

    def on_mount(self) -> None:
        self.run_worker(
            lambda: watch_store(self, self.station.store.data_version, self.watch_interval, self._stop_watch),
            name="store-watch", group="store-watch", thread=True, exit_on_error=False,
        )
        self.set_interval(TICK_SECONDS, self._tick)
        self._handle_signals(True)
        if self.sign_in:
            self.set_interval(self._idle_check, self._lock_when_idle)
            if self.station.actor.kind is not ActorKind.STAFF:
                self._show_sign_in(locked=False)

    def on_unmount(self) -> None:
        self._stop_watch.set()
        self._handle_signals(False)

    def _handle_signals(self, install: bool) -> None:
        """SIGTERM (systemd, the demo stopping) and SIGHUP (the SSH session gone) end the app cleanly."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGHUP):
            try:
                if install:
                    loop.add_signal_handler(signum, self.exit)
                else:
                    loop.remove_signal_handler(signum)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
                return

    async def action_quit(self) -> None:
        self._stop_watch.set()
        await super().action_quit()

    # -- who is working -------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            self._last_key = self._idle_clock()
        await super().on_event(event)

    @property
    def locked(self) -> bool:
        return isinstance(self.screen, SignInScreen)

    def _lock_when_idle(self) -> None:
        idle = self._idle_clock() - self._last_key
        if not self.locked and idle >= self.station.settings.terminal.lock_after_seconds:
            self.action_lock()

    def action_lock(self) -> None:
        """Lock the terminal: the sign-in screen covers it until someone signs in (maybe someone else)."""
        if self.locked:
            return
        if self.station.actor.kind is ActorKind.STAFF:  # audited in a worker, which then leaves nobody acting
            call_in_thread(self, "lock", staff.lock, self.station)
        else:
            self.station.actor = LOCKED
        self._show_sign_in(locked=True)

    def _show_sign_in(self, *, locked: bool) -> None:
        def signed_in(member: staff.StaffMember | None) -> None:
            self._last_key = self._idle_clock()
            for screen in self.screen_stack:
                if isinstance(screen, StationScreen):
                    screen.update_title()

        self.push_screen(SignInScreen(locked=locked, hint=self.sign_in_hint), signed_in)

    # -- store changes -------------------------------------------------------------------

    def on_store_changed(self, message: StoreChanged) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, StationScreen):
                screen.post_message(StoreChanged())

    def _tick(self) -> None:
        if isinstance(self.screen, StationScreen):
            self.screen.reload()

    # -- navigation ----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in NAVIGATION and isinstance(self.screen, ModalScreen):
            return False  # a dialog is answered first
        if action == "board" and isinstance(self.screen, BoardScreen):
            return False
        return True

    def open_screen(self, screen: Screen) -> None:
        """Show a top-level screen over the board (what was above the board goes)."""
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(screen)

    def open_booking(self, ref: str) -> None:
        self.push_screen(BookingDetailScreen(ref))

    def action_board(self) -> None:
        while len(self.screen_stack) > 1:
            self.pop_screen()

    def action_check_in(self) -> None:
        self.open_screen(CheckInScreen())

    def action_new_booking(self) -> None:
        self.open_screen(NewBookingScreen())

    def action_members(self) -> None:
        self.open_screen(MembersScreen())

    def action_technicians(self) -> None:
        self.open_screen(TechniciansScreen())

    def action_waitlist(self) -> None:
        self.open_screen(WaitlistScreen())

    def action_shift(self) -> None:
        self.open_screen(ShiftScreen())

    def action_stock(self) -> None:
        self.open_screen(StockScreen())

    def action_approvals(self) -> None:
        self.open_screen(ApprovalsScreen())

    def action_disruptions(self) -> None:
        self.open_screen(DisruptionsScreen())

    def action_complaints(self) -> None:
        self.open_screen(ComplaintsScreen())

    def action_reports(self) -> None:
        self.open_screen(ReportsScreen())

    def action_checkout(self) -> None:
        self.open_screen(CheckoutScreen())

    def action_receipts(self) -> None:
        self.open_screen(ReceiptsScreen())

    def action_find_booking(self) -> None:
        def answered(ref: str | None) -> None:
            if ref:  # looked up first: an unknown code is said so here, not by an empty screen
                call_in_thread(self, "find", bookings.booking, self.station, ref)

        self.push_screen(PromptDialog(_("Booking code"), placeholder="K7Q2XM"), answered)

    def on_service_done(self, message: ServiceDone) -> None:
        if message.request == "find":
            self.open_booking(message.result.code)
        elif message.request == "print":
            self.notify(_("Receipt {number} sent to the printer").format(number=message.result.reference))

    def on_receipt_print_asked(self, message: ReceiptPrintAsked) -> None:
        """The daemon's printer worker prints the queued receipt (later, if the printer is out of paper)."""
        call_in_thread(self, "print", printing.print_receipt, self.station, message.number)

    def on_service_failed(self, message: ServiceFailed) -> None:
        self.notify(message.message, title=_("Not done"), severity="error", timeout=8)

    # -- language ------------------------------------------------------------------------

    async def action_toggle_language(self) -> None:
        await self.set_language(i18n.other_language(i18n.language()))

    async def set_language(self, lang: str) -> None:
        """Switch the UI's language now: every open screen is drawn again in it."""
        i18n.set_language(lang)
        for screen in list(self.screen_stack):
            if isinstance(screen, StationScreen):
                await screen.retranslate()
