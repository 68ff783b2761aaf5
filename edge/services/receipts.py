"""Receipts as the customer and the desk see them: the receipt's header and its ledger postings.

A receipt row keeps what was sold (its lines as priced), the deductions and the cash handed
over; every amount of money is read from the money ledger (`ledger_entry`): payments by
method, refunds, what each line has had refunded. So a receipt, the shift's drawer and the
revenue report are sums over the same rows.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from sqlite3 import Connection, Row
from typing import Any

from edge.domain.money_ledger import Account
from edge.domain.receipt_postings import LedgerLine
from edge.domain.slots import day_bounds
from edge.errors import NotFound
from edge.services.station import Station
from edge.store.types import from_db_time, to_db_time

PAID, PARTLY_REFUNDED, REFUNDED = "paid", "partly_refunded", "refunded"
_REVENUE = (str(Account.SALES), str(Account.GOODS))


@dataclass(frozen=True, slots=True)
class ReceiptLineView:
    line_code: str
    code: str
    name: str
    category: str
    quantity: int
    unit_minor: int
    list_unit_minor: int
    gross_minor: int
    tier_discount_minor: int
    coupon_minor: int
    refunded_quantity: int

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class RefundView:
    at: datetime
    reason: str
    lines: tuple[tuple[str, int], ...]  # (line code, quantity)
    money: tuple[tuple[str, int], ...]  # (method, amount given back)
    prepaid_minor: int
    points_minor: int
    authorised_by: str | None

    def to_json(self) -> dict[str, Any]:
        return {"at": to_db_time(self.at), "reason": self.reason, "authorised_by": self.authorised_by,
                "lines": [{"line_code": c, "quantity": q} for c, q in self.lines],
                "money": [{"method": m, "amount_minor": a} for m, a in self.money],
                "prepaid_minor": self.prepaid_minor, "points_minor": self.points_minor}


@dataclass(frozen=True, slots=True)
class ReceiptView:
    id: str
    number: str
    created_at: datetime
    state: str  # paid, partly_refunded, refunded
    currency: str
    booking_code: str | None
    plate: str | None
    member_id: str | None
    member_name: str | None
    member_phone: str | None
    lines: tuple[ReceiptLineView, ...]
    subtotal_minor: int
    tier_discount_minor: int
    coupon_code: str | None
    coupon_discount_minor: int
    override_discount_minor: int
    points_redeemed: int
    points_minor: int
    prepaid_minor: int
    deposit_minor: int
    total_minor: int
    payments: tuple[tuple[str, int, str], ...]  # (method, amount, reference) as taken
    cash_tendered_minor: int | None
    change_minor: int
    refunds: tuple[RefundView, ...]
    invoice: str  # none, requested
    operator_id: str
    terminal: str
    authorised_by: str | None = None

    @property
    def refunded_minor(self) -> int:
        """Money and prepaid given back so far."""
        return sum(sum(a for _m, a in r.money) + r.prepaid_minor for r in self.refunds)

    @property
    def remaining_minor(self) -> int:
        """What the customer has paid for and kept: the total less the value of the refunds."""
        return self.total_minor - sum(sum(a for _m, a in r.money) + r.prepaid_minor + r.points_minor
                                      for r in self.refunds)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "number": self.number, "created_at": to_db_time(self.created_at), "state": self.state,
            "currency": self.currency, "booking_code": self.booking_code, "plate": self.plate,
            "member": None if self.member_id is None else {
                "id": self.member_id, "name": self.member_name, "phone": self.member_phone},
            "lines": [line.to_json() for line in self.lines], "subtotal_minor": self.subtotal_minor,
            "tier_discount_minor": self.tier_discount_minor, "coupon_code": self.coupon_code,
            "coupon_discount_minor": self.coupon_discount_minor,
            "override_discount_minor": self.override_discount_minor, "points_redeemed": self.points_redeemed,
            "points_minor": self.points_minor, "prepaid_minor": self.prepaid_minor,
            "deposit_minor": self.deposit_minor, "total_minor": self.total_minor,
            "payments": [{"method": m, "amount_minor": a, "reference": r} for m, a, r in self.payments],
            "cash_tendered_minor": self.cash_tendered_minor, "change_minor": self.change_minor,
            "refunds": [r.to_json() for r in self.refunds], "refunded_minor": self.refunded_minor,
            "remaining_minor": self.remaining_minor, "invoice": self.invoice, "operator_id": self.operator_id,
            "terminal": self.terminal, "authorised_by": self.authorised_by,
        }


@dataclass(frozen=True, slots=True)
class ReceiptSummary:
    number: str
    created_at: datetime
    state: str
    total_minor: int
    methods: tuple[str, ...]
    booking_code: str | None
    plate: str | None
    member_name: str | None
    member_phone: str | None
    invoice: str

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "created_at": to_db_time(self.created_at), "state": self.state,
                "total_minor": self.total_minor, "methods": list(self.methods), "booking_code": self.booking_code,
                "plate": self.plate, "member_name": self.member_name, "member_phone": self.member_phone,
                "invoice": self.invoice}


_HEADER = (
    "SELECT r.*, b.code AS booking_code, b.plate AS plate, m.name AS member_name, m.phone AS member_phone,"
    " EXISTS (SELECT 1 FROM invoice_request i WHERE i.receipt_id = r.id) AS invoiced"
    " FROM receipt r LEFT JOIN booking b ON b.id = r.booking_id LEFT JOIN member m ON m.id = r.member_id"
)


def list_receipts(station: Station, *, day: date | None = None, search: str = "") -> list[ReceiptSummary]:
    """Receipts newest first, of one station-local day if given; `search` matches the number,
    plate, booking code, or the member's phone or name."""
    where, params = [], []
    if day is not None:
        start, end = day_bounds(day, station.tz)
        where.append("r.created_at >= ? AND r.created_at < ?")
        params += [to_db_time(start), to_db_time(end)]
    if search.strip():
        like = f"%{search.strip()}%"
        where.append("(r.number LIKE ? OR b.plate LIKE ? OR b.code LIKE ? OR m.phone LIKE ? OR m.name LIKE ?)")
        params += [like] * 5
    sql = _HEADER + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY r.created_at DESC, r.number"
    with station.store.read() as conn:
        rows = conn.execute(sql, params).fetchall()
        methods = _methods(conn, [row["id"] for row in rows])
    return [ReceiptSummary(row["number"], from_db_time(row["created_at"]), row["state"], row["total_minor"],
                           tuple(methods.get(row["id"], ())), row["booking_code"], row["plate"], row["member_name"],
                           row["member_phone"], "requested" if row["invoiced"] else "none") for row in rows]


def get_receipt(station: Station, number: str) -> ReceiptView:
    """One receipt (by number or id) with its lines, deductions, payments and refunds."""
    with station.store.read() as conn:
        return receipt_view(conn, number)


def receipt_view(conn: Connection, number: str) -> ReceiptView:
    row = conn.execute(_HEADER + " WHERE r.number = ? OR r.id = ?", (number, number)).fetchone()
    if row is None:
        raise NotFound(f"no receipt {number!r}")
    entries = conn.execute(
        "SELECT txn_id, kind, account, detail, amount_minor, line_code, quantity, reference, reason, operator_id,"
        " terminal, authorised_by, created_at FROM ledger_entry WHERE receipt_id = ? ORDER BY rowid", (row["id"],)
    ).fetchall()
    sale = [e for e in entries if e["kind"] == "sale"]
    refunded = ledger_lines(conn, row["id"])
    lines = tuple(
        ReceiptLineView(line.get("line_code") or line["code"], line["code"], line["name"], line["category"],
                        line["quantity"], line["unit_minor"], line.get("list_unit_minor", line["unit_minor"]),
                        line["gross_minor"], line["tier_discount_minor"], line.get("coupon_minor", 0),
                        refunded[line.get("line_code") or line["code"]].refunded_quantity
                        if (line.get("line_code") or line["code"]) in refunded else 0)
        for line in json.loads(row["lines"])
    )
    override = sum(e["amount_minor"] for e in sale if e["account"] == "discount" and e["detail"] == "price_override")
    payments = tuple((e["detail"], e["amount_minor"], e["reference"]) for e in sale if e["account"] == "tender")
    first = sale[0] if sale else None
    return ReceiptView(
        id=row["id"], number=row["number"], created_at=from_db_time(row["created_at"]), state=row["state"],
        currency=row["currency"], booking_code=row["booking_code"], plate=row["plate"], member_id=row["member_id"],
        member_name=row["member_name"], member_phone=row["member_phone"], lines=lines,
        subtotal_minor=row["subtotal_minor"], tier_discount_minor=row["tier_discount_minor"],
        coupon_code=row["coupon_code"], coupon_discount_minor=row["coupon_discount_minor"],
        override_discount_minor=override, points_redeemed=row["points_redeemed"], points_minor=row["points_minor"],
        prepaid_minor=row["prepaid_minor"], deposit_minor=row["deposit_minor"], total_minor=row["total_minor"],
        payments=payments, cash_tendered_minor=row["cash_tendered_minor"], change_minor=row["change_minor"],
        refunds=_refunds(entries), invoice="requested" if row["invoiced"] else "none",
        operator_id=first["operator_id"] if first else "", terminal=first["terminal"] if first else "",
        authorised_by=first["authorised_by"] if first else None,
    )


def _refunds(entries: list[Row]) -> tuple[RefundView, ...]:
    by_txn: dict[str, list[Row]] = defaultdict(list)
    for e in entries:
        if e["kind"] == "refund":
            by_txn[e["txn_id"]].append(e)
    views = []
    for postings in by_txn.values():
        first = postings[0]
        views.append(RefundView(
            at=from_db_time(first["created_at"]), reason=first["reason"],
            lines=tuple((p["line_code"], p["quantity"]) for p in postings if p["account"] in _REVENUE),
            money=tuple((p["detail"], -p["amount_minor"]) for p in postings if p["account"] == "tender"),
            prepaid_minor=-sum(p["amount_minor"] for p in postings if p["account"] == "prepaid"),
            points_minor=-sum(p["amount_minor"] for p in postings if p["account"] == "points"),
            authorised_by=first["authorised_by"]))
    return tuple(views)


def _methods(conn: Connection, receipt_ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for start in range(0, len(receipt_ids), 500):
        chunk = receipt_ids[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        for row in conn.execute(
            f"SELECT receipt_id, detail FROM ledger_entry WHERE receipt_id IN ({marks}) AND kind = 'sale'"
            " AND account = 'tender' ORDER BY rowid", chunk,
        ):
            if row["detail"] not in found[row["receipt_id"]]:
                found[row["receipt_id"]].append(row["detail"])
    return found


def ledger_lines(conn: Connection, receipt_id: str) -> dict[str, LedgerLine]:
    """The receipt's lines as the ledger holds them: revenue and discounts posted by the sale,
    units refunded since."""
    sold: dict[str, dict[str, Any]] = {}
    refunded: dict[str, int] = defaultdict(int)
    for e in conn.execute(
        "SELECT kind, account, detail, amount_minor, line_code, quantity FROM ledger_entry"
        " WHERE receipt_id = ? AND line_code IS NOT NULL ORDER BY rowid", (receipt_id,),
    ):
        code = e["line_code"]
        if e["kind"] == "sale" and e["account"] in _REVENUE:
            sold[code] = {"account": Account(e["account"]), "detail": e["detail"], "quantity": e["quantity"],
                          "revenue": -e["amount_minor"], "discounts": defaultdict(int)}
        elif e["kind"] == "sale" and e["account"] == "discount":
            sold[code]["discounts"][e["detail"]] += e["amount_minor"]
        elif e["kind"] == "refund" and e["account"] in _REVENUE:
            refunded[code] += e["quantity"]
    return {code: LedgerLine(code, s["account"], s["detail"], s["quantity"], s["revenue"], dict(s["discounts"]),
                             refunded[code]) for code, s in sold.items()}


def money_left(conn: Connection, receipt_id: str) -> list[tuple[str, int]]:
    """Per payment method, in the receipt's order, the money it still holds (a deposit applied
    counts under the method it was taken with)."""
    rows = conn.execute(
        "SELECT detail, sum(amount_minor) FROM ledger_entry WHERE receipt_id = ? AND account IN ('tender', 'deposit')"
        " GROUP BY detail ORDER BY min(rowid)", (receipt_id,),
    ).fetchall()
    return [(row[0], row[1]) for row in rows if row[1] > 0]


def account_left(conn: Connection, receipt_id: str, account: Account) -> int:
    return conn.execute("SELECT coalesce(sum(amount_minor), 0) FROM ledger_entry WHERE receipt_id = ? AND account = ?",
                        (receipt_id, str(account))).fetchone()[0]
