"""A reviewer's saved queue filters: named, per queue, stored as the queue's own query string."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from django.db import IntegrityError, transaction

from kyc.errors import ApplicationError
from kyc.users import StaffUser
from reviews.models import SavedFilter
from reviews.selectors import QueueFilters

NAME_MAX_LENGTH = SavedFilter._meta.get_field("name").max_length or 60


class InvalidSavedFilter(ApplicationError):
    code = "invalid_saved_filter"


def filters_of(saved: SavedFilter) -> QueueFilters:
    """The filters a saved query stands for today (values no longer valid are dropped)."""
    return QueueFilters.from_query(saved.queue, dict(parse_qsl(saved.query)))


def saved_filters(user: StaffUser, queue: str) -> list[tuple[SavedFilter, str]]:
    """The user's saved filters of one queue, each with the query string that applies it."""
    return [
        (saved, urlencode(filters_of(saved).as_query()))
        for saved in SavedFilter.objects.filter(user=user, queue=queue)
    ]


def save_filter(user: StaffUser, filters: QueueFilters, name: str) -> SavedFilter:
    """Save (or replace, by name) the filters the user is looking at."""
    name = name.strip()
    if not name:
        raise InvalidSavedFilter("Give the filter a name.", code="name_required", field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidSavedFilter(
            f"Keep the name under {NAME_MAX_LENGTH} characters.", code="name_too_long", field="name"
        )
    if not filters.active:
        raise InvalidSavedFilter(
            "Choose at least one filter before saving.", code="nothing_to_save", field="query"
        )
    try:
        with transaction.atomic():
            saved, _ = SavedFilter.objects.update_or_create(
                user=user,
                queue=filters.queue,
                name=name,
                defaults={"query": urlencode(filters.as_query())},
            )
    except IntegrityError as error:  # the same name saved at the same instant in another tab
        raise InvalidSavedFilter(
            "A filter of that name was just saved; try again.", code="name_taken", field="name"
        ) from error
    return saved


def delete_filter(user: StaffUser, saved_id: int) -> None:
    """Delete one of the user's own saved filters (someone else's is never found)."""
    deleted, _ = SavedFilter.objects.filter(user=user, pk=saved_id).delete()
    if not deleted:
        raise InvalidSavedFilter("That saved filter does not exist.", code="not_found")
