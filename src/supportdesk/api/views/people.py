"""Organizations and people (staff), and the caller themselves."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from supportdesk.accounts.models import Role, User, normalize_email
from supportdesk.accounts.services import user_role_change
from supportdesk.api.pagination import Cursor
from supportdesk.api.permissions import HasScope, StaffOnly
from supportdesk.api.serializers import (
    ContactSerializer,
    MeSerializer,
    OrganizationSerializer,
    RoleChangeSerializer,
)
from supportdesk.api.views.base import ApiView, django_request
from supportdesk.organizations.models import Organization


class ByName(Cursor):
    ordering = ("name",)


class ById(Cursor):
    ordering = ("id",)


class Me(ApiView):
    permission_classes = [HasScope]

    @extend_schema(
        operation_id="me_read",
        summary="Who you are",
        description="The signed-in user or the token's user, and the token's scopes.",
        responses=MeSerializer,
    )
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(self.user, context={"token": request.auth}).data)


class OrganizationList(ApiView):
    permission_classes = [StaffOnly]
    pagination_class = ByName

    @extend_schema(
        operation_id="organizations_list",
        summary="Customer organizations (staff)",
        responses=OrganizationSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            Organization.objects.prefetch_related("email_domains"), request, view=self
        )
        return paginator.get_paginated_response(OrganizationSerializer(page, many=True).data)


class OrganizationDetail(ApiView):
    permission_classes = [StaffOnly]

    @extend_schema(
        operation_id="organizations_read",
        summary="One organization (staff)",
        responses=OrganizationSerializer,
    )
    def get(self, request: Request, slug: str) -> Response:
        organization = get_object_or_404(
            Organization.objects.prefetch_related("email_domains"), slug=slug
        )
        return Response(OrganizationSerializer(organization).data)


class UserFilterSerializer(serializers.Serializer[Any]):
    organization = serializers.SlugField(required=False)
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    email = serializers.EmailField(required=False)


def people() -> QuerySet[User]:
    return User.objects.select_related("organization", "integration")


class UserList(ApiView):
    permission_classes = [StaffOnly]
    pagination_class = ById

    @extend_schema(
        operation_id="users_list",
        summary="Contacts and staff (staff)",
        parameters=[UserFilterSerializer],
        responses=ContactSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = UserFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        users = people()
        params = filters.validated_data
        if params.get("organization"):
            users = users.filter(organization__slug=params["organization"])
        if params.get("role"):
            users = users.filter(role=params["role"])
        if params.get("email"):
            users = users.filter(email=normalize_email(params["email"]))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(users, request, view=self)
        return paginator.get_paginated_response(ContactSerializer(page, many=True).data)


class UserDetail(ApiView):
    permission_classes = [StaffOnly]

    @property
    def admin_scope(self) -> bool:  # type: ignore[override]
        return self.request.method == "PATCH"

    @extend_schema(
        operation_id="users_read", summary="One person (staff)", responses=ContactSerializer
    )
    def get(self, request: Request, user_id: int) -> Response:
        return Response(ContactSerializer(get_object_or_404(people(), pk=user_id)).data)

    @extend_schema(
        operation_id="users_role_change",
        summary="Change someone's role (leads; admin scope)",
        description="Contact ↔ org admin, or agent ↔ lead ↔ internal teammate. Recorded in the "
        "audit log.",
        request=RoleChangeSerializer,
        responses={200: ContactSerializer},
    )
    def patch(self, request: Request, user_id: int) -> Response:
        person = get_object_or_404(people(), pk=user_id)
        serializer = RoleChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user_role_change(
            actor=self.user,
            user=person,
            role=serializer.validated_data["role"],
            request=django_request(request),
        )
        return Response(ContactSerializer(get_object_or_404(people(), pk=user_id)).data)
