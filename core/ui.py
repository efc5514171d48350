"""The shared page kit: one generic list view and safe spreadsheet writers.

A list page is a queryset, a filterset and a table (NetBox style). Declare it in a few lines::

    class ResourceListView(ObjectListView):
        queryset = Resource.objects.select_related("account")
        filterset_class = ResourceFilterSet
        table_class = ResourceTable
        title = "Resources"
        export_name = "resources"          # enables ?export=csv and ?export=xlsx

or call :func:`object_list` from a function view. The page shows the filter form, a column picker
(``?columns=name&columns=region``; the table's ``default_columns`` when none are picked), the
sortable table 50 rows a page (``?per_page=`` one of :data:`core.params.PER_PAGE_CHOICES`;
every parameter is validated, :mod:`core.params`), and export links that keep the current filters and columns.

Exports go through the one exporter, :mod:`core.exporting`, which neutralises cells that a
spreadsheet would run as a formula; :func:`table_rows` masks ExternalIds for anyone but the security
team.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponseBase,
    QueryDict,
)
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views import View
from django_filters import FilterSet
from django_tables2.rows import BoundRow

from core.exporting import EXPORT_CHUNK, EXPORT_FORMATS, csv_response, xlsx_response
from core.params import page_param, per_page_param
from core.secrets import Redactor, redactor_for
from core.tables import BaseTable

PER_PAGE = 50


def url_or_none(name: str, *args: Any, **kwargs: Any) -> str | None:
    """``reverse(name)``, or None when that URL does not exist (yet): for optional buttons."""
    try:
        return reverse(name, args=args or None, kwargs=kwargs or None)
    except NoReverseMatch:
        return None


def table_rows(
    table: BaseTable, columns: Sequence[str] | None = None, redactor: Redactor | None = None
) -> Iterator[list[Any]]:
    """A header then one list of export values per record, in the table's current order.

    Querysets are read in chunks so a big export does not hold every row in memory. ``redactor``
    (anyone but the security team) masks known ExternalIds in every text cell.
    """
    bound = [
        table.columns[name]
        for name in (columns if columns is not None else table.columns.names())
        if name in table.columns.names() and not table.columns[name].column.exclude_from_export
    ]
    yield [str(column.header) for column in bound]
    data = table.data.data
    records: Iterable[Any] = data.iterator(chunk_size=EXPORT_CHUNK) if isinstance(data, QuerySet) else data
    for record in records:
        row = BoundRow(record, table=table)
        values = [row.get_cell_value(column.name) for column in bound]
        yield redactor.data(values) if redactor else values


# --- the list view -----------------------------------------------------------------------------


def selected_columns(table_class: type[BaseTable], params: QueryDict) -> tuple[list[str], bool]:
    """The columns the user picked (``columns`` may repeat or be comma separated), or the defaults.

    Returns the names and whether the user chose them.
    """
    available = table_class.column_names()
    picked: list[str] = []
    for raw in params.getlist("columns"):
        for name in raw.split(","):
            name = name.strip()
            if name in available and name not in picked:
                picked.append(name)
    if picked:
        return [name for name in available if name in picked], True
    defaults = [name for name in table_class.default_columns if name in available]
    return defaults or available, False


def query_string(params: QueryDict, drop: Iterable[str] = (), **set_values: str) -> str:
    """``params`` without the keys in ``drop`` and with ``set_values`` set, URL-encoded."""
    query = params.copy()
    for key in drop:
        query.pop(key, None)
    for key, value in set_values.items():
        query[key] = value
    return query.urlencode()


def object_list(
    request: HttpRequest,
    *,
    queryset: QuerySet[Any],
    table_class: type[BaseTable],
    filterset_class: type[FilterSet] | None = None,
    template_name: str = "includes/object_list.html",
    title: str = "",
    export_name: str = "",
    extra_context: dict[str, Any] | None = None,
    per_page: int = PER_PAGE,
) -> HttpResponseBase:
    """Render a filterable, sortable, paginated table page, or its export when ``?export=`` asks.

    Invalid filters show their errors and an empty table (never a silently unfiltered one).
    Exports apply the same filters and ordering; the columns are the ones the user picked, or
    every exportable column when they picked none.
    """
    params = request.GET
    filterset = None
    if filterset_class is not None:
        filterset = filterset_class(params or None, queryset=queryset, request=request)
        if filterset.is_bound and not filterset.is_valid():
            queryset = queryset.none()
        else:
            queryset = filterset.qs

    columns, user_picked = selected_columns(table_class, params)
    table = table_class(queryset, request=request)  # ordered and paginated from validated parameters
    order_by = table.sort_keys(params)
    if order_by:  # again: building may refuse a costly sort for the page, which an export keeps
        table.order_by = tuple(order_by)

    export = params.get("export", "")
    if export_name and export in EXPORT_FORMATS:
        export_columns = columns if user_picked else table_class.column_names()
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        rows = table_rows(table, export_columns, redactor_for(request.user))
        if export == "csv":
            return csv_response(f"{export_name}-{stamp}", rows)
        return xlsx_response(f"{export_name}-{stamp}", rows, sheet_title=title or export_name)

    for name in table.columns.names():
        if name not in columns:
            table.columns.hide(name)
    page = page_param(params, table.prefixed_page_field)
    per_page = per_page_param(params, per_page, table.prefixed_per_page_field)
    paginator = table.paginate(per_page=per_page, page=1).paginator
    table.page = paginator.get_page(page)  # out-of-range pages show the last one, not an error
    filter_keys = set(filterset.form.fields) if filterset is not None else set()

    context = {
        "title": title,
        "table": table,
        "filterset": filterset,
        "filter_form": filterset.form if filterset is not None else None,
        "filters_active": any(params.getlist(key) for key in filter_keys),
        "column_choices": [
            (name, str(table.columns[name].header), name in columns) for name in table_class.column_names()
        ],
        "export_links": [
            (fmt.upper(), "?" + query_string(params, drop=("page", "export"), export=fmt))
            for fmt in EXPORT_FORMATS
        ]
        if export_name
        else [],
        "total": paginator.count,
    }
    context.update(extra_context or {})
    return render(request, template_name, context)


class ObjectListView(View):
    """The class form of :func:`object_list`: set the attributes, or override the ``get_*`` hooks."""

    queryset: QuerySet[Any] | None = None
    table_class: type[BaseTable] | None = None
    filterset_class: type[FilterSet] | None = None
    template_name = "includes/object_list.html"
    title = ""
    export_name = ""
    per_page = PER_PAGE

    def get_queryset(self) -> QuerySet[Any]:
        """A fresh copy of ``queryset`` (never the cached class attribute)."""
        if self.queryset is None:
            raise NotImplementedError(f"{type(self).__name__} needs a queryset")
        return self.queryset.all()

    def get_extra_context(self) -> dict[str, Any]:
        """Extra template context (buttons, help text)."""
        return {}

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if self.table_class is None:
            raise NotImplementedError(f"{type(self).__name__} needs a table_class")
        return object_list(
            request,
            queryset=self.get_queryset(),
            table_class=self.table_class,
            filterset_class=self.filterset_class,
            template_name=self.template_name,
            title=self.title,
            export_name=self.export_name,
            extra_context=self.get_extra_context(),
            per_page=self.per_page,
        )
