"""Inventory tables and the paginator that keeps the resource list cheap at a million rows.

Why not Django's ``Paginator``: it runs ``COUNT(*)`` over the whole filtered set on every page,
which on PostgreSQL means visiting every matching row (a million of them for the unfiltered list).
:class:`CappedPaginator` counts at most ``cap + 1`` rows (``SELECT COUNT(*) FROM (SELECT id ...
LIMIT 10001)``): below the cap the total is exact ("1–50 of 342"), above it the page says "10,000+"
and moves on with previous/next, each page fetching one row more than it shows to know whether a
next one exists (a page number past the end shows an empty page with a way back). Deep pages
still cost an OFFSET; people narrow the filters or export instead.

Sorting follows the same rule: the default order (type, region, name) and the type, region,
service and resource id columns are served by indexes at any size; the other columns sort only
sets within the cap (beyond it the list keeps its default order and says why).

A search is the exception: its rows come from the trigram index, and an order an index serves
tempts PostgreSQL to walk that index instead, testing each row against the search until a page
is full. It cannot know where the matches lie in that order: all 2,941 matches of ``role/team-3/``
sat after 850,000 instances (3.7 s, ``bench/search``). So a search with at most ``cap`` matches
is sorted after it is found (:func:`sorted_after_filtering`), which costs milliseconds.
"""

from __future__ import annotations

import builtins
import json
import math
from collections.abc import Mapping
from typing import Any

import django_tables2 as tables
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import CharField, F, Func, QuerySet
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join

from accounts.tables import AccountColumn
from core.params import DB_INT_MAX
from core.tables import EMPTY, ArnColumn, BadgeColumn, BaseTable, TextColumn, TimestampColumn
from inventory.exposure.results import VECTORS
from inventory.models import CollectionRun, Resource, RunState
from inventory.resource_types import RESOURCE_TYPES
from inventory.search import SEARCH_ALIAS
from inventory.services import exposure as service

COUNT_CAP = 10_000
LIST_ORDER = ("type", "region", "name", "pk")  # the resource list's default order (see views)
# Columns whose order an index serves; sorting on the others is offered up to COUNT_CAP rows,
# where it sorts a small filtered set, not a million rows.
INDEXED_ORDER = frozenset({"type", "region", "service", "resource_id"})
TAGS_SHOWN = 3
TAG_TEXT_MAX = 60


class _LookAheadPage(Page):
    """A page past an exact count: its rows come with one extra, fetched on first use, to tell
    whether another page follows."""

    def __init__(self, rows: Any, number: int, paginator: CappedPaginator) -> None:
        self._rows = rows
        self._items: list[Any] | None = None
        self._more = False
        self.number = number
        self.paginator = paginator

    @property  # type: ignore[override]
    def object_list(self) -> list[Any]:
        if self._items is None:
            items = list(self._rows)
            self._more = len(items) > self.paginator.per_page
            self._items = items[: self.paginator.per_page]
        return self._items

    @object_list.setter
    def object_list(self, value: Any) -> None:
        self._rows, self._items = value, None

    def has_next(self) -> bool:
        self.object_list  # noqa: B018  (fetches the rows and the look-ahead row)
        return self._more

    def end_index(self) -> int:
        return self.start_index() + len(self.object_list) - 1 if self.object_list else 0


class CappedPaginator(Paginator):
    """A paginator whose count stops at ``cap`` (see the module docstring).

    ``count_queryset`` is the (unordered, filtered) queryset to count; without it the object list
    itself is counted the same way. ``capped`` says whether there are more rows than ``cap``.
    """

    def __init__(
        self,
        object_list: Any,
        per_page: int,
        *args: Any,
        count_queryset: QuerySet[Any] | None = None,
        cap: int | None = None,
        known_count: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(object_list, per_page, *args, **kwargs)
        self.count_queryset = count_queryset
        self.cap = COUNT_CAP if cap is None else cap
        if known_count is not None:
            self.__dict__["count"] = known_count  # the cached_property's slot

    @cached_property
    def count(self) -> int:
        """Rows up to ``cap + 1`` (``cap + 1`` means "more than ``cap``")."""
        source: Any = self.count_queryset
        if source is None:
            source = getattr(getattr(self.object_list, "data", None), "data", self.object_list)
        if isinstance(source, QuerySet):
            # a narrow, unordered subquery: the ORDER BY and the selected columns cost nothing here
            return source.order_by().values("pk")[: self.cap + 1].count()
        return min(len(source), self.cap + 1)

    @property
    def capped(self) -> bool:
        return self.count > self.cap

    @property
    def cap_pages(self) -> int:
        """Pages certainly full (the rows under the cap)."""
        return max(1, math.ceil(self.cap / self.per_page))

    def validate_number(self, number: Any) -> int:
        if not self.capped:
            return super().validate_number(number)
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError) as exc:
            raise PageNotAnInteger("That page number is not an integer") from exc
        if number < 1:
            raise EmptyPage("That page number is less than 1")
        if number * self.per_page > DB_INT_MAX:
            # its OFFSET would be past any integer the database takes (and past any row)
            raise EmptyPage("That page number is past the last row")
        return number

    def page(self, number: Any) -> Page:
        if not self.capped:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        # lazy: a page past the last row is only known to be empty once read (the pager says so)
        return _LookAheadPage(self.object_list[bottom : bottom + self.per_page + 1], number, self)

    def get_page(self, number: Any) -> Page:
        """Like Django's; past the cap a page beyond the end is an empty page, not an error."""
        if not self.capped:
            return super().get_page(number)
        try:
            return self.page(number)
        except (PageNotAnInteger, EmptyPage):
            return self.page(1)


# --- columns -------------------------------------------------------------------------------------


def type_title(type_: str) -> str:
    """The catalogue title of a resource type ("EC2 instance"), or the type itself when unknown."""
    known = RESOURCE_TYPES.get(type_)
    return known.title if known else type_


def tag_items(tags: Any) -> list[tuple[str, str]]:
    """Tags as sorted (key, value) text pairs, whatever shape was stored (tags come from AWS)."""
    if isinstance(tags, Mapping):
        return sorted(((str(k), "" if v is None else str(v)) for k, v in tags.items()), key=lambda kv: kv[0])
    if isinstance(tags, list):  # the AWS [{"Key", "Value"}] shape, should one slip through
        pairs = []
        for item in tags:
            if isinstance(item, Mapping) and "Key" in item:
                pairs.append((str(item.get("Key")), str(item.get("Value") or "")))
        return sorted(pairs)
    return []


def tags_text(tags: Any, separator: str = "; ") -> str:
    """Tags as ``key=value`` pairs for exports."""
    return separator.join(f"{key}={value}" for key, value in tag_items(tags))


def _short(text: str, length: int = TAG_TEXT_MAX) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


class TypeColumn(tables.Column):
    """The type's catalogue title, with the type string underneath; exports the type string."""

    def render(self, value: str) -> str:
        return format_html('{}<div class="muted mono small">{}</div>', type_title(value), value)

    def value(self, value: str) -> str:
        return value


class TagsColumn(tables.Column):
    """The first few tags as ``key=value`` chips (all of them on hover); exports every pair."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("orderable", False)
        super().__init__(**kwargs)

    def render(self, value: Any) -> str:
        pairs = tag_items(value)
        if not pairs:
            return EMPTY
        chips = format_html_join(
            " ",
            '<span class="tag">{}={}</span>',
            ((_short(k, 30), _short(v, 40)) for k, v in pairs[:TAGS_SHOWN]),
        )
        more = len(pairs) - TAGS_SHOWN
        return format_html(
            '<span class="tags" title="{}">{}{}</span>',
            "\n".join(f"{key}={value}" for key, value in pairs),
            chips,
            format_html(' <span class="muted">+{}</span>', more) if more > 0 else "",
        )

    def value(self, value: Any) -> str:
        return tags_text(value)


class ResourceNameColumn(tables.Column):
    """The resource's name linking to its page; the id or ARN when it has no name."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("empty_values", ())
        kwargs.setdefault("order_by", ("name", "pk"))
        super().__init__(**kwargs)

    def render(self, record: Resource) -> str:
        label = record.name or record.resource_id or record.arn
        css = "deleted" if record.deleted_at else ""
        return format_html(
            '<a class="{}" href="{}">{}</a>', css, record.get_absolute_url(), _short(label, 80)
        )

    def value(self, record: Resource) -> str:
        return record.name


# --- tables --------------------------------------------------------------------------------------


def sorted_after_filtering(queryset: QuerySet[Any]) -> QuerySet[Any]:
    """``queryset`` in the same order, by an expression no index serves (``type || ''`` for
    ``type``): the database must find the rows first and sort them (see the module's docstring)."""
    order = list(queryset.query.order_by)
    if not order or not isinstance(order[0], str):
        return queryset
    name = order[0].lstrip("-")
    try:
        field = Resource._meta.get_field(name)
    except FieldDoesNotExist:  # "pk", or a related column (the account's name): not text of ours
        return queryset
    if not isinstance(field, CharField):
        return queryset
    fenced = Func(F(name), template="(%(expressions)s || '')", output_field=CharField())
    order[0] = fenced.desc() if order[0].startswith("-") else fenced.asc()
    return queryset.order_by(*order)


class ResourceTable(BaseTable):
    """The inventory: one row per resource. The queryset must ``select_related("account")``."""

    name = ResourceNameColumn()
    type = TypeColumn(order_by=LIST_ORDER)
    resource_id = tables.Column(verbose_name="Resource ID", attrs={"td": {"class": "mono wrap"}})
    account = AccountColumn()
    region = tables.Column(attrs={"td": {"class": "nowrap"}})
    service = tables.Column()
    tags = TagsColumn()
    arn = ArnColumn(verbose_name="ARN")
    first_seen = TimestampColumn(verbose_name="First seen")
    last_seen = TimestampColumn(verbose_name="Last seen")
    deleted_at = TimestampColumn(verbose_name="Deleted")

    default_columns = (
        "name",
        "type",
        "resource_id",
        "account",
        "region",
        "tags",
        "first_seen",
        "last_seen",
        "deleted_at",
    )

    #: Set when a sort was refused (the header of the column asked for): the page says why.
    sort_refused: str = ""

    class Meta(BaseTable.Meta):
        model = Resource
        template_name = "inventory/includes/resource_table.html"
        fields = (
            "name",
            "type",
            "resource_id",
            "account",
            "region",
            "service",
            "tags",
            "arn",
            "first_seen",
            "last_seen",
            "deleted_at",
        )
        sequence = fields
        empty_text = "No resources match these filters."
        row_attrs = {"class": lambda record: "deleted" if record.deleted_at else ""}

    def paginate(
        self,
        paginator_class: builtins.type[Paginator] = CappedPaginator,  # "type" is a column here
        per_page: int | None = None,
        page: int = 1,
        *args: Any,
        **kwargs: Any,
    ) -> ResourceTable:
        """Always the capped paginator (the shared list view asks for Django's default one).

        The table is paginated twice per request (once by tables2 when it is built, once by the list
        view after sorting); the rows' filter is the same both times, so the count is reused.
        """
        if not issubclass(paginator_class, CappedPaginator):
            paginator_class = CappedPaginator
        data = self.data.data
        if isinstance(data, QuerySet):
            kwargs.setdefault("count_queryset", data)
        previous = getattr(self, "paginator", None)
        if isinstance(previous, CappedPaginator) and "count" in previous.__dict__:
            kwargs.setdefault("known_count", previous.count)
        cap = kwargs.get("cap", COUNT_CAP)

        def count() -> int:
            """The rows, up to ``cap + 1``: counted once, for these choices and the paginator."""
            if "known_count" not in kwargs:
                probe = CappedPaginator(self.rows, per_page or self._meta.per_page, **kwargs)
                kwargs["known_count"] = probe.count
            return int(kwargs["known_count"])

        if isinstance(data, QuerySet) and SEARCH_ALIAS in data.query.annotations and count() <= cap:
            self.data.data = data = sorted_after_filtering(data)
        costly = self.costly_sort()
        if costly and isinstance(data, QuerySet) and count() > cap:
            # past the cap, sorting on a column no index serves would sort the whole set
            self.sort_refused = str(self.columns[costly].header)
            self.order_by = ("type",)
        return super().paginate(paginator_class, per_page, page, *args, **kwargs)

    def costly_sort(self) -> str | None:
        """The first column of the current order that no index serves, if any."""
        for alias in self.order_by or ():
            name = alias.lstrip("-")
            if name not in INDEXED_ORDER:
                return name
        return None


def _evidence_html(record: service.ExposedRow) -> str:
    """The statements / grants / attributes that open the resource, one a line, escaped."""
    evidence = [e for e in record.exposure.get("evidence") or [] if isinstance(e, dict)]
    if not evidence:
        return EMPTY
    return format_html(
        '<ul class="evidence">{}</ul>',
        format_html_join(
            "",
            "<li>{}{}</li>",
            (
                (
                    str(e.get("summary", ""))[:400],
                    format_html(
                        ' <details class="small"><summary>as written</summary><pre class="mono">{}</pre></details>',
                        json.dumps(e.get("statement"), indent=1, default=str)[:4000],
                    )
                    if e.get("statement")
                    else "",
                )
                for e in evidence
            ),
        ),
    )


class HopsColumn(tables.Column):
    """The way in: the network path, one hop a line (hops that are stored resources link to their
    page); for the other vectors, the evidence."""

    def render(self, record: service.ExposedRow) -> str:
        hops = record.exposure.get("hops") or []
        if not hops:
            return _evidence_html(record)
        items = []
        for hop in hops:
            url = service.resource_url(hop.get("resource_pk"))
            ident = format_html('<a href="{}">{}</a>', url, hop.get("id", "")) if url else hop.get("id", "")
            detail = hop.get("detail") or ""
            items.append(
                format_html(
                    '<li><span class="hop-kind">{}</span> {}{}</li>',
                    hop.get("title", ""),
                    ident,
                    format_html(' <span class="muted">({})</span>', detail[:300]) if detail else "",
                )
            )
        return format_html('<ol class="hops">{}</ol>', format_html_join("", "{}", ((i,) for i in items)))

    def value(self, record: service.ExposedRow) -> str:
        return str(record.exposure.get("path_text") or record.exposure.get("evidence_text") or "")


class ResourceColumn(tables.Column):
    """The resource's name (linked to its page) with its id underneath."""

    def render(self, record: service.ExposedRow) -> str:
        x = record.exposure
        name = x.get("name") or x.get("resource_id") or x.get("arn")
        url = service.resource_url(x.get("resource_pk"))
        link = format_html('<a href="{}">{}</a>', url, name) if url else format_html("{}", name)
        if x.get("resource_id") and x.get("resource_id") != name:
            return format_html('{} <div class="muted mono small">{}</div>', link, x["resource_id"])
        return link

    def value(self, record: service.ExposedRow) -> str:
        return str(record.exposure.get("name") or record.exposure.get("resource_id") or "")


class FindingsColumn(tables.Column):
    """Unresolved findings on the resource or on the security groups that expose it."""

    def render(self, record: service.ExposedRow) -> str:
        if not record.findings:
            return EMPTY
        return format_html(
            '<ul class="finding-links">{}</ul>',
            format_html_join(
                "",
                '<li><span class="badge sev-{}">{}</span> <a href="{}" title="{}">{}</a>{}</li>',
                (
                    (
                        f["severity"],
                        f["severity"],
                        f["url"] or "#",
                        f["title"],
                        f["check_id"],
                        " (suppressed)" if f["status"] == "suppressed" else "",
                    )
                    for f in record.findings
                ),
            ),
        )

    def value(self, record: service.ExposedRow) -> str:
        return ", ".join(f"{f['check_id']} ({f['severity']})" for f in record.findings)


class ExposedTable(BaseTable):
    """One row per way into a resource."""

    account = AccountColumn(order_by=("account__name", "exposure__region"))
    account_id = tables.Column(accessor="account__account_id", verbose_name="Account ID")
    environment = tables.Column(accessor="account__environment", verbose_name="Environment")
    region = tables.Column(accessor="exposure__region", attrs={"td": {"class": "nowrap"}})
    resource = ResourceColumn(accessor="exposure__name", empty_values=(), order_by=("exposure__resource_id",))
    type = tables.Column(accessor="exposure__type", attrs={"td": {"class": "mono small"}})
    vector = tables.Column(accessor="exposure__vector", verbose_name="Way in")
    ports = tables.Column(accessor="exposure__ports_text", verbose_name="Ports / protocols")
    world = tables.Column(accessor="exposure__world", verbose_name="Whole internet")
    path = HopsColumn(empty_values=(), orderable=False, verbose_name="Path in / evidence")
    findings = FindingsColumn(empty_values=(), orderable=False)
    resource_id = tables.Column(accessor="exposure__resource_id", verbose_name="Resource ID")
    arn = tables.Column(accessor="exposure__arn", verbose_name="ARN", attrs={"td": {"class": "mono wrap"}})
    cidrs = tables.Column(accessor="exposure__cidrs", verbose_name="From", orderable=False)
    security_groups = tables.Column(accessor="exposure__security_groups", orderable=False)
    public_addresses = tables.Column(accessor="exposure__public_addresses", orderable=False)
    reasons = tables.Column(accessor="exposure__reasons", orderable=False)
    evidence = tables.Column(accessor="exposure__evidence_text", orderable=False, verbose_name="Evidence")

    default_columns = (
        "account",
        "environment",
        "region",
        "resource",
        "type",
        "vector",
        "ports",
        "path",
        "findings",
    )

    class Meta(BaseTable.Meta):
        empty_text = "Nothing is reachable from the internet or open to anyone with these filters."
        orderable = True

    def render_environment(self, record: service.ExposedRow) -> str:
        return format_html(
            '<span class="badge env-{}">{}</span>',
            record.account.environment,
            record.account.get_environment_display(),
        )

    def value_environment(self, record: service.ExposedRow) -> str:
        return record.account.environment

    def render_vector(self, record: service.ExposedRow) -> str:
        vector = str(record.exposure.get("vector", ""))
        return format_html(
            '<span class="badge vector-{}">{}</span>', vector, VECTORS.get(vector, vector) or EMPTY
        )

    def value_vector(self, record: service.ExposedRow) -> str:
        return str(record.exposure.get("vector", ""))

    def render_evidence(self, record: service.ExposedRow) -> str:
        return _evidence_html(record)

    def value_evidence(self, record: service.ExposedRow) -> str:
        return str(record.exposure.get("evidence_text", ""))

    def render_ports(self, record: service.ExposedRow) -> str:
        if not record.exposure.get("ports"):
            return EMPTY
        return format_html(
            '<span class="mono ports" title="{}">{}</span>',
            record.exposure.get("ports_text", ""),
            record.exposure.get("port_label", ""),
        )

    def value_ports(self, record: service.ExposedRow) -> str:
        return str(record.exposure.get("ports_text", ""))

    def render_world(self, value: Any) -> str:
        return "yes" if value else "some addresses"

    def value_world(self, value: Any) -> str:
        return "yes" if value else "no"

    def _join(self, value: Any) -> str:
        return ", ".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value or "")

    def render_cidrs(self, value: Any) -> str:
        return self._join(value) or EMPTY

    def render_security_groups(self, value: Any) -> str:
        return self._join(value) or EMPTY

    def render_public_addresses(self, value: Any) -> str:
        return self._join(value) or EMPTY

    def render_reasons(self, value: Any) -> str:
        return "; ".join(str(v) for v in value) if value else EMPTY

    def value_cidrs(self, value: Any) -> str:
        return self._join(value)

    def value_security_groups(self, value: Any) -> str:
        return self._join(value)

    def value_public_addresses(self, value: Any) -> str:
        return self._join(value)

    def value_reasons(self, value: Any) -> str:
        return "; ".join(str(v) for v in value) if value else ""


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


class RunTable(BaseTable):
    """Collection runs, newest first."""

    id = tables.Column(verbose_name="Run", linkify=True, attrs={"td": {"class": "nowrap"}})
    account = AccountColumn()
    state = BadgeColumn(choices=RunState)
    trigger = tables.Column()
    created = TimestampColumn(verbose_name="Queued")
    started_at = TimestampColumn(verbose_name="Started")
    finished_at = TimestampColumn(verbose_name="Finished")
    duration = tables.Column(empty_values=(), orderable=False)
    progress = tables.Column(empty_values=(), orderable=False, verbose_name="Progress")
    resources_seen = tables.Column(verbose_name="Seen", attrs={"td": {"class": "num"}})
    resources_new = tables.Column(verbose_name="New", attrs={"td": {"class": "num"}})
    resources_changed = tables.Column(verbose_name="Changed", attrs={"td": {"class": "num"}})
    resources_deleted = tables.Column(verbose_name="Deleted", attrs={"td": {"class": "num"}})
    api_calls = tables.Column(verbose_name="API calls", attrs={"td": {"class": "num"}})
    error_count = tables.Column(verbose_name="Errors", attrs={"td": {"class": "num"}})
    message = TextColumn(length=80)

    default_columns = (
        "id", "account", "state", "created", "duration", "progress", "resources_seen", "error_count", "message",
    )  # fmt: skip

    class Meta(BaseTable.Meta):
        model = CollectionRun
        fields = (
            "id", "account", "state", "trigger", "created", "started_at", "finished_at", "duration", "progress",
            "resources_seen", "resources_new", "resources_changed", "resources_deleted", "api_calls",
            "error_count", "message",
        )  # fmt: skip
        order_by = ("-created",)
        empty_text = "No collection runs yet."

    def render_id(self, value: int) -> str:
        return f"#{value}"

    def value_id(self, value: int) -> int:
        return value

    def render_duration(self, record: CollectionRun) -> str:
        return duration_text(record.duration)

    def value_duration(self, record: CollectionRun) -> float | str:
        return round(record.duration, 1) if record.duration is not None else ""

    def render_progress(self, record: CollectionRun) -> str:
        return format_html(
            '<progress class="run-progress" max="{}" value="{}" aria-label="units done"></progress> '
            '<span class="muted small">{}/{}</span>',
            max(1, record.units_planned), record.units_done if record.is_active else max(1, record.units_planned),
            record.units_done, record.units_planned,
        )  # fmt: skip

    def value_progress(self, record: CollectionRun) -> str:
        return f"{record.units_done}/{record.units_planned}"
