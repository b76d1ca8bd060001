"""Reviewer pages: /review/ (queue, case page, decisions, images)."""


app_name = "reviews"
urlpatterns: list = []
