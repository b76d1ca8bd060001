"""The backends' admin: per-backend options, documented guidance, validation and audit."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import ValidationError
from django.urls import reverse

from kyc.audit.chain import Actor, verify_chain
from kyc.audit.models import AuditEvent
from kyc.services.vendor_config import update_vendor_config
from tests.kyc.admin.conftest import change_url, vendor_form_data
from vendors.models import VendorConfig

pytestmark = pytest.mark.django_db


def form_of(response):
    return response.context["adminform"].form


def test_the_list_has_one_row_per_backend_and_no_add_or_delete(admin_client):
    response = admin_client.get(reverse("admin:vendors_vendorconfig_changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count == 5
    page = response.content.decode()
    assert response.context["has_add_permission"] is False
    assert "delete_selected" not in page
    assert "Test connection" in page
    assert admin_client.get(reverse("admin:vendors_vendorconfig_add")).status_code == 403
    config = VendorConfig.objects.get(backend="zoloz")
    delete = reverse("admin:vendors_vendorconfig_delete", args=[config.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert VendorConfig.objects.count() == 5


@pytest.mark.parametrize(
    ("backend", "shown", "hidden"),
    [
        (
            "finauth",
            {"finauth_strictness", "review_risk_tags", "age_gap_years", "preflight"},
            {"multiple_faces"},
        ),
        (
            "advance",
            {"preflight", "rate_limit_per_minute"},
            {"finauth_strictness", "multiple_faces"},
        ),
        ("zoloz", {"preflight"}, {"finauth_strictness", "review_risk_tags", "age_gap_years"}),
        ("alibaba", {"preflight"}, {"finauth_strictness", "multiple_faces"}),
        ("local", {"multiple_faces"}, {"preflight", "finauth_strictness", "rate_limit_per_minute"}),
    ],
)
def test_each_backend_shows_only_the_options_that_apply_to_it(admin_client, backend, shown, hidden):
    config = VendorConfig.objects.get(backend=backend)
    fields = set(form_of(admin_client.get(change_url(config))).fields)
    assert shown <= fields
    assert not hidden & fields
    assert {"enabled", "priority", "approve_at", "reject_below", "timeout_seconds"} <= fields


@pytest.mark.parametrize(
    ("backend", "phrases"),
    [
        ("advance", ["above 70 pass, 55–70 manual check, below 55 reject"]),
        (
            "finauth",
            ["<b>1e-3</b> loose", "<b>1e-6</b> very strict", "only a fallback", "default is 1e-4"],
        ),
        (
            "local",
            ["0.6 operating point", "0.26&nbsp;%", "≈ a false-accept rate of 1e-3", "19 people"],
        ),
        ("zoloz", ["approve at <b>80</b>", "below <b>50</b>", "calibrated on your own traffic"]),
        ("alibaba", ["approve at <b>80</b>", "below <b>50</b>", "calibrated on your own traffic"]),
    ],
)
def test_the_change_form_states_each_vendors_documented_guidance(admin_client, backend, phrases):
    config = VendorConfig.objects.get(backend=backend)
    page = admin_client.get(change_url(config)).content.decode()
    for phrase in phrases:
        assert phrase in page


def test_the_local_engine_help_states_the_limits_of_its_calibration(admin_client):
    page = admin_client.get(change_url(VendorConfig.objects.get(backend="local"))).content.decode()
    assert "extrapolated, not measured" in page
    assert "children" in page
    assert "80 strict (≈ 1e-4, extrapolated)" in page


def test_the_credentials_panel_names_each_variable_but_never_its_value(admin_client, settings):
    settings.VENDOR_CREDENTIALS = {
        **settings.VENDOR_CREDENTIALS,
        "advance": {"ADVANCE_ACCESS_KEY": "ak-very-secret-value", "ADVANCE_SECRET_KEY": ""},
    }
    page = admin_client.get(change_url(VendorConfig.objects.get(backend="advance"))).content
    text = page.decode()
    assert "ak-very-secret-value" not in text
    assert '<code>ADVANCE_ACCESS_KEY</code></td><td class="vc-ok">set' in text
    assert '<code>ADVANCE_SECRET_KEY</code></td><td class="vc-bad">missing (required)' in text
    assert 'ADVANCE_BASE_URL</code></td><td class="vc-muted">not set: the vendor' in text
    listing = admin_client.get(reverse("admin:vendors_vendorconfig_changelist")).content.decode()
    assert "missing ADVANCE_SECRET_KEY" in listing
    assert "ak-very-secret-value" not in listing


def test_saving_a_non_threshold_change_audits_it_with_before_and_after(admin_client, advance):
    response = admin_client.post(
        change_url(advance), vendor_form_data(advance, timeout_seconds=20, retry_budget=3)
    )
    assert response.status_code == 302, form_of(response).errors
    advance.refresh_from_db()
    assert (advance.timeout_seconds, advance.retry_budget) == (20, 3)
    event = AuditEvent.objects.get(event_type="vendor_config.changed")
    assert event.subject_id == "advance"
    assert event.actor_label == "admin"
    assert event.params == {
        "changed": ["retry_budget", "timeout_seconds"],
        "before": {"retry_budget": 2, "timeout_seconds": 15.0},
        "after": {"retry_budget": 3, "timeout_seconds": 20.0},
    }
    entry = LogEntry.objects.get(object_id=str(advance.pk), action_flag=CHANGE)
    assert "Timeout seconds" in entry.get_change_message()
    assert verify_chain().ok


def test_saving_unchanged_values_writes_no_audit_event(admin_client, advance):
    response = admin_client.post(change_url(advance), vendor_form_data(advance))
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(event_type="vendor_config.changed").exists()


def test_new_thresholds_are_previewed_first_and_saved_only_when_confirmed(admin_client, advance):
    data = vendor_form_data(advance, approve_at=60)
    preview = admin_client.post(change_url(advance), {**data, "_save": "Save"})
    assert preview.status_code == 200
    assert preview.templates[0].name == "admin/vendors/vendorconfig/preview.html"
    advance.refresh_from_db()
    assert advance.approve_at == 70
    assert not AuditEvent.objects.filter(event_type="vendor_config.changed").exists()

    saved = admin_client.post(change_url(advance), {**data, "_confirmed": "1", "_save": "Save"})
    assert saved.status_code == 302
    advance.refresh_from_db()
    assert advance.approve_at == 60
    event = AuditEvent.objects.get(event_type="vendor_config.changed")
    assert event.params["before"] == {"approve_at": 70.0}
    assert event.params["after"] == {"approve_at": 60.0}


def test_the_preview_replays_every_posted_value_into_its_save_form(admin_client):
    finauth = VendorConfig.objects.get(backend="finauth")
    data = vendor_form_data(finauth, finauth_strictness="1e-5", review_risk_tags=["is_age_risk"])
    page = admin_client.post(change_url(finauth), {**data, "_preview": "1"}).content.decode()
    assert '<input type="hidden" name="finauth_strictness" value="1e-5">' in page
    assert '<input type="hidden" name="review_risk_tags" value="is_age_risk">' in page
    assert 'name="_confirmed" value="1"' in page
    assert 'csrfmiddlewaretoken" value' in page  # a fresh token, not the posted one replayed


def test_going_back_from_the_preview_keeps_the_proposed_values_and_saves_nothing(
    admin_client, advance
):
    data = vendor_form_data(advance, approve_at=64)
    response = admin_client.post(change_url(advance), {**data, "_confirmed": "1", "_edit": "1"})
    assert response.status_code == 200
    assert response.templates[0].name == "admin/vendors/vendorconfig/change_form.html"
    assert form_of(response)["approve_at"].value() == "64"
    advance.refresh_from_db()
    assert advance.approve_at == 70


def test_reject_below_above_approve_at_is_refused_next_to_the_field(admin_client, advance):
    response = admin_client.post(
        change_url(advance), {**vendor_form_data(advance, reject_below=75), "_preview": "1"}
    )
    assert response.status_code == 200
    errors = form_of(response).errors
    assert list(errors) == ["reject_below"]
    assert "Must not be above 'approve at' (70)" in errors["reject_below"][0]
    advance.refresh_from_db()
    assert advance.reject_below == 55


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"approve_at": 101}, "approve_at", "Scores run from 0"),
        ({"reject_below": -1}, "reject_below", "Scores run from 0"),
        ({"approve_at": "nan"}, "approve_at", "Enter a number"),
        ({"timeout_seconds": 0.5}, "timeout_seconds", "Between 2 and 120 seconds"),
        ({"timeout_seconds": 500}, "timeout_seconds", "120"),
        ({"retry_budget": 11}, "retry_budget", "At most 10 retries"),
        ({"rate_limit_per_minute": 0}, "rate_limit_per_minute", "leave it empty for no limit"),
    ],
)
def test_out_of_range_values_are_refused_with_a_clear_message(
    admin_client, advance, overrides, field, message
):
    response = admin_client.post(change_url(advance), vendor_form_data(advance, **overrides))
    assert response.status_code == 200
    errors = form_of(response).errors
    assert field in errors
    assert message in " ".join(errors[field])
    assert not AuditEvent.objects.filter(event_type="vendor_config.changed").exists()


def test_two_enabled_backends_cannot_share_a_priority(admin_client, advance):
    VendorConfig.objects.filter(backend="local").update(enabled=True, priority=5)
    advance.enabled = True
    advance.save()
    response = admin_client.post(change_url(advance), vendor_form_data(advance, priority=5))
    errors = form_of(response).errors
    assert "Local engine (dlib) is enabled with priority 5 too" in errors["priority"][0]


def test_a_backend_cannot_be_switched_on_without_its_credentials(admin_client, settings, advance):
    settings.VENDOR_CREDENTIALS = {**settings.VENDOR_CREDENTIALS, "advance": {}}
    response = admin_client.post(change_url(advance), vendor_form_data(advance, enabled=True))
    errors = form_of(response).errors
    assert errors["enabled"] == [
        "Cannot switch ADVANCE.AI v4 on: ADVANCE_ACCESS_KEY, ADVANCE_SECRET_KEY are not set in "
        "the environment."
    ]
    advance.refresh_from_db()
    assert advance.enabled is False


def test_the_service_refuses_invalid_changes_and_changes_nothing(advance):
    actor = Actor.system("test")
    with pytest.raises(ValidationError) as refused:
        update_vendor_config(advance, {"approve_at": 50, "reject_below": 60}, actor)
    assert "reject_below" in refused.value.message_dict
    with pytest.raises(ValidationError):
        update_vendor_config(advance, {"backend": "zoloz"}, actor)
    local = VendorConfig.objects.get(backend="local")
    with pytest.raises(ValidationError) as refused:
        update_vendor_config(local, {"preflight": True}, actor)
    assert "pre-flight is for vendors only" in refused.value.message_dict["preflight"][0]
    with pytest.raises(ValidationError) as refused:
        update_vendor_config(
            VendorConfig.objects.get(backend="finauth"), {"review_risk_tags": ["is_tall"]}, actor
        )
    assert "Unknown risk tag is_tall" in refused.value.message_dict["review_risk_tags"][0]
    advance.refresh_from_db()
    assert (advance.approve_at, advance.reject_below) == (70, 55)
    assert not AuditEvent.objects.exists()


def test_the_service_records_list_options_in_the_audit_event():
    finauth = VendorConfig.objects.get(backend="finauth")
    update_vendor_config(
        finauth,
        {"review_risk_tags": ["is_gender_risk"], "age_gap_years": 15},
        Actor.system("test"),
    )
    event = AuditEvent.objects.get(event_type="vendor_config.changed")
    assert event.params["before"] == {
        "age_gap_years": None,
        "review_risk_tags": ["is_age_risk", "is_gender_risk"],
    }
    assert event.params["after"] == {"age_gap_years": 15, "review_risk_tags": ["is_gender_risk"]}
