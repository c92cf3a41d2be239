"""The care-visit pages, mounted at /visits/: who is due (members), recording a visit, a visit, a resident's
visits; for staff the overview per area, the overdue list and their .xlsx exports; the plans (district)."""

from django.urls import path

from . import views

app_name = "visits"

urlpatterns = [
    path("", views.home, name="home"),
    path("new/", views.new, name="new"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/photo", views.photo, name="photo"),
    path("residents/<int:pk>/", views.resident, name="resident"),
    path("overview/", views.overview, name="overview"),
    path("overview/export.xlsx", views.overview_export, name="overview_export"),
    path("overdue/", views.overdue, name="overdue"),
    path("overdue/export.xlsx", views.overdue_export, name="overdue_export"),
    path("plans/", views.plans, name="plans"),
]
