"""Inventory forms: the resource filter form's own rules, a text input with suggestions, and the
filters of the network map and of the exposed list."""

from __future__ import annotations

import functools
from typing import Any

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from accounts.choices import Environment
from accounts.models import AwsAccount
from core.params import BoundedModelChoiceField, int_param
from inventory.exposure.results import VECTORS
from inventory.records import GLOBAL_REGION
from inventory.services import exposure as service


@functools.cache
def known_regions() -> tuple[str, ...]:
    """Region names botocore knows (its bundled endpoint data, no network) plus ``global``."""
    try:
        import boto3

        names = set(boto3.session.Session().get_available_regions("ec2"))
    except Exception:  # noqa: BLE001  (suggestions only: an odd botocore must not break the page)
        names = set()
    return (GLOBAL_REGION, *sorted(names))


class SuggestInput(forms.TextInput):
    """A text input with a ``<datalist>`` of suggestions: any value may be typed, known ones offered."""

    def __init__(self, options: Any = (), attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.options = options

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        list_id = f"{(attrs or {}).get('id') or name}-options"
        attrs = {**(attrs or {}), "list": list_id, "autocomplete": "off"}
        options = self.options() if callable(self.options) else self.options
        return format_html(
            '{}<datalist id="{}">{}</datalist>',
            super().render(name, value, attrs, renderer),
            list_id,
            format_html_join("", '<option value="{}">', ((option,) for option in options)),
        )


class ResourceFilterForm(forms.Form):
    """The resource filters' cross-field rules (the fields come from the filterset)."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("tag_value") and not cleaned.get("tag_key"):
            self.add_error("tag_value", "Give the tag key too (a value alone matches nothing in particular).")
        return cleaned


TAG_MAX_LENGTH = 256


class AccountChoiceField(BoundedModelChoiceField):
    """Accounts shown as ``name (123456789012)``; an id no account can have is an invalid choice."""

    def label_from_instance(self, obj: Any) -> str:
        return service.account_label(obj.name, obj.account_id)


class MapFilterForm(forms.Form):
    """The map's filters. Region and VPC choices depend on the chosen account (the page reloads)."""

    environment = forms.ChoiceField(choices=[("", "Any"), *Environment.choices], required=False)
    account = AccountChoiceField(
        queryset=AwsAccount.objects.order_by("name", "account_id"), required=False, empty_label="Choose…"
    )
    region = forms.ChoiceField(required=False, choices=[("", "Busiest")])
    vpc = forms.ChoiceField(required=False, label="VPC", choices=[("", "All VPCs")])
    tag_key = forms.CharField(required=False, max_length=TAG_MAX_LENGTH, label="Tag key")
    tag_value = forms.CharField(required=False, max_length=TAG_MAX_LENGTH, label="Tag value")
    exposed = forms.BooleanField(required=False, label="Exposed only")

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(data, *args, **kwargs)
        raw = data or {}
        environment = raw.get("environment", "")
        field = self.fields["account"]
        assert isinstance(field, forms.ModelChoiceField)
        if environment in Environment.values:
            field.queryset = field.queryset.filter(environment=environment)  # type: ignore[union-attr]
        self.regions: list[str] = []
        self.vpcs: list[tuple[str, str]] = []
        account_pk = positive_id(raw.get("account"))
        if account_pk is not None:
            self.regions = service.network_regions(account_pk)
            self.fields["region"].choices = [("", "Busiest"), *((r, r) for r in self.regions)]  # type: ignore[attr-defined]
            region = raw.get("region") if raw.get("region") in self.regions else ""
            region = region or (self.regions[0] if self.regions else "")
            if region:
                self.vpcs = service.vpcs_in(account_pk, region)
                self.fields["vpc"].choices = [("", "All VPCs"), *self.vpcs]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("tag_value") and not cleaned.get("tag_key"):
            self.add_error("tag_value", "Give the tag key too.")
        return cleaned

    def map_filters(self) -> service.MapFilters | None:
        """The filters of a valid form with an account (the busiest region when none was chosen)."""
        if not self.is_valid() or self.cleaned_data.get("account") is None:
            return None
        region = self.cleaned_data.get("region") or (self.regions[0] if self.regions else "")
        if not region:
            return None
        return service.MapFilters(
            region=region,
            vpc_id=self.cleaned_data.get("vpc") or "",
            tag_key=(self.cleaned_data.get("tag_key") or "").strip(),
            tag_value=(self.cleaned_data.get("tag_value") or "").strip(),
            exposed_only=bool(self.cleaned_data.get("exposed")),
        )


def positive_id(value: Any) -> int | None:
    """A positive id within the database's range, else None."""
    return int_param(value, None, minimum=1)


class ExposedFilterForm(forms.Form):
    """Filters of the exposed list: account, environment, way in, region, port."""

    account = AccountChoiceField(
        queryset=AwsAccount.objects.order_by("name", "account_id"), required=False, empty_label="Any"
    )
    environment = forms.MultipleChoiceField(
        choices=Environment.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    vector = forms.MultipleChoiceField(
        choices=list(VECTORS.items()),
        required=False,
        label="Way in",
        widget=forms.CheckboxSelectMultiple,
    )
    region = forms.CharField(
        required=False, max_length=32, widget=forms.TextInput(attrs={"placeholder": "any"})
    )
    port = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=65535,
        help_text="TCP or UDP port (network ways in only)",
        widget=forms.NumberInput(attrs={"placeholder": "any"}),
    )
