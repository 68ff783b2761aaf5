"""Plate normalisation, Chinese formats and matching real-world-shaped reads against expected arrivals."""

from __future__ import annotations

import pytest

from edge.domain.plates import match_plate, normalize_plate, plate_distance, plate_kind, validate_plate
from edge.errors import RuleViolation


@pytest.mark.parametrize(("raw", "plate"), [
    ("沪ａ·１２３４５", "沪A12345"),          # full-width from a phone keyboard
    ("京A·12345", "京A12345"),
    ("粤B-D1234-5", "粤BD12345"),
    ("苏e 12345", "苏E12345"),
    ("浙A1234O", "浙A12340"),               # O is never issued: a zero
    ("浙AI2345", "浙A12345"),               # I is never issued: a one
    ("川0A1234", "川DA1234"),               # authority position is a letter: 0 reads as D
    ("鲁8F12345", "鲁BF12345"),             # 8 reads as B
    ("ab-123-cd", "AB123CD"),              # foreign plates keep their letters
    ("OI-1234", "OI1234"),                 # positional rules are for Chinese plates only
])
def test_normal_form(raw, plate):
    assert normalize_plate(raw) == plate


@pytest.mark.parametrize(("raw", "kind"), [
    ("沪A12345", "cn"), ("沪AB1234", "cn"), ("粤BD12345", "cn_new_energy"), ("粤BFA1234", "cn_new_energy"),
    ("京A12345D", "cn_new_energy"), ("粤Z1234港", "cn_special"), ("京A1234学", "cn_special"),
])
def test_chinese_formats(raw, kind):
    assert plate_kind(validate_plate(raw)) == kind


@pytest.mark.parametrize(("raw", "why"), [
    ("A12345", "province character"),
    ("沪A1234", "got '沪A1234', 6 characters"),
    ("沪A1234567", "new-energy"),
    ("沪AX12345", "new-energy"),   # an 8-char plate whose third character is not D/F/A-K
    ("!!", "not a licence plate"),
])
def test_invalid_chinese_plates_say_why(raw, why):
    with pytest.raises(RuleViolation, match=why):
        validate_plate(raw)


def test_other_countries_are_normalised_only():
    assert validate_plate("ab 123 cd", country="FR") == "AB123CD"


def test_distance_weights():
    assert plate_distance("沪A12345", "沪A12345") == 0
    assert plate_distance("沪A1234S", "沪A12345") == 0.3    # 5/S
    assert plate_distance("沪A8B345", "沪ABB345") == 0.3    # 8/B
    assert plate_distance("苏A12345", "沪A12345") == 0.5    # wrong province character
    assert plate_distance("A12345", "沪A12345") == 0.5      # province character dropped
    assert plate_distance("沪A12345", "沪A12346") == 1.0    # 5/6: a real difference
    assert plate_distance("沪A12345", "沪A1234") == 1.0


BOOKED = ["沪A12345", "沪B66666", "粤BD12345", "京N88888"]

# read, expected plates, (kind, plate) expected
CASES = [
    # exact reads, however they are written
    ("沪A12345", BOOKED, ("exact", "沪A12345")),
    ("沪Ａ·１２３４５", BOOKED, ("exact", "沪A12345")),
    ("粤B-D12345", BOOKED, ("exact", "粤BD12345")),
    ("沪a 12345", BOOKED, ("exact", "沪A12345")),
    # OCR confusions: close and clearly best -> the attendant confirms
    ("沪A1234S", BOOKED, ("confirm", "沪A12345")),
    ("京M88888", BOOKED, ("confirm", "京N88888")),
    ("京N8888B", BOOKED, ("confirm", "京N88888")),
    ("苏A12345", BOOKED, ("confirm", "沪A12345")),       # province character misread
    ("A12345", BOOKED, ("confirm", "沪A12345")),         # province character dropped by the camera
    ("粤BD1Z345", BOOKED, ("confirm", "粤BD12345")),
    # a one-character-off decoy booked at the same time
    ("沪A12345", ["沪A12345", "沪A12346"], ("exact", "沪A12345")),        # decoy differs by a real digit
    ("沪A1234S", ["沪A12345", "沪A12346"], ("confirm", "沪A12345")),
    ("沪A12345", ["沪A1234S", "沪A12345"], ("confirm", "沪A12345")),     # exact, but a look-alike is booked
    ("沪A1234B", ["沪A12348", "沪A12343"], ("none", None)),               # B is 8 or 3: a tie
    ("沪A12345", ["沪A12346"], ("confirm", "沪A12346")),                 # only the decoy booked: a person decides
    # nothing close
    ("浙C77777", BOOKED, ("none", None)),
    ("沪A12", BOOKED, ("none", None)),
    ("###", BOOKED, ("none", None)),
    ("沪A12345", [], ("none", None)),
]


@pytest.mark.parametrize(("read", "expected", "verdict"), CASES)
def test_matching_table(read, expected, verdict):
    result = match_plate(read, expected)
    assert (result.kind, result.plate) == verdict, result


def test_a_non_exact_match_never_checks_in_alone():
    for read, expected, _ in CASES:
        result = match_plate(read, expected)
        if result.kind == "exact":
            assert normalize_plate(read) == result.plate and result.distance == 0


def test_the_verdict_carries_what_the_attendant_needs():
    result = match_plate("沪A1234S", ["沪A12345", "沪A12346"])
    assert result.read == "沪A1234S" and result.distance == 0.3
    assert result.runner_up == "沪A12346" and result.runner_up_distance == 1.0
    tie = match_plate("沪A1234B", ["沪A12348", "沪A12343"])
    assert "ambiguous" in tie.reason
    far = match_plate("浙C77777", BOOKED)
    assert "no expected plate" in far.reason and far.runner_up in BOOKED


def test_a_malformed_expected_plate_is_skipped():
    assert match_plate("沪A12345", ["??", "沪A12345"]).kind == "exact"
