from django.urls import path

from . import people_views

app_name = "people"
urlpatterns = [
    path("<int:user_id>/", people_views.member_detail, name="detail"),
]
