"""The composition root: admin, health, and (as apps arrive) the API and patient pages."""

from django.contrib import admin
from django.urls import path

from clinic import views

admin.site.site_header = "Cadence Clinic"
admin.site.site_title = "Cadence Clinic"
admin.site.index_title = "Run the clinic day"

urlpatterns = [
    path("health/", views.health, name="health"),
    path("admin/", admin.site.urls),
]
