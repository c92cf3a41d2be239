"""The activities pages, mounted at /activities/: the list, one activity (sign-up, the organiser's sheet),
the check-in QR screen, the check-in page the QR code opens, and the publish form."""

from django.urls import path

from . import views

app_name = "activities"

urlpatterns = [
    path("", views.home, name="home"),
    path("new/", views.new, name="new"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/signup", views.sign_up, name="sign_up"),
    path("<int:pk>/cancel-signup", views.cancel_signup, name="cancel_signup"),
    path("<int:pk>/cancel", views.cancel_activity, name="cancel"),
    path("<int:pk>/attendance", views.mark, name="mark"),
    path("<int:pk>/attendance.xlsx", views.sheet_xlsx, name="sheet_xlsx"),
    path("<int:pk>/qr/", views.qr, name="qr"),
    path("<int:pk>/check-in/", views.check_in, name="check_in"),
    path("<int:pk>/minutes/", views.minutes, name="minutes"),
    path("<int:pk>/minutes/follow-ups", views.minutes_follow_up, name="minutes_follow_up"),
    path("<int:pk>/minutes/follow-ups/<int:follow_up_pk>", views.minutes_follow_up_edit, name="minutes_follow_up_edit"),
    path("<int:pk>/minutes/publish", views.minutes_publish, name="minutes_publish"),
]
