"""factory_boy factories: the one place that knows how to build a valid row of each model.

`created_at=` backdates any row that has one (the field is `auto_now_add`, so it is set after
the insert). Realistic volumes of rows come from tests/seed.py, built on the same models.
"""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from importlib import import_module
from typing import Any

import factory
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from kyc.audit.chain import Actor
from kyc.models import (
    ApiClient,
    Applicant,
    AttemptStatus,
    ComparisonAttempt,
    ImagePair,
    PairStatus,
    image_path,
)
from kyc.services.api_clients import create_api_key
from reviews.models import Decision, ReviewCase
from reviews.roles import bootstrap_roles
from vendors.models import VendorConfig

PASSWORD = "correct horse battery"
#: The thresholds each backend starts with (its data migration's table).
VENDOR_DEFAULTS = import_module("vendors.migrations.0002_default_configs").DEFAULTS
#: Face boxes as a vendor reports them, in pixels of each image.
FACE_BOXES = {
    "selfie": {"left": 10, "top": 12, "width": 30, "height": 36},
    "reference": {"left": 14, "top": 10, "width": 28, "height": 34},
}


class ModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Any:
        created_at = kwargs.pop("created_at", None)
        row = super()._create(model_class, *args, **kwargs)
        if created_at is not None:
            model_class.objects.filter(pk=row.pk).update(created_at=created_at)
            row.created_at = created_at
        return row


class ApiClientFactory(ModelFactory):
    class Meta:
        model = ApiClient

    name = factory.Sequence(lambda n: f"mobile-backend-{n}")


class ApplicantFactory(ModelFactory):
    class Meta:
        model = Applicant

    client = factory.SubFactory(ApiClientFactory)
    external_ref = factory.Sequence(lambda n: f"user-{n}")


class ImagePairFactory(ModelFactory):
    """A pair's facts without image files (`store_images` adds them)."""

    class Meta:
        model = ImagePair

    applicant = factory.SubFactory(ApplicantFactory)
    client = factory.SelfAttribute("applicant.client")
    selfie_sha256 = factory.Sequence(lambda n: hashlib.sha256(f"s{n}".encode()).hexdigest())
    selfie_size = 1000
    selfie_width = 640
    selfie_height = 800
    selfie_format = "JPEG"
    reference_sha256 = factory.Sequence(lambda n: hashlib.sha256(f"r{n}".encode()).hexdigest())
    reference_size = 1000
    reference_width = 640
    reference_height = 800
    reference_format = "JPEG"


def _band(attempt: Any) -> dict[str, Any]:
    band = {"approve_at": attempt.approve_at, "reject_below": attempt.reject_below}
    return {**band, "band": band}


class AttemptFactory(ModelFactory):
    class Meta:
        model = ComparisonAttempt

    class Params:
        approve_at = 70
        reject_below = 55
        #: What the pipeline records for a score that falls in the vendor's band (a failed call
        #: when `score=None`), with the band it was judged by.
        in_band = factory.Trait(
            score=62.0,
            status=factory.LazyAttribute(
                lambda o: AttemptStatus.COMPLETED if o.score is not None else AttemptStatus.FAILED
            ),
            verdict="review",
            verdict_reasons=["score_in_band"],
            thresholds=factory.LazyAttribute(_band),
            faces=FACE_BOXES,
            vendor_request_id="req-123",
            vendor_code="SUCCESS",
            latency_ms=420,
        )

    pair = factory.SubFactory(ImagePairFactory)
    vendor = "advance"
    number = factory.Sequence(lambda n: n + 1)


class ReviewCaseFactory(ModelFactory):
    class Meta:
        model = ReviewCase

    pair = factory.SubFactory(ImagePairFactory, status=PairStatus.NEEDS_REVIEW)
    due_at = factory.LazyFunction(
        lambda: timezone.now() + timedelta(hours=settings.KYC_REVIEW_SLA_HOURS)
    )


class UserFactory(ModelFactory):
    """`permissions=["app.codename", ...]` grants permissions; `role=` adds one of the groups
    `manage.py bootstrap_roles` creates."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def permissions(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        for dotted in extracted or ():
            app_label, codename = dotted.split(".")
            self.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )

    @factory.post_generation
    def role(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if extracted:
            bootstrap_roles()
            self.groups.add(Group.objects.get(name=extracted))


class DecisionFactory(ModelFactory):
    class Meta:
        model = Decision

    case = factory.SubFactory(ReviewCaseFactory)
    reviewer = factory.SubFactory(UserFactory)
    outcome = "approve"


class VendorConfigFactory(factory.django.DjangoModelFactory):
    """A backend's row. The data migration makes one per backend, so this returns that row as
    it is; only where a test flushed it is one made again, with the migration's thresholds."""

    class Meta:
        model = VendorConfig
        django_get_or_create = ("backend",)

    backend = "advance"

    @classmethod
    def _adjust_kwargs(cls, **kwargs: Any) -> dict[str, Any]:
        return {**VENDOR_DEFAULTS[kwargs["backend"]], **kwargs}


def client_with_key(**kwargs: Any) -> tuple[ApiClient, str]:
    client = ApiClientFactory(**kwargs)
    _, secret = create_api_key(client, Actor.system("test"))
    return client, secret


def jpeg(
    width: int = 64, height: int = 80, colour: tuple[int, int, int] = (180, 150, 130)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def store_images(pair: ImagePair, selfie: bytes | None = None, reference: bytes | None = None):
    """Save the two images as real (encrypted) files of a pair, with their sizes in pixels."""
    for which, data in (("selfie", selfie or jpeg()), ("reference", reference or jpeg())):
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
        getattr(pair, which).name = default_storage.save(image_path(None, which), ContentFile(data))
        setattr(pair, f"{which}_width", width)
        setattr(pair, f"{which}_height", height)
    pair.save()
    return pair
