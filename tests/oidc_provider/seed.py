"""Rows of the provider, written by the fixture in the provider's own process:

    python -m tests.oidc_provider.seed client CLIENT_ID SECRET REDIRECT_URI POST_LOGOUT_URI
    python -m tests.oidc_provider.seed user USERNAME PASSWORD EMAIL [GROUP ...]  (made or reset)
    python -m tests.oidc_provider.seed email USERNAME EMAIL
    python -m tests.oidc_provider.seed groups USERNAME [GROUP ...]

Each prints the user's subject (`sub`: its primary key) or the client id.
"""

from __future__ import annotations

import os
import sys


def main(command: str, *args: str) -> str:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.oidc_provider.settings")
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from oauth2_provider.models import Application

    if command == "client":
        client_id, secret, redirect_uri, post_logout_uri = args
        Application.objects.create(
            name="KYC face review",
            client_id=client_id,
            client_secret=secret,
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=redirect_uri,
            post_logout_redirect_uris=post_logout_uri,
            algorithm=Application.RS256_ALGORITHM,
        )
        return client_id
    if command == "user":
        # The provider lives for the whole session: a test starts its user afresh.
        username, password, email, *groups = args
        user, _ = User.objects.get_or_create(username=username)
        user.email = email
        user.set_password(password)
        user.save()
    else:
        user = User.objects.get(username=args[0])
    if command == "email":
        user.email = args[1]
        user.save(update_fields=["email"])
    if command in ("user", "groups"):
        names = groups if command == "user" else list(args[1:])
        user.groups.set([Group.objects.get_or_create(name=name)[0] for name in names])
    return str(user.pk)


if __name__ == "__main__":
    print(main(*sys.argv[1:]))
