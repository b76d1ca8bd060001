"""Helpers for driving the admin pages with Django's test client."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from tests.factories import VendorConfigFactory
from vendors.guidance import guidance_for
from vendors.models import VendorConfig


def change_url(config: VendorConfig) -> str:
    return reverse("admin:vendors_vendorconfig_change", args=[config.pk])


def vendor_form_data(config: VendorConfig, **overrides: Any) -> dict[str, Any]:
    """What the backend's change form posts for its saved values, with `overrides` applied."""
    data: dict[str, Any] = {}
    for name in guidance_for(config.backend).fields():
        data[name] = getattr(config, name)
    data.update(overrides)
    posted: dict[str, Any] = {}
    for name, value in data.items():
        if value is True:
            posted[name] = "on"
        elif value is False:
            continue  # an unticked checkbox is simply absent
        elif value is None:
            posted[name] = ""
        else:
            posted[name] = value
    return posted


@pytest.fixture
def advance(db) -> VendorConfig:
    return VendorConfigFactory(backend="advance")
