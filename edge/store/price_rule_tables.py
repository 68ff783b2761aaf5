"""The price calendar as the station keeps it: the config's rules, or those of HQ's last catalogue."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from edge.store.types import JsonText


class PriceRuleRow(SQLModel, table=True):
    """One rule of the price calendar (edge.domain.price_calendar), in the order listed: order breaks ties."""

    __tablename__ = "price_rule"
    position: int = Field(primary_key=True)
    rule: dict[str, Any] = Field(sa_column=Column(JsonText(), nullable=False))  # as in HQ's catalogue
