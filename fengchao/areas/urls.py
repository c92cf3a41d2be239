from django.urls import path

from .views import manage, pages

app_name = "areas"
urlpatterns = [
    path("", pages.browse, name="browse"),
    path("<int:pk>/", pages.detail, name="detail"),
    path("<int:pk>/qr/", pages.qr_sheet, name="qr_sheet"),
    path("<int:pk>/edit/", manage.edit, name="edit"),
    path("<int:pk>/add/", manage.add_child, name="add_child"),
    path("<int:pk>/move/", manage.move, name="move"),
    path("<int:pk>/boundary/", manage.boundary, name="boundary"),
    path("<int:pk>/duties/", manage.duties, name="duties"),
    path("<int:pk>/import/", manage.import_view, name="import"),
    path("locate/", pages.locate, name="locate"),
    path("boundaries/", pages.boundary_check, name="boundary_check"),
]
