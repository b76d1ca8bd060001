from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from kyc.api.contests import PairContestView
from kyc.api.views import ApplicantErasureView, ImagePairViewSet, api_not_found

router = SimpleRouter()
router.register("image-pairs", ImagePairViewSet, basename="image-pair")

urlpatterns = [
    *router.urls,
    path("image-pairs/<uuid:pair_id>/contest", PairContestView.as_view(), name="pair-contest"),
    # Any stored reference, "/" (sent as %2F) and line breaks included: references accepted
    # before their alphabet was enforced must stay erasable.
    re_path(
        r"^applicants/(?P<applicant_ref>[\s\S]+)/$",
        ApplicantErasureView.as_view(),
        name="applicant-erase",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # [\s\S], not ".": a path with an encoded line break (%0A) is still answered in JSON.
    re_path(r"^(?P<path>[\s\S]*)$", api_not_found),
]
