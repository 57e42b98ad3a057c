"""Filtered, sorted, keyset-paged lists: the requests list, the ward issues list, the bureau inbox.

This module says what each list offers and parses its filter and cursor from the URL; the SQL
built from them is ``tracker.finding.keyset``.

- The filters come from the URL (a GET form), so a list can be bookmarked and shared. Every
  value is checked against what the user may choose (the wards, centers, bureaus and users in
  the user's scope, the enum values); anything else is dropped with a Japanese notice, never
  an error.
- The filters are added ON TOP of the scope of ``tracker.finding.queries`` (``requests_for``,
  ``issues_for``, ``bureau_issues``): whatever the URL says, a ward-scoped user only ever gets
  rows of the ward, and bureau staff only issues sent to their bureau.
- Pages are cut by keyset, never OFFSET: the rows after (or before) the sort values and id of
  a row, so page 2,000 costs what page 1 costs. The cursor (``after`` / ``before``) is the
  base64url of ``[sort, direction, value, id]``: readable, and rejected (first page, with a
  notice) when it does not fit the list's sort.
- One page runs a fixed number of queries: the choices of the filter form, one COUNT, the rows
  (eager-loaded, ``tracker.finding.queries``). The COUNT stops at ``COUNT_CAP`` + 1 rows (the page then
  says 「1,000件以上」), so it costs no more on a million rows than on ten thousand; an export
  counts exactly (it reads every row anyway).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import case

from ..models import ServiceRequest, WardIssue
from ..states import Priority
from ..wording import N_, say, translate

MAX_QUERY_LENGTH = 100
MAX_CURSOR_LENGTH = 400
ASC, DESC = "asc", "desc"
DIRECTION_LABELS = {ASC: N_("昇順 (古い順)"), DESC: N_("降順 (新しい順)")}

# --- what each list offers -------------------------------------------------------------------


@dataclass(frozen=True)
class SortKey:
    label: str
    column: Any  # the mapped attribute
    kind: str  # date, datetime, int, str: how a cursor value is read back
    nullable: bool = False  # NULLs come last in both directions
    value: Any = None  # the row's sort value, when ``column`` is an expression (not an attribute)

    @property
    def attr(self) -> str:
        return self.column.key

    def value_of(self, row: Any) -> Any:
        return self.value(row) if self.value else getattr(row, self.attr)


@dataclass(frozen=True)
class ListSpec:
    name: str
    model: Any
    filters: tuple[str, ...]
    sorts: dict[str, SortKey]
    default_sort: str
    default_direction: str


# 緊急度 sorts by its rank (高 3, 中 2, 低 1): descending is high → low.
PRIORITY_RANKS = {Priority.HIGH: 3, Priority.MEDIUM: 2, Priority.LOW: 1}
PRIORITY_RANK = case(
    *((ServiceRequest.priority == member, rank) for member, rank in PRIORITY_RANKS.items()), else_=2
)

REQUEST_SORTS = {
    "received": SortKey(N_("受付日"), ServiceRequest.received_on, "date"),
    "due": SortKey(N_("回答期限"), ServiceRequest.answer_due_on, "date"),
    "reference": SortKey(N_("受付番号"), ServiceRequest.reference, "str"),
    "updated": SortKey(N_("更新日時"), ServiceRequest.updated_at, "datetime"),
    "priority": SortKey(
        N_("緊急度 (高い順は降順)"), PRIORITY_RANK, "int", value=lambda r: PRIORITY_RANKS.get(r.priority, 2)
    ),
}
ISSUE_SORTS = {
    "fiscal_year": SortKey(N_("年度"), WardIssue.fiscal_year, "int"),
    "updated": SortKey(N_("更新日時"), WardIssue.updated_at, "datetime"),
    "decided": SortKey(N_("協議結果の日"), WardIssue.decided_on, "date", nullable=True),
    "reference": SortKey(N_("番号"), WardIssue.reference, "str"),
    "sent": SortKey(N_("局へ送付した日時"), WardIssue.sent_at, "datetime", nullable=True),
}

REQUESTS = ListSpec(
    "requests",
    ServiceRequest,
    ("ward", "center", "category", "state", "priority", "source", "fiscal_year", "overdue", "logged_by", "q"),
    REQUEST_SORTS,
    "received",
    DESC,
)
ISSUES = ListSpec(
    "issues",
    WardIssue,
    ("ward", "state", "fiscal_year", "bureau", "decision", "mine", "q"),
    ISSUE_SORTS,
    "updated",
    DESC,
)
# The bureau inbox: its tabs choose the states; oldest sent first, as before.
INBOX = replace(ISSUES, name="inbox", filters=("ward", "fiscal_year", "bureau", "decision", "mine", "q"))
INBOX = replace(INBOX, default_sort="sent", default_direction=ASC)

FILTER_LABELS = {
    "ward": N_("区"),
    "center": N_("センター"),
    "category": N_("分野"),
    "state": N_("状態"),
    "priority": N_("緊急度"),
    "source": N_("要望元"),
    "fiscal_year": N_("年度"),
    "bureau": N_("局"),
    "decision": N_("協議結果"),
    "overdue": N_("期限超過"),
    "logged_by": N_("登録者"),
    "mine": N_("自分の担当"),
    "q": N_("キーワード"),
    "sort": N_("並び順"),
    "direction": N_("順序"),
    "after": N_("ページ位置"),
    "before": N_("ページ位置"),
}
ID_FILTERS = ("ward", "center", "category", "bureau", "logged_by")
FLAG_FILTERS = ("overdue", "mine")  # a checkbox: on or left out

# --- the cursor ------------------------------------------------------------------------------


def encode_cursor(sort: str, direction: str, value: Any, ident: int) -> str:
    if isinstance(value, dt.date | dt.datetime):
        value = value.isoformat()
    raw = json.dumps([sort, direction, value, ident], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _cursor_value(key: SortKey, value: Any) -> Any:
    """The cursor's sort value as the column's Python type; ValueError when it is not one."""
    if value is None:
        if key.nullable:
            return None
        raise ValueError("null")
    if key.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("int")
        return value
    if not isinstance(value, str):
        raise ValueError("str")
    if key.kind == "str":
        return value
    if key.kind == "date":
        return dt.date.fromisoformat(value)
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("naive")
    return moment


def decode_cursor(raw: str, sort: str, direction: str, key: SortKey) -> tuple[Any, int]:
    """``(value, id)`` of a cursor made for this sort; ValueError for anything else."""
    if len(raw) > MAX_CURSOR_LENGTH:
        raise ValueError("long")
    try:
        decoded = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode())
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError("undecodable") from error
    if not isinstance(decoded, list) or len(decoded) != 4:
        raise ValueError("shape")
    got_sort, got_direction, value, ident = decoded
    if (got_sort, got_direction) != (sort, direction):
        raise ValueError("another sort")
    if isinstance(ident, bool) or not isinstance(ident, int) or not 0 < ident < 2**63:
        raise ValueError("id")
    return _cursor_value(key, value), ident


# --- the filter, parsed from the URL ---------------------------------------------------------


def _shown(raw: str) -> str:
    raw = " ".join(raw.split())
    return raw if len(raw) <= 20 else raw[:20] + "…"


@dataclass
class ListFilter:
    """What the URL asks of a list, every value checked; ``notices`` says what was dropped."""

    spec: ListSpec
    ward: int | None = None
    center: int | None = None
    category: int | None = None
    state: tuple[str, ...] = ()
    priority: str | None = None
    source: str | None = None
    fiscal_year: int | None = None
    bureau: int | None = None
    decision: str | None = None
    overdue: bool = False
    logged_by: int | None = None
    mine: bool = False  # only the issues whose person in charge (ward or bureau side) is ``me``
    me: int | None = None
    q: str = ""
    sort: str = ""
    direction: str = ""
    after: tuple[Any, int] | None = None
    before: tuple[Any, int] | None = None
    notices: list[str] = field(default_factory=list)

    @property
    def key(self) -> SortKey:
        return self.spec.sorts[self.sort]

    @property
    def is_default_sort(self) -> bool:
        return (self.sort, self.direction) == (self.spec.default_sort, self.spec.default_direction)

    def params(self) -> dict[str, Any]:
        """The URL arguments of the filters and sort (no cursor), defaults left out."""
        out: dict[str, Any] = {}
        for name in self.spec.filters:
            value = getattr(self, name)
            if name == "state":
                if value:
                    out["state"] = list(value)
            elif name in FLAG_FILTERS:
                if value:
                    out[name] = "1"
            elif value not in (None, ""):
                out[name] = value
        if not self.is_default_sort:
            out["sort"], out["direction"] = self.sort, self.direction
        return out

    def as_record(self) -> dict[str, Any]:
        """The filters, for the export's history event."""
        record = self.params()
        record.setdefault("sort", self.sort)
        record.setdefault("direction", self.direction)
        return record

    @property
    def active(self) -> bool:
        return any(name not in ("sort", "direction") for name in self.params())

    def chips(self, choices: Mapping[str, Mapping]) -> list[tuple[str, dict[str, Any]]]:
        """One ``(label, params without it)`` per filter in force: a link that removes it."""
        params = self.params()
        out = []
        for name in self.spec.filters:
            if name not in params:
                continue
            values = params[name] if name == "state" else [params[name]]
            for value in values:
                rest = dict(params)
                if name == "state":
                    rest["state"] = [v for v in params["state"] if v != value]
                else:
                    del rest[name]
                if name in FLAG_FILTERS:
                    shown = translate(N_("あり"))
                elif name == "q":
                    shown = say(N_("「%(q)s」"), q=value)
                else:
                    shown = choices.get(name, {}).get(value, value)
                out.append(
                    (
                        say(N_("%(filter)s: %(value)s"), filter=translate(FILTER_LABELS[name]), value=shown),
                        rest,
                    )
                )
        return out


def _one(args: Mapping, name: str) -> str:
    getlist = getattr(args, "getlist", None)
    values = getlist(name) if getlist else ([args[name]] if name in args else [])
    return (values[-1] if values else "") or ""


def parse(
    args: Mapping, spec: ListSpec, choices: Mapping[str, Mapping], *, me: int | None = None
) -> ListFilter:
    """The filter that ``args`` (``request.args``) ask for; invalid values dropped with a notice.
    ``me``: the id of the user looking, whom 「自分の担当」 means."""
    flt = ListFilter(spec=spec, sort=spec.default_sort, direction=spec.default_direction, me=me)

    def drop(
        name: str, raw: str, why: str = N_("%(filter)s「%(value)s」は選べないため、条件から外しました。")
    ) -> None:
        flt.notices.append(say(why, filter=translate(FILTER_LABELS[name]), value=_shown(raw)))

    for name in spec.filters:
        if name == "state":
            picked = []
            getlist = getattr(args, "getlist", None)
            raws = getlist("state") if getlist else [args.get("state", "")]
            for raw in raws:
                if not raw:
                    continue
                if raw in choices["state"] and raw not in picked:
                    picked.append(raw)
                elif raw not in picked:
                    drop(name, raw)
            flt.state = tuple(picked)
            continue
        raw = _one(args, name).strip()
        if not raw:
            continue
        if name in ID_FILTERS or name == "fiscal_year":
            number = int(raw) if raw.isascii() and raw.isdecimal() and len(raw) <= 10 else None
            if number is None or number not in choices[name]:
                drop(name, raw)
            else:
                setattr(flt, name, number)
        elif name in ("source", "decision", "priority"):
            if raw in choices[name]:
                setattr(flt, name, raw)
            else:
                drop(name, raw)
        elif name in FLAG_FILTERS:
            if raw in ("1", "on", "true", "yes"):
                setattr(flt, name, True)
            elif raw not in ("0", "off", "false", "no"):
                drop(name, raw, N_("%(filter)s「%(value)s」は指定できないため、条件から外しました。"))
        elif name == "q":
            if len(raw) > MAX_QUERY_LENGTH:
                flt.notices.append(
                    say(
                        N_("キーワードが長すぎるため、先頭の%(max)d文字で検索しました。"),
                        max=MAX_QUERY_LENGTH,
                    )
                )
                raw = raw[:MAX_QUERY_LENGTH]
            flt.q = raw
    sort = _one(args, "sort").strip()
    if sort:
        if sort in spec.sorts:
            flt.sort = sort
        else:
            drop("sort", sort, N_("%(filter)s「%(value)s」は指定できないため、既定の並び順にしました。"))
    direction = _one(args, "direction").strip()
    if direction:
        if direction in (ASC, DESC):
            flt.direction = direction
        else:
            drop(
                "direction",
                direction,
                N_("%(filter)s「%(value)s」は指定できないため、既定の順序にしました。"),
            )
    for name in ("after", "before"):
        raw = _one(args, name).strip()
        if not raw:
            continue
        try:
            setattr(flt, name, decode_cursor(raw, flt.sort, flt.direction, flt.key))
        except ValueError:
            flt.notices.append(
                translate(N_("ページの位置が読み取れないため、最初のページを表示しています。"))
            )
    if flt.after and flt.before:
        flt.before = None
    return flt
