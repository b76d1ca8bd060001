"""The project's URLs. The staff pages of the reviews app are included by name (DESIGN §3: kyc
imports nothing from reviews)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from kyc.access.oidc import StaffLogoutView
from kyc.api.views import api_not_found

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", StaffLogoutView.as_view(), name="logout"),
    path("accounts/sso/", include("kyc.access.sso_urls")),
    path("accounts/", include("kyc.access.urls")),
    # One sign-in page for everyone: the admin's own would skip nothing (the second factor is
    # asked for on every path), but two forms to keep in step is one too many.
    path(
        "admin/login/",
        RedirectView.as_view(pattern_name="login", query_string=True, permanent=False),
    ),
    path("admin/", admin.site.urls),
    path("api/v1/", include("kyc.api.urls")),
    re_path(r"^api/(?P<path>[\s\S]*)$", api_not_found),  # other versions: JSON errors too
    path("", include("kyc.ops.urls")),
    path("", include("reviews.site_urls")),
]

handler400 = "kyc.error_pages.bad_request"
handler403 = "kyc.error_pages.permission_denied"
handler404 = "kyc.error_pages.page_not_found"
handler500 = "kyc.error_pages.server_error"
