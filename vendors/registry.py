"""Which backends exist, and how to build a configured adapter for one."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from importlib import import_module

from django.conf import settings
from django.core.cache import cache

from vendors.base import BaseVendorAdapter

ADAPTER_PATHS: dict[str, str] = {
    "finauth": "vendors.finauth.adapter.FinAuthAdapter",
    "advance": "vendors.advance.adapter.AdvanceAdapter",
    "zoloz": "vendors.zoloz.adapter.ZolozAdapter",
    "alibaba": "vendors.alibaba.adapter.AlibabaAdapter",
    "local": "vendors.local.adapter.LocalAdapter",
}
BACKENDS = tuple(ADAPTER_PATHS)
COMMERCIAL_BACKENDS = ("finauth", "advance", "zoloz", "alibaba")

_instances: dict[tuple[object, ...], BaseVendorAdapter] = {}
_lock = threading.Lock()


def adapter_class(name: str) -> type[BaseVendorAdapter]:
    try:
        path = ADAPTER_PATHS[name]
    except KeyError:
        raise LookupError(f"Unknown backend {name!r}; known: {', '.join(BACKENDS)}.") from None
    module_name, class_name = path.rsplit(".", 1)
    cls: type[BaseVendorAdapter] = getattr(import_module(module_name), class_name)
    return cls


def credentials_for(name: str) -> Mapping[str, str]:
    return dict(settings.VENDOR_CREDENTIALS.get(name, {}))


def missing_settings(name: str) -> list[str]:
    """Required environment variables that are not set (never their values)."""
    creds = credentials_for(name)
    return [var for var in adapter_class(name).required_settings if not creds.get(var)]


def get_adapter(name: str, *, timeout: float = 15.0) -> BaseVendorAdapter:
    """A configured adapter, reused per process so its HTTP connections are kept alive."""
    creds = credentials_for(name)
    key = (name, timeout, tuple(sorted(creds.items())))
    with _lock:
        adapter = _instances.get(key)
        if adapter is None:
            adapter = adapter_class(name)(creds, timeout=timeout, cache=cache)
            _instances[key] = adapter
        return adapter


def reset_adapters() -> None:
    """Forget cached adapters (tests that change credentials)."""
    with _lock:
        for adapter in _instances.values():
            adapter.close()
        _instances.clear()
