"""What staff access keeps beyond django-otp's devices and axes' counters: which roles need a
second factor, which sessions each staff member has open (so an admin can list them and end them
all), and who a staff user is at the single sign-on provider."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models


class SecondFactorPolicy(models.Model):
    """Whether members of one role must sign in with a second factor.

    A role without a row requires one: the safe default covers roles created later too. Only an
    administrator's explicit choice in the group's admin page exempts a role.
    """

    group = models.OneToOneField(
        Group, on_delete=models.CASCADE, primary_key=True, related_name="second_factor_policy"
    )
    required = models.BooleanField(default=True)

    class Meta:
        verbose_name = "second-factor policy"
        verbose_name_plural = "second-factor policies"

    def __str__(self) -> str:
        return f"{self.group.name}: {'required' if self.required else 'not required'}"


class StaffSession(models.Model):
    """One signed-in browser of a staff member, recorded at sign-in and removed at sign-out.

    The session itself (its data, its expiry) stays with Django's session engine; this row only
    makes a user's sessions findable, which no session engine does on its own.
    """

    session_key = models.CharField(max_length=40, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_sessions"
    )
    signed_in_at = models.DateTimeField()
    user_agent = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-signed_in_at"]
        indexes = [models.Index(fields=["user", "-signed_in_at"], name="staff_session_user")]

    def __str__(self) -> str:
        return f"{self.user} since {self.signed_in_at:%Y-%m-%d %H:%M}"


class SsoIdentity(models.Model):
    """The provider's stable id (`sub`) of a staff user: how every sign-in after the first finds
    the account, whatever the email address says by then (OpenID Connect Core §5.7: only `iss`
    and `sub` together identify a user)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identity"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "single sign-on identity"
        verbose_name_plural = "single sign-on identities"
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="sso_identity_unique_sub")
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.issuer}"
