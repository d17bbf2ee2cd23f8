"""Console pages about the tenant's members (apps/console/members/views.py)."""

from __future__ import annotations

from django.urls import URLPattern, path

from apps.console.members import views

urlpatterns: list[URLPattern] = [
    path("members/", views.member_list, name="members"),
    path("members/add", views.member_add, name="member-add"),
    path("members/<int:user_id>/role", views.member_role, name="member-role"),
    path("members/<int:user_id>/password", views.member_password, name="member-password"),
    path("members/<int:user_id>/remove", views.member_remove, name="member-remove"),
]
