from __future__ import annotations

from typing import Any

import pytest

from tests.factories import UserFactory
from tests.staff import StaffClient


def person(username: str, role: str | None) -> Any:
    """A fixture: the user `username`, in the group `role` (no group for None)."""

    @pytest.fixture
    def user(db):
        return UserFactory(username=username, role=role)

    return user


reviewer = person("rita", "Reviewers")
other_reviewer = person("omar", "Reviewers")
senior = person("sofia", "Senior reviewers")
other_senior = person("sam", "Senior reviewers")
auditor = person("audrey", "Auditors")
nobody = person("nora", None)


def signed_in(user) -> StaffClient:
    client = StaffClient()
    client.force_login(user)
    return client


def signed_in_as(fixture: str) -> Any:
    """A fixture: a test client signed in as the user of the fixture named `fixture`."""

    @pytest.fixture
    def client(request) -> StaffClient:
        return signed_in(request.getfixturevalue(fixture))

    return client


as_reviewer = signed_in_as("reviewer")
as_senior = signed_in_as("senior")
as_auditor = signed_in_as("auditor")
