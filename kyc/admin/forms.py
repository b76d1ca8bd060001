"""Forms of the kyc admin pages: messages next to the field they are about."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from kyc.models import ApiClient, Applicant
from kyc.services import vendor_config as vendor_config_services
from kyc.services.api_clients import throttle_rate_problem, webhook_url_problem
from vendors.guidance import help_text
from vendors.models import VendorConfig


class ApiClientForm(forms.ModelForm):
    webhook_url = forms.URLField(
        required=False, max_length=500, assume_scheme="https", label="Webhook URL"
    )

    class Meta:
        model = ApiClient
        fields = ("name", "is_active", "webhook_url", "throttle_rate")
        help_texts = {
            "name": "The mobile backend's name, as your team knows it. Unique.",
            "is_active": "An inactive client's keys are refused (HTTP 401) until it is active "
            "again; its data stays.",
            "webhook_url": "Where decisions are POSTed, signed with the webhook secret (Standard "
            "Webhooks). https and a public address; empty = the client polls. A pair's own "
            "callback URL takes precedence.",
            "throttle_rate": "Requests per client, e.g. 600/min or 20/s; more are answered "
            "with HTTP 429.",
        }

    def clean_webhook_url(self) -> str:
        url: str = self.cleaned_data.get("webhook_url") or ""
        if url and url != self.initial.get("webhook_url"):
            problem = webhook_url_problem(url)
            if problem:
                raise ValidationError(problem, code="webhook_target_refused")
        return url

    def clean_throttle_rate(self) -> str:
        rate: str = (self.cleaned_data.get("throttle_rate") or "").strip()
        problem = throttle_rate_problem(rate)
        if problem:
            raise ValidationError(problem, code="invalid_rate")
        return rate


class NewApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=80,
        required=False,
        label="Key name",
        help_text="What the key is for, e.g. 'production, June' — it tells keys apart when you "
        "rotate. The key itself is shown once, on the next page.",
    )


class ApplicantForm(forms.ModelForm):
    class Meta:
        model = Applicant
        fields = ("legal_hold",)
        help_texts = {
            "legal_hold": "Keep this applicant's images past the retention period and refuse "
            "erasure requests until the hold is lifted. Every change is audited.",
        }

    def clean_legal_hold(self) -> bool:
        hold = bool(self.cleaned_data.get("legal_hold"))
        if hold and not self.instance.legal_hold and self.instance.erased_at is not None:
            raise ValidationError(
                "This applicant was erased: there are no images left to hold.", code="erased"
            )
        return hold


# --- backends --------------------------------------------------------------------------------

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
        fields = list(vendor_config_services.EDITABLE_FIELDS)

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
        problem = vendor_config_services.timeout_problem(timeout) if timeout is not None else None
        if problem:
            raise ValidationError(problem)
        return timeout

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        approve_at, reject_below = data.get("approve_at"), data.get("reject_below")
        if approve_at is not None and reject_below is not None:
            # Here rather than after the model check, so the message lands on the field (the
            # model's check constraint is then skipped for it).
            problem = vendor_config_services.band_problem(approve_at, reject_below)
            if problem:
                self.add_error("reject_below", problem)
        return data

    def _post_clean(self) -> None:
        # Django's hook after the model instance holds the submitted values (not in the stubs).
        super()._post_clean()  # type: ignore[misc]
        # The service's own rules, so an admin sees the message next to the field it is about.
        problems = vendor_config_services.check_rules(
            self.instance, was_enabled=self._was_enabled, skip=set(self.errors)
        )
        for name, messages in problems.items():
            target = name if name in self.fields else None
            for message in messages:
                self.add_error(target, message)

    def verdict_changes(self) -> list[str]:
        """Changed fields that change how a completed answer is judged."""
        return [name for name in self.changed_data if name in vendor_config_services.VERDICT_FIELDS]
