"""A PostgreSQL server for the tests, started by the test session itself when the machine has none.

A test that skips because a service is missing counts as a failure here, so tests that need
PostgreSQL call `postgres_url()` instead of skipping. It returns a SQLAlchemy URL
(`postgresql+psycopg://postgres@127.0.0.1:PORT/test`) of a server where the `postgres` role may
use the database `test` and create schemas in it:

1. the machine's own server on 127.0.0.1:5432, if it answers (`test` is created when missing);
2. otherwise a private throwaway cluster: initdb into a temp directory (trust auth, fsync off),
   run as the `postgres` system user when we are root, on a free port of 127.0.0.1 with its unix
   socket inside that directory. At exit it is stopped (`pg_ctl stop -m immediate`) and removed.
   PostgreSQL is installed with apt-get first if its binaries are missing.

The result is cached, so a process starts at most one cluster (the suite does not use xdist).
Set STATION_EDGE_TEST_PG=private to skip step 1 and always use a private cluster.
No server at all raises RuntimeError with the reasons: callers fail loudly, they never skip.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading

import psycopg

LOCAL_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
_lock = threading.Lock()
_url: str | None = None


def postgres_url() -> str:
    """The URL of a running PostgreSQL with a database `test` (see the module docstring)."""
    global _url
    with _lock:
        if _url is None:
            reasons = []
            if os.environ.get("STATION_EDGE_TEST_PG") != "private":
                try:
                    _ensure_test_db(5432, host="127.0.0.1")
                    _url = LOCAL_URL
                except (psycopg.Error, OSError) as exc:
                    reasons.append(f"127.0.0.1:5432: {exc}".strip())
            if _url is None:
                try:
                    _url = _start_private()
                except (RuntimeError, OSError, subprocess.SubprocessError, psycopg.Error) as exc:
                    reasons.append(f"private cluster: {exc}")
                    raise RuntimeError("no PostgreSQL for the tests; " + "; ".join(reasons)) from exc
        return _url


def _ensure_test_db(port: int, host: str) -> None:
    """Create database `test` if missing and check that `postgres` may create schemas in it."""
    with psycopg.connect(
        host=host, port=port, user="postgres", dbname="postgres", connect_timeout=3, autocommit=True
    ) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = 'test'").fetchone() is None:
            conn.execute("CREATE DATABASE test")
    with psycopg.connect(host=host, port=port, user="postgres", dbname="test", connect_timeout=3) as conn:
        row = conn.execute("SELECT has_database_privilege('test', 'CREATE')").fetchone()
        if not (row and row[0]):
            raise psycopg.OperationalError("role postgres may not CREATE SCHEMA in database test")


def _bin_dir() -> str:
    """bin/ of the newest PostgreSQL under /usr/lib/postgresql, installing it if there is none."""

    def newest() -> str | None:
        found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
        found.sort(key=lambda p: [int(x) for x in p.split("/")[4].split(".") if x.isdigit()])
        return os.path.dirname(found[-1]) if found else None

    if newest() is None:
        install = "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql"
        done = subprocess.run(install, shell=True, check=False, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"no PostgreSQL binaries and {install!r} failed: {done.stderr.strip()[-1000:]}")
    bin_dir = newest()
    if bin_dir is None:
        raise RuntimeError("no initdb under /usr/lib/postgresql/*/bin even after apt-get install postgresql")
    return bin_dir


def _as_postgres(args: list[str]) -> list[str]:
    """The command run as the `postgres` system user when we are root: postgres refuses to run as root."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _run(args: list[str], cwd: str) -> None:
    done = subprocess.run(_as_postgres(args), check=False, cwd=cwd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {(done.stderr or done.stdout).strip()}")


def _start_private() -> str:
    bin_dir = _bin_dir()
    home = tempfile.mkdtemp(prefix="station-edge-pg-")
    data, log = os.path.join(home, "data"), os.path.join(home, "log")
    if os.geteuid() == 0:
        shutil.chown(home, "postgres", "postgres")
    pg_ctl = os.path.join(bin_dir, "pg_ctl")
    owner = os.getpid()

    def stop() -> None:
        if os.getpid() != owner:  # a forked child must not stop its parent's server
            return
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            stop_args = _as_postgres([pg_ctl, "stop", "-D", data, "-m", "immediate", "-w"])
            subprocess.run(stop_args, check=False, cwd=home, capture_output=True, timeout=60)
        shutil.rmtree(home, ignore_errors=True)

    atexit.register(stop)
    try:
        initdb = [os.path.join(bin_dir, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "--no-sync"]
        _run([*initdb, "-E", "UTF8", "--locale=C"], cwd=home)
        for attempt in range(3):  # the free port may be taken between probe and start
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            options = f"-c listen_addresses=127.0.0.1 -p {port} -k {home} -c fsync=off -c full_page_writes=off"
            try:
                _run([pg_ctl, "start", "-D", data, "-w", "-t", "60", "-l", log, "-o", options], cwd=home)
                break
            except RuntimeError:
                if attempt == 2:
                    with open(log, errors="replace") as text:
                        raise RuntimeError(f"postgres did not start: {text.read()[-2000:]}") from None
        _ensure_test_db(port, host="127.0.0.1")
    except BaseException:
        stop()
        atexit.unregister(stop)
        raise
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/test"
