"""How history events read on a timeline: labels for actions, states, roles and data."""

from __future__ import annotations

from collections.abc import Callable

from ..formatting import file_size, fiscal_year_label, thousand_yen
from ..models import HistoryEvent
from ..states import AnswerKind, Decision, IssueState, Priority, RequestState, Role
from ..wording import N_, say, translate
from ..workflow import ISSUE_ACTIONS, REQUEST_ACTIONS
from .publication import PUBLIC_LABELS
from .support import FIELD_LABELS

EXTRA_LABELS = {
    "create": "登録",
    "bundle": "要望を追加",
    "issue_withdrawn": "区重要課題の取下げにより受付に戻る",
    "erase_personal_data": "個人情報の消去",
    "export": "出力",
    "admin_change": "管理操作",
    "link_activity": "活動に結び付け",
    "unlink_activity": "活動との結び付けを解除",
    "assign_intake": "未振り分けから振り分け",
    "set_priority": N_("緊急度を変更"),
    "assign": N_("担当者を設定"),
}


def action_label(event: HistoryEvent) -> str:
    actions = REQUEST_ACTIONS if event.service_request_id else ISSUE_ACTIONS
    if event.action in EXTRA_LABELS:
        return translate(EXTRA_LABELS[event.action])
    action = actions.get(event.action)
    return translate(action.label) if action else event.action


def state_label(value: str | None) -> str:
    for enum_cls in (RequestState, IssueState):
        if value in enum_cls._value2member_map_:
            return enum_cls(value).label
    return value or ""


def role_label(value: str) -> str:
    return Role(value).label if value in Role._value2member_map_ else translate(N_("システム"))


CORRECTED_LABELS = {
    "center": "まちづくりセンター",
    "category": "分野",
    "location_text": "場所",
    "executed_yen": "決算額",
    "cancelled": "状態",
}


def _shown(field: str, value) -> str:
    """One value of a corrected field, as the timeline shows it (amounts in 千円)."""
    if value is None or value == "":
        return "(なし)"
    if field in ("allocated_yen", "executed_yen"):
        return thousand_yen(value)
    if field == "fiscal_year":
        return fiscal_year_label(value)
    if field == "answer_kind":
        return AnswerKind(value).label
    if field == "cancelled":
        return "取消" if value else "有効"
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
            label = "充当額"
        parts.append(f"{label}: {_shown(field, change['old'])} → {_shown(field, change['new'])}")
    return "訂正: " + "、".join(parts)


def _budget_line(data: dict) -> str:
    year, amount = fiscal_year_label(data["fiscal_year"]), thousand_yen(data["allocated_yen"])
    return f"{year} {data['project_name']} {amount}"


def _owner(data: dict) -> str:
    side = "区の担当者" if data.get("owner") == "ward_owner" else "局の担当者"
    return f"{side}: {data.get('old_owner') or '未設定'} → {data['new_owner']}"


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
        f"{PUBLIC_LABELS.get(c['field'], c['field'])}: {c['old'] or '(なし)'} → {c['new'] or '(なし)'}"
        for c in data["public_text"]
    ]
    cleared = (
        " (確認済みの内容を編集したため、再確認まで公開ページから外れます)"
        if data.get("approval_cleared")
        else ""
    )
    return "公開内容: " + "、".join(parts) + cleared


# How each piece of an event's data reads, in the order the timeline shows them: (key, shown
# when the key is present (True) or only when its value is set (False), the text).
DETAIL_PARTS: tuple[tuple[str, bool, Callable[[dict], str]], ...] = (
    ("answer_kind", True, lambda d: f"回答区分: {AnswerKind(d['answer_kind']).label}"),
    ("referred_to", True, lambda d: f"回付先: {d['referred_to']}"),
    ("ward_issue_reference", True, lambda d: f"区重要課題: {d['ward_issue_reference']}"),
    ("linked_to", True, lambda d: f"関連する要望: {d['linked_to']}"),
    ("request_reference", True, lambda d: f"要望: {d['request_reference']}"),
    ("decision", True, lambda d: f"協議結果: {Decision(d['decision']).label}"),
    ("next_review_on", False, lambda d: f"次回協議: {d['next_review_on']}"),
    ("lead_bureau", True, lambda d: f"主管局: {d['lead_bureau']}"),
    ("related_bureaus", False, lambda d: f"関係局: {'、'.join(d['related_bureaus'])}"),
    ("allocated_yen", True, _budget_line),
    ("funding", False, lambda d: "まちづくり推進経費から充当" if d["funding"] == "ward_fund" else ""),
    ("within_existing_budget", False, lambda d: "既存予算内で対応"),
    ("executed_yen", True, lambda d: f"決算額 計{thousand_yen(sum(d['executed_yen'].values()))}"),
    ("new_owner", True, _owner),
    ("new_priority", True, _priority),
    ("new_assignee", True, _assignee),
    (
        "new_summary",
        True,
        lambda d: f"事例集の要約: {d['old_summary'] or '(なし)'} → {d['new_summary'] or '(なし)'}",
    ),
    ("is_public", True, lambda d: "公開" if d["is_public"] else "非公開"),
    ("public_text", True, _public_text),
    ("public_text_approved", True, lambda d: f"確認した公開内容: {d['public_text_approved']}"),
    ("to_ward", True, lambda d: f"区: {d['from_ward']} → {d['to_ward']}"),
    ("declined_by", True, lambda d: f"引継ぎを断った区: {d['declined_by']}"),
    ("to_center", True, lambda d: f"センター: {d['from_center']} → {d['to_center']}"),
    ("question", True, lambda d: f"照会: {d['question']}"),
    ("opinion_of", True, lambda d: f"意見: {d['opinion_of']}"),
    ("changes", True, lambda d: "変更: " + "、".join(d["changes"])),
    ("import_batch_id", False, lambda d: f"一括取込 #{d['import_batch_id']}"),
    ("attachment", True, lambda d: f"添付ファイル: {d['attachment']} ({file_size(d.get('size_bytes'))})"),
    ("photos", False, lambda d: f"写真 {d['photos']}枚"),
)


def event_details(event: HistoryEvent) -> str:
    """The event's data as one readable Japanese line."""
    data = event.data or {}
    if isinstance(data.get("changes"), list):
        return _line_of(data) + correction_details(data)
    parts = (
        render(data)
        for key, when_present, render in DETAIL_PARTS
        if (key in data if when_present else data.get(key))
    )
    return " / ".join(part for part in parts if part)
