"""The resident's pages, mounted at the site root: /report/… to report, /track/… to follow a case."""

from django.urls import path

from .views import public

app_name = "cases_public"
urlpatterns = [
    path("report/", public.report_map, name="report_map"),
    path("report/locate", public.locate, name="locate"),
    path("report/suggest", public.suggest, name="suggest"),
    path("report/duplicates", public.duplicates, name="duplicates"),
    path("report/done/<str:code>/", public.reported, name="reported"),
    path("report/<str:code>/", public.report, name="report"),
    path("track/", public.track_lookup, name="track_lookup"),
    path("track/<str:code>/", public.track, name="track"),
    path("track/<str:code>/rate", public.track_rate, name="track_rate"),
    path("track/<str:code>/check", public.track_check, name="track_check"),
    path("track/<str:code>/photo/<str:token>", public.track_photo, name="track_photo"),
]
