"""Following a complaint up, at the service and on the command line: assigned, resolved, closed, each told to HQ."""

from __future__ import annotations

import json

import pytest

from edge.cli.main import main
from edge.errors import InvalidInput, InvalidTransition, NotFound
from edge.services import bookings, complaints, delivery
from tests.stations import TEST_CONFIG, make_station
from tests.test_delivery import at, events, served
from tests.test_staff import STAFF


@pytest.fixture
def station(tmp_path):
    station = make_station(tmp_path, config=TEST_CONFIG + STAFF)
    yield station
    station.store.close()


def complained(station, plate="沪A12345"):
    """A completed oil change the customer rated 1/5: an open complaint."""
    booking = served(station, ["OIL"], at(9), plate=plate)
    bookings.complete(station, booking.code, now=at(10))
    delivery.record_feedback(station, booking.code, rating=1, comment="oil on the seat", now=at(11))
    return booking


def test_a_complaint_is_assigned_resolved_and_closed_each_step_an_event(station):
    booking = complained(station)
    assigned = complaints.assign(station, booking.code, to="赵小燕", note="call the customer", now=at(12))
    assert (assigned.state, assigned.assigned_to, assigned.note) == ("assigned", "S02", "call the customer")
    handed_on = complaints.assign(station, assigned.id, to="S01", now=at(13))
    assert (handed_on.assigned_to, handed_on.note) == ("S01", "call the customer")
    resolved = complaints.resolve(station, booking.code, note="seat cleaned, apologised", now=at(14))
    assert (resolved.state, resolved.assigned_to) == ("resolved", "S01")
    assert [c.id for c in delivery.complaints(station, state=("open", "assigned", "resolved"))] == [resolved.id]
    closed = complaints.close(station, booking.code, note="customer satisfied", now=at(15))
    assert (closed.state, closed.note) == ("closed", "customer satisfied")
    assert delivery.complaints(station, state=("open", "assigned", "resolved")) == []

    steps = events(station, "complaint.assigned", "complaint.resolved", "complaint.closed")
    assert [(e["type"], e["idem_key"]) for e in steps] == [
        ("complaint.assigned", f"complaint:{closed.id}:2"), ("complaint.assigned", f"complaint:{closed.id}:3"),
        ("complaint.resolved", f"complaint:{closed.id}:4"), ("complaint.closed", f"complaint:{closed.id}:5")]
    assert steps[-1]["body"]["note"] == "customer satisfied" and steps[-1]["body"]["booking"] == booking.code


def test_steps_out_of_order_an_unknown_assignee_and_an_empty_note_are_refused(station):
    booking = complained(station)
    with pytest.raises(InvalidInput, match="no staff member 'Nobody'"):
        complaints.assign(station, booking.code, to="Nobody")
    with pytest.raises(InvalidInput, match="a note is needed"):
        complaints.resolve(station, booking.code, note="  ")
    complaints.close(station, booking.code, note="called twice, no answer")
    with pytest.raises(InvalidTransition, match="is closed; cannot become resolved"):
        complaints.resolve(station, booking.code, note="late")
    with pytest.raises(NotFound, match="no complaint 'NOPE'"):
        complaints.close(station, "NOPE", note="x")


def test_the_command_line_follows_a_complaint_up(station, capsys):
    booking = complained(station)
    data = str(station.store.path.parent)

    def run(*args):
        code = main(["--data-dir", data, *args])
        out, err = capsys.readouterr()
        assert code == 0, err
        return out

    assert "assigned to S02" in run("service", "complaint", "assign", booking.code, "--to", "S02")
    (listed,) = json.loads(run("service", "complaints", "--json"))
    assert (listed["state"], listed["assigned_to"]) == ("assigned", "S02")
    assert json.loads(run("service", "complaint", "resolve", booking.code, "--note", "refund of the wash",
                          "--json"))["state"] == "resolved"
    assert "closed" in run("service", "complaint", "close", booking.code, "--note", "satisfied")
    assert json.loads(run("service", "complaints", "--json")) == []
    assert json.loads(run("service", "complaints", "--all", "--json"))[0]["note"] == "satisfied"
    assert main(["--data-dir", data, "service", "complaint", "close", booking.code, "--note", "again"]) == 7
