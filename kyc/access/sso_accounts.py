"""The account behind a single sign-on, and its roles (the provider's side is oidc.py).

Every sign-in after the first finds the account by the provider's `iss` + `sub`, so an email
address changed at the provider changes nothing here but the stored address. The first sign-in
links an existing account with the same email address (unless the provider says the address is
unverified), or creates one when `KYC_OIDC_CREATE_USERS` allows. Roles are Django groups;
`KYC_OIDC_GROUP_MAP` says which value of the groups claim grants which group, and each sign-in
makes the user's mapped groups match the claim. Groups the map does not name are managed in the
admin and left alone. Single sign-on never makes anyone staff or superuser.

All of it is one transaction, audited as the system's "sso" actor (linking, creating, groups).
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import IntegrityError, transaction
from django.utils import timezone

from kyc.access.actors import acting_as
from kyc.access.models import SsoIdentity
from kyc.audit import events
from kyc.audit.chain import Actor
from kyc.users import StaffUser

logger = logging.getLogger(__name__)

SSO_ACTOR = Actor.system("sso")
#: What Django's username validator accepts; anything else in a provider's name becomes "_".
_NOT_IN_USERNAME = re.compile(r"[^\w.@+-]")


def sign_in(claims: dict[str, Any], *, issuer: str) -> StaffUser | None:
    """The active account the verified `claims` belong to, with its roles brought up to date;
    None when it may not sign in (the reason is logged for the operator)."""
    subject = str(claims.get("sub") or "")
    if not subject:
        logger.warning("Single sign-on refused: the provider sent no subject.")
        return None
    try:
        return _sign_in(claims, issuer=issuer, subject=subject)
    except IntegrityError:
        # The same person's first sign-in in two tabs at once: the other one linked the account.
        logger.warning("Single sign-on refused: the account was being linked concurrently.")
        return None


def _sign_in(claims: dict[str, Any], *, issuer: str, subject: str) -> StaffUser | None:
    with transaction.atomic(), acting_as(SSO_ACTOR):
        identity = (
            SsoIdentity.objects.select_for_update()
            .select_related("user")
            .filter(issuer=issuer, subject=subject)
            .first()
        )
        if identity is None:
            identity = _first_sign_in(claims, issuer=issuer, subject=subject)
            if identity is None:
                return None
        user = identity.user
        if not user.is_active:
            logger.warning("Single sign-on refused: user %s is deactivated.", user.pk)
            return None
        _keep_email(user, claims)
        sync_roles(user, claims.get(settings.KYC_OIDC_GROUPS_CLAIM))
        identity.last_sign_in_at = timezone.now()
        identity.save(update_fields=["last_sign_in_at"])
    return user


def _first_sign_in(claims: dict[str, Any], *, issuer: str, subject: str) -> SsoIdentity | None:
    # An address the provider itself calls unverified neither finds an account nor is kept.
    email = str(claims.get("email") or "") if claims.get("email_verified") is not False else ""
    user: StaffUser | None = None
    matched_by = "created"
    if email:
        matches = list(User.objects.select_for_update().filter(email__iexact=email)[:2])
        if len(matches) > 1:
            logger.warning("Single sign-on refused: several accounts share the email address.")
            return None
        if matches:
            user, matched_by = matches[0], "email"
            if SsoIdentity.objects.filter(user=user).exists():
                # The address belongs to an account linked to another subject: taking it over
                # because an email matches would let one provider account become another.
                logger.warning("Single sign-on refused: user %s is linked elsewhere.", user.pk)
                return None
            if not user.is_active:
                logger.warning("Single sign-on refused: user %s is deactivated.", user.pk)
                return None
    if user is None:
        if not settings.KYC_OIDC_CREATE_USERS:
            logger.warning("Single sign-on refused: no account matches and none may be created.")
            return None
        username = _free_username(claims, subject)
        if username is None:
            logger.warning("Single sign-on refused: no free username for the new account.")
            return None
        user = User.objects.create_user(username, email=email)  # with an unusable password
    identity = SsoIdentity.objects.create(user=user, issuer=issuer, subject=subject)
    events.user_sso_linked(user, SSO_ACTOR, issuer=issuer, matched_by=matched_by)
    return identity


def unlink(user: StaffUser, actor: Actor) -> str | None:
    """Forget which provider account `user` is (when the provider re-created the person under a
    new subject, or the account should stop signing in through it); the issuer that was
    unlinked, or None when there was no link."""
    with transaction.atomic():
        identity = SsoIdentity.objects.select_for_update().filter(user=user).first()
        if identity is None:
            return None
        identity.delete()
        events.user_sso_unlinked(user, actor, issuer=identity.issuer)
    return identity.issuer


def _free_username(claims: dict[str, Any], subject: str) -> str | None:
    """The provider's preferred username (or email) if it is free, else it with a suffix drawn
    from the subject, so the same person gets the same name however often it is tried."""
    wanted = str(claims.get("preferred_username") or claims.get("email") or f"sso-{subject}")
    base = _NOT_IN_USERNAME.sub("_", wanted)[:150]
    suffix = hashlib.sha256(subject.encode()).hexdigest()[:8]
    for candidate in (base, f"{base[:141]}-{suffix}"):
        if not User.objects.filter(username=candidate).exists():
            return candidate
    return None


def _keep_email(user: StaffUser, claims: dict[str, Any]) -> None:
    email = str(claims.get("email") or "")
    if email and email != user.email and claims.get("email_verified") is not False:
        user.email = email
        user.save(update_fields=["email"])


def sync_roles(user: StaffUser, claim: Any) -> None:
    """Make the user's mapped groups match the provider's groups claim (a list or one value)."""
    mapping: dict[str, str] = settings.KYC_OIDC_GROUP_MAP
    if not mapping:
        return  # roles are given in the admin only
    values = claim if isinstance(claim, list) else [claim] if isinstance(claim, str) else []
    granted = {mapping[value] for value in values if isinstance(value, str) and value in mapping}
    managed = {group.name: group for group in Group.objects.filter(name__in=mapping.values())}
    missing = sorted(set(mapping.values()) - set(managed))
    if missing:
        logger.warning("KYC_OIDC_GROUP_MAP names groups that do not exist: %s.", missing)
    current = set(user.groups.filter(pk__in=[group.pk for group in managed.values()]))
    wanted = {group for name, group in managed.items() if name in granted}
    if current - wanted:
        user.groups.remove(*(current - wanted))
    if wanted - current:
        user.groups.add(*(wanted - current))
