"""tests/pg_server.py starts a private PostgreSQL when asked, and the process exit removes it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = """
from sqlalchemy import create_engine, text
from tests.pg_server import postgres_url

url = postgres_url()
assert postgres_url() == url
engine = create_engine(url)
with engine.begin() as conn:
    conn.execute(text("CREATE SCHEMA x"))
    conn.execute(text("CREATE TABLE x.t (a int)"))
    data_dir = conn.execute(text("SHOW data_directory")).scalar()
engine.dispose()
print(url)
print(data_dir)
"""


def _postmasters_of(data_dir: str) -> list[str]:
    """Command lines of running processes that name this data directory."""
    found = []
    for pid in os.listdir("/proc"):
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if data_dir.encode() in args:
            found.append(b" ".join(args).decode(errors="replace"))
    return found


def test_private_cluster_starts_serves_and_stops_at_exit() -> None:
    env = {**os.environ, "STATION_EDGE_TEST_PG": "private", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    url, data_dir = done.stdout.split()
    assert url.startswith("postgresql+psycopg://postgres@127.0.0.1:") and url.endswith("/test")
    assert ":5432/" not in url
    assert _postmasters_of(data_dir) == []
    assert not Path(data_dir).exists()
