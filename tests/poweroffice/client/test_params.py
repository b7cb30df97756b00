"""The client's query parameters: number and code lists."""

from __future__ import annotations

import pytest

from poweroffice.client.params import format_code_list, format_number_list

# --- filters -------------------------------------------------------------------------------------


def test_format_number_list_ranges_and_runs():
    assert format_number_list("10000-10999, 12000") == "10000-10999,12000"
    assert format_number_list([range(10000, 11000), 12000]) == "10000-10999,12000"
    assert format_number_list([3, 1, 2, 7, 5, 6, 10]) == "1-3,5-7,10"
    assert format_number_list([(13000, None), 12000]) == "12000,13000-"
    assert format_number_list(42) == "42"
    assert format_number_list([]) is None
    assert format_number_list(None) is None
    with pytest.raises(ValueError):
        format_number_list(["B-7720"])


def test_format_code_list():
    assert format_code_list(["B-7720", "B-7721", "B-7720"]) == "B-7720,B-7721"
    assert format_code_list("7100") == "7100"
    with pytest.raises(ValueError):
        format_code_list(["a,b"])
