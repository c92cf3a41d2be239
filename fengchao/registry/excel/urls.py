from django.urls import path

from . import views

app_name = "registry_excel"
urlpatterns = [
    path("", views.imports, name="imports"),
    path("upload/", views.upload, name="upload"),
    path("imports/<int:pk>/", views.job, name="job"),
    path("templates/<str:entity>/", views.template, name="template"),
    path("export/<str:entity>/", views.export, name="export"),
    path("exports/<int:pk>/", views.export_job, name="export_job"),
    path("exports/<int:pk>/download/", views.download, name="download"),
]
