from __future__ import annotations

import pytest
from django.test import Client

from tests.reviews.cases import user_with_role


@pytest.fixture
def reviewer(db):
    return user_with_role("rita", "Reviewers")


@pytest.fixture
def other_reviewer(db):
    return user_with_role("omar", "Reviewers")


@pytest.fixture
def senior(db):
    return user_with_role("sofia", "Senior reviewers")


@pytest.fixture
def other_senior(db):
    return user_with_role("sam", "Senior reviewers")


@pytest.fixture
def auditor(db):
    return user_with_role("audrey", "Auditors")


@pytest.fixture
def nobody(db):
    return user_with_role("nora", None)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def as_reviewer(reviewer) -> Client:
    return signed_in(reviewer)


@pytest.fixture
def as_senior(senior) -> Client:
    return signed_in(senior)


@pytest.fixture
def as_auditor(auditor) -> Client:
    return signed_in(auditor)
