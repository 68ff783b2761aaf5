"""Signed booking tokens: issued per booking, refused when copied, altered, early, late or foreign."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.domain.tokens import TokenRejected, issue_token, read_token, verify_token
from edge.errors import EdgeError

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
BOOKING = "0193a1b2-7c3d-7e4f-8a5b-6c7d8e9f0a1b"
STATION = "SH-PD-001"
FROM = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
UNTIL = FROM + timedelta(hours=2)
DURING = FROM + timedelta(minutes=40)


def token() -> str:
    return issue_token(BOOKING, STATION, FROM, UNTIL, KEY)


def rejected(text: str, *, station: str = STATION, now: datetime = DURING, key=KEY) -> TokenRejected:
    with pytest.raises(TokenRejected) as caught:
        verify_token(text, station, now, key)
    return caught.value


def test_a_valid_token_gives_its_booking_id():
    text = token()
    assert text.startswith("SE1.") and len(text) < 160  # small enough for a phone-screen QR
    assert verify_token(text, STATION, DURING, KEY) == BOOKING
    assert verify_token(f"  {text}\r\n", STATION, FROM, KEY) == BOOKING  # as a scanner delivers it


def test_the_window_is_checked_in_any_time_zone():
    shanghai = timezone(timedelta(hours=8))
    assert verify_token(token(), STATION, DURING.astimezone(shanghai), KEY) == BOOKING
    early = rejected(token(), now=FROM - timedelta(seconds=1))
    assert early.reason == "not_yet_valid" and "2026-11-23T09:30:00+00:00" in str(early)
    late = rejected(token(), now=UNTIL)
    assert late.reason == "expired" and BOOKING in str(late)


def test_a_token_copied_to_another_station_is_refused():
    error = rejected(token(), station="BJ-CY-007")
    assert error.reason == "wrong_station" and error.booking_id == BOOKING
    assert "issued for station SH-PD-001, not BJ-CY-007" in str(error)


def test_an_altered_token_is_refused():
    prefix, payload, tag = token().split(".")
    fields = json.loads(base64.urlsafe_b64decode(payload + "=="))
    fields[0] = "0193a1b2-7c3d-7e4f-8a5b-ffffffffffff"  # someone else's booking
    forged = base64.urlsafe_b64encode(json.dumps(fields, separators=(",", ":")).encode()).rstrip(b"=").decode()
    assert rejected(f"{prefix}.{forged}.{tag}").reason == "altered"
    fields[0], fields[3] = BOOKING, fields[3] + 86400  # a longer validity
    longer = base64.urlsafe_b64encode(json.dumps(fields, separators=(",", ":")).encode()).rstrip(b"=").decode()
    assert rejected(f"{prefix}.{longer}.{tag}").reason == "altered"
    assert rejected(token(), key=OTHER_KEY).reason == "altered"


@pytest.mark.parametrize("text", ["", "hello", "SE1.abc", "SE2.a.b", "SE1.!!!.abc", "SE1.e30.AAAA",
                                  "BK-20261123-07", "SE1." + base64.urlsafe_b64encode(b"[1,2,3,4]").decode() + ".x"])
def test_unknown_or_garbled_texts_are_malformed(text):
    assert rejected(text).reason == "malformed"


@given(st.text(max_size=200))
def test_no_text_makes_verify_crash(text):
    try:
        verify_token(text, STATION, DURING, KEY)
    except TokenRejected:
        pass  # a clear rejection is the right answer; any other exception fails the test


def test_keys_rotate_and_bad_keys_or_times_are_programming_errors():
    assert verify_token(token(), STATION, DURING, [OTHER_KEY, KEY]) == BOOKING  # previous key still accepted
    with pytest.raises(ValueError, match="at least 16 bytes"):
        issue_token(BOOKING, STATION, FROM, UNTIL, b"short")
    with pytest.raises(ValueError, match="timezone-aware"):
        issue_token(BOOKING, STATION, datetime(2026, 11, 23, 9), UNTIL, KEY)
    with pytest.raises(ValueError, match="after valid_from"):
        issue_token(BOOKING, STATION, UNTIL, FROM, KEY)


def test_rejections_are_edge_errors_that_say_why_and_for_which_booking():
    # the caller logs them (the daemon once per scanner and reason a minute: a noisy scanner must not flood the log)
    error = rejected(token(), station="BJ-CY-007")
    assert isinstance(error, EdgeError)
    assert (error.reason, error.booking_id) == ("wrong_station", BOOKING)


def test_unicode_ids_survive():
    text = issue_token("预约-001", "浦东-1", FROM, UNTIL, KEY)
    assert verify_token(text, "浦东-1", DURING, KEY) == "预约-001"


# -- one spelling per token ----------------------------------------------------------------

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _respelled(part: str) -> str:
    """The same part with its last character's unused bits set: base64 that decodes to the same bytes."""
    unused = {2: 4, 3: 2}[len(part) % 4]  # bits of the last character beyond the data
    last = _ALPHABET.index(part[-1])
    assert last % (1 << unused) == 0  # the issued spelling keeps them zero
    return part[:-1] + _ALPHABET[last + 1]


def test_a_token_with_its_last_character_changed_is_refused():
    prefix, payload, tag = token().split(".")
    respelled = _respelled(tag)
    assert base64.urlsafe_b64decode(respelled + "==") == base64.urlsafe_b64decode(tag + "==")  # same bytes
    error = rejected(f"{prefix}.{payload}.{respelled}")
    assert error.reason == "malformed" and "canonical" in str(error)
    if len(payload) % 4:  # the payload's spelling is checked the same way
        assert rejected(f"{prefix}.{_respelled(payload)}.{tag}").reason == "malformed"


@pytest.mark.parametrize("change", [
    lambda p, t: (p, t + "=="),  # padding appended
    lambda p, t: (p, t + "="),
    lambda p, t: (p + "==", t),
    lambda p, t: (p, t[:5] + " " + t[5:]),  # a stray character inside
    lambda p, t: (p, t[:5] + "+" + t[6:]),  # the standard alphabet's character, not base64url's
    lambda p, t: (p[:3] + "\n" + p[3:], t),
    lambda p, t: (p, t + "AAA"),  # a length no base64 text has
])
def test_padding_and_stray_characters_make_a_token_malformed(change):
    prefix, payload, tag = token().split(".")
    payload, tag = change(payload, tag)
    assert rejected(f"{prefix}.{payload}.{tag}").reason == "malformed"


def test_a_token_carries_its_generation_and_older_tokens_are_generation_zero():
    newer = issue_token(BOOKING, STATION, FROM, UNTIL, KEY, generation=3)
    claim = read_token(newer, STATION, KEY)
    assert (claim.booking_id, claim.generation, claim.valid_from, claim.valid_until) == (BOOKING, 3, FROM, UNTIL)
    assert newer != token() and read_token(token(), STATION, KEY).generation == 0
    # a token printed before generations existed: four fields, signed the same way
    payload = base64.urlsafe_b64encode(json.dumps([BOOKING, STATION, int(FROM.timestamp()), int(UNTIL.timestamp())],
                                                  separators=(",", ":")).encode()).rstrip(b"=").decode()
    tag = base64.urlsafe_b64encode(hmac.new(KEY, f"SE1.{payload}".encode(), hashlib.sha256).digest()[:16])
    legacy = f"SE1.{payload}.{tag.rstrip(b'=').decode()}"
    assert read_token(legacy, STATION, KEY).generation == 0 and verify_token(legacy, STATION, DURING, KEY) == BOOKING
    with pytest.raises(ValueError, match="generation"):
        issue_token(BOOKING, STATION, FROM, UNTIL, KEY, generation=-1)


def test_reading_a_token_checks_everything_but_its_window():
    claim = read_token(token(), STATION, KEY)  # read at any time: the window is the caller's to check
    with pytest.raises(TokenRejected) as early:
        claim.check_window(FROM - timedelta(seconds=1))
    assert early.value.reason == "not_yet_valid"
    claim.check_window(DURING)
    with pytest.raises(TokenRejected) as foreign:
        read_token(token(), "BJ-CY-007", KEY)
    assert foreign.value.reason == "wrong_station"
