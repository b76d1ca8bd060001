"""What a client may send: the rules the API checks before anything else reads a request.

* Text. Every string a client sends (form fields, JSON keys and values at any depth, the
  Idempotency-Key) must be text PostgreSQL can store and UTF-8 can encode: no NUL character and
  no lone surrogate (JSON can spell one, `"\\udc80"`, though it is no character at all). Either
  would fail the insert, or, where a database stores it, every later read that renders it.
* Nesting. Python's JSON decoder recurses once per `[` or `{`, so a body of 100,000 brackets
  exhausts the stack before any check on the parsed value can run. `json_nesting` measures the
  depth of the raw text without recursing, so the parser can refuse it first.
* applicant_ref. The client's id for the person is also a URL segment (`DELETE
  /api/v1/applicants/<applicant_ref>/`), so it is limited to characters that travel in a path
  segment as they are and cannot form a dot segment that clients resolve away.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kyc.api.errors import ApiError

#: Letters, digits and `. _ ~ - : @ +`, starting with a letter or digit: user ids, UUIDs, e-mail
#: addresses and prefixed ids like `crm:1234` fit; `/`, spaces, `%`, `?` and `#` do not, nor
#: `.` and `..`, which clients resolve away as dot segments.
APPLICANT_REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._~:@+-]*$"
APPLICANT_REF_MAX_LENGTH = 64  # the column, kyc.Applicant.external_ref
APPLICANT_REF_RULE = (
    f"1 to {APPLICANT_REF_MAX_LENGTH} characters from A-Z, a-z, 0-9 and `. _ ~ - : @ +`, "
    "starting with a letter or digit"
)
#: The object's size as `json.dumps` writes it, and how many levels of objects and arrays it may
#: nest, the object itself being the first.
METADATA_MAX_BYTES = 4096
METADATA_MAX_DEPTH = 10
METADATA_RULE = (
    f"A JSON object of at most {METADATA_MAX_BYTES} bytes as JSON and {METADATA_MAX_DEPTH} levels "
    "of nesting (the object itself is the first), returned as sent. In a multipart request, the "
    "object as JSON text."
)

_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")  # in a str, any surrogate is a lone one
# A JSON string (the decoder's own grammar: up to the first quote no backslash escapes), then
# whether a colon makes it a key; or a bracket. Everything else between them is skipped in C.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"(\s*:)?|[\[{]|[\]}]', re.DOTALL)


def invalid_text(field: str) -> ApiError:
    return ApiError(
        "invalid_text",
        f"{field}: text must be valid Unicode with no NUL character or lone surrogate.",
        field,
    )


def is_text(value: Any) -> bool:
    """False when a string anywhere in `value` (keys included) could not be stored."""
    pending = [value]
    while pending:  # a loop, not recursion: the value may come from a form field's JSON
        item = pending.pop()
        if isinstance(item, str):
            if _NOT_TEXT.search(item):
                return False
        elif isinstance(item, Mapping):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True


@dataclass(frozen=True)
class Nesting:
    """How deep a JSON text nests, measured up to a limit."""

    too_deep: bool
    #: The key of the top-level object under which the limit was passed ("" if none).
    top_level_key: str = ""


def json_nesting(text: str, max_depth: int) -> Nesting:
    """Whether `text` opens more than `max_depth` levels of `[` and `{`, read without recursion.

    Where `text` is valid JSON, this reads it as the decoder does. Where it is not, the decoder
    stops at the first error, and up to that point both agree, so the decoder never goes deeper
    than this measured. Linear; a body with no more brackets than the limit, inside strings or
    not, cannot pass it and is not read token by token at all (two base64 images have none).
    """
    if text.count("[") + text.count("{") <= max_depth:
        return Nesting(too_deep=False)
    depth = 0
    key = ""
    for token in _JSON_TOKEN.finditer(text):
        first = token.group()[0]
        if first == '"':
            if depth == 1 and token.group(1) is not None:
                key = _key_name(token.group()[: -len(token.group(1))])
        elif first in "[{":
            depth += 1
            if depth > max_depth:
                return Nesting(too_deep=True, top_level_key=key if depth > 1 else "")
        else:
            depth -= 1
    return Nesting(too_deep=False)


def check_metadata(value: Any) -> dict[str, Any]:
    """`value` as metadata: an object within the size limit, all of it text.

    Its depth was measured on the text it was parsed from (`json_nesting`), before parsing.
    """
    if not isinstance(value, dict):
        raise ApiError("invalid_metadata", "metadata: must be a JSON object.", "metadata")
    if not is_text(value):
        raise invalid_text("metadata")
    if len(json.dumps(value).encode()) > METADATA_MAX_BYTES:
        raise ApiError(
            "metadata_too_large",
            f"metadata: must be at most {METADATA_MAX_BYTES} bytes as JSON.",
            "metadata",
        )
    return value


def metadata_too_deep() -> ApiError:
    return ApiError(
        "metadata_too_deep",
        f"metadata: must nest at most {METADATA_MAX_DEPTH} levels of objects and arrays.",
        "metadata",
    )


def _key_name(quoted: str) -> str:
    try:
        name = json.loads(quoted)
    except ValueError:
        return ""  # not a key the decoder would accept: it stops there with its own error
    return name if isinstance(name, str) else ""
