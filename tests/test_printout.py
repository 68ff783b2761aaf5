"""Printouts as pure data: lines fitted to the paper's width in characters, a CJK character counting two."""

from __future__ import annotations

import pytest

from edge.domain.printout import (
    BookingSlipData, Printout, ReceiptData, ReceiptLineData, booking_slip, columns_for, receipt_printout,
    two_columns, width, wrap,
)
from edge.errors import InvalidInput

RECEIPT = ReceiptData(
    station_name="上海浦东汽车服务有限公司", number="SH-PD-001-261123-Y2HHE", issued_at="2026-11-23 10:00",
    currency="CNY", lines=(ReceiptLineData("标准洗车 Standard wash", 1, 3500),
                           ReceiptLineData("全合成机油保养 Full synthetic oil service", 2, 59800, refunded_quantity=1)),
    subtotal_minor=63300, total_minor=60135, deductions=(("会员折扣 Member discount", 3165),),
    payments=(("cash", 60135),), plate="沪A12345", cash_tendered_minor=70000, change_minor=9865,
    operator="周敏", state="partly_refunded")


def test_a_cjk_character_takes_two_columns_and_is_never_split():
    assert width("沪A12345") == 8 and width("收据 RECEIPT") == 12
    assert wrap("机油保养机油保养机", 8) == ["机油保养", "机油保养", "机"]
    assert wrap("ab机油", 3) == ["ab", "机", "油"]


def test_two_columns_put_the_amount_flush_right_and_wrap_a_long_name():
    assert two_columns("洗车", "35.00", 16) == ["洗车       35.00"]
    lines = two_columns("全合成机油保养 Full synthetic", "598.00", 20)
    assert all(width(line) <= 20 for line in lines) and lines[-1].endswith(" 598.00")
    assert width(lines[-1]) == 20


@pytest.mark.parametrize(("paper_mm", "columns"), [(58, 32), (80, 48)])
def test_every_line_of_a_receipt_fits_the_paper(paper_mm, columns):
    printout = receipt_printout(RECEIPT, columns_for(paper_mm))
    texts = [line.text for line in printout.lines if line.kind == "text"]
    assert max(width(text) for text in texts) <= columns
    assert any(text.endswith("98.65") for text in texts)  # the change
    assert "已退 refunded x1" in printout.plain_text() and "部分退款 PARTLY REFUNDED" in printout.plain_text()
    assert [line.kind for line in printout.lines[-2:]] == ["feed", "cut"]
    assert Printout.from_json(printout.to_json()) == printout  # what the queue stores comes back the same


def test_a_booking_slip_ends_with_its_qr_then_the_cut():
    slip = booking_slip(BookingSlipData("浦东店", "K7Q2XM", "沪A12345", "2026-11-23 09:00", ("精洗 Full wash",), "W1"),
                        "token-text", 32)
    assert [line.text for line in slip.lines if line.kind == "qr"] == ["token-text"]
    assert "K7Q2XM" in slip.plain_text() and "· 精洗 Full wash" in slip.plain_text()


def test_paper_is_58_or_80_mm():
    with pytest.raises(InvalidInput):
        columns_for(70)
