"""The composition root: admin, health, and (as apps arrive) the API and patient pages."""

from django.contrib import admin
from django.urls import path

from clinic import views
from scheduling import views as patient_views

admin.site.site_header = "Cadence Clinic"
admin.site.site_title = "Cadence Clinic"
admin.site.index_title = "Run the clinic day"

urlpatterns = [
    path("health/", views.health, name="health"),
    path("admin/", admin.site.urls),
    path("p/confirm/<str:token>/", patient_views.confirm, name="patient-confirm"),
    path("p/cancel/<str:token>/", patient_views.cancel, name="patient-cancel"),
    path("p/unsubscribe/<str:token>/", views.unsubscribe, name="patient-unsubscribe"),
]
