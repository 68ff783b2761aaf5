"""HQ's tables. They live in a metadata registry of their own, apart from the station's tables,
so that neither side's schema checks or migrations ever see the other's."""

from __future__ import annotations

from sqlalchemy.orm import registry
from sqlmodel import SQLModel


class HqModel(SQLModel, registry=registry()):
    """Base of every HQ table: `HqModel.metadata` holds HQ's schema alone."""
