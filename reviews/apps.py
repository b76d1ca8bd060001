from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Reviews"

    def ready(self) -> None:
        # The two ways up from kyc (DESIGN §3): the signal that opens a case, and the queue's
        # figures on kyc's /metrics.
        from django.db.models.signals import post_delete, post_save

        from kyc.ops.metrics import register_collector
        from kyc.signals import (
            pair_contested,
            pair_decided,
            pair_images_purged,
            pair_needs_review,
            pair_review_reasons_added,
        )
        from reviews.contests import on_pair_contested
        from reviews.drift.metrics import ScoreDriftCollector
        from reviews.face_crops import forget_faces
        from reviews.models import QaSamplingRule
        from reviews.qa.sampling import forget_rules, on_pair_decided
        from reviews.reporting.metrics import ReviewQueueCollector
        from reviews.services import on_pair_needs_review, on_pair_review_reasons_added

        pair_needs_review.connect(on_pair_needs_review, dispatch_uid="reviews.open_case")
        # A known-face match arriving while the pair is in review joins its open case.
        pair_review_reasons_added.connect(
            on_pair_review_reasons_added, dispatch_uid="reviews.add_case_reasons"
        )
        pair_contested.connect(on_pair_contested, dispatch_uid="reviews.open_contest_case")
        register_collector(ReviewQueueCollector())
        # Automatic decisions drawn for blind QA, after they were sent (reviews.qa.sampling).
        pair_decided.connect(on_pair_decided, dispatch_uid="reviews.qa_sample")
        for changed in (post_save, post_delete):  # the draw's copy of the rules is read again
            changed.connect(forget_rules, sender=QaSamplingRule, dispatch_uid="reviews.qa_rules")
        register_collector(ScoreDriftCollector())
        # Crops prepared for the next case are derived from its photos: they go when those do.
        pair_images_purged.connect(forget_faces, dispatch_uid="reviews.forget_face_crops")
