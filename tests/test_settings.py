"""Settings read from the environment (include/settings.py)."""

from __future__ import annotations

import pytest

from include import settings


@pytest.mark.parametrize(("value", "slots"), [(None, 2), ("", 2), ("4", 4), ("1", 1)])
def test_the_load_pool_size_is_one_setting_with_one_default(monkeypatch, value, slots):
    if value is None:
        monkeypatch.delenv("WAREHOUSE_LOAD_SLOTS", raising=False)
    else:
        monkeypatch.setenv("WAREHOUSE_LOAD_SLOTS", value)
    assert settings.load_pool_slots() == slots


@pytest.mark.parametrize("value", ["0", "-1", "two", "2.5"])
def test_a_load_pool_size_that_is_not_a_positive_number_stops_with_its_name(monkeypatch, value):
    monkeypatch.setenv("WAREHOUSE_LOAD_SLOTS", value)
    with pytest.raises(SystemExit, match="WAREHOUSE_LOAD_SLOTS"):
        settings.load_pool_slots()
