from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Reviews and audit"

    def ready(self) -> None:
        from kyc.signals import pair_needs_review
        from reviews.services import on_pair_needs_review

        pair_needs_review.connect(on_pair_needs_review, dispatch_uid="reviews.open_case")
