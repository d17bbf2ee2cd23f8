from django.urls import path

from apps.ops import metrics, views

# Answered by ProbeMiddleware (apps/ops/middleware.py) before routing; listed here too so that they resolve and
# reverse like any page.
urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
]
