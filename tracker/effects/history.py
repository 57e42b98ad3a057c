"""How history events read on a timeline: labels for actions, states, roles and data."""

from __future__ import annotations

from collections.abc import Callable

from ..formatting import file_size, fiscal_year_label, thousand_yen
from ..models import HistoryEvent
from ..states import AnswerKind, Decision, IssueState, Priority, RequestState, Role
from ..wording import N_, language, say, translate
from ..workflow import ISSUE_ACTIONS, REQUEST_ACTIONS
from .publication import PUBLIC_LABELS
from .support import FIELD_LABELS

EXTRA_LABELS = {
    "create": N_("登録"),
    "bundle": N_("要望を追加"),
    "issue_withdrawn": N_("区重要課題の取下げにより受付に戻る"),
    "erase_personal_data": N_("個人情報の消去"),
    "export": N_("出力"),
    "admin_change": N_("管理操作"),
    "link_activity": N_("活動に結び付け"),
    "unlink_activity": N_("活動との結び付けを解除"),
    "assign_intake": N_("未振り分けから振り分け"),
    "set_priority": N_("緊急度を変更"),
    "assign": N_("担当者を設定"),
}


def action_label(event: HistoryEvent) -> str:
    actions = REQUEST_ACTIONS if event.service_request_id else ISSUE_ACTIONS
    if event.action in EXTRA_LABELS:
        return translate(EXTRA_LABELS[event.action])
    action = actions.get(event.action)
    return action.label if action else event.action


def state_label(value: str | None) -> str:
    for enum_cls in (RequestState, IssueState):
        if value in enum_cls._value2member_map_:
            return enum_cls(value).label
    return value or ""


def role_label(value: str) -> str:
    return Role(value).label if value in Role._value2member_map_ else translate(N_("システム"))


CORRECTED_LABELS = {
    "center": N_("まちづくりセンター"),
    "category": N_("分野"),
    "location_text": N_("場所"),
    "executed_yen": N_("決算額"),
    "cancelled": N_("状態"),
}

NONE = N_("(なし)")


class _Separator(str):
    """「、」 in Japanese, ", " in English: read when joined, so it follows the user's language."""

    def join(self, parts) -> str:
        return translate(N_("、")).join(parts)


_LIST = _Separator()


def _or_none(value) -> str:
    return value or translate(NONE)


def _change(label: str, old, new) -> str:
    """``label: old → new``."""
    return say(N_("%(label)s: %(old)s → %(new)s"), label=label, old=old, new=new)


def _shown(field: str, value) -> str:
    """One value of a corrected field, as the timeline shows it (amounts in 千円)."""
    if value is None or value == "":
        return translate(NONE)
    if field in ("allocated_yen", "executed_yen"):
        return thousand_yen(value, language())
    if field == "fiscal_year":
        return fiscal_year_label(value, language())
    if field == "answer_kind":
        return AnswerKind(value).label
    if field == "cancelled":
        return translate(N_("取消") if value else N_("有効"))
    return str(value)


def _line_of(data: dict) -> str:
    """The budget line or fund draw a correction or 取消 names, as it was before."""
    return f"{data['line']} / " if data.get("line") else ""


def correction_details(data: dict) -> str:
    """訂正: each changed field with its old and new value."""
    parts = []
    for change in data["changes"]:
        field = change["field"]
        label = CORRECTED_LABELS.get(field) or FIELD_LABELS.get(field, field)
        if field == "allocated_yen" and data.get("funding") == "ward_fund":
            label = N_("充当額")
        parts.append(_change(translate(label), _shown(field, change["old"]), _shown(field, change["new"])))
    return translate(N_("訂正: ")) + _LIST.join(parts)


def _budget_line(data: dict) -> str:
    year, amount = (
        fiscal_year_label(data["fiscal_year"], language()),
        thousand_yen(data["allocated_yen"], language()),
    )
    return f"{year} {data['project_name']} {amount}"


def _owner(data: dict) -> str:
    side = N_("区の担当者") if data.get("owner") == "ward_owner" else N_("局の担当者")
    return _change(translate(side), data.get("old_owner") or translate(N_("未設定")), data["new_owner"])


def _priority(data: dict) -> str:
    def label(value):
        return Priority(value).label if value in Priority._value2member_map_ else translate(N_("未設定"))

    return say(
        N_("緊急度: %(old)s → %(new)s"), old=label(data.get("old_priority")), new=label(data["new_priority"])
    )


def _assignee(data: dict) -> str:
    old = data.get("old_assignee") or translate(N_("未設定"))
    return say(N_("担当者: %(old)s → %(new)s"), old=old, new=data["new_assignee"])


def _public_text(data: dict) -> str:
    """公開内容を作成: each changed text with its old and new value."""
    parts = [
        _change(translate(PUBLIC_LABELS.get(c["field"], c["field"])), _or_none(c["old"]), _or_none(c["new"]))
        for c in data["public_text"]
    ]
    cleared = (
        translate(N_(" (確認済みの内容を編集したため、再確認まで公開ページから外れます)"))
        if data.get("approval_cleared")
        else ""
    )
    return translate(N_("公開内容: ")) + _LIST.join(parts) + cleared


# How each piece of an event's data reads, in the order the timeline shows them: (key, shown
# when the key is present (True) or only when its value is set (False), the text).
DETAIL_PARTS: tuple[tuple[str, bool, Callable[[dict], str]], ...] = (
    ("answer_kind", True, lambda d: say(N_("回答区分: %(kind)s"), kind=AnswerKind(d["answer_kind"]).label)),
    ("referred_to", True, lambda d: say(N_("回付先: %(value)s"), value=d["referred_to"])),
    (
        "ward_issue_reference",
        True,
        lambda d: say(N_("区重要課題: %(value)s"), value=d["ward_issue_reference"]),
    ),
    ("linked_to", True, lambda d: say(N_("関連する要望: %(value)s"), value=d["linked_to"])),
    ("request_reference", True, lambda d: say(N_("要望: %(value)s"), value=d["request_reference"])),
    ("decision", True, lambda d: say(N_("協議結果: %(value)s"), value=Decision(d["decision"]).label)),
    ("next_review_on", False, lambda d: say(N_("次回協議: %(value)s"), value=d["next_review_on"])),
    ("lead_bureau", True, lambda d: say(N_("主管局: %(value)s"), value=d["lead_bureau"])),
    (
        "related_bureaus",
        False,
        lambda d: say(N_("関係局: %(value)s"), value=_LIST.join(d["related_bureaus"])),
    ),
    ("allocated_yen", True, _budget_line),
    (
        "funding",
        False,
        lambda d: translate(N_("まちづくり推進経費から充当")) if d["funding"] == "ward_fund" else "",
    ),
    ("within_existing_budget", False, lambda d: translate(N_("既存予算内で対応"))),
    (
        "executed_yen",
        True,
        lambda d: say(
            N_("決算額 計%(value)s"), value=thousand_yen(sum(d["executed_yen"].values()), language())
        ),
    ),
    ("new_owner", True, _owner),
    ("new_priority", True, _priority),
    ("new_assignee", True, _assignee),
    (
        "new_summary",
        True,
        lambda d: _change(
            translate(N_("事例集の要約")), _or_none(d["old_summary"]), _or_none(d["new_summary"])
        ),
    ),
    ("is_public", True, lambda d: translate(N_("公開") if d["is_public"] else N_("非公開"))),
    ("public_text", True, _public_text),
    (
        "public_text_approved",
        True,
        lambda d: say(N_("確認した公開内容: %(value)s"), value=d["public_text_approved"]),
    ),
    ("to_ward", True, lambda d: _change(translate(N_("区")), d["from_ward"], d["to_ward"])),
    ("declined_by", True, lambda d: say(N_("引継ぎを断った区: %(value)s"), value=d["declined_by"])),
    ("to_center", True, lambda d: _change(translate(N_("センター")), d["from_center"], d["to_center"])),
    ("question", True, lambda d: say(N_("照会: %(value)s"), value=d["question"])),
    ("opinion_of", True, lambda d: say(N_("意見: %(value)s"), value=d["opinion_of"])),
    ("changes", True, lambda d: translate(N_("変更: ")) + _LIST.join(translate(c) for c in d["changes"])),
    ("import_batch_id", False, lambda d: say(N_("一括取込 #%(value)s"), value=d["import_batch_id"])),
    (
        "attachment",
        True,
        lambda d: say(
            N_("添付ファイル: %(name)s (%(size)s)"),
            name=d["attachment"],
            size=file_size(d.get("size_bytes"), language()),
        ),
    ),
    ("photos", False, lambda d: say(N_("写真 %(count)s枚"), count=d["photos"])),
)


def event_details(event: HistoryEvent) -> str:
    """The event's data as one readable line, in the user's language."""
    data = event.data or {}
    if isinstance(data.get("changes"), list):
        return _line_of(data) + correction_details(data)
    parts = (
        render(data)
        for key, when_present, render in DETAIL_PARTS
        if (key in data if when_present else data.get(key))
    )
    return " / ".join(part for part in parts if part)
