"""Where webhooks may go: http(s) to public addresses only, checked again before every send."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

import httpx
from django.conf import settings


class WebhookTargetRefused(Exception):
    """The URL must not receive webhooks: wrong scheme or a non-public address. Final."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TargetUnresolved(Exception):
    """DNS gave no answer. Transient at send time: the next attempt may resolve."""


@dataclass(frozen=True)
class Target:
    url: httpx.URL
    addresses: tuple[str, ...]


def _refusal(address: str) -> str | None:
    """Why an address must not receive webhooks, or None when it is a public one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    # ::ffff:127.0.0.1 reaches 127.0.0.1; Python 3.11 does not call it loopback.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for flag, name in (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
    ):
        if flag:
            return name
    # Shared (100.64/10), benchmarking, documentation ranges and the like.
    if not ip.is_global:
        return "non-public"
    return None


def resolve(url: str) -> Target:
    """Parse `url`, resolve its host and check every address it resolves to."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise WebhookTargetRefused("not a valid URL") from None
    if parsed.scheme not in {"http", "https"}:
        raise WebhookTargetRefused(f"scheme {parsed.scheme or '(none)'!r} is not http or https")
    if not parsed.host:
        raise WebhookTargetRefused("the URL has no host")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parsed.raw_host.decode("ascii"), port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise TargetUnresolved from None
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise TargetUnresolved
    if not getattr(settings, "KYC_WEBHOOKS_ALLOW_PRIVATE", False):
        # Every address, not just the first: a host with one public and one internal record
        # could otherwise be used to reach the inside of our network (SSRF).
        for address in addresses:
            reason = _refusal(address)
            if reason:
                raise WebhookTargetRefused(f"the host resolves to a {reason} address")
    return Target(parsed, addresses)


def check_target_url(url: str) -> None:
    """Refuse a webhook URL that is not http(s) or that reaches a non-public address.

    Used when a client sets its URL and again before every attempt (DNS may have changed).
    `KYC_WEBHOOKS_ALLOW_PRIVATE` lifts the address rule for development, tests and demos.
    """
    try:
        resolve(url)
    except TargetUnresolved:
        raise WebhookTargetRefused("the host does not resolve") from None
