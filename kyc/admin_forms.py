"""Forms of the kyc admin pages: messages next to the field they are about."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from kyc.models import ApiClient, Applicant
from kyc.services.clients import throttle_rate_problem, webhook_url_problem


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
