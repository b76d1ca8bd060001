"""The backends' control panel: thresholds with their documented guidance, an impact preview
before new thresholds are saved, a connection test, and which credentials the environment holds.

Thin on purpose: validation and the audited write live in `kyc.services.vendor_config`, the
test call in `kyc.services.vendor_connection`, the replay in `kyc.admin.impact`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from kyc.admin.forms import VendorConfigForm
from kyc.admin.impact import (
    DEFAULT_LIMIT,
    ImpactPreview,
    compare_thresholds,
    recent_decisions,
)
from kyc.audit.chain import Actor
from kyc.services import vendor_config as services
from kyc.services.vendor_connection import ConnectionCheck, check_connection
from vendors.guidance import ROUTING, guidance_for
from vendors.models import VendorConfig
from vendors.registry import adapter_class, credentials_for, missing_settings
from vendors.verdicts import APPROVE, REJECT, REVIEW, Band, band_for

#: Submit buttons and tokens that are not form data (never replayed as hidden fields).
CONTROL_KEYS = frozenset(
    {"csrfmiddlewaretoken", "_save", "_continue", "_addanother", "_saveasnew"}
    | {"_preview", "_edit", "_confirmed"}
)


#: Query parameters that open the change form with proposed lines filled in.
PROPOSED_LINES = frozenset({"approve_at", "reject_below"})


def proposed_lines(query: Mapping[str, str]) -> dict[str, float] | None:
    """Both lines from the query string, or None unless they are a valid band on 0–100."""
    try:
        approve_at, reject_below = float(query["approve_at"]), float(query["reject_below"])
    except (KeyError, ValueError):
        return None
    if not (0 <= reject_below <= approve_at <= 100):  # also refuses nan
        return None
    return {"approve_at": approve_at, "reject_below": reject_below}


def band_bar(band: Band) -> SafeString:
    """Reject / review / approve zones on a 0–100 scale, as small coloured segments."""
    reject, approve = max(0.0, band.reject_below), min(100.0, band.approve_at)
    return format_html(
        '<span class="vc-bar" title="{title}">'
        '<span class="vc-zone vc-reject" style="width:{rw}%"></span>'
        '<span class="vc-zone vc-review" style="width:{vw}%"></span>'
        '<span class="vc-zone vc-approve" style="width:{aw}%"></span></span>',
        title=band_words(band),
        rw=f"{reject:.2f}",
        vw=f"{max(0.0, approve - reject):.2f}",
        aw=f"{100 - approve:.2f}",
    )


def band_words(band: Band) -> str:
    if band.reject_below == band.approve_at:
        return f"reject below {band.approve_at:g} · approve at {band.approve_at:g} (no review band)"
    return (
        f"reject below {band.reject_below:g} · review {band.reject_below:g}–{band.approve_at:g}"
        f" · approve at {band.approve_at:g}"
    )


@admin.register(VendorConfig)
class VendorConfigAdmin(admin.ModelAdmin):
    form = VendorConfigForm
    change_form_template = "admin/vendors/vendorconfig/change_form.html"
    list_display = ("name", "enabled", "priority", "thresholds", "credentials_summary", "updated")
    list_display_links = ("name",)
    ordering = ("priority", "backend")
    readonly_fields = ("band", "credentials")
    actions = ["test_connection"]
    #: How many recent decisions the impact preview replays.
    preview_limit = DEFAULT_LIMIT

    class Media:
        css = {"all": ("vendors/admin.css",)}

    # --- one row per backend, created by the migrations ----------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # --- list -----------------------------------------------------------------------------------

    @admin.display(description="Backend", ordering="backend")
    def name(self, obj: VendorConfig) -> str:
        return str(obj)

    @admin.display(description="Decision bands")
    def thresholds(self, obj: VendorConfig) -> SafeString:
        if obj.backend == "finauth":
            return format_html(
                "FinAuth's own thresholds at <b>{}</b> <small>(fallback {} / {})</small>",
                obj.finauth_strictness,
                f"{obj.approve_at:g}",
                f"{obj.reject_below:g}",
            )
        band = band_for(obj.backend, obj.thresholds_snapshot())
        return format_html("{} <small>{}</small>", band_bar(band), band_words(band))

    @admin.display(description="Credentials")
    def credentials_summary(self, obj: VendorConfig) -> SafeString:
        if not adapter_class(obj.backend).required_settings:
            return format_html('<span class="vc-muted">{}</span>', "none needed")
        missing = missing_settings(obj.backend)
        if not missing:
            return format_html('<span class="vc-ok">{}</span>', "all set")
        return format_html('<span class="vc-bad">missing {}</span>', ", ".join(missing))

    @admin.display(description="Changed", ordering="updated_at")
    def updated(self, obj: VendorConfig) -> Any:
        return obj.updated_at

    # --- change form ------------------------------------------------------------------------------

    def get_fieldsets(self, request: HttpRequest, obj: VendorConfig | None = None) -> Any:
        if obj is None:
            return [(None, {"fields": services.EDITABLE_FIELDS})]
        guidance = guidance_for(obj.backend)
        return [
            ("Routing", {"fields": ROUTING}),
            (
                "Decision thresholds",
                {
                    "fields": ("band", *guidance.thresholds),
                    "description": mark_safe(guidance.summary),  # noqa: S308 - our own constant
                },
            ),
            ("Faces and image problems", {"fields": guidance.input_checks}),
            ("Calls", {"fields": guidance.calls}),
            (
                "Credentials in the environment",
                {
                    "fields": ("credentials",),
                    "description": "Read from environment variables when the processes start "
                    "(.env.example lists them). Their values are never stored or shown here.",
                },
            ),
        ]

    @admin.display(description="Saved decision bands")
    def band(self, obj: VendorConfig) -> SafeString:
        band = band_for(obj.backend, obj.thresholds_snapshot())
        if obj.backend == "finauth":
            return format_html(
                "Approve at or above FinAuth's <b>{}</b> threshold, reject below its <b>1e-3</b> "
                "threshold, review between. Fallback without thresholds: {}.",
                obj.finauth_strictness,
                band_words(band),
            )
        return format_html("{} {}", band_bar(band), band_words(band))

    @admin.display(description="Environment variables")
    def credentials(self, obj: VendorConfig) -> SafeString:
        names = settings.VENDOR_ENV_VARIABLES.get(obj.backend, [])
        if not names:
            return format_html('<span class="vc-muted">{}</span>', "None: it runs in-process.")
        required = set(adapter_class(obj.backend).required_settings)
        missing = set(missing_settings(obj.backend))
        present = credentials_for(obj.backend)
        rows = []
        for name in names:
            if name in missing:
                rows.append((name, "vc-bad", "missing (required)"))
            elif present.get(name):
                rows.append((name, "vc-ok", "set"))
            elif name.endswith("_BASE_URL"):
                rows.append((name, "vc-muted", "not set: the vendor's documented host is used"))
            else:
                rows.append((name, "vc-muted", "not set (optional)"))
        body = format_html_join(
            "",
            '<tr><td><code>{}</code></td><td class="{}">{}</td></tr>',
            rows,
        )
        summary = (
            "Every required variable is set."
            if not missing
            else f"{len(missing)} of {len(required)} required variables missing: this backend "
            "cannot be switched on."
        )
        return format_html('<table class="vc-env">{}</table><p>{}</p>', body, summary)

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any
    ) -> HttpResponse:
        context["preview_limit"] = f"{self.preview_limit:,}"
        return super().render_change_form(request, context, *args, **kwargs)

    def save_model(
        self, request: HttpRequest, obj: VendorConfig, form: ModelForm, change: bool
    ) -> None:
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            services.update_vendor_config(obj, changes, Actor.user(request.user))
        except ValidationError as error:  # lost a race with another admin: nothing was saved
            raise PermissionDenied(f"Not saved: {'; '.join(error.messages)}") from error

    # --- the impact preview: shown before thresholds that change decisions are saved -------------

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method == "POST" and object_id is not None and IS_POPUP_VAR not in request.POST:
            response = self._preview_or_back(request, object_id)
            if response is not None:
                return response
        if request.method == "GET" and object_id is not None and PROPOSED_LINES & set(request.GET):
            return self._proposal_form(request, object_id)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _proposal_form(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The change form prefilled with lines proposed elsewhere (the calibration page's "use
        these"), nothing saved: the admin previews their impact and saves them as any change,
        through the same audited write."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404("No such backend.")
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        fieldsets = self.get_fieldsets(request, obj)
        form_class = self.get_form(request, obj, change=True, fields=flatten_fieldsets(fieldsets))
        proposed = proposed_lines(request.GET)
        if proposed is None:
            messages.error(
                request,
                "The proposed lines were not numbers from 0 to 100 with 'reject below' at most "
                "'approve at'; the saved values are shown.",
            )
            return self._render_bound_form(request, obj, form_class(instance=obj), fieldsets)
        messages.info(
            request,
            f"Proposed: approve at {proposed['approve_at']:g}, reject below "
            f"{proposed['reject_below']:g}. Nothing is saved yet: preview the impact, then save.",
        )
        form = form_class(instance=obj, initial=proposed)
        return self._render_bound_form(request, obj, form, fieldsets)

    def _preview_or_back(self, request: HttpRequest, object_id: str) -> HttpResponse | None:
        """The preview (or the form again) instead of saving; None lets the admin save."""
        wants_preview = "_preview" in request.POST
        going_back = "_edit" in request.POST
        if "_confirmed" in request.POST and not (wants_preview or going_back):
            return None
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return None
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        saved = services.snapshot(obj)
        current = obj.thresholds_snapshot()
        fieldsets = self.get_fieldsets(request, obj)
        form_class = self.get_form(request, obj, change=True, fields=flatten_fieldsets(fieldsets))
        form = form_class(request.POST, request.FILES, instance=obj)
        if going_back:
            return self._render_bound_form(request, obj, form, fieldsets)
        if not form.is_valid():
            return self._render_bound_form(request, obj, form, fieldsets) if wants_preview else None
        assert isinstance(form, VendorConfigForm)
        if not (wants_preview or form.verdict_changes()):
            return None
        return self._render_preview(request, obj, form, saved, current)

    def _render_preview(
        self,
        request: HttpRequest,
        obj: VendorConfig,
        form: VendorConfigForm,
        saved: dict[str, Any],
        current: dict[str, Any],
    ) -> HttpResponse:
        proposed = obj.thresholds_snapshot()  # the form has applied the proposed values
        attempts = recent_decisions(obj.backend, self.preview_limit)
        preview = compare_thresholds(obj.backend, attempts, current, proposed, now=timezone.now())
        proposed_values = services.snapshot(obj)
        changes = [
            (form.fields[name].label or name, saved[name], proposed_values[name])
            for name in form.changed_data
        ]
        hidden = [
            (key, value)
            for key, values in request.POST.lists()
            if key not in CONTROL_KEYS
            for value in values
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Impact of the new settings: {obj}",
            "subtitle": None,
            "opts": self.opts,
            "original": obj,
            "preview": preview,
            "queue": _queue_figures(preview),
            "rates": _daily_rates(preview),
            "changes": changes,
            "verdict_changes": form.verdict_changes(),
            "hidden": hidden,
            "limit": f"{self.preview_limit:,}",
            "finauth": obj.backend == "finauth",
            "bands": {
                "before": self._band_html(obj.backend, current),
                "after": self._band_html(obj.backend, proposed),
            },
            "has_view_permission": True,
        }
        return TemplateResponse(request, "admin/vendors/vendorconfig/preview.html", context)

    @staticmethod
    def _band_html(backend: str, thresholds: dict[str, Any]) -> SafeString:
        band = band_for(backend, thresholds)
        if backend == "finauth":
            return format_html(
                "FinAuth's thresholds at <b>{}</b> (fallback {})",
                thresholds["finauth_strictness"],
                band_words(band),
            )
        return format_html("{} {}", band_bar(band), band_words(band))

    def _render_bound_form(
        self, request: HttpRequest, obj: VendorConfig, form: ModelForm, fieldsets: Any
    ) -> HttpResponse:
        """The change form with the posted values (and their errors), nothing saved."""
        admin_form = helpers.AdminForm(
            form,
            list(fieldsets),
            self.get_prepopulated_fields(request, obj),
            self.get_readonly_fields(request, obj),
            model_admin=self,
        )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Change {self.opts.verbose_name}",
            "subtitle": str(obj),
            "adminform": admin_form,
            "object_id": obj.pk,
            "original": obj,
            "is_popup": False,
            "to_field": None,
            "media": self.media + admin_form.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
        }
        return self.render_change_form(request, context, add=False, change=True, obj=obj)

    # --- test connection -------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        custom = [
            path(
                "<path:object_id>/test-connection/",
                self.admin_site.admin_view(self.test_connection_view),
                name="vendors_vendorconfig_test_connection",
            ),
        ]
        return custom + super().get_urls()

    def test_connection_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404("No such backend.")
        # A test call may be billed: only those who may change the backend may run it.
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        checks = (
            [check_connection(obj, Actor.user(request.user))] if request.method == "POST" else []
        )
        return self._connection_response(request, [obj], checks)

    @admin.action(
        description="Test connection: compare the built-in sample images once",
        permissions=["change"],
    )
    def test_connection(self, request: HttpRequest, queryset: QuerySet[VendorConfig]) -> Any:
        actor = Actor.user(request.user)
        configs = list(queryset)
        return self._connection_response(
            request, configs, [check_connection(c, actor) for c in configs]
        )

    def _connection_response(
        self, request: HttpRequest, configs: list[VendorConfig], checks: list[ConnectionCheck]
    ) -> HttpResponse:
        results = [
            {"check": check, "json": json.dumps(check.result, indent=2) if check.result else ""}
            for check in checks
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": "Test connection" if len(configs) != 1 else f"Test connection: {configs[0]}",
            "subtitle": None,
            "opts": self.opts,
            "original": configs[0] if len(configs) == 1 else None,
            "configs": configs,
            "results": results,
            "has_view_permission": True,
            "changelist_url": reverse("admin:vendors_vendorconfig_changelist"),
        }
        return TemplateResponse(request, "admin/vendors/vendorconfig/test_connection.html", context)


def _per_day(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def _span(days: float) -> str:
    """A window as a person says it: "11 min", "5 h", "1.5 days"."""
    minutes = days * 24 * 60
    if minutes < 1:
        return "under a minute"
    if minutes < 90:
        return f"{minutes:.0f} min"
    if days < 2:
        return f"{minutes / 60:.0f} h"
    return f"{days:.1f} days"


def _queue_figures(preview: ImpactPreview) -> dict[str, str]:
    change = preview.review_per_day_change
    return {
        "before": _per_day(preview.review_per_day_before),
        "after": _per_day(preview.review_per_day_after),
        # A real minus sign: "−0.3" reads as a number, "-0.3" as a dash.
        "change": f"{change:+.1f}".replace("-", "\N{MINUS SIGN}"),
        "direction": "vc-up" if change > 0 else "vc-down" if change < 0 else "vc-flat",
        "per_day": _per_day(preview.per_day),
        "span": _span(preview.window_days),
    }


def _daily_rates(preview: ImpactPreview) -> list[dict[str, str]]:
    """Per outcome: decisions per day now and with the new settings."""
    rows = []
    for outcome, label in (
        (APPROVE, "Auto-approved"),
        (REVIEW, "To review"),
        (REJECT, "Auto-rejected"),
    ):
        share_before = preview.before_total(outcome) / preview.total if preview.total else 0.0
        share_after = preview.after_total(outcome) / preview.total if preview.total else 0.0
        rows.append(
            {
                "outcome": outcome,
                "label": label,
                "before": f"{_per_day(share_before * preview.per_day)} /day ({share_before:.0%})",
                "after": f"{_per_day(share_after * preview.per_day)} /day ({share_after:.0%})",
            }
        )
    return rows
