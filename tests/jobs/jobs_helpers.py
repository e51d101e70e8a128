"""Helpers the subprocess tests share."""

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FAKE_CLI = HERE / "jobs_fake_cli.py"


def spawn(*args, **kwargs) -> subprocess.Popen:
    """`wsync ARGS` with the fake engine, in a separate process."""
    env = dict(os.environ)
    env.pop("WSYNC_CONFIG", None)
    return subprocess.Popen([sys.executable, str(FAKE_CLI), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kwargs)


def ran_batches(record: Path) -> list[tuple[int, int]]:
    if not record.exists():
        return []
    return [tuple(map(int, line.split())) for line in record.read_text().splitlines() if line.strip()]


def wait_for(predicate, timeout=15.0, interval=0.02, what="condition"):
    """Poll until predicate() is truthy; fail the test (not hang) after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} not met within {timeout} s")
