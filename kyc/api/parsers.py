"""Request bodies the API reads: multipart forms, and JSON measured before it is decoded."""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import (  # type: ignore[attr-defined]  # get_encoding: DRF 3.18
    JSONParser,
    MultiPartParser,
    get_encoding,
)
from rest_framework.utils import json

from kyc.api.intake import METADATA_MAX_DEPTH, json_nesting, metadata_too_deep

#: The body object, then metadata's own levels: no other field holds an object or an array.
MAX_BODY_DEPTH = 1 + METADATA_MAX_DEPTH


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser behind a depth check on the raw text.

    Catching the decoder's RecursionError instead would not be sound: where it strikes depends
    on how deep the stack already is, and a structure just under it would still overflow the
    next recursive reader (json.dumps when the row is saved).
    """

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        encoding = get_encoding(parser_context or {})  # text codecs only, as DRF's own
        try:
            text = codecs.getreader(encoding)(stream).read()
        except ValueError as error:  # not in the declared encoding
            raise ParseError(f"JSON parse error - {error}") from error
        nesting = json_nesting(text, MAX_BODY_DEPTH)
        if nesting.too_deep and nesting.top_level_key == "metadata":
            raise metadata_too_deep()
        if nesting.too_deep:
            raise ParseError(f"The JSON body nests more than {MAX_BODY_DEPTH} levels.")
        try:
            return json.loads(text, parse_constant=json.strict_constant)
        except ValueError as error:
            raise ParseError(f"JSON parse error - {error}") from error


#: What the API reads, for every view that reads a body.
PARSER_CLASSES = [MultiPartParser, BoundedJSONParser]
