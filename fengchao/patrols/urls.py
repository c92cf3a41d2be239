"""The patrol pages, mounted at /patrols/: check in on patrol, my work log, coverage (staff), someone's log."""

from django.urls import path

from . import views

app_name = "patrols"

urlpatterns = [
    path("", views.home, name="home"),
    path("check-ins/<int:pk>/photo", views.check_in_photo, name="photo"),
    path("log/", views.log, name="log"),
    path("log/<int:pk>/edit/", views.edit_entry, name="edit_entry"),
    path("coverage/", views.coverage_page, name="coverage"),
    path("people/<int:user_id>/log/", views.person_log, name="person_log"),
]
