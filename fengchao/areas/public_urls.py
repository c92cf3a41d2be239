from django.urls import path

from .views import public

app_name = "public"
urlpatterns = [
    path("<str:code>/", public.grid_page, name="grid"),
    path("<str:code>/call/<int:assignment_id>/", public.call, name="call"),
    path("<str:code>/qr.svg", public.qr_svg, name="qr_svg"),
]
