"""A car's details the desk keeps: make, model, colour (and its size class, edge.services.vehicle_sizes).

Setting them records the car if it is new; a member's car changes their profile, so a
member.updated event carries the change to HQ in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite3 import Connection

from edge.domain.plates import validate_plate
from edge.services import members
from edge.services.station import Station


@dataclass(frozen=True, slots=True)
class VehicleRecord:
    plate: str
    make: str
    model: str
    colour: str
    size_class: str | None
    member_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {"plate": self.plate, "make": self.make, "model": self.model, "colour": self.colour,
                "size_class": self.size_class, "member_id": self.member_id}


_COLUMNS = "plate, make, model, colour, size_class, member_id"


def set_details(station: Station, *, plate: str, make: str | None = None, model: str | None = None,
                colour: str | None = None, foreign_plate: bool = False, now: datetime | None = None) -> VehicleRecord:
    """Set the details given (None keeps what is stored); one transaction."""
    now = now or station.clock()
    plate = validate_plate(plate, foreign=foreign_plate)
    with station.store.write() as conn:
        members.register_vehicle(conn, plate=plate, member_id=None, now=now)
        before = _vehicle(conn, plate)
        after = VehicleRecord(plate, before.make if make is None else make.strip(),
                              before.model if model is None else model.strip(),
                              before.colour if colour is None else colour.strip(), before.size_class, before.member_id)
        if after != before:
            conn.execute("UPDATE vehicle SET make = ?, model = ?, colour = ? WHERE plate = ?",
                         (after.make, after.model, after.colour, plate))
            if after.member_id is not None:
                members.announce_change(conn, station, after.member_id, now=now)
        return after


def of_member(station: Station, member_id: str) -> list[VehicleRecord]:
    """The member's cars, by plate."""
    with station.store.read() as conn:
        rows = conn.execute(f"SELECT {_COLUMNS} FROM vehicle WHERE member_id = ? ORDER BY plate", (member_id,))
        return [VehicleRecord(*row) for row in rows]


def _vehicle(conn: Connection, plate: str) -> VehicleRecord:
    return VehicleRecord(*conn.execute(f"SELECT {_COLUMNS} FROM vehicle WHERE plate = ?", (plate,)).fetchone())
