"""API clients in the admin: keys, webhook signing secrets and their deliveries.

Writes go through the audited services of kyc.services.api_clients; the admin stays thin.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import pluralize
from django.urls import URLPattern, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from kyc.admin.base import (
    ADMIN_CSS,
    ConfirmedAction,
    ConfirmedActionsAdmin,
    Done,
    ReadOnlyModelAdmin,
    ShownOnce,
    actor_of,
)
from kyc.admin.forms import ApiClientForm, NewApiKeyForm
from kyc.audit.chain import Actor
from kyc.models import (
    ApiClient,
    ApiKey,
    DeliveryStatus,
    WebhookDelivery,
)
from kyc.services import api_clients as client_services

RECENT_DELIVERIES = 10
RETIRED_HISTORY = "Retired the previous webhook secret."


def key_label(key: ApiKey) -> str:
    """How pages name a key: by its prefix, the only part of it that is kept."""
    return f"kyc_{key.prefix}_…"


# --- keys and secrets: each on its own page that asks first; new ones are shown once -----------


def _active_keys(client: ApiClient) -> str:
    active = client.keys.filter(revoked_at__isnull=True).count()
    how_to_rotate = (
        " To rotate, create the new key here, let the client switch to it, then revoke the old "
        "one on the client's page."
        if active
        else ""
    )
    return f"{client} has {active} active key{pluralize(active)}.{how_to_rotate}"


def _create_key(client: ApiClient, actor: Actor, data: Mapping[str, Any]) -> ShownOnce:
    key, plaintext = client_services.create_api_key(client, actor, data["name"])
    return ShownOnce(
        secret=plaintext,
        kind="API key",
        usage=f"The client sends it in every request: Authorization: Api-Key {key_label(key)}",
        identifier=key_label(key),
        history=f"Created API key {key_label(key)}",
    )


NEW_KEY = ConfirmedAction[ApiClient](
    title=lambda client: f"New API key for {client}",
    question=_active_keys,
    button="Create the key",
    form=NewApiKeyForm,
    perform=_create_key,
)


def _last_key_warning(key: ApiKey) -> str:
    if key.client.keys.filter(revoked_at__isnull=True).exclude(pk=key.pk).exists():
        return ""
    return (
        "This is the client's last active key: after revoking it, the client cannot call the "
        "API until it gets a new one."
    )


def _key_of(client: ApiClient, key_id: int) -> ApiKey:
    return get_object_or_404(client.keys, pk=key_id)


def _revoke_key(key: ApiKey, actor: Actor, data: Mapping[str, Any]) -> Done:
    client_services.revoke_api_key(key, actor)
    return Done(
        f"Key {key_label(key)} is revoked: it is refused now.",
        history=f"Revoked API key {key_label(key)}",
    )


REVOKE_KEY = ConfirmedAction[ApiKey](
    title=lambda key: f"Revoke API key {key_label(key)}",
    question=lambda key: (
        f"Revoke key {key_label(key)} ({key.name or 'unnamed'}) of "
        f"{key.client}? Requests with it are refused at once. This cannot be undone."
    ),
    warning=_last_key_warning,
    button="Revoke the key",
    danger=True,
    perform=_revoke_key,
    subject=_key_of,
)


def _rotate_secret(client: ApiClient, actor: Actor, data: Mapping[str, Any]) -> ShownOnce:
    return ShownOnce(
        secret=client_services.rotate_webhook_secret(client, actor),
        kind="webhook signing secret",
        usage="Webhooks are now signed with both this secret and the previous one. Once the "
        "client's receivers verify with this one, retire the previous secret.",
        history="Rotated the webhook signing secret.",
        title=f"New webhook secret for {client}",
    )


ROTATE_SECRET = ConfirmedAction[ApiClient](
    title=lambda client: f"Rotate the webhook secret of {client}",
    question=lambda client: (
        "Create a new signing secret? It is shown once. Until you retire "
        "the previous secret, every webhook carries a signature with each, so the client's "
        "receivers keep working while they switch."
    ),
    warning=lambda client: (
        "A rotation is already in progress: the secret now called previous "
        "will stop signing, and the current one becomes the previous."
        if client.webhook_secret_previous
        else ""
    ),
    button="Create a new secret",
    perform=_rotate_secret,
)


def _retire_secret(client: ApiClient, actor: Actor, data: Mapping[str, Any]) -> Done:
    if client_services.retire_webhook_secret(client, actor):
        return Done("The previous secret is retired: it signs no more.", history=RETIRED_HISTORY)
    return Done("No rotation was in progress.", level=messages.WARNING)


RETIRE_SECRET = ConfirmedAction[ApiClient](
    title=lambda client: f"Retire the previous secret of {client}",
    question=lambda client: (
        "Stop signing webhooks with the previous secret? Receivers that "
        "still verify with it will refuse every webhook from now on."
    ),
    warning=lambda client: (
        ""
        if client.webhook_secret_previous
        else "No rotation is in progress: there is no previous secret."
    ),
    button="Retire the previous secret",
    danger=True,
    perform=_retire_secret,
)


class ApiKeyInline(admin.TabularInline):
    """Keys are listed, never edited: create and revoke have their own audited pages."""

    model = ApiKey
    extra = 0
    fields = ("key_prefix", "name", "created_at", "last_used_at", "state", "revoke")
    readonly_fields = fields
    can_delete = False
    verbose_name = "API key"
    verbose_name_plural = "API keys (only the prefix is kept; the secret is stored as a hash)"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Key")
    def key_prefix(self, key: ApiKey) -> SafeString:
        return format_html("<code>{}</code>", key_label(key))

    @admin.display(description="State")
    def state(self, key: ApiKey) -> SafeString:
        if key.revoked_at:
            when = timezone.localtime(key.revoked_at).strftime("%Y-%m-%d %H:%M")
            return format_html('<span class="vc-bad">revoked</span> {}', when)
        return format_html('<span class="vc-ok">{}</span>', "active")

    @admin.display(description="")
    def revoke(self, key: ApiKey) -> SafeString:
        if key.revoked_at:
            return format_html("{}", "")
        url = reverse("admin:kyc_apiclient_revoke_key", args=[key.client_id, key.pk])
        return format_html('<a href="{}" class="deletelink">Revoke…</a>', url)


@admin.register(ApiClient)
class ApiClientAdmin(ConfirmedActionsAdmin):
    form = ApiClientForm
    change_form_template = "admin/kyc/apiclient/change_form.html"
    list_display = ("name", "is_active", "active_keys", "webhook_target", "rotation", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name",)
    readonly_fields = ("public_id", "created_at", "webhook_signing", "recent_deliveries")
    actions = ["retire_previous_secrets"]
    inlines = [ApiKeyInline]

    class Media:
        css = ADMIN_CSS

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiClient]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                active_key_count=Count("keys", filter=Q(keys__revoked_at__isnull=True)),
            )
        )

    def get_fieldsets(self, request: HttpRequest, obj: ApiClient | None = None) -> Any:
        basics = ("name", "is_active", "throttle_rate")
        if obj is None:
            return [
                (None, {"fields": basics}),
                (
                    "Webhooks",
                    {
                        "fields": ("webhook_url",),
                        "description": "A signing secret is generated when the client is "
                        "saved. Its first API key is created on the next page.",
                    },
                ),
            ]
        return [
            (None, {"fields": (*basics, "public_id", "created_at")}),
            ("Webhooks", {"fields": ("webhook_url", "webhook_signing", "recent_deliveries")}),
        ]

    def get_inlines(self, request: HttpRequest, obj: ApiClient | None) -> Any:
        return [ApiKeyInline] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Applicants and pairs belong to a client for good: deactivate it instead.
        return False

    @admin.display(description="Active keys", ordering="active_key_count")
    def active_keys(self, client: ApiClient) -> int:
        return int(getattr(client, "active_key_count", 0))

    @admin.display(description="Webhook host")
    def webhook_target(self, client: ApiClient) -> str:
        return client_services.redact_url(client.webhook_url) or "— (polls)"

    @admin.display(description="Secret rotation")
    def rotation(self, client: ApiClient) -> str:
        return "two secrets active" if client.webhook_secret_previous else "—"

    @admin.display(description="Signing secret")
    def webhook_signing(self, client: ApiClient) -> SafeString:
        current = "set" if client.webhook_secret else "none"
        if client.webhook_secret_previous:
            return format_html(
                "Current secret {}; the <b>previous secret is still active</b> (both sign every "
                "webhook). Retire it once the client's receivers use the new one.",
                current,
            )
        return format_html(
            "Current secret {}. Secrets are shown once, when created by a rotation.", current
        )

    @admin.display(description="Recent deliveries")
    def recent_deliveries(self, client: ApiClient) -> SafeString:
        deliveries = list(
            WebhookDelivery.objects.filter(client=client)
            .order_by("-created_at")
            .only(
                "event_type", "status", "attempts", "last_status_code", "last_error", "created_at"
            )[:RECENT_DELIVERIES]
        )
        changelist = reverse("admin:kyc_webhookdelivery_changelist")
        link = format_html(
            '<a href="{}?client__id__exact={}">All deliveries of this client</a>',
            changelist,
            client.pk,
        )
        if not deliveries:
            return format_html("None yet. {}", link)
        rows = format_html_join(
            "",
            '<tr><td>{}</td><td>{}</td><td class="vc-{}">{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    d.created_at.strftime("%Y-%m-%d %H:%M"),
                    d.event_type,
                    d.status,
                    d.get_status_display(),
                    d.attempts,
                    d.last_status_code or d.last_error or "",
                )
                for d in deliveries
            ),
        )
        return format_html(
            '<table class="vc-deliveries"><tr><th>Created</th><th>Event</th><th>Outcome</th>'
            "<th>Attempts</th><th>Last answer</th></tr>{}</table>{}",
            rows,
            link,
        )

    def save_model(
        self, request: HttpRequest, obj: ApiClient, form: ModelForm, change: bool
    ) -> None:
        if not change:
            client_services.create_client(obj, actor_of(request))
            return
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        client_services.update_client(obj, changes, actor_of(request))

    def response_add(
        self, request: HttpRequest, obj: ApiClient, post_url_continue: str | None = None
    ) -> HttpResponse:
        if "_addanother" in request.POST or "_popup" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        self.message_user(request, f"Client “{obj}” created. Now create its first API key.")
        return HttpResponseRedirect(reverse("admin:kyc_apiclient_new_key", args=[obj.pk]))

    @admin.action(
        description="Retire the previous webhook secret (end a rotation)", permissions=["change"]
    )
    def retire_previous_secrets(self, request: HttpRequest, queryset: QuerySet[ApiClient]) -> None:
        retired = 0
        for client in queryset:
            if client_services.retire_webhook_secret(client, actor_of(request)):
                self.log_change(request, client, RETIRED_HISTORY)
                retired += 1
        skipped = queryset.count() - retired
        self.message_user(
            request,
            f"Retired the previous secret of {retired} client(s)"
            + (f"; {skipped} had no rotation in progress." if skipped else "."),
        )

    # --- the pages that ask first (declared above) ----------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        page = self.confirmed_action_path
        return [
            page("keys/new/", NEW_KEY, "kyc_apiclient_new_key"),
            page("keys/<int:key_id>/revoke/", REVOKE_KEY, "kyc_apiclient_revoke_key"),
            page("webhook-secret/rotate/", ROTATE_SECRET, "kyc_apiclient_rotate_secret"),
            page("webhook-secret/retire/", RETIRE_SECRET, "kyc_apiclient_retire_secret"),
            *super().get_urls(),
        ]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyModelAdmin):
    """Read-only: what was sent to whom, and how it went."""

    list_display = (
        "created_at",
        "client",
        "event_type",
        "outcome",
        "attempts",
        "last_status_code",
        "last_error",
        "delivered_at",
    )
    list_filter = ("status", "event_type", "client", "created_at")
    list_select_related = ("client",)
    search_fields = ("event_id", "pair__public_id")
    date_hierarchy = "created_at"
    fields = (
        "event_id",
        "client",
        "pair_id_public",
        "event_type",
        "target",
        "outcome",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
        "delivered_at",
        "payload_pretty",
    )
    readonly_fields = fields

    class Media:
        css = ADMIN_CSS

    @admin.display(description="Outcome", ordering="status")
    def outcome(self, delivery: WebhookDelivery) -> SafeString:
        css = {DeliveryStatus.DELIVERED: "vc-delivered", DeliveryStatus.FAILED: "vc-failed"}
        return format_html(
            '<span class="{}">{}</span>',
            css.get(DeliveryStatus(delivery.status), "vc-pending"),
            delivery.get_status_display(),
        )

    @admin.display(description="Pair")
    def pair_id_public(self, delivery: WebhookDelivery) -> str:
        return str(delivery.pair.public_id)

    @admin.display(description="Sent to")
    def target(self, delivery: WebhookDelivery) -> str:
        return client_services.redact_url(delivery.url)

    @admin.display(description="Payload")
    def payload_pretty(self, delivery: WebhookDelivery) -> SafeString:
        return format_html(
            '<pre class="vc-json">{}</pre>', json.dumps(delivery.payload, indent=2, sort_keys=True)
        )
