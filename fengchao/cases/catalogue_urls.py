"""The grid centre's settings for cases (mounted at /cases/settings/): categories and the work calendar."""

from django.urls import path
from django.views.generic import RedirectView

from .views import catalogue as views

app_name = "catalogue"
urlpatterns = [
    path("", RedirectView.as_view(pattern_name="catalogue:categories"), name="index"),
    path("categories/", views.category_list, name="categories"),
    path("categories/new/", views.category_create, name="category_create"),
    path("categories/<int:pk>/", views.category_edit, name="category_edit"),
    path("calendar/", views.calendar_page, name="calendar"),
    path("calendar/day/", views.calendar_day, name="calendar_day"),
    path("calendar/day/remove/", views.calendar_day_remove, name="calendar_day_remove"),
    path("calendar/hours/", views.working_hours, name="working_hours"),
]
