"""Forms for the registry: accounts (security and owner variants), teams, spreadsheet import."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator

from accounts.limits import CHANGE_REASON_MAX, MaxCharsValidator, max_upload_bytes, size_text
from accounts.models import REGION_RE, AwsAccount, Team
from core.params import BoundedModelMultipleChoiceField

# The AWS console shows IDs as 1234-5678-9012; people paste that.
DASHED_ACCOUNT_ID_RE = re.compile(r"^\d{4}-\d{4}-\d{4}$")
REGION_SPLIT_RE = re.compile(r"[\s,;]+")


def normalise_account_id(value: str) -> str:
    """Trim, and accept the console's dashed form; anything else is left for the validator to judge."""
    value = (value or "").strip()
    if DASHED_ACCOUNT_ID_RE.match(value):
        return value.replace("-", "")
    return value


def parse_regions(text: str) -> tuple[list[str], list[str]]:
    """Split a comma/space separated region list: (regions in order without repeats, bad names)."""
    regions: list[str] = []
    bad: list[str] = []
    for part in REGION_SPLIT_RE.split(text or ""):
        name = part.strip().lower()
        if not name:
            continue
        if not REGION_RE.match(name):
            bad.append(part.strip())
        elif name not in regions:
            regions.append(name)
    return regions, bad


class RegionListField(forms.CharField):
    """Regions typed as text ("eu-west-1, eu-central-1"), stored as a list."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 2000)
        kwargs.setdefault(
            "help_text",
            "Comma or space separated, e.g. eu-west-1, eu-central-1. Empty: every enabled region.",
        )
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(map(str, value))
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if isinstance(value, list | tuple):
            value = ", ".join(map(str, value))
        text = super().to_python(value)
        regions, bad = parse_regions(text or "")
        if bad:
            shown = ", ".join(repr(b[:40]) for b in bad[:5])
            raise forms.ValidationError(
                f"Not region names: {shown}. A region looks like eu-west-1 or us-gov-east-1.", code="invalid"
            )
        return regions

    def run_validators(self, value: Any) -> None:
        # The max_length validator measures text; check the list as the text it came from.
        super().run_validators(", ".join(value) if isinstance(value, list) else value)

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != list(initial or [])
        except forms.ValidationError:
            return True


def bound_text_fields(form: forms.BaseForm) -> None:
    """Give every bounded text field of ``form`` the one "at most N characters" message.

    Django's own check says "Ensure this value has at most 2000 characters (it has 40000)."; ours
    names the field and formats the numbers ("Description is at most 2,000 characters (you entered
    40,000)."). The browser's maxlength attribute stays, but the server decides.
    """
    for name, field in form.fields.items():
        limit = getattr(field, "max_length", None)
        if not isinstance(field, forms.CharField) or not limit:
            continue
        label = str(field.label or name.replace("_", " ").capitalize())
        field.validators = [v for v in field.validators if not isinstance(v, MaxLengthValidator)]
        field.validators.append(MaxCharsValidator(limit, label))


class BoundedTextMixin:
    """Forms whose text fields report over-long input with :func:`bound_text_fields`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bound_text_fields(self)  # type: ignore[arg-type]


class ChangeReasonMixin(BoundedTextMixin, forms.Form):
    """An optional "why" that goes into the history next to the change."""

    change_reason = forms.CharField(
        label="Reason for the change",
        required=False,
        max_length=CHANGE_REASON_MAX,
        help_text="Optional; shown in the history.",
    )


# Who edits what. The security team edits everything a person may edit. An owner edits only the
# descriptive records of their own accounts: description, contact and notes. They cannot change the
# account ID, name, environment, owner, status, how Skyledger reaches the account (read role,
# ExternalId, collection switch), the regions it is expected to use or the regions not collected:
# those decide what the security team sees and who is accountable, so a team cannot hand an account
# away, hide a region or the whole account from collection and the checks, make its resources look
# expected, or point Skyledger at another role. An owner's POST that changes any of them is refused
# (403, see accounts.views.account_edit). Discovery-owned fields (AWS email, joined date, SCPs) are
# edited by nobody.
SECURITY_FIELDS = [
    "account_id",
    "name",
    "description",
    "environment",
    "owner",
    "contact_email",
    "org_unit",
    "status",
    "read_role",
    "external_id",
    "allowed_regions",
    "collection_enabled",
    "collection_excluded_regions",
    "notes",
]
OWNER_FIELDS = ["description", "contact_email", "notes"]
SECURITY_ONLY_FIELDS = [f for f in SECURITY_FIELDS if f not in OWNER_FIELDS]


class AwsAccountForm(ChangeReasonMixin, forms.ModelForm):
    """Every editable field: for the security team."""

    # Wider than the model's 12 so the console's dashed form (14 characters) reaches clean_account_id.
    account_id = forms.CharField(
        label="Account ID",
        max_length=20,
        help_text="The 12-digit AWS account ID (1234-5678-9012 works too).",
        error_messages={"unique": "This account ID is already in the registry."},
    )
    allowed_regions = RegionListField(
        label="Allowed regions",
        help_text="Regions this account is expected to use, comma or space separated. Empty: the estate "
        "default (SKYLEDGER_ALLOWED_REGIONS). Every region is still collected; resources elsewhere are "
        "reported as unexpected.",
    )
    collection_excluded_regions = RegionListField(
        label="Regions not collected",
        help_text="Regions Skyledger does not look at in this account (cost), comma or space separated. "
        "Nothing there is seen or checked; every page about the account says so. Usually empty.",
    )

    class Meta:
        model = AwsAccount
        fields = SECURITY_FIELDS
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def clean_account_id(self) -> str:
        # The model's 12-digit validator runs after this (in _post_clean), on the normalised value.
        return normalise_account_id(self.cleaned_data.get("account_id", ""))

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        # the security team chose the environment: it is no longer a guess from the name
        if "environment" in self.changed_data or self.instance.pk is None:
            self.instance.environment_guessed = False
        return cleaned


class OwnerAccountForm(ChangeReasonMixin, forms.ModelForm):
    """The fields an account's owning team may edit (see the comment above SECURITY_FIELDS)."""

    class Meta:
        model = AwsAccount
        fields = OWNER_FIELDS
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }


class TeamForm(ChangeReasonMixin, forms.ModelForm):
    """A team and its members (security team only)."""

    members = BoundedModelMultipleChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="Members may edit the descriptive records of the team's accounts.",
    )

    class Meta:
        model = Team
        fields = ["name", "contact_email", "description", "members"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        error_messages = {"name": {"unique": "A team with this name already exists."}}

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data.get("name", "").split())
        if not name:
            raise forms.ValidationError("A team needs a name.")
        clash = Team.objects.filter(name__iexact=name).exclude(pk=self.instance.pk).first()
        if clash:
            raise forms.ValidationError(f"A team called {clash.name!r} already exists (names ignore case).")
        return name


class ImportUploadForm(forms.Form):
    """Step one of an import: the file."""

    file = forms.FileField(
        label="Spreadsheet",
        help_text="CSV (UTF-8) or XLSX. Columns: account ID and name, and optionally "
        "description, owner, environment, email, role and the other registry columns.",
    )

    def __init__(
        self, *args: Any, refused_size: int | None = None, refused: bool = False, **kwargs: Any
    ) -> None:
        """``refused``: the upload handler stopped receiving the file at the size bound
        (``refused_size``: the request's declared size, if known)."""
        super().__init__(*args, **kwargs)
        if refused:
            limit = max_upload_bytes()
            about = (
                f" (the upload was {size_text(refused_size)})"
                if refused_size and refused_size > limit
                else ""
            )
            self.fields["file"].error_messages["required"] = (
                f"The file is larger than {size_text(limit)}{about}; an import takes at most "
                f"{size_text(limit)}. Split it into smaller files."
            )
        self.fields["file"].help_text = (
            f"CSV (UTF-8) or XLSX, up to {size_text(max_upload_bytes())}. Columns: account ID and name, "
            "and optionally description, owner, environment, email, role and the other registry columns."
        )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = max_upload_bytes()
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {size_text(upload.size)}; an import takes at most {size_text(limit)}. "
                "Split it into smaller files."
            )
        if upload.size == 0:
            raise forms.ValidationError("The file is empty.")
        return upload


class ImportConfirmForm(forms.Form):
    """Step two: commit what the preview showed."""

    token = forms.CharField(widget=forms.HiddenInput, max_length=64)
    create_teams = forms.BooleanField(required=False, label="Create these teams")
    skip_rejected = forms.BooleanField(required=False, label="Skip the rejected rows and import the rest")


class LoginForm(AuthenticationForm):
    """Django's login form, with the user name's length checked before anyone is authenticated.

    Django's form only sets the length on the widget; a longer name went on to the failed-login
    record (django-axes, 255 characters at most), which PostgreSQL refused: a server error.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["username"]
        assert isinstance(field, forms.CharField)
        if field.max_length:
            field.validators.append(MaxLengthValidator(field.max_length))
