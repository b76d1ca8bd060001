"""An enabled backend must have its credentials in the environment.

Only the processes that call vendors need them, so this is a deployment check, not one every
command runs: `manage.py check --deploy` fails on it, and a Celery worker reports it as it starts
(kyc/celery.py). An operator's command that calls no vendor — `audit_verify`, `migrate`,
`purge_images`, a shell in the demo's folder — runs without vendor credentials. `manage.py
compare` names the missing variables of the backend it is asked to call.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register
from django.db import DatabaseError


@register("vendors", deploy=True)
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
