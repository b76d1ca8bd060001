from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "kyc.access"
    label = "access"
    verbose_name = "Staff access"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from kyc.access import receivers, sessions

        user_logged_in.connect(sessions.on_signed_in, dispatch_uid="access.session_started")
        user_logged_out.connect(sessions.on_signed_out, dispatch_uid="access.session_ended")
        receivers.connect()
