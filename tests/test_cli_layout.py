"""The command line's layout: nouns with their actions, the counter's shortcuts, and old spellings that
still work for a release (same result, a note on stderr) without being listed anywhere."""

from __future__ import annotations

import json
import re

import pytest

from edge.cli.main import main
from tests.test_cli import TOMORROW_9, cli, counts, data_dir  # noqa: F401 (data_dir is a fixture)

NOUNS = {"booking", "member", "fleet", "pay", "stock", "service", "bay", "roster", "report", "sync", "hq", "keys",
         "db", "vehicle", "receipt", "staff"}
TOP_LEVEL_VERBS = {"init", "book", "checkin", "slots", "tui", "run", "doctor", "demo", "audit"}

ACTIONS = {
    "booking": {"slots", "book", "hold", "confirm", "cancel", "reschedule", "checkin", "progress", "complete",
                "no-show", "show", "token", "list", "expire", "waitlist", "reassign", "add-work", "approve-work",
                "refuse-work"},
    "member": {"add", "vehicle", "show", "balance", "points", "prepaid", "coupon", "tiers", "credit"},
    "fleet": {"add", "update", "list", "show", "subaccount", "vehicle", "package", "rule", "book", "approvals",
              "approve", "reject", "statement"},
    "pay": {"checkout", "refund", "invoice"},
    "stock": {"list", "receive", "issue", "adjust", "movements", "check"},
    "service": {"list", "report", "show-report", "due", "feedback", "feedback-due", "complaints", "disruptions",
                "waive-parts"},
    "receipt": {"list", "show"},
    "bay": {"list", "out-of-service", "in-service"},
    "roster": {"set", "remove", "list", "show"},
    "vehicle": {"size"},
    "sync": {"run", "status", "new-epoch", "outbox", "conflicts"},
    "hq": {"init", "run", "publish-catalog", "lag", "book", "lease", "member", "decide-work", "staff", "audit"},
    "keys": {"generate", "show"},
    "db": {"upgrade"},
    "staff": {"list", "hash-pin"},
}

NOBODY = "ZZZZZZ"  # a booking code no station has: the handler answers "not found" and writes nothing

# old argv -> new argv: each pair must give the same exit code, stdout and stderr (but for the note)
OLD_AND_NEW = [
    (["services", "--json"], ["service", "list", "--json"]),
    (["hold", "--start", TOMORROW_9, "--services", "OIL", "--plate", "!"],
     ["booking", "hold", "--start", TOMORROW_9, "--services", "OIL", "--plate", "!"]),
    (["confirm", NOBODY], ["booking", "confirm", NOBODY]),
    (["cancel", NOBODY, "--reason", "x"], ["booking", "cancel", NOBODY, "--reason", "x"]),
    (["reschedule", NOBODY, "--start", TOMORROW_9], ["booking", "reschedule", NOBODY, "--start", TOMORROW_9]),
    (["progress", NOBODY, "in_bay"], ["booking", "progress", NOBODY, "in_bay"]),
    (["complete", NOBODY], ["booking", "complete", NOBODY]),
    (["no-show", NOBODY], ["booking", "no-show", NOBODY]),
    (["show", NOBODY], ["booking", "show", NOBODY]),
    (["token", NOBODY], ["booking", "token", NOBODY]),
    (["bookings", "--date", "2030-01-07", "--json"], ["booking", "list", "--date", "2030-01-07", "--json"]),
    (["expire", "--json"], ["booking", "expire", "--json"]),
    (["waitlist"], ["booking", "waitlist"]),
    (["waitlist", "list", "--date", "2030-01-07"], ["booking", "waitlist", "list", "--date", "2030-01-07"]),
    (["waitlist", "cancel", "nope"], ["booking", "waitlist", "cancel", "nope"]),
    (["balance", "13900000000"], ["member", "balance", "13900000000"]),
    (["points", "adjust", "--phone", "13900000000", "--points", "5", "--reason", "x"],
     ["member", "points", "adjust", "--phone", "13900000000", "--points", "5", "--reason", "x"]),
    (["points", "expire", "--json"], ["member", "points", "expire", "--json"]),
    (["prepaid", "top-up", "--phone", "13900000000", "--amount", "5.00", "--method", "cash"],
     ["member", "prepaid", "top-up", "--phone", "13900000000", "--amount", "5.00", "--method", "cash"]),
    (["coupon", "issue", "--template", "NOPE", "--phone", "13900000000"],
     ["member", "coupon", "issue", "--template", "NOPE", "--phone", "13900000000"]),
    (["coupon", "conflict", "NOPE", "--detail", "x"], ["member", "coupon", "conflict", "NOPE", "--detail", "x"]),
    (["tiers", "close-periods", "--json"], ["member", "tiers", "close-periods", "--json"]),
    (["enterprise", "list", "--json"], ["fleet", "list", "--json"]),
    (["enterprise", "show", "NOPE"], ["fleet", "show", "NOPE"]),
    (["approvals", "--json"], ["fleet", "approvals", "--json"]),
    (["approvals", "expire"], ["fleet", "approvals", "expire"]),
    (["approve", NOBODY, "--by", "13900000000"], ["fleet", "approve", NOBODY, "--by", "13900000000"]),
    (["reject", NOBODY, "--by", "13900000000", "--reason", "x"],
     ["fleet", "reject", NOBODY, "--by", "13900000000", "--reason", "x"]),
    (["statement", "--enterprise", "NOPE", "--month", "2030-01"],
     ["fleet", "statement", "--enterprise", "NOPE", "--month", "2030-01"]),
    (["checkout", "--booking", NOBODY, "--pay", "cash=1.00"],
     ["pay", "checkout", "--booking", NOBODY, "--pay", "cash=1.00"]),
    (["refund", "NOPE", "--reason", "x"], ["pay", "refund", "NOPE", "--reason", "x"]),
    (["invoice", "NOPE", "--buyer", "b", "--tax-id", "t"],
     ["pay", "invoice", "NOPE", "--buyer", "b", "--tax-id", "t"]),
    (["report-service", NOBODY], ["service", "report", NOBODY]),
    (["service-report", NOBODY], ["service", "show-report", NOBODY]),
    (["next-service", "沪A12345", "--json"], ["service", "due", "沪A12345", "--json"]),
    (["feedback", NOBODY, "--rating", "5"], ["service", "feedback", NOBODY, "--rating", "5"]),
    (["feedback-due", "--json"], ["service", "feedback-due", "--json"]),
    (["complaints", "--all", "--json"], ["service", "complaints", "--all", "--json"]),
    (["disruptions", "--json"], ["service", "disruptions", "--json"]),
    (["disruption", "resolve", NOBODY, "--choice", "wait"],
     ["service", "disruptions", "resolve", NOBODY, "--choice", "wait"]),
    (["outbox", "--json"], ["sync", "outbox", "--json"]),
    (["conflicts", "--json"], ["sync", "conflicts", "--json"]),
    (["conflicts", "resolve", "nope", "--note", "x"], ["sync", "conflicts", "resolve", "nope", "--note", "x"]),
]


def run(capsys, *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of the command line, also when argparse exits by itself (--help, usage)."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as exit_:
        code = exit_.code
    out = capsys.readouterr()
    return code, out.out, out.err


def listed(help_text: str) -> set[str]:
    """The subcommand names a --help lists (one per line, indented four spaces)."""
    return set(re.findall(r"^ {4}([a-z][\w-]*)", help_text, flags=re.MULTILINE))


def note(old: str, new: str) -> str:
    return f"station-edge: `{old}` is now `{new}`; the old name goes in the next release\n"


def test_every_old_first_word_is_in_the_table():
    from edge.cli.command_words import OLD_SPELLINGS

    assert {old[0] for old, _ in OLD_AND_NEW} == set(OLD_SPELLINGS)


@pytest.mark.parametrize(("old", "new"), OLD_AND_NEW, ids=[" ".join(old[:2]) for old, _ in OLD_AND_NEW])
def test_an_old_spelling_runs_the_new_command_with_a_note(data_dir, capsys, old, new):
    before = counts(data_dir)
    new_code, new_out, new_err = run(capsys, "--data-dir", data_dir, *new)
    old_code, old_out, old_err = run(capsys, "--data-dir", data_dir, *old)
    assert (old_code, old_out) == (new_code, new_out)
    spelled = " ".join(new[: len(new) - len(old) + 1])
    assert old_err == note(old[0], spelled) + new_err
    assert counts(data_dir) == before


def test_old_spellings_keep_json_on_stdout_and_change_the_booking(data_dir, capsys):
    code, out, err = run(capsys, "--data-dir", data_dir, "hold", "--start", "2030-01-07T09:00", "--services", "OIL",
                         "--plate", "沪A12345", "--json")
    held = json.loads(out)
    assert code == 0 and held["state"] == "held"
    assert err == note("hold", "booking hold")
    code, out, err = run(capsys, "--json", "--data-dir", data_dir, "confirm", held["code"])
    assert code == 0 and json.loads(out)["state"] == "confirmed" and err == note("confirm", "booking confirm")


def test_help_lists_the_nouns_and_the_daily_verbs_but_no_old_spelling(capsys):
    from edge.cli.command_words import OLD_SPELLINGS

    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert listed(out) == NOUNS | TOP_LEVEL_VERBS
    assert "short for `booking book`" in out
    code, _, err = run(capsys, "no-such-command")
    choices = set(re.findall(r"'([\w-]+)'", err.split("choose from")[1]))
    assert code == 2 and choices == NOUNS | TOP_LEVEL_VERBS and not choices & set(OLD_SPELLINGS)


@pytest.mark.parametrize("noun", sorted(ACTIONS))
def test_each_noun_lists_its_actions(capsys, noun):
    code, out, _ = run(capsys, noun, "--help")
    assert code == 0 and out.startswith(f"usage: station-edge {noun} ")
    assert listed(out) == ACTIONS[noun]


def test_an_old_spelling_asks_for_help_under_its_new_name(capsys):
    code, out, err = run(capsys, "report-service", "--help")
    assert code == 0 and out.startswith("usage: station-edge service report ")
    assert err == note("report-service", "service report")


def test_the_shortcuts_are_the_booking_actions(data_dir, capsys):
    day = ["--date", "2030-01-07", "--services", "OIL", "--json"]
    code, out, err = run(capsys, "--data-dir", data_dir, "slots", *day)
    assert code == 0 and json.loads(out) and err == ""
    assert run(capsys, "--data-dir", data_dir, "booking", "slots", *day) == (code, out, err)
    code, out, err = run(capsys, "--data-dir", data_dir, "book", "--start", "2030-01-07T09:00", "--services", "OIL",
                         "--plate", "沪A12345", "--json")
    booked = json.loads(out)
    assert code == 0 and booked["state"] == "confirmed" and err == ""
    # a booking years ahead is not expected now: both spellings refuse it alike, with its time
    checkin = ["checkin", "--booking", booked["code"], "--json"]
    code, out, err = run(capsys, "--data-dir", data_dir, *checkin)
    assert code == 6 and json.loads(out)["error"] == "rule_violation" and "2030-01-07 09:00" in err
    assert run(capsys, "--data-dir", data_dir, "booking", *checkin) == (code, out, err)
    code, out, _ = run(capsys, "book", "--help")
    assert code == 0 and out.startswith("usage: station-edge book ") and "--deposit" in out
