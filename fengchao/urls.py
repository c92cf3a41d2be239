from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from fengchao.core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("api/", include("fengchao.api.urls")),
    path("areas/layers/", include("fengchao.departments.urls")),
    path("areas/", include("fengchao.areas.urls")),
    path("g/", include("fengchao.areas.public_urls")),
    path("people/", include("fengchao.accounts.people_urls")),
    path("cases/settings/", include("fengchao.cases.catalogue_urls")),
    path("cases/", include("fengchao.cases.urls")),
    path("notifications/", include("fengchao.notices.urls")),
    path("points/", include("fengchao.points.urls")),
    path("mall/", include("fengchao.mall.urls")),
    path("activities/", include("fengchao.activities.urls")),
    path("work/", include("fengchao.work.urls")),
    path("patrols/", include("fengchao.patrols.urls")),
    path("inspections/", include("fengchao.inspections.urls")),
    path("visits/", include("fengchao.visits.urls")),
    path("today/", include("fengchao.today.urls")),
    path("coverage/", include("fengchao.coverage.urls")),
    path("report-in/", include("fengchao.reportin.urls")),
    path("", include("fengchao.cases.public_urls")),
    path("m/", include("fengchao.cases.member_urls")),
    path("cases/figures/", include("fengchao.cases.figures_urls")),
    path("registry/excel/", include("fengchao.registry.excel.urls")),
    path("registry/", include("fengchao.registry.urls")),
    path("", include("fengchao.accounts.urls")),
]
