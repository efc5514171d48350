"""factory_boy factories for the shared models. Other apps' tests import these.

``UserFactory`` users log in with ``DEFAULT_PASSWORD`` (fast hashing in test settings);
``UserFactory(security=True)`` puts the user in the security group; ``UserFactory(teams=[team])``
makes them a member (an owner of that team's accounts).
"""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from accounts.choices import AccountStatus, Environment
from accounts.models import AwsAccount, Team
from accounts.permissions import SECURITY_GROUP

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    """A user. ``security=True`` adds the security group; ``teams=[...]`` adds team memberships."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password(DEFAULT_PASSWORD)
    is_active = True

    @factory.post_generation
    def security(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            group, _ = Group.objects.get_or_create(name=SECURITY_GROUP)
            self.groups.add(group)

    @factory.post_generation
    def teams(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            for team in extracted:
                team.members.add(self)


class TeamFactory(factory.django.DjangoModelFactory):
    """A team; ``members=[user, ...]`` adds members."""

    class Meta:
        model = Team
        django_get_or_create = ("name",)
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Team {n}")
    contact_email = factory.LazyAttribute(lambda t: f"{t.name.lower().replace(' ', '-')}@example.com")

    @factory.post_generation
    def members(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            self.members.add(*extracted)


class AwsAccountFactory(factory.django.DjangoModelFactory):
    """A registered account with a unique 12-digit ID, owned by a new team unless ``owner`` is given."""

    class Meta:
        model = AwsAccount
        django_get_or_create = ("account_id",)

    account_id = factory.Sequence(lambda n: f"{100000000000 + n:012d}")
    name = factory.Sequence(lambda n: f"account-{n}")
    description = ""
    environment = Environment.DEV
    owner = factory.SubFactory(TeamFactory)
    status = AccountStatus.ACTIVE
