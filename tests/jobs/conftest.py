import json
import logging

import pytest

from wsync.cli import common
from wsync.ledger import Ledger
from wsync.ledger.jobs import JobStore


@pytest.fixture
def ledger_path(tmp_path):
    path = tmp_path / "wsync.db"
    Ledger(path).close()
    return path


@pytest.fixture
def store(ledger_path):
    ledger = Ledger(ledger_path)
    yield JobStore(ledger)
    ledger.close()


@pytest.fixture(autouse=True)
def _restore_logging(monkeypatch, tmp_path):
    # The CLI configures root logging; put pytest's handlers back afterwards.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    monkeypatch.delenv("WSYNC_CONFIG", raising=False)
    monkeypatch.setattr(common.STATE, "config", None)
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run `wsync ARGS` in this process with the fake engine; returns (exit code, stdout, stderr)."""
    import jobs_fake_engine

    import wsync.jobs.runner as runner
    from wsync.cli import main

    monkeypatch.setattr(runner, "resolve_engine", lambda kind: jobs_fake_engine.run)
    monkeypatch.setattr(runner, "HEARTBEAT_INTERVAL_S", 0.1)

    def run(*args):
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            main([str(a) for a in args])
        out, err = capsys.readouterr()
        return exit_info.value.code, out, err

    return run


@pytest.fixture
def cli_json(cli):
    def run(*args):
        code, out, _err = cli(*args, "--json")
        return code, json.loads(out)

    return run
