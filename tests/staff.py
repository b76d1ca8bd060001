"""Signing staff in for tests: test clients past the second factor, and authenticator codes.

Every staff role needs a second factor (kyc/access). `StaffClient.force_login` leaves the client
signed in and verified, as a browser is after its user typed a code; the `client` and
`admin_client` fixtures are StaffClients. Tests of the second factor itself use Django's plain
Client.
"""

from __future__ import annotations

import time

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice


class StaffClient(Client):
    def force_login(self, user, backend=None) -> None:
        super().force_login(user, backend)
        pass_second_factor(self, user)


def pass_second_factor(client: Client, user) -> None:
    """Mark the client's session verified by a device of the user's (made for the test)."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name="Signed in by the test", defaults={"confirmed": True}
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def give_authenticator(user) -> TOTPDevice:
    """The user's authenticator app, set up already."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def totp_code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code the user's app shows now, computed by django-otp's own TOTP. A code already used
    is refused, so after one sign-in within the same 30 s the next step's code is given (the
    device accepts one step of drift)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    if totp.t() <= device.last_t:
        totp.time += device.step * (device.last_t - totp.t() + 1)
    return f"{totp.token():0{device.digits}d}"
