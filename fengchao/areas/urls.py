# Area pages; filled in by the area UI work.
from django.urls import path

from fengchao.accounts.views import home_view

app_name = "areas"
urlpatterns = [
    path("", home_view, name="browse"),
    path("<int:pk>/", home_view, name="detail"),
    path("locate/", home_view, name="locate"),
    path("layers/", home_view, name="layers"),
    path("boundaries/", home_view, name="boundary_check"),
]
