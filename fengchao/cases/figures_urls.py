"""The figures pages, mounted at /cases/figures/."""

from django.urls import path

from .views import figures

app_name = "cases_figures"
urlpatterns = [
    path("", figures.figures_home, name="home"),
    path("area/<int:pk>/", figures.area_figures, name="area"),
    path("area/<int:pk>/figures.xlsx", figures.area_figures_export, name="area_export"),
    path("departments/", figures.departments, name="departments"),
    path("department/<int:pk>/", figures.department_figures, name="department"),
]
