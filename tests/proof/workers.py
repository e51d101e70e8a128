"""Helpers for proofs that run wsync as real processes (the store they talk to: conftest.py)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.jobs.jobs_helpers import wait_for  # noqa: F401  (the proofs poll the same way)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any WSYNC_* variable of the caller's, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSYNC_")}
    env.update(extra)
    return env


def wsync(args: list[str], cwd: Path, env: dict[str, str] | None = None,
          timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wsync", *map(str, args)], cwd=cwd, env=env or clean_env(),
                          capture_output=True, text=True, timeout=timeout)


def wsync_json(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[int, dict]:
    result = wsync([*args, "--json"], cwd, env)
    try:
        return result.returncode, json.loads(result.stdout)
    except ValueError:
        raise AssertionError(
            f"wsync {' '.join(map(str, args))} printed no JSON: {result.stdout!r} {result.stderr!r}") from None


def reap(pid: int) -> None:
    """Collect a killed child of this process, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):  # not our child (started by `wsync recover`): init reaps it
        os.waitpid(pid, 0)
