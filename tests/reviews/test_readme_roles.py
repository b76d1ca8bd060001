"""The README's table of staff roles is the truth: each role holds exactly the permissions it
lists and opens exactly the pages it lists."""

from __future__ import annotations

import re

import pytest

from reviews.roles import ROLES
from tests.conftest import REPO
from tests.factories import ImagePairFactory, UserFactory
from tests.staff import StaffClient

pytestmark = pytest.mark.django_db

#: Every staff page a role may or may not open ("evidence packs" stands for one pair's pack).
PAGES = (
    "/review/",
    "/review/senior/",
    "/audit/",
    "/stats/",
    "/stats/decisions.csv",
    "/stats/reviewers/",
    "/review/blocklist/",
    "evidence",
)


def readme_roles() -> dict[str, tuple[set[str], set[str]]]:
    """role -> (permissions, pages) as the README's table says."""
    text = (REPO / "README.md").read_text()
    table = text.split("| role | permissions | opens |", 1)[1].split("\n\n", 1)[0]
    roles = {}
    for line in table.strip().splitlines()[1:]:
        role, permissions, pages = (cell.strip() for cell in line.strip("|").split("|"))
        opens = set(re.findall(r"`([^`]+)`", pages))
        if "evidence packs" in pages:
            opens.add("evidence")
        roles[role] = (set(re.findall(r"`([^`]+)`", permissions)), opens)
    return roles


def test_the_readme_lists_every_role_with_exactly_its_permissions():
    assert {role: perms for role, (perms, _) in readme_roles().items()} == {
        role: set(perms) for role, perms in ROLES.items()
    }


@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_opens_exactly_the_pages_the_readme_lists(role):
    _, opens = readme_roles()[role]
    pair = ImagePairFactory(status="approved")
    browser = StaffClient()
    browser.force_login(UserFactory(role=role))
    address = {"evidence": f"/stats/pairs/{pair.public_id}/evidence.json"}
    answered = {page: browser.get(address.get(page, page)).status_code for page in PAGES}
    assert answered == {page: 200 if page in opens else 403 for page in PAGES}
