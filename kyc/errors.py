"""The one root of every domain refusal (DESIGN §11 habit 10: a clear, specific error).

A service that refuses what it was asked raises a subclass of `ApplicationError`: `code` is the
stable word a program acts on (API clients branch on it, so it never changes once published),
`message` the sentence a person reads, and `field`, when there is one, names the input at fault.
Views and the REST API catch this one class, so a new refusal needs no new `except` clause to be
shown instead of crashing; *how* it is shown (an HTTP status, a flash message) is decided where
it is shown, never here.

This module imports nothing, so every floor of kyc can raise it without an import cycle.
"""

from __future__ import annotations


class ApplicationError(Exception):
    #: Each subclass names its own; an instance may narrow it further (`code=`).
    code: str = "application_error"

    def __init__(self, message: str, *, code: str = "", field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code
