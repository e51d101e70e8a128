"""Run the CLI with --verbose, on success and failure paths, and grep every output and the ledger
for the keys: they must never appear."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import wsync

EXAMPLES = Path(wsync.__file__).parent / "examples_data"


def run(args: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from wsync.cli import main; main()", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def project(tmp_path, sandbox):
    shutil.copy(EXAMPLES / "wholesaler-feed.csv", tmp_path)
    text = (EXAMPLES / "wsync.toml").read_text().replace('url = "http://127.0.0.1:8080"', f'url = "{sandbox.url}"')
    text = text.replace("[store]\n", f'[store]\nconsumer_key = "{sandbox.consumer_key}"\n'
                                     f'consumer_secret = "{sandbox.consumer_secret}"\n', 1)
    (tmp_path / "wsync.toml").write_text(text)
    os.chmod(tmp_path / "wsync.toml", 0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSYNC_")}
    return tmp_path, env


def test_no_output_and_no_ledger_holds_a_secret(project, sandbox):
    cwd, env = project
    secrets = [sandbox.consumer_key, sandbox.consumer_secret, sandbox.readonly_secret, "cs_" + "e" * 40]
    outputs = []
    runs = [
        ["--verbose", "check"], ["--verbose", "check", "--json"], ["--verbose", "config", "show"],
        ["--verbose", "config", "show", "--json"],
        ["--verbose", "import", "wholesaler", "--no-process-images", "--json"],
    ]
    for args in runs:
        result = run(args, cwd, env)
        outputs.append((args, result))
    # failure paths: a wrong secret from the environment, a read-only key
    outputs.append((["check wrong"], run(["--verbose", "check", "--json"], cwd,
                                        {**env, "WSYNC_CONSUMER_SECRET": "cs_" + "e" * 40})))
    outputs.append((["check ro"], run(["--verbose", "check"], cwd,
                                     {**env, "WSYNC_CONSUMER_KEY": sandbox.readonly_key,
                                      "WSYNC_CONSUMER_SECRET": sandbox.readonly_secret})))
    codes = {" ".join(a): r.returncode for a, r in outputs}
    assert codes["--verbose check"] == 0 and codes["--verbose check --json"] == 0, outputs[0][1].stderr
    assert codes["check wrong"] == 16 and codes["check ro"] == 18
    assert "oauth_signature=REDACTED" in outputs[0][1].stderr  # --verbose did log the requests
    assert "ck_…" in outputs[2][1].stdout                        # config show masks, not hides
    for args, result in outputs:
        for secret in secrets:
            assert secret not in result.stdout and secret not in result.stderr, (args, secret)
    ledgers = list(cwd.glob("*.db*"))
    assert ledgers, "the import wrote no ledger"
    for ledger in ledgers:
        data = ledger.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, ledger
