from __future__ import annotations

from django import forms


class CodeForm(forms.Form):
    """One code: six digits from the authenticator app, or a recovery code where offered."""

    code = forms.CharField(
        max_length=32,
        error_messages={"required": "Type the code first."},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autocapitalize": "none",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )
