"""Booking benchmark: durable bookings/s against raw SQLite on the same disk, and availability
latency with a long booking history.

(a) raw sqlite3: single-row INSERT, one transaction each, WAL + synchronous=FULL, into a
    100,000-row bookings table with UUIDv4 keys and a covering (bay, start, end, status)
    index: a common way to measure SQLite's durable single-row insert rate;
(b) station-edge bookings through the service layer (tier rules, conflict-checked slot and
    technician claims, booking row, outbox row; WAL + FULL), printed as (b)/(a);
(b') (b) again once the history of (c) is loaded: a booking's cost must not grow with it;
(d) the SQL statements of (b) replayed from plain Python, no rules: the floor under (b);
    (a), (b) and (d) run in alternating rounds, so drift in this VM's speed falls on all alike;
(e) bookings in two legs (an oil change on a lift, then a wash in a wash bay) through the same
    service, in the same alternating rounds: multi_leg_per_s beside (b)'s single-leg rate;
(c) availability of a whole day, all bays, with N historical bookings in the store: p50/p99,
    for one service (a wash or an oil change) and for a multi-service day query (the oil
    change then the wash, whose starts need both legs to fit).

Usage: python bench/booking.py [--quick] [--history N] [--bookings N]
Headline figures come last, one per line: commit_ratio=, multi_leg_per_s=, availability_p99_ms=,
multi_service_availability_p99_ms=.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.domain.ids import uuid7  # noqa: E402
from edge.services import availability, bookings  # noqa: E402
from edge.services.setup import init_station  # noqa: E402
from edge.store.types import dumps, to_db_time  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
BAYS_PER_KIND = 10
ROUNDS = 10


def bench_config() -> str:
    """A large, always-open station: 10 wash bays, 10 lifts, 10 mechanics, a long horizon."""
    week = "\n".join(f'{d} = ["00:00-24:00"]' for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
    bays = "".join(
        f'\n[[bays]]\nid = "{kind[0].upper()}{i:02d}"\nname = "{kind} {i}"\nkind = "{kind}"\n'
        for kind in ("wash", "lift") for i in range(BAYS_PER_KIND)
    )
    techs = "".join(
        f'\n[[technicians]]\nid = "T{i:02d}"\nname = "Tech {i}"\nskills = ["mechanic"]\n[technicians.roster]\n{week}\n'
        for i in range(BAYS_PER_KIND)
    )
    return f"""
[station]
id = "BENCH-1"
name = "Benchmark station"
timezone = "Asia/Shanghai"
currency = "CNY"
slot_minutes = 30
[station.hours]
{week}
{bays}
[[services]]
code = "WASH"
name_zh = "洗车"
name_en = "Wash"
category = "wash"
duration_minutes = 30
price = 3000
bay_kinds = ["wash"]

[[services]]
code = "OIL"
name_zh = "保养"
name_en = "Oil change"
category = "maintenance"
duration_minutes = 45
buffer_minutes = 15
price = 29900
skill = "mechanic"
bay_kinds = ["lift"]

[[packages]]
code = "CARE"
name_zh = "保养洗车"
name_en = "Oil change and wash"
services = ["OIL", "WASH"]
price = 31900
{techs}
[[tiers]]
name = "regular"
horizon_days = 3650
hold_minutes = 15
"""


class RawTable:
    """(a): single-row INSERTs, one transaction each, WAL + synchronous=FULL, into a
    `existing`-row bookings table with UUIDv4 keys and a covering (bay, start, end, status) index."""

    def __init__(self, path: Path, existing: int = 100_000) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")
        self.conn.execute(
            'CREATE TABLE bookings (id TEXT PRIMARY KEY, bay TEXT, start TEXT, "end" TEXT, status TEXT, payload TEXT)'
        )
        self.conn.execute('CREATE INDEX ix_bookings_bay_start ON bookings (bay, start, "end", status)')
        self.conn.execute("BEGIN")
        self.conn.executemany("INSERT INTO bookings VALUES (?, ?, ?, ?, ?, ?)", (self._row(i) for i in range(existing)))
        self.conn.execute("COMMIT")
        self.made = existing

    @staticmethod
    def _row(i: int) -> tuple:
        start = f"2027-01-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z"
        return (str(uuid.uuid4()), f"B{i % 20}", start, start, "confirmed", '{"plate":"沪A12345","services":["OIL"]}')

    def insert(self, count: int) -> float:
        """Seconds taken by `count` more single-row transactions."""
        began = time.perf_counter()
        for _ in range(count):
            self.conn.execute("BEGIN")
            self.conn.execute("INSERT INTO bookings VALUES (?, ?, ?, ?, ?, ?)", self._row(self.made))
            self.conn.execute("COMMIT")
            self.made += 1
        return time.perf_counter() - began

    def close(self) -> None:
        self.conn.close()


def cells(first_day: date, count: int) -> list[tuple[str, str, datetime]]:
    """`count` distinct (service, bay, start) picks from `first_day` on, alternating wash and
    oil, as the terminal's slot picker hands them to the booking service."""
    out: list[tuple[str, str, datetime]] = []
    day = first_day
    while len(out) < count:
        for hour in range(24):
            start = datetime(day.year, day.month, day.day, hour, 0, tzinfo=TZ)
            for bay in range(BAYS_PER_KIND):
                out.append(("WASH", f"W{bay:02d}", start + timedelta(minutes=30 * (hour % 2))))
                out.append(("OIL", f"L{bay:02d}", start))
        day += timedelta(days=1)
    return out[:count]


class StationBookings:
    """(b): bookings through the service layer, on distinct cells from `days_ahead` days on."""

    def __init__(self, station, count: int, *, days_ahead: int) -> None:
        self.station = station
        self.wanted = cells(date.today() + timedelta(days=days_ahead), count)
        self.made = 0
        station.catalog()  # warm the catalogue outside the timing

    def book(self, count: int) -> float:
        """Seconds taken by the next `count` bookings."""
        began = time.perf_counter()
        for service, bay, start in self.wanted[self.made : self.made + count]:
            bookings.book(self.station, services=[service], start=start, bay_id=bay,
                          plate=f"沪B{self.made % 100000:05d}", channel="phone")
            self.made += 1
        return time.perf_counter() - began


class MultiLegBookings:
    """(e): the package CARE (the lift, then the wash) through the service layer: each booking
    claims two lift cells, a mechanic's two cells and a wash cell, from `days_ahead` days on."""

    def __init__(self, station, count: int, *, days_ahead: int) -> None:
        self.station = station
        first = date.today() + timedelta(days=days_ahead)
        self.wanted = [(f"L{bay:02d}", datetime(day.year, day.month, day.day, hour, tzinfo=TZ))
                       for day in (first + timedelta(days=d) for d in range(count // (23 * BAYS_PER_KIND) + 1))
                       for hour in range(23) for bay in range(BAYS_PER_KIND)][:count]
        self.made = 0
        station.catalog()

    def book(self, count: int) -> float:
        began = time.perf_counter()
        for bay, start in self.wanted[self.made : self.made + count]:
            booking = bookings.book(self.station, services=["CARE"], start=start, bay_id=bay,
                                    plate=f"沪M{self.made % 100000:05d}", channel="phone")
            assert booking.end_at == start + timedelta(minutes=90), "the wash leg must follow the lift's at once"
            self.made += 1
        return time.perf_counter() - began


class SqlFloor:
    """(d): the statements of those same bookings, replayed from plain Python on a station of
    its own with precomputed values and no rule, ranking or bookkeeping in between: what the
    SQL of a booking costs by itself here. It mirrors what edge.services.bookings.book runs
    for a walk-in's plate (read under BEGIN IMMEDIATE, then vehicle, booking row, clock tick,
    outbox row, claims); a schema change that breaks it breaks this benchmark loudly."""

    def __init__(self, station, count: int, *, days_ahead: int) -> None:
        self.conn = station.store._connection()
        self.wanted = cells(date.today() + timedelta(days=days_ahead), count)
        self.technicians = [f"T{i:02d}" for i in range(BAYS_PER_KIND)]
        self.station_id = station.settings.station.id
        self.made = 0

    def book(self, count: int) -> float:
        began = time.perf_counter()
        for service, bay, start in self.wanted[self.made : self.made + count]:
            self._replay(service, bay, start, f"沪F{self.made % 100000:05d}")
            self.made += 1
        return time.perf_counter() - began

    def _replay(self, service: str, bay: str, start: datetime, plate: str) -> None:
        conn, now = self.conn, to_db_time(datetime.now(UTC))
        oil = service == "OIL"
        starts = [to_db_time(start + timedelta(minutes=30 * i)) for i in range(2 if oil else 1)]
        technician = bay.replace("L", "T") if oil else None
        booking_id = uuid7()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("SELECT member_id FROM vehicle WHERE plate = ?", (plate,)).fetchone()
        conn.execute(f"SELECT DISTINCT bay_id FROM slot_claim WHERE bay_id IN (?) AND slot_start IN"
                     f" ({', '.join('?' * len(starts))})", (bay, *starts)).fetchall()
        if oil:
            midnight = datetime(start.year, start.month, start.day, tzinfo=TZ)
            conn.execute(
                f"SELECT technician_id, count(*), max(slot_start BETWEEN ? AND ?) FROM technician_claim WHERE"
                f" technician_id IN ({', '.join('?' * len(self.technicians))}) AND slot_start >= ? AND"
                " slot_start < ? GROUP BY technician_id",
                (starts[0], starts[-1], *self.technicians, to_db_time(midnight),
                 to_db_time(midnight + timedelta(days=1))),
            ).fetchall()
        conn.execute("SELECT bay_id, slot_start, owner, token FROM escrow_cell WHERE bay_id IN (?)"
                     " AND slot_start >= ? AND slot_start <= ?", (bay, starts[0], starts[-1])).fetchall()
        conn.execute("INSERT INTO vehicle (plate, member_id, model, created_at) VALUES (?, NULL, '', ?)"
                     " ON CONFLICT (plate) DO UPDATE SET member_id = excluded.member_id"
                     " WHERE excluded.member_id IS NOT NULL AND member_id IS NOT excluded.member_id", (plate, now))
        row = {"id": booking_id, "code": uuid.uuid4().hex[:6].upper(), "plate": plate, "member_id": None,
               "channel": "phone", "state": "confirmed", "progress": None, "bay_id": bay, "technician_id": technician,
               "start_at": starts[0], "end_at": to_db_time(start + timedelta(minutes=45 if oil else 30)),
               "services": [service], "package_code": None, "price_minor": 3000, "currency": "CNY",
               "price_version": "v", "hold_until": None, "notes": "", "reason": "", "version": 1,
               "created_at": now, "updated_at": now}
        conn.execute(f"INSERT INTO booking ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                     [json.dumps(v) if k == "services" else v for k, v in row.items()])
        conn.execute("INSERT INTO booking_leg (booking_id, seq, bay_id, technician_id, start_at, end_at, services)"
                     " VALUES (?, 0, ?, ?, ?, ?, ?)",
                     (booking_id, bay, technician, row["start_at"], row["end_at"], json.dumps([service])))
        now_ms = time.time_ns() // 1_000_000
        wall, logical, epoch = conn.execute(
            "UPDATE node SET hlc_logical = CASE WHEN ? > hlc_wall_ms THEN 0 ELSE hlc_logical + 1 END,"
            " hlc_wall_ms = max(hlc_wall_ms, ?) WHERE id = 1 RETURNING hlc_wall_ms, hlc_logical, epoch",
            (now_ms, now_ms)).fetchone()
        seq = conn.execute("SELECT coalesce(max(seq), 0) FROM outbox WHERE epoch = ? AND stream = 'booking'",
                           (epoch,)).fetchone()[0] + 1
        conn.execute(
            "INSERT INTO outbox (id, epoch, stream, seq, type, entity_id, idem_key, hlc, body, created_at)"
            " VALUES (?, ?, 'booking', ?, 'booking.confirmed', ?, ?, ?, ?, ?)",
            (uuid7(), epoch, seq, booking_id, f"booking:{booking_id}:1", f"{wall:016d}-{logical:05d}",
             dumps({"booking": row, "station": self.station_id}), now))
        conn.execute(f"INSERT INTO slot_claim (bay_id, slot_start, booking_id, hold_until) VALUES"
                     f" {', '.join(['(?, ?, ?, NULL)'] * len(starts))}", [v for s in starts for v in (bay, s, booking_id)])
        if oil:
            conn.execute("INSERT INTO technician_claim (technician_id, slot_start, booking_id) VALUES"
                         f" {', '.join(['(?, ?, ?)'] * len(starts))}", [v for s in starts for v in (technician, s, booking_id)])
        conn.execute("COMMIT")


def interleaved_rates(workloads: list[tuple[Callable[[int], float], int]]) -> list[float]:
    """Each workload's rate per second (a workload runs `count` operations when asked and
    returns the seconds they took), measured in alternating rounds: this VM's disk and CPU
    speed drift within a run, and rates taken a minute apart would carry that drift into
    their ratio."""
    seconds = [0.0] * len(workloads)
    for round_ in range(ROUNDS):
        for i, (run, total) in enumerate(workloads):
            seconds[i] += run(total * (round_ + 1) // ROUNDS - total * round_ // ROUNDS)
    return [total / spent for (_, total), spent in zip(workloads, seconds)]


def load_history(station, count: int) -> None:
    """`count` completed bookings on past days, with their slot claims, loaded in bulk."""
    conn = sqlite3.connect(station.store.path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")  # loading fixtures, not measuring durability
    catalog = station.catalog()
    bays = [b.id for b in catalog.bays.values()]
    per_day = len(bays) * 24  # one booking per bay per hour
    day = date.today() - timedelta(days=count // per_day + 2)
    made = 0
    conn.execute("BEGIN")
    while made < count:
        rows, claims, legs = [], [], []
        for hour in range(24):
            for bay in bays:
                if made >= count:
                    break
                start = datetime(day.year, day.month, day.day, hour, tzinfo=TZ).astimezone(UTC)
                booking_id = uuid7()
                service = "WASH" if bay.startswith("W") else "OIL"
                rows.append((booking_id, f"H{made:07d}", f"沪H{made % 100000:05d}", "phone", "completed", "done", bay,
                             to_db_time(start), to_db_time(start + timedelta(minutes=30)), json.dumps([service]),
                             3000, "CNY", catalog.version, to_db_time(start), to_db_time(start)))
                legs.append((booking_id, bay, to_db_time(start), to_db_time(start + timedelta(minutes=30)),
                             json.dumps([service])))
                claims.append((bay, to_db_time(start), booking_id))
                claims.append((bay, to_db_time(start + timedelta(minutes=30)), booking_id))
                made += 1
        conn.executemany(
            "INSERT INTO booking (id, code, plate, channel, state, progress, bay_id, start_at, end_at, services,"
            " price_minor, currency, price_version, notes, reason, version, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', 3, ?, ?)",
            rows,
        )
        conn.executemany("INSERT INTO slot_claim (bay_id, slot_start, booking_id) VALUES (?, ?, ?)", claims)
        conn.executemany("INSERT INTO booking_leg (booking_id, seq, bay_id, start_at, end_at, services)"
                         " VALUES (?, 0, ?, ?, ?, ?)", legs)
        day += timedelta(days=1)
        if made % 200_000 < per_day:
            conn.execute("COMMIT")
            conn.execute("BEGIN")
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def availability_latencies(station, calls: int, choices: list[list[str]]) -> list[float]:
    """Milliseconds per whole-day availability query, over days that hold the timed bookings,
    the services of each call taken in turn from `choices`."""
    rng = random.Random(7)
    days = [date.today() + timedelta(days=d) for d in range(2, 9)]
    samples = []
    for i in range(calls):
        day = rng.choice(days)
        services = choices[i % len(choices)]
        began = time.perf_counter()
        availability.free_starts(station, day=day, services=services, now=datetime.now(UTC))
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run that ends within ~30 s")
    parser.add_argument("--history", type=int, help="historical bookings for (c) (default 1,000,000; quick 100,000)")
    parser.add_argument("--bookings", type=int, help="bookings timed in (b) (default 3,000; quick 500)")
    args = parser.parse_args()
    history = args.history or (100_000 if args.quick else 1_000_000)
    count = args.bookings or (500 if args.quick else 3_000)
    raw_count = count * 2

    work = ROOT / "bench" / ".data" / "booking"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        table = RawTable(work / "raw.db")
        config = work / "bench.toml"
        config.write_text(bench_config(), encoding="utf-8")
        station = init_station(config, work / "station")
        floor_station = init_station(config, work / "floor")
        raw, ours, floor, multi = interleaved_rates([
            (table.insert, raw_count),
            (StationBookings(station, count, days_ahead=2).book, count),
            (SqlFloor(floor_station, count, days_ahead=2).book, count),
            (MultiLegBookings(station, count, days_ahead=120).book, count),
        ])
        floor_station.store.close()
        print(f"(a) raw sqlite3 single-row tx, WAL+FULL: {raw:,.0f} tx/s over {raw_count:,}")
        print(f"(b) station-edge durable bookings:       {ours:,.0f} bookings/s over {count:,}")
        print(f"(d) the same bookings' SQL alone:        {floor:,.0f} bookings/s (the floor of (b))")
        print(f"(e) bookings in two legs (lift, wash):   {multi:,.0f} bookings/s over {count:,}")
        print(f"    (a), (b), (d) and (e) ran in {ROUNDS} alternating rounds")
        began = time.perf_counter()
        load_history(station, history)
        print(f"    loaded {history:,} historical bookings in {time.perf_counter() - began:.1f} s")
        # the same bookings again on a station with a long history: the cost must not grow with it
        raw_again, with_history = interleaved_rates([
            (table.insert, raw_count), (StationBookings(station, count, days_ahead=60).book, count)])
        table.close()
        print(f"(b') the same with {history:,} bookings of history:  {with_history:,.0f} bookings/s"
              f" (raw alongside: {raw_again:,.0f} tx/s)")
        calls = 200 if args.quick else 1_000
        latencies = availability_latencies(station, calls, [["WASH"], ["OIL"]])
        p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
        print(f"(c) whole-day availability, {len(station.catalog().bays)} bays, {history:,} history: "
              f"p50 {p50:.2f} ms, p99 {p99:.2f} ms")
        multi_latencies = availability_latencies(station, calls, [["OIL", "WASH"]])
        multi_p50, multi_p99 = percentile(multi_latencies, 0.5), percentile(multi_latencies, 0.99)
        print(f"    the same for the oil change then the wash (two legs, every lift and wash bay): "
              f"p50 {multi_p50:.2f} ms, p99 {multi_p99:.2f} ms")
        station.store.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"raw_tx_per_s={raw:.0f}")
    print(f"bookings_per_s={ours:.0f}")
    print(f"history_bookings={history}")
    print(f"availability_p50_ms={p50:.3f}")
    print(f"bookings_with_history_per_s={with_history:.0f}")
    print(f"history_commit_ratio={with_history / raw_again:.2f}")
    print(f"sql_floor_ratio={floor / raw:.2f}")
    print(f"commit_vs_floor={ours / floor:.2f}")
    print(f"multi_service_availability_p50_ms={multi_p50:.3f}")
    print(f"multi_leg_vs_single={multi / ours:.2f}")
    print(f"commit_ratio={ours / raw:.2f}")
    print(f"multi_leg_per_s={multi:.0f}")
    print(f"availability_p99_ms={p99:.3f}")
    print(f"multi_service_availability_p99_ms={multi_p99:.3f}")


if __name__ == "__main__":
    main()
