"""Department grid layers (多网合一); the lead includes these at /areas/layers/."""

from django.urls import path

from . import views

app_name = "departments"
urlpatterns = [
    path("", views.layers, name="layers"),
    path("<int:layer_id>/", views.layer_detail, name="layer_detail"),
]
