from django.urls import path

from . import views

app_name = "work"
urlpatterns = [
    path("", views.mine, name="mine"),
    path("a/<int:pk>/", views.assignment, name="assignment"),
    path("a/<int:pk>/submit", views.submit, name="submit"),
    path("a/<int:pk>/case", views.report_case, name="report_case"),
    path("a/<int:pk>/accept", views.accept, name="accept"),
    path("a/<int:pk>/return", views.return_, name="return"),
    path("a/<int:pk>/evidence/<slug:token>", views.evidence, name="evidence"),
    path("tasks/", views.tasks, name="tasks"),
    path("tasks/new/", views.new, name="new"),
    path("tasks/<int:pk>/", views.task, name="task"),
    path("tasks/<int:pk>/close", views.close, name="close"),
    path("tasks/<int:pk>/assignments.xlsx", views.export, name="export"),
    path("schedules/", views.schedules, name="schedules"),
    path("schedules/new/", views.new_schedule, name="new_schedule"),
    path("schedules/<int:pk>/pause", views.pause_schedule, name="pause_schedule"),
    path("schedules/<int:pk>/resume", views.resume_schedule, name="resume_schedule"),
]
