"""The dependency rules between packages (docs/architecture.md), checked on the source: who may import whom."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUR_PACKAGES = {"edge", "drivers", "sync", "tui"}
COMPOSITION_ROOTS = ("edge/cli", "edge/daemon")
# edge.errors is plain Python with no imports: the domain raises its errors
DOMAIN_MAY_IMPORT = {"edge.domain", "edge.errors"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def top(name: str) -> str:
    return name.split(".")[0]


def test_domain_is_pure_standard_library():
    stdlib = set(sys.stdlib_module_names)
    for path in modules("edge/domain"):
        for name in imports_of(path):
            ours = any(name == allowed or name.startswith(allowed + ".") for allowed in DOMAIN_MAY_IMPORT)
            assert ours or top(name) in stdlib or name == "__future__", f"{path.relative_to(ROOT)} imports {name}"


def test_package_directions():
    forbidden = {
        "drivers": {"edge", "sync", "tui"},
        "sync": {"drivers", "tui"},
        "tui": {"drivers", "sync"},
        "edge": {"drivers", "sync", "tui"},
    }
    for package, banned in forbidden.items():
        for path in modules(package):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith(COMPOSITION_ROOTS):
                continue  # the places that wire packages together
            for name in imports_of(path):
                assert top(name) not in banned, f"{relative} imports {name}"


def test_third_party_hardware_and_ui_libraries_stay_out_of_the_core():
    heavy = {"paho", "serial", "cv2", "textual", "apscheduler", "zxingcpp", "pyzbar"}
    for path in modules("edge"):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(COMPOSITION_ROOTS):
            continue
        for name in imports_of(path):
            assert top(name) not in heavy, f"{relative} imports {name}"


def test_the_checker_sees_violations(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import sqlmodel\nfrom edge.store import db\n", encoding="utf-8")
    assert imports_of(bad) == {"sqlmodel", "edge.store"}
