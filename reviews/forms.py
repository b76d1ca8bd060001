"""Forms of the reviewer and auditor pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from reviews.audit_selectors import AuditFilters, event_label, event_types
from reviews.models import CaseStatus, DecisionStage, Outcome, ReasonCode


class DecisionForm(forms.Form):
    """One reviewer decision. `stage` and `status` say which state of the case it was made for."""

    outcome = forms.ChoiceField(choices=Outcome.choices)
    reason_code = forms.ModelChoiceField(
        queryset=ReasonCode.objects.none(),
        required=False,
        to_field_name="code",
        error_messages={"invalid_choice": "Choose one of the listed reasons."},
    )
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    stage = forms.ChoiceField(choices=DecisionStage.choices, widget=forms.HiddenInput)
    status = forms.ChoiceField(choices=CaseStatus.choices, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        outcome = self.data.get("outcome") if self.is_bound else None
        field = self.fields["reason_code"]
        assert isinstance(field, forms.ModelChoiceField)
        # Only an active code of the chosen outcome is valid.
        field.queryset = ReasonCode.objects.filter(is_active=True, outcome=outcome or "")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        outcome = cleaned.get("outcome")
        missing = outcome and outcome != Outcome.APPROVE and not cleaned.get("reason_code")
        if missing and "reason_code" not in self.errors:
            self.add_error("reason_code", "Choose a reason: it is required for this outcome.")
        return cleaned


class SkipForm(forms.Form):
    note = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say in a few words why you skip this case."},
    )


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True),
        to_field_name="username",
        error_messages={
            "required": "Choose a reviewer.",
            "invalid_choice": "Choose one of the listed reviewers.",
        },
    )


class SaveFilterForm(forms.Form):
    name = forms.CharField(
        max_length=60, error_messages={"required": "Give the filter a name."}, label="Name"
    )


class SecondOpinionForm(forms.Form):
    vendor = forms.CharField(max_length=16)


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=150, label="Actor")
    event_type = forms.ChoiceField(required=False, label="Event")
    subject = forms.CharField(required=False, max_length=64, label="Subject id")
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["event_type"]
        assert isinstance(field, forms.ChoiceField)
        labelled = sorted((event_label(t), t) for t in event_types())
        field.choices = [("", "Any event"), *((t, label) for label, t in labelled)]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned

    def filters(self) -> AuditFilters:
        if not self.is_valid():
            return AuditFilters()
        data = self.cleaned_data
        return AuditFilters(
            actor=data.get("actor") or "",
            event_type=data.get("event_type") or "",
            subject=data.get("subject") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )
