"""The inspection pages, mounted at /inspections/: my targets, inspecting one, an inspection and its re-inspection,
the coverage of an area (staff, with an .xlsx export), the rectification tracker, and item photos."""

from django.urls import path

from . import views

app_name = "inspections"

urlpatterns = [
    path("", views.home, name="home"),
    path("new/", views.new, name="new"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/reinspect/", views.reinspect, name="reinspect"),
    path("coverage/", views.coverage_page, name="coverage"),
    path("coverage.xlsx", views.coverage_export, name="coverage_export"),
    path("hazards/", views.hazards, name="hazards"),
    path("items/<int:pk>/photo", views.item_photo, name="photo"),
    path("items/<int:pk>/after-photo", views.item_after_photo, name="after_photo"),
]
