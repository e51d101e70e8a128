import pytest

from wsync.errors import UsageError
from wsync.jobs.durations import parse_duration


@pytest.mark.parametrize("text, seconds", [("30s", 30), ("5m", 300), ("2h", 7200), ("1d", 86400),
                                           ("90", 90), ("1h30m", 5400), (" 2M ", 120), ("0.5m", 30)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5 minutes", "m", "5x", "-5m", "5m3"])
def test_bad_durations_name_the_option(text):
    with pytest.raises(UsageError, match="--older-than"):
        parse_duration(text, option="--older-than")
