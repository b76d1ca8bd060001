"""Demo set-up shared by `manage.py demo`: users, vendor switches."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from vendors.models import VendorConfig


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str


DEMO_LOGINS = (DemoLogin("admin", "demo-admin-pass", "Administrator (Django admin)"),)


@transaction.atomic
def create_demo_users() -> tuple[DemoLogin, ...]:
    User = get_user_model()
    for login in DEMO_LOGINS:
        user, _ = User.objects.get_or_create(username=login.username)
        user.is_staff = True
        user.is_superuser = login.username == "admin"
        user.set_password(login.password)
        user.save()
    return DEMO_LOGINS


@transaction.atomic
def enable_backends(backends: list[str]) -> None:
    VendorConfig.objects.filter(backend__in=backends).update(enabled=True)
