"""Single sign-on's two addresses: where it starts, and where the provider sends the browser
back (register `<site>/accounts/sso/callback/` as the redirect URI at the provider)."""

from django.urls import path

from kyc.access.oidc import SsoCallbackView, SsoStartView

urlpatterns = [
    path("start/", SsoStartView.as_view(), name="sso_start"),
    path("callback/", SsoCallbackView.as_view(), name="sso_callback"),
]
