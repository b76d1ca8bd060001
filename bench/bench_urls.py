"""The production URLs plus two yardsticks for bench/ingest.py (never mounted in production)."""

from __future__ import annotations

from django.urls import path
from PIL import Image
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kyc.urls import urlpatterns as production_urlpatterns


class TrivialView(APIView):
    """What DRF costs with nothing to do."""

    authentication_classes: list = []
    permission_classes: list = []

    def post(self, request: Request) -> Response:
        request._request.body  # read the upload, as any endpoint must  # noqa: B018
        return Response({"ok": True})


class DecodeFloorView(APIView):
    """The unavoidable work: receive both uploads and fully decode them."""

    authentication_classes: list = []
    permission_classes: list = []
    parser_classes = [MultiPartParser]

    def post(self, request: Request) -> Response:
        sizes = []
        for name in ("selfie", "reference"):
            with Image.open(request.data[name]) as image:
                image.load()
                sizes.append(image.size)
        return Response({"sizes": sizes})


urlpatterns = [
    path("bench/trivial/", TrivialView.as_view()),
    path("bench/floor/", DecodeFloorView.as_view()),
    *production_urlpatterns,
]
