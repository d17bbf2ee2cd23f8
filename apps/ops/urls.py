from django.urls import path

from apps.ops import views

# Answered by ProbeMiddleware before routing; listed here too so that they resolve and reverse like any page.
urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
]
