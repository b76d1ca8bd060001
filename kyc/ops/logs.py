"""Request ids and redaction for the JSON logs (DESIGN §11 habit 5).

Every log line carries a `request_id`: the X-Request-ID a caller sent (when it looks like an id),
or one we make. It lives in a context variable for the request, travels to Celery tasks in a
message header, and a logging filter copies it onto every record. A second filter masks what must
never reach a log line: image data (long base64 runs, bytes), API keys, webhook secrets, bearer
and basic credentials, secrets in query strings, PEM keys, the client's own applicant references,
and the callback URL and metadata a request carried (so not even an exception's text shows them).
Both filters and the JSON format are installed on every handler of every process: Django's
LOGGING (kyc/settings.py) and gunicorn's own logs (kyc/ops/gunicorn_logs.py).

This module is imported by kyc/celery.py while settings load: it must not import models.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
#: The Celery message header that carries the id from the publisher to the worker.
CELERY_HEADER = "kyc_request_id"
_VALID_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$")

request_id_var: ContextVar[str | None] = ContextVar("kyc_request_id", default=None)
# Values to mask in the current request or task, with what replaces each; None outside of both.
_refs_var: ContextVar[dict[str, str] | None] = ContextVar("kyc_sensitive_refs", default=None)
# Every process also masks the references it saw most recently, whichever thread saw them (a
# line logged outside the request that loaded the applicant, a command, a thread pool).
_recent_refs: OrderedDict[str, None] = OrderedDict()
_recent_pattern: re.Pattern[str] | None = None
_recent_lock = threading.Lock()
_RECENT_REFS_MAX = 1000
_MIN_REF_LENGTH = 4  # shorter values would mask ordinary words and numbers
APPLICANT_REF = "[applicant_ref]"


def new_request_id() -> str:
    return uuid.uuid4().hex


def clean_request_id(value: str | None) -> str | None:
    """The caller's id when it is a plausible id (8–128 safe characters), else None."""
    if value and _VALID_ID.match(value):
        return value
    return None


def current_request_id() -> str | None:
    return request_id_var.get()


@contextmanager
def request_context(request_id: str) -> Iterator[str]:
    """Bind a request id (and a fresh set of sensitive values) for the duration of a block."""
    id_token = request_id_var.set(request_id)
    refs_token = _refs_var.set({})
    try:
        yield request_id
    finally:
        _refs_var.reset(refs_token)
        request_id_var.reset(id_token)


def bind_request(request_id: str) -> None:
    """Bind the id for the rest of this request: cleared by `request_finished`, which Django
    sends after it logs the response (4xx/5xx lines from django.request carry the id too)."""
    request_id_var.set(request_id)
    _refs_var.set({})


def clear_request(**_: Any) -> None:
    request_id_var.set(None)
    _refs_var.set(None)


def mask_in_context(value: str | None, placeholder: str) -> None:
    """Replace this value by `placeholder` in every log line of the current request or task."""
    refs = _refs_var.get()
    if refs is None or not value or len(value) < _MIN_REF_LENGTH:
        return
    refs.setdefault(value, placeholder)
    escaped = json.dumps(value)[1:-1]  # as it reads inside JSON text (quotes, non-ASCII)
    if escaped != value:
        refs.setdefault(escaped, placeholder)


def mask_json_in_context(data: Any, placeholder: str) -> None:
    """Mask every string and number inside a JSON value (or JSON text) the client sent."""
    if isinstance(data, str):
        mask_in_context(data, placeholder)
        try:
            data = json.loads(data)
        except (ValueError, RecursionError):  # masked whole above; intake refuses it next
            return
    if isinstance(data, dict):
        for value in data.values():
            mask_json_in_context(value, placeholder)
    elif isinstance(data, list):
        for value in data:
            mask_json_in_context(value, placeholder)
    elif isinstance(data, int | float) and not isinstance(data, bool):
        mask_in_context(str(data), placeholder)


def remember_sensitive(value: str | None) -> None:
    """Mask this applicant reference in every log line of the current request or task, and in
    this process's lines for as long as it stays among the most recent references seen."""
    if not value or len(value) < _MIN_REF_LENGTH:
        return
    global _recent_pattern
    mask_in_context(value, APPLICANT_REF)
    with _recent_lock:
        if value in _recent_refs:
            _recent_refs.move_to_end(value)
            return
        _recent_refs[value] = None
        while len(_recent_refs) > _RECENT_REFS_MAX:
            _recent_refs.popitem(last=False)
        _recent_pattern = None


def _mask_references(text: str) -> str:
    global _recent_pattern
    refs = _refs_var.get()
    if refs:
        # One pass, longest first: a value containing another is masked whole, and no value is
        # looked for inside the placeholder of another.
        ordered = sorted(refs, key=len, reverse=True)
        in_context = re.compile("|".join(re.escape(value) for value in ordered))
        text = in_context.sub(lambda match: refs[match.group(0)], text)
    with _recent_lock:
        if _recent_pattern is None and _recent_refs:
            ordered = sorted(_recent_refs, key=len, reverse=True)
            _recent_pattern = re.compile("|".join(re.escape(value) for value in ordered))
        pattern = _recent_pattern
    return pattern.sub(APPLICANT_REF, text) if pattern is not None else text


# --- redaction -----------------------------------------------------------------------------------

# A query parameter whose value is a credential, by the names clients use.
_QUERY_CREDENTIAL = (
    r"([?&;](?:api[_-]?key|key|token|access[_-]?token|refresh[_-]?token|auth|secret|"
    r"client[_-]?secret|password|passwd|signature|sig)=)[^&#\s\"']*"
)

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"-----BEGIN [A-Z ]+-----.*?-----END [A-Z ]+-----", re.DOTALL),
        "[redacted PEM]",
    ),
    (re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=_-]+"), "[redacted data URI]"),
    (re.compile(r"(?i)\b(Api-Key)\s+[^\s\"',;]+"), r"\1 [redacted]"),
    (re.compile(r"(?i)\b(X-Api-Key|Api-Key)(\s*[:=]\s*)[^\s\"',;]+"), r"\1\2[redacted]"),
    (re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 [redacted]"),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=_-]+"), "whsec_[redacted]"),
    # Our own API key format: kyc_<prefix>_<secret>; the prefix is not secret (shown in admin).
    (re.compile(r"\b(kyc_[0-9a-f]{12}_)[A-Za-z0-9_-]{16,}"), r"\1[redacted]"),
    # Credentials inside URLs: scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), r"\1[redacted]@"),
    # Clients put keys in query strings whatever the documentation says.
    (re.compile(_QUERY_CREDENTIAL, re.IGNORECASE), r"\1[redacted]"),
    # The applicant reference in our API's own paths (all of the rest of the path: a reference
    # with an encoded "/" arrives decoded), unless masked already, and in query strings.
    (
        re.compile(
            r"(?i)(/api/v1/applicants/)(?!\[applicant_ref\])[^?#\s\"']+?(/?)(?=[?#\s\"']|$)"
        ),
        r"\1[applicant_ref]\2",
    ),
    (re.compile(r"(?i)\b(applicant_ref=)[^&\s\"']+"), r"\1[applicant_ref]"),
    # Python's repr of bytes (an exception that quotes an image): b'\xff\xd8...'.
    (re.compile(r"\bb'(?:[^'\\\n]|\\.){24,}'|\bb\"(?:[^\"\\\n]|\\.){24,}\""), "[redacted bytes]"),
]
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/=_-]{80,}")
_HEX = re.compile(r"^[0-9a-fA-F]+$")


def _mask_base64(match: re.Match[str]) -> str:
    run = match.group(0)
    if _HEX.match(run) and len(run) <= 128:
        return run  # sha256 / sha512 digests are facts, not secrets
    if run.count("/") * 20 > len(run):
        return run  # a path, not base64 (base64 has about one "/" in 64 characters)
    has_mix = any(c.isdigit() for c in run) and any(c.isupper() for c in run)
    if not has_mix and any(c.islower() for c in run):
        return run
    return f"[redacted {len(run)} chars]"


def redact(text: str) -> str:
    """`text` with secrets, image data, applicant references and what else the request or task
    asked to mask replaced."""
    # The values first, whole, before a pattern changes part of one (a callback URL's ?sig=).
    text = _mask_references(text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return _BASE64_RUN.sub(_mask_base64, text)


_SENSITIVE_KEYS = {
    "applicant_ref",
    "external_ref",
    "authorization",
    "api_key",
    "password",
    "secret",
    "webhook_secret",
    "token",
    "selfie",
    "reference_image",
    "image",
    "image_base64",
}


def redact_value(value: Any, key: str = "") -> Any:
    if key.lower() in _SENSITIVE_KEYS and value not in (None, "", [], {}):
        return "[redacted]"
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return f"[redacted {len(value)} bytes]"
    if isinstance(value, dict):
        return {k: redact_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(v) for v in value]
    return redact(str(value))


# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "request_id", "taskName"}
)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record (None outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        return True


class RedactingFilter(logging.Filter):
    """Masks secrets, image data and applicant references in the message and every extra field.

    Configured on the handler, so it sees every record that is written, whichever logger made it.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken %-format must not lose the line
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info:
            record.exc_text = redact(self._formatter.formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRS:
                setattr(record, key, redact_value(value, key))
        return True


# --- the JSON lines ------------------------------------------------------------------------------

_JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"


def json_formatter() -> logging.Formatter:
    """One JSON object per line; a record's `extra=` fields become keys of their own."""
    return JsonFormatter(
        _JSON_FIELDS, rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}
    )


def write_json_lines(handler: logging.Handler) -> None:
    """Give a handler someone else configured (gunicorn's) the JSON format, request ids and
    redaction that Django's LOGGING gives its own."""
    handler.setFormatter(json_formatter())
    if not any(isinstance(f, RedactingFilter) for f in handler.filters):
        handler.addFilter(RequestIdFilter())
        handler.addFilter(RedactingFilter())


# --- Celery: the id travels with the task --------------------------------------------------------

_task_tokens: dict[str, tuple[Token[str | None], Token[dict[str, str] | None]]] = {}


def _before_task_publish(headers: dict[str, Any] | None = None, **_: Any) -> None:
    request_id = request_id_var.get()
    if headers is not None and request_id and CELERY_HEADER not in headers:
        headers[CELERY_HEADER] = request_id


def _task_prerun(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    request = getattr(task, "request", None)
    # A worker flattens message headers onto the request; Task.apply() keeps them in .headers.
    inherited = getattr(request, CELERY_HEADER, None) or (
        getattr(request, "headers", None) or {}
    ).get(CELERY_HEADER)
    request_id = clean_request_id(inherited) or new_request_id()
    if task_id:
        _task_tokens[task_id] = (request_id_var.set(request_id), _refs_var.set({}))


def _task_postrun(task_id: str | None = None, **_: Any) -> None:
    tokens = _task_tokens.pop(task_id or "", None)
    if tokens is None:
        return
    id_token, refs_token = tokens
    try:
        _refs_var.reset(refs_token)
        request_id_var.reset(id_token)
    except ValueError:  # reset from another context (should not happen): just clear
        _refs_var.set(None)
        request_id_var.set(None)


def _remember_applicant(sender: Any, instance: Any, **_: Any) -> None:
    # From __dict__: a query that deferred the reference has not loaded it (so cannot log it),
    # and reading the attribute would fetch it with one more query per applicant.
    remember_sensitive(instance.__dict__.get("external_ref"))


def connect_signals() -> None:
    """Called once by kyc/celery.py (imported by every web, worker and beat process)."""
    from celery import signals
    from django.core.signals import request_finished
    from django.db.models.signals import post_init

    request_finished.connect(clear_request, weak=False, dispatch_uid="kyc.ops.request_id.clear")

    signals.before_task_publish.connect(
        _before_task_publish, weak=False, dispatch_uid="kyc.ops.request_id.publish"
    )
    signals.task_prerun.connect(_task_prerun, weak=False, dispatch_uid="kyc.ops.request_id.pre")
    signals.task_postrun.connect(_task_postrun, weak=False, dispatch_uid="kyc.ops.request_id.post")
    # Every applicant a request or task loads has its reference masked in that context's logs.
    post_init.connect(
        _remember_applicant,
        sender="kyc.Applicant",
        weak=False,
        dispatch_uid="kyc.ops.remember_applicant_ref",
    )
