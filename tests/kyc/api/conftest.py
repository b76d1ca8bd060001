from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import client_with_key


@pytest.fixture
def api_client_and_key(db):
    return client_with_key()


@pytest.fixture
def api(api_client_and_key) -> APIClient:
    _, key = api_client_and_key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client
