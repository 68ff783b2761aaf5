"""The catalogs: the .po covers every text of the UI, the committed .mo is its compilation, the language choice."""

from __future__ import annotations

import ast
import gettext
import io
import string
from pathlib import Path

import pytest

from tui import i18n

TUI = Path(i18n.__file__).resolve().parent
PO = TUI / "locale" / "zh_CN" / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"


def message_ids() -> set[str]:
    """Every literal passed to _() or N_() in the tui package."""
    found = set()
    for path in TUI.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_")
                    and node.args and isinstance(node.args[0], ast.Constant)):
                found.add(node.args[0].value)
    return found


def test_every_text_of_the_ui_has_a_chinese_translation():
    catalog = i18n.parse_po(PO.read_text(encoding="utf-8"))
    missing = sorted(message_ids() - catalog.keys())
    assert not missing, f"add to {PO.name}: {missing}"
    unused = sorted(catalog.keys() - message_ids() - {""})
    assert not unused, f"no longer used, remove from {PO.name}: {unused}"


def test_placeholders_survive_translation():
    for msgid, msgstr in i18n.parse_po(PO.read_text(encoding="utf-8")).items():
        if msgid:
            assert sorted(_fields(msgid)) == sorted(_fields(msgstr)), msgid


def _fields(text: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(text) if name]


def test_the_committed_mo_is_the_compiled_po():
    mo = PO.with_suffix(".mo")
    assert mo.read_bytes() == i18n.compile_po(PO.read_text(encoding="utf-8")), "run `python -m tui.i18n`"


def test_the_compiler_writes_what_gettext_reads():
    po = 'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n' \
         '#, fuzzy\nmsgid "Skip"\nmsgstr "跳过"\n\nmsgid "Bay"\nmsgstr "工位"\n' \
         'msgid "Two "\n"lines"\nmsgstr "两"\n"行"\n\nmsgid "Empty"\nmsgstr ""\n'
    catalog = gettext.GNUTranslations(io.BytesIO(i18n.compile_po(po)))
    assert catalog.gettext("Bay") == "工位"
    assert catalog.gettext("Two lines") == "两行"
    assert catalog.gettext("Skip") == "Skip"  # fuzzy entries are not trusted
    assert catalog.gettext("Empty") == "Empty"


def test_the_po_is_read_when_the_mo_is_missing(tmp_path, monkeypatch):
    folder = tmp_path / "zh_CN" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / PO.name).write_text(PO.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.translations.cache_clear()
    try:
        assert i18n.translations("zh_CN").gettext("Board") == "看板"
    finally:
        i18n.translations.cache_clear()


def test_a_broken_po_names_the_line():
    with pytest.raises(i18n.PoError, match="line 2"):
        i18n.parse_po('msgid "a"\nmsgstr oops\n')


@pytest.mark.parametrize(("requested", "explicit", "environ", "expected"), [
    ("en", True, {"LANG": "zh_CN.UTF-8"}, "en"),  # --lang wins
    (None, True, {"LANG": "en_US.UTF-8"}, "zh_CN"),  # then the station's config, if it says
    (None, False, {"LANG": "en_US.UTF-8"}, "en"),  # then the terminal
    (None, False, {"LC_ALL": "zh_TW.UTF-8", "LANG": "en_US"}, "zh_CN"),
    (None, False, {"LANG": "C.UTF-8"}, "zh_CN"),  # then the config's default
])
def test_the_language_is_chosen_by_option_config_or_environment(requested, explicit, environ, expected):
    assert i18n.choose_language(requested, "zh_CN", explicit, environ) == expected


def test_switching_back_and_forth():
    i18n.set_language("zh_CN")
    assert i18n._("Board") == "看板"
    i18n.set_language(i18n.other_language("zh_CN"))
    assert i18n._("Board") == "Board"
    with pytest.raises(ValueError):
        i18n.set_language("fr")
