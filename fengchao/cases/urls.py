from django.urls import path

from .views import case, inbox, intake

app_name = "cases"
urlpatterns = [
    path("", inbox.case_list, name="list"),
    path("export.xlsx", inbox.case_export, name="export"),
    path("new/", intake.case_new, name="new"),
    path("new/areas", intake.intake_areas, name="intake_areas"),
    path("new/duplicates", intake.intake_duplicates, name="intake_duplicates"),
    path("new/suggest", intake.intake_suggest, name="intake_suggest"),
    path("<int:pk>/", case.case_detail, name="detail"),
    path("<int:pk>/act/<slug:action>/", case.case_action, name="act"),
    path("<int:pk>/photo/<slug:token>", case.case_photo, name="photo"),
]
