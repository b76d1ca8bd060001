"""Who a staff user is at the single sign-on provider."""

from __future__ import annotations

from django.conf import settings
from django.db import models


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
