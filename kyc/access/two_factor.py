"""Second factors for staff: who needs one, setting up an authenticator app, checking a code,
one-time recovery codes, and removing or resetting a user's devices.

Built on django-otp: its TOTP device does the one-time-password arithmetic, replay refusal and
throttling, its static device keeps the recovery codes (each deleted as it is used), and its
middleware says which device verified the session. Nothing here computes a code.
"""

from __future__ import annotations

import math
import re
from base64 import b32encode

import django_otp
import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from kyc.access.addresses import client_address
from kyc.audit import events
from kyc.audit.chain import Actor
from kyc.errors import ApplicationError
from kyc.users import StaffUser, Visitor

#: How many recovery codes a user gets; each works once.
RECOVERY_CODES = 10
AUTHENTICATOR = "Authenticator app"
RECOVERY = "Recovery codes"
#: What the audit trail and `second_factor_of` call each kind of device.
TOTP_KIND = "totp"
RECOVERY_KIND = "recovery_code"
_AUTHENTICATOR_CODE = re.compile(r"^\d{6}$")


class SecondFactorError(ApplicationError):
    code = "second_factor_invalid"


# --- who needs one -------------------------------------------------------------------------------


def second_factor_required(user: StaffUser) -> bool:
    """Administrators always; everyone else unless every role they hold is exempted.

    A role without a policy row requires a second factor, and so does an account with no role at
    all: only an administrator's explicit choice exempts anyone.
    """
    if user.is_superuser or user.is_staff:
        return True
    roles = list(user.groups.values_list("second_factor_policy__required", flat=True))
    return not roles or any(required is not False for required in roles)


def has_second_factor(user: StaffUser) -> bool:
    """A confirmed authenticator app or recovery codes."""
    return bool(django_otp.user_has_device(user, confirmed=True))


def needs_second_factor(user: StaffUser) -> bool:
    """Whether this user's sessions must be verified: their role requires it, or they set a
    second factor up anyway (a device once set up is always asked for)."""
    return second_factor_required(user) or has_second_factor(user)


#: Set in a session that single sign-on opened (kyc.access.receivers).
SSO_SESSION_KEY = "access.signed_in_with_sso"


def provider_checks_second_factor(sso: bool) -> bool:
    """A session opened by single sign-on, where the operator lets the identity provider ask for
    the second factor (KYC_OIDC_PROVIDER_CHECKS_SECOND_FACTOR): no second code here."""
    return sso and settings.KYC_OIDC_PROVIDER_CHECKS_SECOND_FACTOR


def second_factor_asked(user: StaffUser, *, sso: bool) -> bool:
    """Whether this sign-in must pass a second factor here before the session is usable."""
    return needs_second_factor(user) and not provider_checks_second_factor(sso)


def is_verified(user: Visitor) -> bool:
    """Set by django-otp's middleware: a device of this user verified this session."""
    return getattr(user, "otp_device", None) is not None


def second_factor_of(request: HttpRequest) -> str | None:
    """How this session passed the second factor: "totp", "recovery_code", or None (not yet)."""
    device = getattr(request.user, "otp_device", None)
    if isinstance(device, TOTPDevice):
        return TOTP_KIND
    if isinstance(device, StaticDevice):
        return RECOVERY_KIND
    return None


def role_requires_second_factor(group: Group) -> bool:
    policy = getattr(group, "second_factor_policy", None) if group.pk else None
    return True if policy is None else policy.required


@transaction.atomic
def set_role_policy(group: Group, actor: Actor, *, required: bool) -> None:
    """An administrator decides whether a role needs a second factor (audited when it changes)."""
    from kyc.access.models import SecondFactorPolicy

    policy, created = SecondFactorPolicy.objects.select_for_update().get_or_create(
        group=group, defaults={"required": required}
    )
    before = True if created else policy.required
    if policy.required != required:
        policy.required = required
        policy.save(update_fields=["required"])
    if before != required:
        events.second_factor_policy_changed(group, actor, required=required)


# --- setting up an authenticator app -------------------------------------------------------------


def pending_authenticator(user: StaffUser) -> TOTPDevice:
    """The authenticator app the user is setting up: unconfirmed until they type its first code,
    so an enrolment abandoned half-way never counts as a second factor."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR, confirmed=False)
    return device


def secret_text(device: TOTPDevice) -> str:
    """The key as people type it into an app without a camera: base32 in groups of four."""
    secret = b32encode(device.bin_key).decode("ascii")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_code_svg(device: TOTPDevice) -> str:
    """The otpauth:// address as an SVG QR code, drawn here: no image service is ever asked."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    return str(image.to_string(encoding="unicode"))


def confirm_authenticator(request: HttpRequest, device: TOTPDevice, code: str) -> list[str]:
    """The first code from the app proves it holds the key: the device becomes the user's second
    factor, with fresh recovery codes, and this session counts as verified. Returns the codes."""
    user = request.user
    assert isinstance(user, StaffUser)
    _check_allowed(device)
    # django-otp's verify_token locks the row and counts a failure in its own transaction, so a
    # wrong code is remembered by the throttle even though nothing else is written.
    if django_otp.verify_token(user, device.persistent_id, normalised(code)) is None:
        raise SecondFactorError(
            "That is not the code your app shows for this key. Type the 6 digits shown now.",
            field="code",
        )
    with transaction.atomic():
        _delete_devices(user, keep=device)
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
        device.confirmed = True
        codes = replace_recovery_codes(user)
        events.second_factor_enrolled(
            user, Actor.user(user), device=TOTP_KIND, recovery_codes=len(codes)
        )
    django_otp.login(request, device)
    events.second_factor_passed(user, device=TOTP_KIND, address=client_address(request))
    return codes


def replace_recovery_codes(user: StaffUser) -> list[str]:
    """New recovery codes for the user; any earlier ones stop working."""
    StaticDevice.objects.filter(user=user).delete()
    recovery = StaticDevice.objects.create(user=user, name=RECOVERY, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=recovery, token=c) for c in codes)
    return codes


def recovery_codes_left(user: StaffUser) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def authenticator_of(user: StaffUser) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


# --- signing in with it --------------------------------------------------------------------------


def normalised(code: str) -> str:
    """Codes as people type them: spaces and dashes dropped, letters in lower case."""
    return re.sub(r"[\s-]", "", code).lower()


def verify(request: HttpRequest, code: str) -> str:
    """Check a code from the authenticator app, or one recovery code (which is then used up),
    and mark the session verified. Returns the kind of device that accepted it."""
    user = request.user
    assert isinstance(user, StaffUser)
    code = normalised(code)
    model: type[Device] = TOTPDevice if _AUTHENTICATOR_CODE.match(code) else StaticDevice
    device = model.objects.filter(user=user, confirmed=True).first()
    if device is None:
        raise SecondFactorError(
            "Type the 6-digit code from your authenticator app."
            if model is StaticDevice
            else "You have no authenticator app set up: use a recovery code.",
            field="code",
        )
    _check_allowed(device)
    verified = django_otp.verify_token(user, device.persistent_id, code)
    if verified is None:
        raise SecondFactorError(
            "That code is not valid (a recovery code works only once)."
            if model is StaticDevice
            else "That code is not valid. Type the 6 digits your app shows now.",
            field="code",
        )
    django_otp.login(request, verified)
    kind = TOTP_KIND if model is TOTPDevice else RECOVERY_KIND
    events.second_factor_passed(user, device=kind, address=client_address(request))
    return kind


def _check_allowed(device: Device) -> None:
    """django-otp waits 1, 2, 4, 8… seconds after each wrong code; say until when."""
    allowed, details = device.verify_is_allowed()
    if not allowed:
        until = (details or {}).get("locked_until")
        wait = max(1, math.ceil((until - timezone.now()).total_seconds())) if until else 1
        raise SecondFactorError(
            f"Too many wrong codes. Wait {wait} second{'s' if wait != 1 else ''}, then try again.",
            code="too_many_attempts",
            field="code",
        )


# --- removing it ---------------------------------------------------------------------------------


def _delete_devices(user: StaffUser, keep: Device | None = None) -> list[str]:
    """Delete every device of the user but `keep`; the kinds deleted, for the audit trail."""
    deleted: list[str] = []
    for model, kind in ((TOTPDevice, TOTP_KIND), (StaticDevice, RECOVERY_KIND)):
        devices = model.objects.filter(user=user)
        if keep is not None and isinstance(keep, model):
            devices = devices.exclude(pk=keep.pk)
        confirmed = devices.filter(confirmed=True).exists()
        if devices.delete()[0] and confirmed:
            deleted.append(kind)
    return deleted


@transaction.atomic
def remove_own_second_factor(user: StaffUser) -> list[str]:
    """The user removes their authenticator and recovery codes, to set up new ones."""
    devices = _delete_devices(user)
    if devices:
        events.second_factor_removed(user, Actor.user(user), devices=devices)
    return devices


@transaction.atomic
def reset_second_factor(user: StaffUser, actor: Actor) -> list[str]:
    """An administrator removes a user's devices (a lost phone): at their next request the user
    sets up a new authenticator. Sessions verified by the old device stop counting as verified."""
    devices = _delete_devices(user)
    if devices:
        events.second_factor_reset(user, actor, devices=devices)
    return devices
