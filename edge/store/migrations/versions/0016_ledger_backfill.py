"""Receipts' money moves to the money ledger: every receipt and its payments (and refunds)
become ledger transactions, the `payment` table goes; receipts keep the cash tendered, the
change and a deposit applied; extra parts a manager waived are recorded.

Revision ID: 0016_ledger_backfill
Revises: 0014_ledger
Create Date: 2026-12-03 23:20:00
"""

import json
import uuid

from alembic import op
import sqlalchemy as sa


revision = "0016_ledger_backfill"
down_revision = "0014_ledger"
branch_labels = None
depends_on = None

# who the backfilled postings are recorded against: they were written before the ledger
_OPERATOR, _TERMINAL = "migration", "desk"


def upgrade() -> None:
    with op.batch_alter_table("receipt") as batch:
        batch.add_column(sa.Column("deposit_minor", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("cash_tendered_minor", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("change_minor", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "parts_waiver",
        sa.Column("booking_id", sa.String(), nullable=False),
        sa.Column("parts", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("authorised_by", sa.String(), nullable=False),
        sa.Column("operator_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"]),
        sa.PrimaryKeyConstraint("booking_id"),
    )
    conn = op.get_bind()
    receipts = conn.execute(sa.text("SELECT * FROM receipt ORDER BY created_at, id")).mappings().all()
    for receipt in receipts:
        payments = conn.execute(
            sa.text("SELECT method, amount_minor, reference, created_at FROM payment WHERE receipt_id = :r"
                    " ORDER BY created_at, id"), {"r": receipt["id"]},
        ).mappings().all()
        lines = _with_line_codes(json.loads(receipt["lines"]))
        sale = _sale(receipt, lines, [p for p in payments if p["amount_minor"] > 0])
        conn.execute(sa.text("UPDATE receipt SET lines = :lines WHERE id = :id"),
                     {"lines": json.dumps(lines, ensure_ascii=False), "id": receipt["id"]})
        _insert(conn, receipt, "sale", sale, receipt["created_at"], reason="")
        given_back = [p for p in payments if p["amount_minor"] < 0]
        if receipt["state"] == "refunded":
            reversal = [(account, -amount, detail, line_code, quantity, "")
                        for account, amount, detail, line_code, quantity, _ref in sale if account != "tender"]
            reversal += [("tender", p["amount_minor"], p["method"], None, 0, "") for p in given_back]
            at = given_back[0]["created_at"] if given_back else receipt["created_at"]
            reason = given_back[0]["reference"] if given_back else "refund"
            _insert(conn, receipt, "refund", reversal, at, reason=reason)
    with op.batch_alter_table("payment") as batch:
        batch.drop_index("ix_payment_receipt")
        batch.drop_index("ix_payment_created")
    op.drop_table("payment")


def _with_line_codes(lines: list[dict]) -> list[dict]:
    seen: dict[str, int] = {}
    for line in lines:
        seen[line["code"]] = seen.get(line["code"], 0) + 1
        line.setdefault("line_code", line["code"] if seen[line["code"]] == 1 else f"{line['code']}#{seen[line['code']]}")
        line.setdefault("list_unit_minor", line["unit_minor"])
    return lines


def _coupon_shares(amount: int, lines: list[dict]) -> list[int]:
    """Old receipts kept the coupon as one amount: spread over the lines by what they cost
    after the tier discount, the leftover minor units to the largest remainders."""
    weights = [max(line["gross_minor"] - line["tier_discount_minor"], 0) for line in lines]
    weights = weights if sum(weights) else [1] * len(lines)
    whole = sum(weights)
    shares = [amount * w // whole for w in weights]
    for index in sorted(range(len(lines)), key=lambda i: -(amount * weights[i] % whole))[: amount - sum(shares)]:
        shares[index] += 1
    return shares


def _sale(receipt, lines: list[dict], payments) -> list[tuple]:
    postings = []
    coupon = _coupon_shares(receipt["coupon_discount_minor"], lines)
    for line, coupon_minor in zip(lines, coupon):
        line["coupon_minor"] = coupon_minor
        if line["category"] == "goods":
            postings.append(("goods", -line["gross_minor"], line["code"], line["line_code"], line["quantity"], ""))
        else:
            postings.append(("sales", -line["gross_minor"], line["category"], line["line_code"], line["quantity"], ""))
        if line["tier_discount_minor"]:
            postings.append(("discount", line["tier_discount_minor"], "tier", line["line_code"], 0, ""))
        if coupon_minor:
            postings.append(("discount", coupon_minor, "coupon", line["line_code"], 0, ""))
    if receipt["points_minor"]:
        postings.append(("points", receipt["points_minor"], "", None, 0, ""))
    if receipt["prepaid_minor"]:
        postings.append(("prepaid", receipt["prepaid_minor"], "", None, 0, ""))
    postings += [("tender", p["amount_minor"], p["method"], None, 0, p["reference"]) for p in payments]
    return postings


def _insert(conn, receipt, kind: str, postings: list[tuple], at: str, *, reason: str) -> None:
    txn = str(uuid.uuid4())
    for account, amount, detail, line_code, quantity, reference in postings:
        conn.execute(sa.text(
            "INSERT INTO ledger_entry (id, txn_id, kind, account, detail, amount_minor, line_code, quantity,"
            " receipt_id, booking_id, member_id, shift_id, terminal, operator_id, authorised_by, reference, reason,"
            " created_at) VALUES (:id, :txn, :kind, :account, :detail, :amount, :line_code, :quantity, :receipt,"
            " :booking, :member, NULL, :terminal, :operator, NULL, :reference, :reason, :at)"),
            {"id": str(uuid.uuid4()), "txn": txn, "kind": kind, "account": account, "detail": detail,
             "amount": amount, "line_code": line_code, "quantity": quantity, "receipt": receipt["id"],
             "booking": receipt["booking_id"], "member": receipt["member_id"], "terminal": _TERMINAL,
             "operator": _OPERATOR, "reference": reference, "reason": reason, "at": at})


def downgrade() -> None:
    op.create_table(
        "payment",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("receipt_id", sa.String(), nullable=False),
        sa.Column("booking_id", sa.String(), nullable=True),
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["receipt_id"], ["receipt.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_payment_created", "payment", ["created_at"])
    op.create_index("ix_payment_receipt", "payment", ["receipt_id"])
    op.execute(
        "INSERT INTO payment (id, receipt_id, booking_id, method, amount_minor, reference, created_at)"
        " SELECT id, receipt_id, booking_id, detail, amount_minor, CASE WHEN kind = 'refund' THEN reason"
        " ELSE reference END, created_at FROM ledger_entry WHERE receipt_id IS NOT NULL AND account = 'tender'"
    )
    op.drop_table("parts_waiver")
    with op.batch_alter_table("receipt") as batch:
        batch.drop_column("change_minor")
        batch.drop_column("cash_tendered_minor")
        batch.drop_column("deposit_minor")
