import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from jobs_helpers import HERE

ROOT = HERE.parent.parent
MONITOR = ROOT / "examples" / "monitor.sh"


def _shim(tmp_path: Path) -> Path:
    shim = tmp_path / "wsync"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} {HERE / 'jobs_fake_wsync.py'} \"$@\"\n")
    shim.chmod(0o755)
    return shim


@pytest.mark.skipif(shutil.which("jq") is None, reason="monitor.sh needs jq")
@pytest.mark.parametrize("job_data, code", [({"batches": 3, "delay": 0.05}, 0),
                                            ({"batches": 3, "errors_at": [1]}, 1),
                                            ({"batches": 3, "fail_at": 1}, 1)])
def test_monitor_script_follows_a_background_job_to_its_outcome(tmp_path, job_data, code):
    env = dict(os.environ, WSYNC=str(_shim(tmp_path)), FEED="wholesaler", POLL_SECONDS="0.1",
               WSYNC_LEDGER=str(tmp_path / "wsync.db"), FAKE_JOB_DATA=json.dumps(job_data))
    env.pop("WSYNC_CONFIG", None)
    proc = subprocess.run(["bash", str(MONITOR)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert proc.returncode == code, proc.stderr
    assert proc.stdout.startswith("job 1 ")
    if code == 0:
        assert "completed: processed 30" in proc.stdout
    assert "job 1 started" in proc.stderr


def test_monitor_script_needs_a_feed(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "FEED"}
    proc = subprocess.run(["bash", str(MONITOR)], env=env, capture_output=True, text=True, timeout=10)
    assert proc.returncode != 0 and "set FEED" in proc.stderr


def test_crontab_lines_are_well_formed():
    lines = [line for line in (ROOT / "examples" / "crontab").read_text().splitlines()
             if line.strip() and not line.startswith("#") and "=" not in line.split()[0]]
    commands = [" ".join(line.split()[5:]) for line in lines]
    assert len(commands) == 4
    assert all("--config" in c and ">>" in c for c in commands)
    assert any("--only price,stock" in c for c in commands)
    assert any("worker --once" in c for c in commands) and any(" recover " in c for c in commands)
    assert stat.S_IMODE(os.stat(MONITOR).st_mode) & 0o111
