"""The micro-grid member's phone pages, mounted at /m/."""

from django.urls import path

from .views import member

app_name = "cases_member"
urlpatterns = [
    path("", member.home, name="home"),
    path("report/", member.report, name="report"),
    path("cases/<int:pk>/", member.case_page, name="case"),
    path("cases/<int:pk>/act/<str:action>", member.act, name="act"),
    path("cases/<int:pk>/photo/<str:token>", member.case_photo, name="photo"),
]
