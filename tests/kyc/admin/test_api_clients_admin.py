"""API clients in the admin: keys shown once, secret rotation, webhook URL checks, deliveries."""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

from kyc.audit.chain import Actor, verify_chain
from kyc.audit.models import AuditEvent
from kyc.models import ApiClient, ApiKey, WebhookDelivery
from kyc.services.api_clients import authenticate_key, create_api_key
from kyc.services.api_clients import rotate_webhook_secret as rotate_secret
from tests.factories import ApiClientFactory, ImagePairFactory, UserFactory

pytestmark = pytest.mark.django_db

PUBLIC_URL = "https://93.184.216.34/hooks/kyc"  # an IP literal: no DNS needed


def url(name: str, *args) -> str:
    return reverse(f"admin:kyc_apiclient_{name}", args=args)


def client_form(**overrides):
    base = {"name": "bank-app", "is_active": "on", "webhook_url": "", "throttle_rate": "600/min"}
    inline = {"keys-TOTAL_FORMS": "0", "keys-INITIAL_FORMS": "0"}
    return base | inline | overrides


def every_stored_text() -> str:
    """Everything the database holds about keys, events and admin history, as one string."""
    return json.dumps(
        [
            list(ApiKey.objects.values()),
            list(AuditEvent.objects.values("params", "actor_label", "subject_id")),
            list(LogEntry.objects.values("change_message", "object_repr")),
        ],
        default=str,
    )


def test_creating_a_client_is_audited_and_leads_to_its_first_key(admin_client):
    response = admin_client.post(url("add"), client_form(webhook_url=PUBLIC_URL))
    client = ApiClient.objects.get(name="bank-app")
    assert response.status_code == 302
    assert response["Location"] == url("new_key", client.pk)
    assert client.webhook_secret.startswith("whsec_")
    event = AuditEvent.objects.get(event_type="api_client.created")
    assert event.params["values"] == {
        "name": "bank-app",
        "is_active": True,
        "webhook_url": PUBLIC_URL,
        "throttle_rate": "600/min",
    }
    assert client.webhook_secret not in every_stored_text()


def test_a_webhook_url_reaching_a_private_address_is_refused_next_to_the_field(
    admin_client, settings
):
    settings.KYC_WEBHOOKS_ALLOW_PRIVATE = False
    response = admin_client.post(url("add"), client_form(webhook_url="http://10.1.2.3/hook"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["webhook_url"] == [
        "Webhooks cannot be sent to this URL: the host resolves to a private address."
    ]
    response = admin_client.post(url("add"), client_form(webhook_url="http://127.0.0.1:8000/x"))
    assert "loopback" in response.context["adminform"].form.errors["webhook_url"][0]
    assert not ApiClient.objects.exists()


def test_a_bad_throttle_rate_is_refused_with_an_example(admin_client):
    response = admin_client.post(url("add"), client_form(throttle_rate="lots"))
    assert "e.g. 600/min" in response.context["adminform"].form.errors["throttle_rate"][0]


def test_changing_a_client_is_audited_without_the_urls_credentials(admin_client):
    client = ApiClientFactory(name="old-name")
    response = admin_client.post(
        url("change", client.pk),
        client_form(name="new-name", webhook_url="https://bob:pw@93.184.216.34/h?token=s3cret"),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    event = AuditEvent.objects.get(event_type="api_client.changed")
    assert event.params["before"] == {"name": "old-name", "webhook_url": ""}
    assert event.params["after"] == {"name": "new-name", "webhook_url": "https://93.184.216.34/h"}
    assert "s3cret" not in every_stored_text()


def test_a_new_key_is_shown_once_and_only_its_hash_is_stored(admin_client):
    client = ApiClientFactory()
    form_page = admin_client.get(url("new_key", client.pk))
    assert form_page.status_code == 200
    response = admin_client.post(url("new_key", client.pk), {"name": "production"}, follow=True)
    assert response.status_code == 200
    plaintext = response.context["secret"]
    assert plaintext.startswith("kyc_")
    assert plaintext in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert "shown only on this page, only once" in response.content.decode()

    key = ApiKey.objects.get(client=client)
    assert key.hashed_secret == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in every_stored_text()
    assert authenticate_key(plaintext) == key
    assert AuditEvent.objects.get(event_type="api_key.created").params == {
        "prefix": key.prefix,
        "name": "production",
    }
    for page in (
        url("change", client.pk),
        url("changelist"),
        url("history", client.pk),
        url("new_key", client.pk),
        reverse("admin:audit_auditevent_changelist"),
        reverse("admin:index"),
    ):
        text = admin_client.get(page).content.decode()
        assert plaintext not in text, page
    assert f"kyc_{key.prefix}_…" in admin_client.get(url("change", client.pk)).content.decode()


def test_a_second_key_allows_rotation_and_the_old_one_is_revoked_after_a_confirmation(
    admin_client,
):
    client = ApiClientFactory()
    old, old_plaintext = create_api_key(client, Actor.system("test"), "first")
    admin_client.post(url("new_key", client.pk), {"name": "second"})
    assert client.keys.filter(revoked_at__isnull=True).count() == 2

    confirm = admin_client.get(url("revoke_key", client.pk, old.pk))
    assert "Requests with it are refused at once" in confirm.content.decode()
    assert "last active key" not in confirm.content.decode()
    old.refresh_from_db()
    assert old.revoked_at is None

    response = admin_client.post(url("revoke_key", client.pk, old.pk))
    assert response.status_code == 302
    old.refresh_from_db()
    assert old.revoked_at is not None
    assert authenticate_key(old_plaintext) is None
    assert AuditEvent.objects.filter(event_type="api_key.revoked").count() == 1
    assert LogEntry.objects.filter(change_message__contains="Revoked API key").exists()


def test_revoking_the_last_active_key_warns_first(admin_client):
    client = ApiClientFactory()
    key, _ = create_api_key(client, Actor.system("test"))
    page = admin_client.get(url("revoke_key", client.pk, key.pk)).content.decode()
    assert "last active key" in page


def test_rotating_the_webhook_secret_shows_the_new_one_once_and_keeps_the_previous(admin_client):
    client = ApiClientFactory()
    original = client.webhook_secret
    assert (
        "Create a new secret" in admin_client.get(url("rotate_secret", client.pk)).content.decode()
    )
    response = admin_client.post(url("rotate_secret", client.pk), follow=True)
    new_secret = response.context["secret"]
    assert new_secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    client.refresh_from_db()
    assert (client.webhook_secret, client.webhook_secret_previous) == (new_secret, original)
    change_page = admin_client.get(url("change", client.pk)).content.decode()
    assert new_secret not in change_page
    assert original not in change_page
    assert "previous secret is still active" in change_page
    assert "Retire previous secret" in change_page
    assert AuditEvent.objects.filter(event_type="webhook_secret.rotated").count() == 1


def test_retiring_the_previous_secret_ends_the_rotation_and_is_audited(admin_client):
    client = ApiClientFactory()
    rotate_secret(client, Actor.system("test"))
    response = admin_client.post(url("retire_secret", client.pk))
    assert response.status_code == 302
    client.refresh_from_db()
    assert client.webhook_secret_previous == ""
    assert AuditEvent.objects.filter(event_type="webhook_secret.retired").count() == 1
    assert verify_chain().ok


def test_the_retire_action_skips_clients_without_a_rotation(admin_client):
    rotating, idle = ApiClientFactory(), ApiClientFactory()
    rotate_secret(rotating, Actor.system("test"))
    response = admin_client.post(
        url("changelist"),
        {"action": "retire_previous_secrets", "_selected_action": [rotating.pk, idle.pk]},
        follow=True,
    )
    assert "Retired the previous secret of 1 client(s); 1 had no rotation in progress." in (
        response.content.decode()
    )
    rotating.refresh_from_db()
    assert rotating.webhook_secret_previous == ""
    assert AuditEvent.objects.filter(event_type="webhook_secret.retired").count() == 1


def test_recent_deliveries_are_listed_on_the_client_with_a_link_to_all_of_them(admin_client):
    pair = ImagePairFactory()
    client = pair.client
    WebhookDelivery.objects.create(
        event_id="msg_1",
        client=client,
        pair=pair,
        event_type="pair.approved",
        url="https://user:pw@93.184.216.34/h?token=abc",
        payload={"type": "pair.approved"},
        status="delivered",
        attempts=1,
        last_status_code=200,
    )
    WebhookDelivery.objects.create(
        event_id="msg_2",
        client=client,
        pair=pair,
        event_type="pair.needs_review",
        url="https://93.184.216.34/h",
        payload={},
        status="failed",
        attempts=8,
        last_error="ConnectTimeout",
    )
    page = admin_client.get(url("change", client.pk)).content.decode()
    assert '<td class="vc-delivered">Delivered</td>' in page
    assert '<td class="vc-failed">Gave up</td>' in page
    assert f"?client__id__exact={client.pk}" in page

    listing = reverse("admin:kyc_webhookdelivery_changelist")
    response = admin_client.get(f"{listing}?client__id__exact={client.pk}&status__exact=failed")
    assert response.context["cl"].result_count == 1
    delivery = WebhookDelivery.objects.get(event_id="msg_1")
    detail = admin_client.get(reverse("admin:kyc_webhookdelivery_change", args=[delivery.pk]))
    text = detail.content.decode()
    assert "https://93.184.216.34/h" in text
    assert "token=abc" not in text
    assert "pw@" not in text


def test_webhook_deliveries_are_read_only(admin_client):
    pair = ImagePairFactory()
    delivery = WebhookDelivery.objects.create(
        event_id="msg_9",
        client=pair.client,
        pair=pair,
        event_type="pair.approved",
        url="https://93.184.216.34/h",
        payload={},
    )
    change = reverse("admin:kyc_webhookdelivery_change", args=[delivery.pk])
    assert admin_client.get(reverse("admin:kyc_webhookdelivery_add")).status_code == 403
    assert admin_client.post(change, {"status": "delivered"}).status_code == 403
    delete = reverse("admin:kyc_webhookdelivery_delete", args=[delivery.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403


def test_a_staff_member_who_may_only_view_clients_cannot_create_or_revoke_keys(client):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_apiclient"))
    api_client = ApiClientFactory()
    key, _ = create_api_key(api_client, Actor.system("test"))
    client.force_login(staff)
    assert client.get(url("change", api_client.pk)).status_code == 200
    assert client.post(url("new_key", api_client.pk), {"name": "x"}).status_code == 403
    assert client.post(url("revoke_key", api_client.pk, key.pk)).status_code == 403
    assert client.post(url("rotate_secret", api_client.pk)).status_code == 403
    assert ApiKey.objects.filter(client=api_client).count() == 1


# --- the four pages that ask before they act (one generic view) --------------------------------


@dataclass(frozen=True)
class AskingPage:
    """What one of the pages that ask first says, and what posting it does."""

    name: str
    question: str  # `{label}` stands for the key's label, kyc_<prefix>_…
    button: str
    posted: dict[str, str]
    event_type: str
    history: str
    answer: int  # 200: a secret shown once; 302: back to the client, with `message`
    message: str = ""


ASKING_PAGES = [
    AskingPage(
        "new_key",
        "acme has 1 active key. To rotate, create the new key here, let the client switch to "
        "it, then revoke the old one on the client's page.",
        "Create the key",
        {"name": "ci"},
        "api_key.created",
        "Created API key {label}",
        200,
    ),
    AskingPage(
        "revoke_key",
        "Revoke key {label} (first) of acme? Requests with it are refused at once. This cannot "
        "be undone.",
        "Revoke the key",
        {},
        "api_key.revoked",
        "Revoked API key {label}",
        302,
        "Key {label} is revoked: it is refused now.",
    ),
    AskingPage(
        "rotate_secret",
        "Create a new signing secret? It is shown once. Until you retire the previous secret, "
        "every webhook carries a signature with each, so the client's receivers keep working "
        "while they switch.",
        "Create a new secret",
        {},
        "webhook_secret.rotated",
        "Rotated the webhook signing secret.",
        200,
    ),
    AskingPage(
        "retire_secret",
        "Stop signing webhooks with the previous secret? Receivers that still verify with it "
        "will refuse every webhook from now on.",
        "Retire the previous secret",
        {},
        "webhook_secret.retired",
        "Retired the previous webhook secret.",
        302,
        "The previous secret is retired: it signs no more.",
    ),
]


@pytest.fixture
def acme():
    """A client with one key, "first", and a secret rotation under way: each page has work."""
    client = ApiClientFactory(name="acme")
    create_api_key(client, Actor.system("test"), "first")
    rotate_secret(client, Actor.system("test"))
    return client


@pytest.fixture(params=ASKING_PAGES, ids=lambda page: page.name)
def page(request):
    return request.param


def address(page: AskingPage, client: ApiClient) -> str:
    if page.name == "revoke_key":
        return url(page.name, client.pk, client.keys.get(name="first").pk)
    return url(page.name, client.pk)


def label_of_first_key(client: ApiClient) -> str:
    return f"kyc_{client.keys.get(name='first').prefix}_…"


def stored_state() -> list:
    """All that the four pages may change: the trail, the admin history, keys, secrets."""
    return [
        list(AuditEvent.objects.values_list("event_type", flat=True)),
        list(LogEntry.objects.values_list("change_message", flat=True)),
        list(ApiKey.objects.order_by("pk").values_list("prefix", "revoked_at")),
        list(ApiClient.objects.values_list("webhook_secret", "webhook_secret_previous")),
    ]


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def test_each_page_that_asks_first_shows_its_question_and_changes_nothing(admin_client, acme, page):
    before = stored_state()
    response = admin_client.get(address(page, acme))
    assert response.status_code == 200
    text = html.unescape(response.content.decode())
    assert f"<p>{page.question.format(label=label_of_first_key(acme))}</p>" in text
    assert f'<input type="submit" value="{page.button}"' in text
    assert f'<a href="{url("change", acme.pk)}" class="closelink">Cancel</a>' in text
    assert stored_state() == before


def test_posting_a_page_that_asks_first_acts_once_audited_and_in_the_history(
    admin_client, acme, page
):
    label = label_of_first_key(acme)
    known = list(AuditEvent.objects.values_list("pk", flat=True))
    response = admin_client.post(address(page, acme), page.posted)

    assert response.status_code == 302  # post/redirect/get, secret pages included
    new_events = AuditEvent.objects.exclude(pk__in=known)
    assert list(new_events.values_list("event_type", flat=True)) == [page.event_type]
    assert new_events.get().actor_label == "admin"
    history = list(LogEntry.objects.values_list("change_message", flat=True))
    if page.name == "new_key":
        label = f"kyc_{ApiKey.objects.get(name='ci').prefix}_…"
    assert history == [page.history.format(label=label)]
    assert verify_chain().ok
    if page.answer == 200:  # a page that shows a new secret once
        assert response["Location"] == url("shown_once", acme.pk)
        assert messages_of(response) == []
        shown = admin_client.get(response["Location"])
        assert shown.context["secret"] in shown.content.decode()
        assert "no-store" in shown["Cache-Control"]
        assert shown["Pragma"] == "no-cache"  # HTTP/1.0 caches too: admin_view adds no Pragma
        after = stored_state()
        reloaded = admin_client.get(response["Location"])
        assert reloaded.status_code == 200
        assert reloaded.context["secret"] is None
        assert "This page has already been shown." in reloaded.content.decode()
        assert shown.context["secret"] not in reloaded.content.decode()
        assert stored_state() == after  # reloading acts on nothing
    else:
        assert response["Location"] == url("change", acme.pk)
        assert messages_of(response) == [("info", page.message.format(label=label))]


def test_staff_who_may_only_view_a_client_get_403_on_each_page_that_asks_first(client, acme, page):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_apiclient"))
    client.force_login(staff)
    before = stored_state()
    assert client.get(address(page, acme)).status_code == 403
    assert client.post(address(page, acme), page.posted).status_code == 403
    assert stored_state() == before


def test_a_key_name_too_long_is_refused_next_to_the_field_and_no_key_is_made(admin_client, acme):
    before = stored_state()
    response = admin_client.post(url("new_key", acme.pk), {"name": "x" * 81})
    assert response.status_code == 200
    assert response.context["form"].errors["name"] == [
        "Ensure this value has at most 80 characters (it has 81)."
    ]
    assert "secret" not in response.context
    assert stored_state() == before


def test_retiring_without_a_rotation_warns_and_audits_nothing(admin_client):
    idle = ApiClientFactory()
    before = stored_state()
    page = admin_client.get(url("retire_secret", idle.pk)).content.decode()
    assert "No rotation is in progress: there is no previous secret." in page
    response = admin_client.post(url("retire_secret", idle.pk))
    assert response.status_code == 302
    assert messages_of(response) == [("warning", "No rotation was in progress.")]
    assert stored_state() == before


def test_a_key_of_another_client_cannot_be_revoked_through_this_one(admin_client, acme):
    other = ApiClientFactory()
    key, _ = create_api_key(other, Actor.system("test"))
    assert admin_client.get(url("revoke_key", acme.pk, key.pk)).status_code == 404
    assert admin_client.post(url("revoke_key", acme.pk, key.pk)).status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None
