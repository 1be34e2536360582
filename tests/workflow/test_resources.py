"""Memory and run-time requests of the rules: hand-worked values."""

from types import SimpleNamespace

import pytest

from trialanalysis.resources import memory_mb, runtime_min


@pytest.mark.parametrize(
    ("base", "per_mb", "size_mb", "attempt", "expected"),
    [
        (1000, 0, 0.5, 1, 1000),  # tiny input: the base
        (1000, 50, 0.46, 1, 1023),  # 1000 + 23 = 1023
        (1000, 200, 30.0, 1, 7000),  # 1000 + 6000
        (1000, 200, 30.0, 3, 21000),  # third try: three times as much
        (1000, 50, 0.0004, 2, 2001),  # rounded up, never down
    ],
)
def test_memory_grows_with_input_and_attempt(base, per_mb, size_mb, attempt, expected):
    request = memory_mb(base, per_mb)
    assert request(None, SimpleNamespace(size_mb=size_mb), attempt) == expected


def test_runtime_grows_with_input_and_attempt():
    request = runtime_min(10, 5)
    assert request(None, SimpleNamespace(size_mb=2.0), 1) == 20
    assert request(None, SimpleNamespace(size_mb=2.0), 2) == 40
    assert request(None, SimpleNamespace(size_mb=0.0), 1) == 10
