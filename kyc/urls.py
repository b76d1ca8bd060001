from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from reviews.views.home import home

urlpatterns = [
    path("", home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("kyc.api.urls")),
    path("review/", include("reviews.urls")),
    path("audit/", include("reviews.audit_urls")),
    path("", include("kyc.ops.urls")),
]
