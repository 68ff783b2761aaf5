"""Plate normalisation, Chinese formats and matching real-world-shaped reads against expected arrivals."""

from __future__ import annotations

import pytest

from edge.domain.plates import match_plate, normalize_plate, plate_distance, plate_kind, validate_plate
from edge.errors import InvalidInput


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
    ("沪A1234警", "cn_special"), ("苏B1234挂", "cn_special"), ("粤Z1234澳", "cn_special"), ("沪A1234领", "cn_special"),
    ("使123456", "cn_embassy"), ("WJ京12345", "cn_armed_police"), ("wj 12345", "cn_armed_police"),
])
def test_chinese_formats(raw, kind):
    assert plate_kind(validate_plate(raw)) == kind


@pytest.mark.parametrize("raw", [
    "A12345",        # no province character
    "ABC",
    "沪A1234",       # one character short
    "沪A1234567",    # 9 characters
    "沪AX12345",     # 8 characters whose third is not a new-energy letter
    "沪1A2345",      # a digit where the authority letter goes (1 is not read as a letter)
    "使12345",
])
def test_a_typed_plate_without_a_mainland_format_is_refused_saying_what_a_plate_looks_like(raw):
    with pytest.raises(InvalidInput, match="expected a mainland plate: province character") as caught:
        validate_plate(raw)
    assert caught.value.field == "plate" and "--foreign" in str(caught.value)


@pytest.mark.parametrize("raw", ["!!", "沪", "", "AB\x07CD", "ABCDEFGHJKLMN"])
def test_what_is_no_plate_at_all_is_refused_even_as_a_foreign_plate(raw):
    with pytest.raises(InvalidInput, match="not a licence plate"):
        validate_plate(raw, foreign=True)


def test_a_foreign_plate_is_trimmed_and_upper_cased_only():
    assert validate_plate(" ab 123 cd ", foreign=True) == "AB123CD"
    assert validate_plate("München M-AB 1234".split(" ", 1)[1], foreign=True) == "MAB1234"
    assert validate_plate("b-ab123", foreign=True) == "BAB123"


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
