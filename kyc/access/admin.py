"""Staff access in the admin: which roles need a second factor (on each group's page), and on
each user's page their second factor, single sign-on link and open sessions, with "reset second
factor", "unlink single sign-on" and "sign out everywhere". Each action asks once, then goes
through an audited service."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group, User
from django.http import HttpRequest
from django.urls import URLPattern, reverse
from django.utils.html import format_html, format_html_join
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from kyc.access import sessions, sso_accounts, two_factor
from kyc.access.models import SsoIdentity
from kyc.admin.base import ConfirmedAction, ConfirmedActionsAdmin, Done, actor_of
from kyc.audit.chain import Actor

# django-otp's own device pages would show every user's key and recovery codes to any admin;
# here an admin only ever resets a user's devices, from the user's page.
for _model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


# --- roles ---------------------------------------------------------------------------------------


class GroupForm(forms.ModelForm):
    second_factor_required = forms.BooleanField(
        required=False,
        initial=True,
        label="Second factor required",
        help_text=(
            "Members sign in with a code from an authenticator app as well as their password. "
            "Administrators always need one, whatever their roles say."
        ),
    )

    class Meta:
        model = Group
        fields = ("name", "permissions")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["second_factor_required"].initial = two_factor.role_requires_second_factor(
            self.instance
        )


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin):
    form = GroupForm
    fields = ("name", "second_factor_required", "permissions")

    def save_model(self, request: HttpRequest, obj: Group, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        two_factor.set_role_policy(
            obj, actor_of(request), required=form.cleaned_data["second_factor_required"]
        )


# --- users ---------------------------------------------------------------------------------------


def _reset(user: User, actor: Actor, _: Mapping[str, Any]) -> Done:
    devices = two_factor.reset_second_factor(user, actor)
    if not devices:
        return Done(f"{user} had no second factor to reset.")
    return Done(
        f"The second factor of {user} was reset: they set up a new one at their next request.",
        history="Reset the second factor.",
    )


RESET_SECOND_FACTOR = ConfirmedAction[User](
    title=lambda user: f"Reset the second factor of {user}",
    question=lambda user: (
        f"Remove the authenticator app and recovery codes of {user}? Use this when they lost "
        "their phone. At their next request they must set up a new authenticator app."
    ),
    warning=lambda user: (
        "" if two_factor.has_second_factor(user) else f"{user} has no second factor set up."
    ),
    button="Reset the second factor",
    danger=True,
    perform=_reset,
)


def _sign_out(user: User, actor: Actor, _: Mapping[str, Any]) -> Done:
    ended = sessions.sign_out_everywhere(user, actor)
    return Done(
        f"{user} was signed out of {ended} session{'s' if ended != 1 else ''}.",
        history="Signed out everywhere.",
    )


def _unlink_sso(user: User, actor: Actor, _: Mapping[str, Any]) -> Done:
    issuer = sso_accounts.unlink(user, actor)
    if issuer is None:
        return Done(f"{user} was not linked to a single sign-on account.")
    return Done(
        f"{user} is no longer linked to their account at {issuer}.",
        history="Unlinked single sign-on.",
    )


UNLINK_SSO = ConfirmedAction[User](
    title=lambda user: f"Unlink the single sign-on of {user}",
    question=lambda user: (
        f"Forget which account at the sign-on provider {user} is? Their next single sign-on "
        "links the account again by its email address, or is refused when none matches. Their "
        "open sessions stay open: sign them out everywhere too if they should stop now."
    ),
    warning=lambda user: (
        "" if SsoIdentity.objects.filter(user=user).exists() else f"{user} is not linked."
    ),
    button="Unlink single sign-on",
    danger=True,
    perform=_unlink_sso,
)


SIGN_OUT_EVERYWHERE = ConfirmedAction[User](
    title=lambda user: f"Sign {user} out everywhere",
    question=lambda user: (
        f"End every session of {user} now? Each of their browsers goes back to the sign-in "
        "page at its next request."
    ),
    button="Sign out everywhere",
    danger=True,
    perform=_sign_out,
)


admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(ConfirmedActionsAdmin, DjangoUserAdmin):
    readonly_fields = ("second_factor", "single_sign_on", "open_sessions")
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        ("Sign-in security", {"fields": ("second_factor", "single_sign_on", "open_sessions")}),
    )

    @admin.display(description="Second factor")
    def second_factor(self, user: User) -> str:
        if not user.pk:
            return "—"
        authenticator = two_factor.authenticator_of(user)
        state = (
            format_html(
                "Authenticator app since {}; {} recovery code(s) left.",
                f"{authenticator.created_at:%Y-%m-%d}" if authenticator.created_at else "—",
                two_factor.recovery_codes_left(user),
            )
            if authenticator
            else format_html("{}", "Not set up.")
        )
        required = two_factor.second_factor_required(user)
        needed = "required for this user" if required else "not required by their roles"
        url = reverse("admin:auth_user_reset_second_factor", args=[user.pk])
        return format_html(
            '{} <span class="help">({})</span><br>'
            '<a class="deletelink" href="{}">Reset second factor…</a>',
            state,
            needed,
            url,
        )

    @admin.display(description="Single sign-on")
    def single_sign_on(self, user: User) -> str:
        identity = SsoIdentity.objects.filter(user=user).first() if user.pk else None
        if identity is None:
            return format_html("{}", "Not linked.")
        last = identity.last_sign_in_at
        return format_html(
            "Linked to {} (subject {}) since {}; last signed in {}.<br>"
            '<a class="deletelink" href="{}">Unlink single sign-on…</a>',
            identity.issuer,
            identity.subject,
            f"{identity.created_at:%Y-%m-%d}",
            f"{last:%Y-%m-%d %H:%M} UTC" if last else "never",
            reverse("admin:auth_user_unlink_sso", args=[user.pk]),
        )

    @admin.display(description="Open sessions")
    def open_sessions(self, user: User) -> str:
        if not user.pk:
            return "—"
        rows = sessions.open_sessions(user)
        url = reverse("admin:auth_user_sign_out_everywhere", args=[user.pk])
        if not rows:
            return format_html("{}", "None.")
        listing = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    f"{row.signed_in_at:%Y-%m-%d %H:%M} UTC",
                    f"{row.last_activity:%Y-%m-%d %H:%M} UTC" if row.last_activity else "—",
                    row.user_agent or "—",
                )
                for row in rows
            ),
        )
        return format_html(
            "<table><thead><tr><th>Signed in</th><th>Last request</th><th>Browser</th></tr>"
            '</thead><tbody>{}</tbody></table><a class="deletelink" href="{}">Sign out '
            "everywhere…</a>",
            listing,
            url,
        )

    def get_urls(self) -> list[URLPattern]:
        page = self.confirmed_action_path
        return [
            page("second-factor/reset/", RESET_SECOND_FACTOR, "auth_user_reset_second_factor"),
            page("sessions/end/", SIGN_OUT_EVERYWHERE, "auth_user_sign_out_everywhere"),
            page("sso/unlink/", UNLINK_SSO, "auth_user_unlink_sso"),
            *super().get_urls(),
        ]
