"""Template tags of the list pages: sortable column headers (bitnet/listing.py)."""

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def sort_th(context, key: str, label: str, css: str = ""):
    """A column header that sorts the list by ``key``: ascending first, descending on the next
    click; the filters are kept and paging starts again on page one."""
    sorting = context["sorting"]
    active = sorting.key == key
    query = context["request"].GET.copy()
    query.pop("page", None)
    query["sort"] = f"-{key}" if active and not sorting.descending else key
    if active:
        state = "descending" if sorting.descending else "ascending"
        mark = "▼" if sorting.descending else "▲"
    else:
        state, mark = "none", ""
    return format_html(
        '<th class="sortable{}" aria-sort="{}"><a href="?{}">{}<span class="sort-mark" '
        'aria-hidden="true">{}</span></a></th>',
        f" {css}" if css else "",
        state,
        query.urlencode(),
        label,
        mark,
    )
