from __future__ import annotations

import hashlib
from typing import Any

import factory
from django.contrib.auth import get_user_model

from kyc.audit.chain import Actor
from kyc.models import ApiClient, Applicant, ComparisonAttempt, ImagePair
from kyc.services.api_clients import create_api_key


class ApiClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApiClient

    name = factory.Sequence(lambda n: f"mobile-backend-{n}")


class ApplicantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Applicant

    client = factory.SubFactory(ApiClientFactory)
    external_ref = factory.Sequence(lambda n: f"user-{n}")


class ImagePairFactory(factory.django.DjangoModelFactory):
    """A pair's facts without image files (tests that need files submit through the service)."""

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


class AttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ComparisonAttempt

    pair = factory.SubFactory(ImagePairFactory)
    vendor = "advance"
    number = factory.Sequence(lambda n: n + 1)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")


def client_with_key(**kwargs: Any) -> tuple[ApiClient, str]:
    client = ApiClientFactory(**kwargs)
    _, secret = create_api_key(client, Actor.system("test"))
    return client, secret
