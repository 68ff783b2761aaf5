"""Every shell example in README.md and docs/*.md runs as written.

Each fenced block marked ```sh (or bash, shell) runs top to bottom under `bash -eE -o
pipefail`; a ```console block runs its `$ ` lines and must print the output it shows. Every
block runs in a directory of its own holding a copy of config.example.toml, with
`station-edge` on PATH and STATION_EDGE_HOME pointing at a station made as the README's
quick start makes it (`station-edge init --config config.example.toml`), so each block sees
a fresh station and the examples stay correct for a person who copies them into a shell.

A shell block that cannot run here (the interactive UI, a daemon, a broker deployment)
carries `<!-- not run: REASON -->` on the line before its fence. Every fence names its
language (```text for synopses and diagrams), so no command can hide in an unlabelled block.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from edge.cli.command_words import old_spelling_note

ROOT = Path(__file__).resolve().parents[1]
# what every old command name prints on stderr, whatever the name
OLD_SPELLING_NOTE = old_spelling_note("", "").split("; ", 1)[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = {"sh", "bash", "shell"}
CONSOLE = "console"
FENCE = re.compile(r"^(```+|~~~+)\s*(.*)$")
NOT_RUN = re.compile(r"^<!--\s*not run:\s*(.*?)\s*-->$")
# the reader's shell is seldom in the station's time zone: dates must be computed in the station's
READER_ZONE = "America/Lima"
BLOCK_SECONDS = 180


@dataclass(frozen=True)
class Block:
    document: Path
    line: int  # the opening fence's line, 1-based
    language: str
    text: str
    not_run: str | None  # the reason given, or None when the block runs

    @property
    def where(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"


def fenced_blocks(document: Path) -> list[Block]:
    blocks, lines = [], document.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, info = opening.group(1), opening.group(2).strip()
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == fence), None)
        if end is None:
            raise AssertionError(f"{document.relative_to(ROOT)}:{i + 1}: fence never closed")
        before = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        marker = NOT_RUN.match(before)
        blocks.append(Block(document, i + 1, info.split()[0] if info else "", "\n".join(lines[i + 1:end]) + "\n",
                            marker.group(1) if marker else None))
        i = end + 1
    return blocks


ALL_BLOCKS = [block for document in DOCUMENTS for block in fenced_blocks(document)]
RUNNABLE = [b for b in ALL_BLOCKS if b.language in SHELL | {CONSOLE} and b.not_run is None]


def console_script(text: str) -> tuple[str, list[str]]:
    """The commands of a console block (`$ ` lines and their `\\` continuations) and the output it shows."""
    commands, expected, continued = [], [], False
    for line in text.splitlines():
        if continued or line.startswith("$ "):
            commands.append(line if continued else line[2:])
            continued = line.endswith("\\")
        elif line.strip():
            expected.append(line.strip())
    return "\n".join(commands) + "\n", expected


def shows_in_order(expected: list[str], output: str) -> str | None:
    """The first expected line missing from `output` (each found after the previous), else None."""
    lines, at = [line.strip() for line in output.splitlines()], 0
    for want in expected:
        found = next((k for k in range(at, len(lines)) if lines[k] == want), None)
        if found is None:
            return want
        at = found + 1
    return None


@pytest.fixture(scope="session")
def example_station(tmp_path_factory) -> Path:
    """A station made by the README's set-up command, copied for each block."""
    workdir = tmp_path_factory.mktemp("example-station")
    shutil.copy(ROOT / "config.example.toml", workdir)
    env = reader_environment(workdir, workdir / "station")
    subprocess.run(["station-edge", "init", "--config", "config.example.toml"], cwd=workdir, env=env,
                   check=True, capture_output=True, timeout=BLOCK_SECONDS)
    return workdir / "station"


def reader_environment(home: Path, station: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("STATION_EDGE")}
    env.update(
        HOME=str(home),
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "/usr/bin:/bin")]),
        PYTHONPATH=str(ROOT),  # station-edge runs this checkout's code
        STATION_EDGE_HOME=str(station),
        TZ=READER_ZONE,
        LC_ALL="C.UTF-8",
    )
    return env


def test_every_fence_names_its_language():
    unlabelled = [b.where for b in ALL_BLOCKS if not b.language]
    assert not unlabelled, f"fences without a language (```text for synopses and diagrams): {unlabelled}"


def test_every_skipped_shell_block_gives_its_reason():
    skipped = [b for b in ALL_BLOCKS if b.language in SHELL | {CONSOLE} and b.not_run is not None]
    assert all(b.not_run for b in skipped), [b.where for b in skipped if not b.not_run]
    assert len(skipped) <= 8, f"keep the examples that do not run few: {[b.where for b in skipped]}"


def test_fence_parser_reads_languages_and_reasons(tmp_path):
    document = tmp_path / "doc.md"
    document.write_text("a\n\n```sh\nstation-edge services\n```\n\n<!-- not run: opens the UI -->\n"
                        "```sh\nstation-edge tui\n```\n```text\nsynopsis\n```\n", encoding="utf-8")
    found = [(b.line, b.language, b.text, b.not_run) for b in fenced_blocks(document)]
    assert found == [(3, "sh", "station-edge services\n", None), (8, "sh", "station-edge tui\n", "opens the UI"),
                     (11, "text", "synopsis\n", None)]


def test_console_blocks_split_commands_from_output():
    script, expected = console_script("$ station-edge init \\\n    --config bad.toml || echo \"exit $?\"\n"
                                      "bad.toml:7: station.slot_minutes: missing\nexit 3\n")
    assert script == "station-edge init \\\n    --config bad.toml || echo \"exit $?\"\n"
    assert expected == ["bad.toml:7: station.slot_minutes: missing", "exit 3"]
    assert shows_in_order(expected, "usage\nbad.toml:7: station.slot_minutes: missing\nexit 3\n") is None
    assert shows_in_order(expected, "exit 3\nbad.toml:7: station.slot_minutes: missing\n") == "exit 3"


def shell_script(blocks: list[Block]) -> str:
    """The blocks' commands as one bash script whose ERR trap names the document line that failed."""
    document = blocks[0].document.relative_to(ROOT)
    parts = [f"trap 'echo \"{document}:$(( __fence + LINENO - __first + 1 )): failed: $BASH_COMMAND\" >&2' ERR"]
    for block in blocks:
        body = console_script(block.text)[0] if block.language == CONSOLE else block.text
        parts.append(f"__fence={block.line}; __first=$(( LINENO + 1 ))\n{body}")
    return "\n".join(parts)


def run_script(script: str, workdir: Path, example_station: Path) -> subprocess.CompletedProcess:
    """`script` under bash -eE -o pipefail in `workdir`, a fresh copy of the example station its home."""
    shutil.copy(ROOT / "config.example.toml", workdir)
    station = workdir / "station"
    shutil.copytree(example_station, station)
    path = workdir / "example.sh"
    path.write_text(script, encoding="utf-8")
    return subprocess.run(["bash", "-eE", "-o", "pipefail", str(path)], cwd=workdir,
                          env=reader_environment(workdir, station), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=BLOCK_SECONDS)


def test_the_failing_line_is_named(example_station: Path, tmp_path: Path):
    block = Block(ROOT / "README.md", 40, "sh", "station-edge services > /dev/null\nstation-edge show NOSUCH\n", None)
    run = run_script(shell_script([block]), tmp_path, example_station)
    assert run.returncode == 4
    assert "README.md:42: failed: station-edge show NOSUCH" in run.stdout


@pytest.mark.parametrize("block", RUNNABLE, ids=[b.where for b in RUNNABLE])
def test_example_runs(block: Block, example_station: Path, tmp_path: Path):
    run = run_script(shell_script([block]), tmp_path, example_station)
    assert run.returncode == 0, f"the example at {block.where} failed (exit {run.returncode}):\n{run.stdout[-4000:]}"
    # the docs teach the current command names, never one kept only for old scripts
    assert OLD_SPELLING_NOTE not in run.stdout, f"the example at {block.where} uses an old command name:\n{run.stdout}"
    if block.language == CONSOLE:
        missing = shows_in_order(console_script(block.text)[1], run.stdout)
        assert missing is None, f"the example at {block.where} does not print {missing!r}; it printed:\n{run.stdout}"


# a reader follows a document's examples in one shell, one block after another
FOLLOWED = {document: blocks for document in DOCUMENTS
            if len(blocks := [b for b in RUNNABLE if b.document == document and b.language in SHELL]) > 1}


@pytest.mark.parametrize("document", list(FOLLOWED), ids=[str(d.relative_to(ROOT)) for d in FOLLOWED])
def test_examples_run_one_after_another(document: Path, example_station: Path, tmp_path: Path):
    run = run_script(shell_script(FOLLOWED[document]), tmp_path, example_station)
    assert run.returncode == 0, (f"the examples of {document.relative_to(ROOT)}, run in one shell, failed "
                                 f"(exit {run.returncode}):\n{run.stdout[-4000:]}")
