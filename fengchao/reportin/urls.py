"""The report-in pages, mounted at /report-in/: report this month, the status of a community (staff)."""

from django.urls import path

from . import views

app_name = "reportin"

urlpatterns = [
    path("", views.home, name="home"),
    path("status/", views.status_page, name="status"),
    path("status.xlsx", views.status_xlsx, name="status_xlsx"),
    path("units/<int:organisation_id>/record/", views.record_unit, name="record_unit"),
]
