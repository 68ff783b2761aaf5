"""The UI's languages: gettext catalogs (zh_CN, en), the language choice, and a tiny .po compiler.

Message ids are the English texts. The Chinese catalog is `locale/zh_CN/LC_MESSAGES/
station_edge_tui.po`; its compiled `.mo` is committed next to it, and when the `.mo` is
missing (a checkout that never ran the compiler) the `.po` is compiled in memory at start,
so no external tool (msgfmt) is ever needed. `python -m tui.i18n` rewrites the `.mo`.

The current language is process-wide: one terminal, one attendant, one language at a time.
"""

from __future__ import annotations

import array
import ast
import functools
import gettext
import io
import os
import struct
import sys
from collections.abc import Mapping
from pathlib import Path

DOMAIN = "station_edge_tui"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("zh_CN", "en")
LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}

_current: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def _(message: str) -> str:
    """The message in the current language."""
    return _current.gettext(message)


def N_(message: str) -> str:
    """Mark a message for the catalog without translating it yet (class-level texts, tables)."""
    return message


def language() -> str:
    return _language


def set_language(lang: str) -> None:
    global _current, _language
    if lang not in LANGUAGES:
        raise ValueError(f"unknown UI language {lang!r} (one of {', '.join(LANGUAGES)})")
    _current = translations(lang)
    _language = lang


def other_language(lang: str) -> str:
    return LANGUAGES[(LANGUAGES.index(lang) + 1) % len(LANGUAGES)]


def choose_language(requested: str | None, configured: str, configured_explicitly: bool,
                    environ: Mapping[str, str] = os.environ) -> str:
    """`--lang` first, then the station's `locale` when the config names one, then the
    terminal's LANGUAGE / LC_ALL / LC_MESSAGES / LANG, then the config's default."""
    if requested:
        return requested
    if configured_explicitly:
        return configured
    for variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(variable, "").lower()
        if value.startswith("zh"):
            return "zh_CN"
        if value.startswith("en"):
            return "en"
    return configured


@functools.lru_cache(maxsize=None)
def translations(lang: str) -> gettext.NullTranslations:
    """The catalog of `lang`, read once (a switch back and forth does no file I/O on the UI thread)."""
    if lang == "en":
        return gettext.NullTranslations()
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    mo = folder / f"{DOMAIN}.mo"
    if mo.is_file():
        data = mo.read_bytes()
    else:
        data = compile_po((folder / f"{DOMAIN}.po").read_text(encoding="utf-8"))
    return gettext.GNUTranslations(io.BytesIO(data))


# -- the .po compiler (the logic of CPython's Tools/i18n/msgfmt.py) ------------------


class PoError(ValueError):
    """A .po file this compiler cannot read; the message names the line."""


def parse_po(text: str) -> dict[str, str]:
    """msgid -> msgstr of a .po file; fuzzy and untranslated entries are left out."""
    messages: dict[str, str] = {}
    section: str | None = None
    msgid = msgstr = ""
    fuzzy = False

    def finish() -> None:
        if section == "msgstr" and msgstr and not fuzzy:
            messages[msgid] = msgstr

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("#"):
            if section == "msgstr":
                finish()
                section, msgid, msgstr, fuzzy = None, "", "", False
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            continue
        if not line:
            continue
        if line.startswith(("msgctxt", "msgid_plural", "msgstr[")):
            raise PoError(f"line {number}: contexts and plural forms are not used in this catalog")
        if line.startswith("msgid "):
            if section == "msgstr":  # a new entry right after the last one, no comment between
                finish()
                fuzzy = False
            section, msgid, msgstr = "msgid", "", ""
            line = line[len("msgid"):].strip()
        elif line.startswith("msgstr "):
            section = "msgstr"
            line = line[len("msgstr"):].strip()
        if not line.startswith('"') or section is None:
            raise PoError(f"line {number}: expected a quoted string, got {raw!r}")
        try:
            value = ast.literal_eval(line)
        except (SyntaxError, ValueError) as err:
            raise PoError(f"line {number}: bad string {raw!r}") from err
        if section == "msgid":
            msgid += value
        else:
            msgstr += value
    finish()
    return messages


def compile_po(text: str) -> bytes:
    """The .mo bytes for a .po text: GNU format, little-endian, keys sorted, no hash table."""
    messages = {k.encode("utf-8"): v.encode("utf-8") for k, v in parse_po(text).items()}
    keys = sorted(messages)
    ids = strs = b""
    entries = []
    for key in keys:
        entries.append((len(ids), len(key), len(strs), len(messages[key])))
        ids += key + b"\0"
        strs += messages[key] + b"\0"
    key_start = 7 * 4 + 16 * len(keys)
    value_start = key_start + len(ids)
    key_offsets: list[int] = []
    value_offsets: list[int] = []
    for id_offset, id_length, str_offset, str_length in entries:
        key_offsets += [id_length, id_offset + key_start]
        value_offsets += [str_length, str_offset + value_start]
    header = struct.pack("<Iiiiiii", 0x950412DE, 0, len(keys), 7 * 4, 7 * 4 + len(keys) * 8, 0, 0)
    table = array.array("i", key_offsets + value_offsets)
    if sys.byteorder != "little":
        table.byteswap()
    return header + table.tobytes() + ids + strs


def compile_catalogs() -> list[Path]:
    """Write every language's .mo from its .po (what `python -m tui.i18n` does)."""
    written = []
    for po in sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo = po.with_suffix(".mo")
        mo.write_bytes(compile_po(po.read_text(encoding="utf-8")))
        written.append(mo)
    return written


if __name__ == "__main__":
    for path in compile_catalogs():
        print(f"wrote {path}")
