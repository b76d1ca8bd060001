"""The nesting scan reads JSON text as the decoder does, without recursing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kyc.api.intake import Nesting, json_nesting

#: Strings full of what could fool a scan: quotes, backslashes, brackets, colons, surrogates.
TRICKY_TEXT = st.text(alphabet=st.sampled_from('"\\[]{}:, aé\udc80\n'), max_size=12)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TRICKY_TEXT,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(TRICKY_TEXT, children, max_size=3)
    ),
    max_leaves=20,
)


def depth(value: Any) -> int:
    """Levels of arrays and objects, the way the decoder recurses into them."""
    if isinstance(value, list):
        return 1 + max((depth(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(item) for item in value.values()), default=0)
    return 0


@given(value=JSON_VALUES, ascii_only=st.booleans(), indent=st.sampled_from([None, 2]))
@example(value={'"[': ["\\", {"]": '\\"{{'}]}, ascii_only=False, indent=None)
@settings(max_examples=300, derandomize=True, deadline=None)
def test_the_scan_measures_any_json_as_deep_as_it_is(value, ascii_only, indent):
    text = json.dumps(value, ensure_ascii=ascii_only, indent=indent)
    levels = depth(value)
    for limit in range(levels + 2):
        assert json_nesting(text, limit).too_deep == (levels > limit), (text, limit)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('{"metadata": [[[[', "metadata"),
        ('{"a": 1, "me\\u0074adata": {"x": [[[', "metadata"),  # the key as the decoder reads it
        ('{"metadata": {}, "vendor": [[[[', "vendor"),
        ('{"metadata": {"not": {"top": [[[', "metadata"),
        ("[[[[", ""),
    ],
)
def test_the_scan_names_the_top_level_key_the_limit_was_passed_under(text, key):
    assert json_nesting(text, 3) == Nesting(too_deep=True, top_level_key=key)
