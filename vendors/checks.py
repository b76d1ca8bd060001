"""Start-up checks: an enabled backend must have its credentials in the environment."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register
from django.db import DatabaseError


@register("vendors")
def enabled_vendors_have_credentials(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from vendors.models import VendorConfig
    from vendors.registry import missing_settings

    try:
        enabled = list(VendorConfig.objects.filter(enabled=True).values_list("backend", flat=True))
    except DatabaseError:  # not migrated yet: nothing is enabled
        return []
    errors: list[CheckMessage] = []
    for backend in enabled:
        for variable in missing_settings(backend):
            errors.append(
                Error(
                    f"Backend '{backend}' is enabled but {variable} is not set.",
                    hint=f"Set {variable} in the environment (see .env.example) or disable "
                    f"'{backend}' in the admin.",
                    id="vendors.E001",
                )
            )
    return errors
