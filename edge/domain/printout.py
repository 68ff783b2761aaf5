"""What a receipt printer prints: a Printout is a paper width and a tuple of lines, built by pure functions.

A line is text (bold, double height, centred), a QR code, a paper feed or a cut. Two
columns (an item on the left, its amount on the right) are fitted here to the paper's width
in characters: 32 on 58 mm paper, 48 on 80 mm. A CJK character takes two columns on the
printer as on a terminal. A Printout travels as JSON (`to_json` / `from_json`), which is
what the print queue stores and what the printer driver renders into ESC/POS bytes.

The builders take plain dataclasses (`ReceiptData`, `BookingSlipData`, the shifts'
`ShiftReport`) so any service can fill them: the receipt from the receipts service, the slip
from a booking, the X or Z report from the shift's postings.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any, Literal

from edge.domain.money import format_money
from edge.domain.shifts import ShiftReport
from edge.errors import InvalidInput

PAPER_COLUMNS = {58: 32, 80: 48}  # paper width in mm -> characters of the standard font
TIME_FORMAT = "%Y-%m-%d %H:%M"  # local times as the paper shows them

LineKind = Literal["text", "qr", "feed", "cut"]


@dataclass(frozen=True, slots=True)
class Line:
    """One printed line: text with its style, a QR code (`text` is its content), a feed of `count` lines, a cut."""

    kind: LineKind = "text"
    text: str = ""
    bold: bool = False
    double_height: bool = False
    centred: bool = False
    count: int = 1  # lines fed (feed); module size in dots (qr)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind}
        if self.kind in ("text", "qr"):
            data["text"] = self.text
        if self.kind == "text":
            data.update(bold=self.bold, double_height=self.double_height, centred=self.centred)
        if self.kind in ("feed", "qr"):
            data["count"] = self.count
        return data


@dataclass(frozen=True, slots=True)
class Printout:
    """A paper width in characters and the lines to print on it, in order."""

    columns: int
    lines: tuple[Line, ...]

    def to_json(self) -> dict[str, Any]:
        return {"columns": self.columns, "lines": [line.to_json() for line in self.lines]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Printout:
        return cls(int(data["columns"]), tuple(
            Line(kind=item["kind"], text=item.get("text", ""), bold=item.get("bold", False),
                 double_height=item.get("double_height", False), centred=item.get("centred", False),
                 count=item.get("count", 1))
            for item in data["lines"]))

    def plain_text(self) -> str:
        """The printout as the paper would read, for a preview on a terminal ([QR ...] for a code)."""
        out = []
        for line in self.lines:
            if line.kind == "text":
                out.append(centre(line.text, self.columns) if line.centred else line.text)
            elif line.kind == "qr":
                out.append(centre(f"[QR {line.text}]", self.columns))
            elif line.kind == "feed":
                out.extend([""] * line.count)
            else:
                out.append("-" * self.columns)
        return "\n".join(out)


def columns_for(paper_mm: int) -> int:
    """Characters per line of a paper width (58 or 80 mm)."""
    try:
        return PAPER_COLUMNS[paper_mm]
    except KeyError:
        raise InvalidInput("paper_mm", f"paper is 58 or 80 mm wide, not {paper_mm}") from None


def width(text: str) -> int:
    """Columns a text takes on the printer: a CJK (wide or full-width) character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrap(text: str, columns: int) -> list[str]:
    """The text cut into lines of at most `columns` columns (a wide character is never split)."""
    lines, current, used = [], [], 0
    for ch in text:
        w = width(ch)
        if used + w > columns:
            lines.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += w
    lines.append("".join(current))
    return lines


def centre(text: str, columns: int) -> str:
    return " " * max(0, (columns - width(text)) // 2) + text


def two_columns(left: str, right: str, columns: int) -> list[str]:
    """`left` and `right` on one line, `right` flush right; a left too long wraps and `right` ends its last line."""
    room = columns - width(right) - 1
    if room < 1:
        return wrap(left, columns) + [" " * max(0, columns - width(right)) + right]
    parts = wrap(left, room)
    last = parts[-1]
    parts[-1] = last + " " * (columns - width(last) - width(right)) + right
    return parts


# -- building ----------------------------------------------------------------------------


@dataclass
class _Builder:
    columns: int
    lines: list[Line] = field(default_factory=list)

    def text(self, text: str, *, bold: bool = False, double_height: bool = False, centred: bool = False) -> None:
        for part in wrap(text, self.columns):
            self.lines.append(Line("text", part, bold=bold, double_height=double_height, centred=centred))

    def pair(self, left: str, right: str, *, bold: bool = False) -> None:
        for part in two_columns(left, right, self.columns):
            self.lines.append(Line("text", part, bold=bold))

    def rule(self) -> None:
        self.lines.append(Line("text", "-" * self.columns))

    def qr(self, content: str, size: int = 6) -> None:
        self.lines.append(Line("qr", content, count=size))

    def end(self) -> Printout:
        self.lines += [Line("feed", count=3), Line("cut")]
        return Printout(self.columns, tuple(self.lines))


def amount(minor: int, digits: int = 2) -> str:
    """29900 -> '299.00' (the currency is named once, on the total)."""
    return format_money(minor, "", digits).strip()


@dataclass(frozen=True, slots=True)
class ReceiptLineData:
    name: str
    quantity: int
    amount_minor: int  # what the line costs after its own discount
    refunded_quantity: int = 0


@dataclass(frozen=True, slots=True)
class ReceiptData:
    """A receipt as it is printed, from whichever service reads it."""

    station_name: str
    number: str
    issued_at: str  # local time, as printed
    currency: str
    lines: tuple[ReceiptLineData, ...]
    subtotal_minor: int
    total_minor: int
    deductions: tuple[tuple[str, int], ...] = ()  # (label, minor) taken off the subtotal: tier, coupon, points
    payments: tuple[tuple[str, int], ...] = ()  # (method, minor)
    plate: str = ""
    booking_code: str = ""
    cash_tendered_minor: int | None = None
    change_minor: int | None = None
    operator: str = ""
    state: str = "paid"  # paid, partly_refunded, refunded
    digits: int = 2


PAYMENT_NAMES = {"cash": "现金 Cash", "wechat_pay": "微信 WeChat Pay", "alipay": "支付宝 Alipay",
                 "bank_card": "银行卡 Card", "prepaid": "储值 Prepaid", "deposit": "定金 Deposit",
                 "enterprise": "企业挂账 Account"}
STATE_NAMES = {"refunded": "已退款 REFUNDED", "partly_refunded": "部分退款 PARTLY REFUNDED"}


def receipt_printout(receipt: ReceiptData, columns: int, *, copy: bool = False) -> Printout:
    """The customer's receipt: header, lines with amounts, deductions, total, payments, change; `copy` marks a reprint."""
    b, digits = _Builder(columns), receipt.digits
    b.text(receipt.station_name, bold=True, double_height=True, centred=True)
    b.text("收据 RECEIPT" + (" (重印 COPY)" if copy else ""), centred=True)
    b.rule()
    b.pair("单号 No.", receipt.number)
    b.pair("时间 Time", receipt.issued_at)
    if receipt.plate:
        b.pair("车牌 Plate", receipt.plate)
    if receipt.booking_code:
        b.pair("预约 Booking", receipt.booking_code)
    b.rule()
    for line in receipt.lines:
        name = line.name if line.quantity == 1 else f"{line.name} x{line.quantity}"
        b.pair(name, amount(line.amount_minor, digits))
        if line.refunded_quantity:
            b.text(f"  已退 refunded x{line.refunded_quantity}")
    b.rule()
    b.pair("小计 Subtotal", amount(receipt.subtotal_minor, digits))
    for label, minor in receipt.deductions:
        b.pair(label, "-" + amount(minor, digits))
    b.pair("合计 TOTAL", format_money(receipt.total_minor, receipt.currency, digits), bold=True)
    for method, minor in receipt.payments:
        b.pair(PAYMENT_NAMES.get(method, method), amount(minor, digits))
    if receipt.cash_tendered_minor is not None:
        b.pair("实收现金 Tendered", amount(receipt.cash_tendered_minor, digits))
    if receipt.change_minor:
        b.pair("找零 Change", amount(receipt.change_minor, digits))
    if receipt.state in STATE_NAMES:
        b.text(STATE_NAMES[receipt.state], bold=True, centred=True)
    if receipt.operator:
        b.pair("收银 Cashier", receipt.operator)
    b.lines.append(Line("feed", count=1))
    b.text("谢谢惠顾 Thank you", centred=True)
    return b.end()


@dataclass(frozen=True, slots=True)
class BookingSlipData:
    station_name: str
    code: str
    plate: str
    start: str  # local time, as printed
    services: tuple[str, ...]  # service names
    bay: str = ""


def booking_slip(booking: BookingSlipData, qr_text: str, columns: int) -> Printout:
    """The booking's slip: what and when, and its QR to scan at the gate or the bay."""
    b = _Builder(columns)
    b.text(booking.station_name, bold=True, double_height=True, centred=True)
    b.text("预约单 BOOKING", centred=True)
    b.rule()
    b.text(booking.code, bold=True, double_height=True, centred=True)
    b.pair("车牌 Plate", booking.plate)
    b.pair("时间 Time", booking.start)
    if booking.bay:
        b.pair("工位 Bay", booking.bay)
    for name in booking.services:
        b.text(f"· {name}")
    b.rule()
    b.qr(qr_text)
    b.text("到店请出示此码 Show this code on arrival", centred=True)
    return b.end()


def shift_printout(report: ShiftReport, columns: int, *, station_name: str, tz: tzinfo,
                   names: Mapping[str, str] | None = None, digits: int = 2) -> Printout:
    """The X report (the shift still open) or the Z report (its close), times in the station's zone `tz`;
    `names` are staff names by id."""
    b, names = _Builder(columns), names or {}
    when = lambda instant: instant.astimezone(tz).strftime(TIME_FORMAT)  # noqa: E731
    b.text(station_name, bold=True, centred=True)
    b.text("Z 结班报表 Z REPORT" if report.final else "X 当班报表 X REPORT", bold=True, double_height=True, centred=True)
    b.rule()
    b.pair("终端 Terminal", report.terminal)
    b.pair("开班 Opened", when(report.opened_at))
    b.pair("开班人 By", names.get(report.opened_by, report.opened_by))
    b.pair("结班 Closed" if report.final else "打印 At", when(report.at))
    if report.closed_by:
        b.pair("结班人 By", names.get(report.closed_by, report.closed_by))
    b.pair("笔数 Transactions", str(report.transactions))
    for title, by_method, total in (("销售 SALES", report.sales_by_method, report.sales_minor),
                                    ("退款 REFUNDS", report.refunds_by_method, report.refunds_minor),
                                    ("充值 TOP-UPS", report.top_ups_by_method, report.top_ups_minor),
                                    ("定金 DEPOSITS", report.deposits_by_method, report.deposits_minor)):
        if not by_method:
            continue
        b.rule()
        b.pair(title, amount(total, digits), bold=True)
        for method, minor in sorted(by_method.items()):
            b.pair("  " + PAYMENT_NAMES.get(method, method), amount(minor, digits))
    b.rule()
    b.pair("备用金 Float", amount(report.float_minor, digits))
    b.pair("存入 Cash in", amount(report.cash_in_minor, digits))
    b.pair("取出 Cash out", amount(report.cash_out_minor, digits))
    b.pair("应有现金 Expected", format_money(report.expected_minor, report.currency, digits), bold=True)
    if report.counted_minor is not None:
        b.pair("实点现金 Counted", amount(report.counted_minor, digits))
        for note, count in report.denominations.items():
            b.pair(f"  {note} x {count}", "")
    if report.variance_minor is not None:
        b.pair("差额 Variance", amount(report.variance_minor, digits), bold=True)
    if report.note:
        b.text(report.note)
    return b.end()


def printer_test_page(station_name: str, device: str, columns: int, *, when: str) -> Printout:
    """A page that shows the printer works: styles, Chinese text, both columns, a QR, the cut."""
    b = _Builder(columns)
    b.text(station_name, bold=True, double_height=True, centred=True)
    b.text("打印测试 TEST PAGE", centred=True)
    b.rule()
    b.pair("打印机 Printer", device)
    b.pair("纸宽 Width", f"{columns}")
    b.pair("时间 Time", when)
    b.text("普通 plain")
    b.text("粗体 bold", bold=True)
    b.text("倍高 double height", double_height=True)
    b.text("居中 centred", centred=True)
    b.pair("左 left", "右 right")
    b.text("0123456789" * (columns // 10 + 1))
    b.qr(f"station-edge test {device}")
    return b.end()
