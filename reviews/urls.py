"""Reviewer pages: /review/ (queue, case page, decisions, images)."""

from django.urls import path

from reviews.views import case, contests, faces, images, known_faces, queue

app_name = "reviews"
urlpatterns = [
    path("", queue.queue_page, name="queue"),
    path("senior/", queue.senior_queue_page, name="senior"),
    path("take-next/", queue.take_next, name="take_next"),
    path("images/<uuid:pair_id>/<str:which>/", images.pair_image, name="image"),
    path("<uuid:case_id>/", case.case_page, name="case"),
    path("<uuid:case_id>/faces/", faces.faces_fragment, name="faces"),
    path("<uuid:case_id>/claim/", case.claim, name="claim"),
    path("<uuid:case_id>/release/", case.release, name="release"),
    path("<uuid:case_id>/decide/", case.decide, name="decide"),
    path("<uuid:case_id>/skip/", case.skip, name="skip"),
    path("<uuid:case_id>/prepare-next/", case.prepare_next, name="prepare_next"),
    path("<uuid:case_id>/assign/", case.assign, name="assign"),
    path("<uuid:case_id>/statement/", contests.statement_page, name="contest_statement"),
    path("blocklist/", known_faces.blocklist_page, name="blocklist"),
    path(
        "blocklist/<int:entry_id>/request-removal/",
        known_faces.request_removal,
        name="blocklist_request_removal",
    ),
    path(
        "blocklist/<int:entry_id>/approve-removal/",
        known_faces.approve_removal,
        name="blocklist_approve_removal",
    ),
    path("<uuid:case_id>/blocklist/", known_faces.add_to_blocklist, name="blocklist_add"),
    path("filters/", queue.save_filter, name="save_filter"),
    path("filters/<int:saved_id>/delete/", queue.delete_filter, name="delete_filter"),
    path("<uuid:case_id>/second-opinion/", case.second_opinion, name="second_opinion"),
    path(
        "<uuid:case_id>/second-opinions/",
        case.second_opinions_fragment,
        name="second_opinions",
    ),
]

# Blind QA review of automatic decisions (issue 18; reviews.qa).
from reviews.qa import views as qa  # noqa: E402

urlpatterns += [
    path("qa/", qa.qa_queue, name="qa_queue"),
    path("qa/next/", qa.qa_next, name="qa_next"),
    path("qa/<uuid:item_id>/", qa.qa_item, name="qa_item"),
    path("qa/<uuid:item_id>/answer/", qa.qa_answer, name="qa_answer"),
]
