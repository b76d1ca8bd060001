from __future__ import annotations

from dataclasses import dataclass

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from kyc.access import throttle
from kyc.access.addresses import client_address
from kyc.api.errors import TooManyFailedKeys
from kyc.models import ApiClient, ApiKey
from kyc.services.api_clients import authenticate_key


@dataclass(frozen=True)
class ClientPrincipal:
    """request.user for API calls: the mobile backend behind the key."""

    client: ApiClient
    key: ApiKey
    is_authenticated: bool = True
    is_anonymous: bool = False

    @property
    def pk(self) -> int:
        return self.client.pk


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Api-Key <key>`, refused for a while from an address that sent too many
    unknown keys (kyc/access/throttle.py)."""

    keyword = "Api-Key"

    def authenticate(self, request: Request) -> tuple[ClientPrincipal, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode(errors="replace")
        if not header:
            return None
        keyword, _, presented = header.partition(" ")
        if keyword != self.keyword or not presented.strip():
            raise exceptions.AuthenticationFailed("Send the header 'Authorization: Api-Key <key>'.")
        address = client_address(request._request)
        wait = throttle.blocked_for(address)
        if wait:
            raise TooManyFailedKeys(wait)
        key = authenticate_key(presented.strip())
        if key is None:
            throttle.record_failure(address)
            raise exceptions.AuthenticationFailed("This API key is unknown or revoked.")
        return ClientPrincipal(key.client, key), key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "kyc.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`",
        }
