from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from kyc.api.views import ApplicantErasureView, ImagePairViewSet, api_not_found

router = SimpleRouter()
router.register("image-pairs", ImagePairViewSet, basename="image-pair")

urlpatterns = [
    *router.urls,
    path("applicants/<str:applicant_ref>/", ApplicantErasureView.as_view(), name="applicant-erase"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # [\s\S], not ".": a path with an encoded line break (%0A) is still answered in JSON.
    re_path(r"^(?P<path>[\s\S]*)$", api_not_found),
]
