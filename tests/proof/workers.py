"""Helpers for proofs that run wsync as real processes against a sandbox in the test process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from tests.jobs.jobs_helpers import wait_for  # noqa: F401  (the proofs poll the same way)


def write_config(directory: Path, sandbox: Any, *, read_timeout: float = 10.0, extra: str = "") -> Path:
    """A wsync.toml (0600) naming the sandbox, its keys and a ledger beside it."""
    path = directory / "wsync.toml"
    path.write_text(
        f'ledger = "wsync.db"\n\n[store]\nurl = "{sandbox.url}"\nconsumer_key = "{sandbox.consumer_key}"\n'
        f'consumer_secret = "{sandbox.consumer_secret}"\nread_timeout = {read_timeout}\n'
        f"backoff_base_s = 0.05\n{extra}")
    os.chmod(path, 0o600)
    return path


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
        raise AssertionError(f"wsync {' '.join(map(str, args))} printed no JSON: {result.stdout!r} {result.stderr!r}")


def reap(pid: int) -> None:
    """Collect a killed child of this process, so it does not linger as a zombie."""
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass  # not our child (started by `wsync recover`): init reaps it
