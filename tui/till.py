"""What the till screens share: payment methods and receipt states by name, line names, typed amounts."""

from __future__ import annotations

from edge.domain.money import parse_money
from edge.errors import InvalidInput
from edge.services.station import Station
from tui.formatting import service_name
from tui.i18n import N_, _, language

# the order the checkout form lists them in
PAYMENT_METHODS: dict[str, str] = {
    "cash": N_("Cash"),
    "bank_card": N_("Bank card"),
    "wechat_pay": N_("WeChat Pay"),
    "alipay": N_("Alipay"),
    "enterprise": N_("Enterprise"),
}

RECEIPT_STATES: dict[str, str] = {
    "paid": N_("paid"),
    "partly_refunded": N_("partly refunded"),
    "refunded": N_("refunded"),
}


def method_label(method: str) -> str:
    return _(PAYMENT_METHODS[method]) if method in PAYMENT_METHODS else method


def receipt_state_label(state: str) -> str:
    return _(RECEIPT_STATES[state]) if state in RECEIPT_STATES else state


def line_name(station: Station, code: str) -> str:
    """A receipt line's name in the UI's language: a service, a package or goods (a material's SKU)."""
    material = next((m for m in station.settings.materials if m.sku == code), None)
    if material is None:
        return service_name(station, code)
    return material.name_zh if language() == "zh_CN" else material.name_en


def typed_amount(station: Station, text: str, field: str) -> int:
    """An amount typed in major units ('120', '120.50') in minor units; empty is 0."""
    if not text.strip():
        return 0
    return parse_money(text, station.settings.station.currency_minor_digits, field=field)


def typed_count(text: str, field: str) -> int:
    """A whole number typed in a field (points, a quantity); empty is 0."""
    text = text.strip()
    if not text:
        return 0
    if not text.isdigit():
        raise InvalidInput(field, f"{text!r} is not a whole number")
    return int(text)


def typed_goods(text: str) -> list[tuple[str, int]]:
    """Goods typed as 'SKU' or 'SKU=quantity', separated by commas or spaces: [(SKU, quantity), ...]."""
    goods = []
    for part in text.replace(",", " ").replace("，", " ").split():
        sku, _sep, quantity = part.partition("=")
        goods.append((sku.strip().upper(), typed_count(quantity, "goods") if quantity else 1))
    return goods
