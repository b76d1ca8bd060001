"""The admin form for one backend's configuration: only its own options, its own guidance."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from kyc.vendor_config import services
from vendors.guidance import help_text
from vendors.models import VendorConfig

RISK_TAG_CHOICES = [
    ("is_age_risk", "Age risk (FinAuth is_age_risk)"),
    ("is_gender_risk", "Gender risk (FinAuth is_gender_risk)"),
]


def _score(value: float | None) -> float | None:
    if value is not None and not 0 <= value <= 100:
        raise ValidationError("Scores run from 0 (nothing alike) to 100 (identical).")
    return value


class VendorConfigForm(forms.ModelForm):
    review_risk_tags = forms.MultipleChoiceField(
        choices=RISK_TAG_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = VendorConfig
        fields = list(services.EDITABLE_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "review_risk_tags" not in (self._meta.fields or ()):
            # Declared fields survive the admin's per-backend field list: drop it where unused.
            self.fields.pop("review_risk_tags", None)
        self._was_enabled = bool(self.instance.pk and self.instance.enabled)
        backend = self.instance.backend
        for name, form_field in self.fields.items():
            text = help_text(backend, name) if backend else None
            if text:
                form_field.help_text = text
        for name in ("approve_at", "reject_below"):
            if name in self.fields:
                self.fields[name].widget.attrs.update({"min": 0, "max": 100, "step": "any"})

    def clean_approve_at(self) -> float | None:
        return _score(self.cleaned_data.get("approve_at"))

    def clean_reject_below(self) -> float | None:
        return _score(self.cleaned_data.get("reject_below"))

    def clean_timeout_seconds(self) -> float | None:
        timeout = self.cleaned_data.get("timeout_seconds")
        problem = services.timeout_problem(timeout) if timeout is not None else None
        if problem:
            raise ValidationError(problem)
        return timeout

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        approve_at, reject_below = data.get("approve_at"), data.get("reject_below")
        if approve_at is not None and reject_below is not None:
            # Here rather than after the model check, so the message lands on the field (the
            # model's check constraint is then skipped for it).
            problem = services.band_problem(approve_at, reject_below)
            if problem:
                self.add_error("reject_below", problem)
        return data

    def _post_clean(self) -> None:
        # Django's hook after the model instance holds the submitted values (not in the stubs).
        super()._post_clean()  # type: ignore[misc]
        # The service's own rules, so an admin sees the message next to the field it is about.
        problems = services.check_rules(
            self.instance, was_enabled=self._was_enabled, skip=set(self.errors)
        )
        for name, messages in problems.items():
            target = name if name in self.fields else None
            for message in messages:
                self.add_error(target, message)

    def verdict_changes(self) -> list[str]:
        """Changed fields that change how a completed answer is judged."""
        return [name for name in self.changed_data if name in services.VERDICT_FIELDS]
