"""The points pages, mounted at /points/: a person's own points and record; staff rules, approvals, people,
report; the public listing board."""

from django.urls import path

from .views import approvals, member, people, report, rules

app_name = "points"

urlpatterns = [
    path("", member.mine, name="mine"),
    path("record/", member.my_record, name="my_record"),
    path("record.xlsx", member.my_record_xlsx, name="my_record_xlsx"),
    path("listing/", approvals.listing, name="listing"),
    path("approvals/", approvals.approvals, name="approvals"),
    path("approvals/approve", approvals.approve_selected, name="approve_selected"),
    path("claims/<int:pk>/approve", approvals.approve, name="approve"),
    path("claims/<int:pk>/reject", approvals.reject, name="reject"),
    path("rules/", rules.rule_list, name="rules"),
    path("rules/new/", rules.rule_create, name="rule_create"),
    path("rules/<int:pk>/", rules.rule_edit, name="rule_edit"),
    path("people/", people.people, name="people"),
    path("people/<int:pk>/", people.person, name="person"),
    path("people/<int:pk>/adjust", people.adjust, name="adjust"),
    path("people/<int:pk>/record/", people.person_record, name="person_record"),
    path("people/<int:pk>/record.xlsx", people.person_record_xlsx, name="person_record_xlsx"),
    path("report/", report.report, name="report"),
]
