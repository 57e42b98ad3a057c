"""How history events read on a timeline: labels for actions, states, roles and data."""

from __future__ import annotations

from ..formatting import file_size, fiscal_year_label, thousand_yen
from ..models import HistoryEvent
from ..states import AnswerKind, Decision, IssueState, RequestState, Role
from ..workflow import ISSUE_ACTIONS, REQUEST_ACTIONS
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
}


def action_label(event: HistoryEvent) -> str:
    actions = REQUEST_ACTIONS if event.service_request_id else ISSUE_ACTIONS
    if event.action in EXTRA_LABELS:
        return EXTRA_LABELS[event.action]
    action = actions.get(event.action)
    return action.label if action else event.action


def state_label(value: str | None) -> str:
    for enum_cls in (RequestState, IssueState):
        if value in enum_cls._value2member_map_:
            return enum_cls(value).label
    return value or ""


def role_label(value: str) -> str:
    return Role(value).label if value in Role._value2member_map_ else "システム"


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


def event_details(event: HistoryEvent) -> str:
    """The event's data as one readable Japanese line."""
    data, parts = event.data or {}, []
    if isinstance(data.get("changes"), list):
        return _line_of(data) + correction_details(data)
    if "answer_kind" in data:
        parts.append(f"回答区分: {AnswerKind(data['answer_kind']).label}")
    if "referred_to" in data:
        parts.append(f"回付先: {data['referred_to']}")
    if "ward_issue_reference" in data:
        parts.append(f"区重要課題: {data['ward_issue_reference']}")
    if "linked_to" in data:
        parts.append(f"関連する要望: {data['linked_to']}")
    if "request_reference" in data:
        parts.append(f"要望: {data['request_reference']}")
    if "decision" in data:
        parts.append(f"協議結果: {Decision(data['decision']).label}")
    if data.get("next_review_on"):
        parts.append(f"次回協議: {data['next_review_on']}")
    if "lead_bureau" in data:
        parts.append(f"主管局: {data['lead_bureau']}")
    if data.get("related_bureaus"):
        parts.append(f"関係局: {'、'.join(data['related_bureaus'])}")
    if "allocated_yen" in data:
        parts.append(
            f"{fiscal_year_label(data['fiscal_year'])} {data['project_name']} "
            f"{thousand_yen(data['allocated_yen'])}"
        )
    if data.get("funding") == "ward_fund":
        parts.append("まちづくり推進経費から充当")
    if data.get("within_existing_budget"):
        parts.append("既存予算内で対応")
    if "executed_yen" in data:
        parts.append(f"決算額 計{thousand_yen(sum(data['executed_yen'].values()))}")
    if "new_owner" in data:
        side = "区の担当者" if data.get("owner") == "ward_owner" else "局の担当者"
        parts.append(f"{side}: {data.get('old_owner') or '未設定'} → {data['new_owner']}")
    if "new_summary" in data:
        parts.append(f"事例集の要約: {data['old_summary'] or '(なし)'} → {data['new_summary'] or '(なし)'}")
    if "is_public" in data:
        parts.append("公開" if data["is_public"] else "非公開")
    if "to_ward" in data:
        parts.append(f"区: {data['from_ward']} → {data['to_ward']}")
    if "declined_by" in data:
        parts.append(f"引継ぎを断った区: {data['declined_by']}")
    if "to_center" in data:
        parts.append(f"センター: {data['from_center']} → {data['to_center']}")
    if "question" in data:
        parts.append(f"照会: {data['question']}")
    if "opinion_of" in data:
        parts.append(f"意見: {data['opinion_of']}")
    if "changes" in data:
        parts.append("変更: " + "、".join(data["changes"]))
    if data.get("import_batch_id"):
        parts.append(f"一括取込 #{data['import_batch_id']}")
    if "attachment" in data:
        parts.append(f"添付ファイル: {data['attachment']} ({file_size(data.get('size_bytes'))})")
    if data.get("photos"):
        parts.append(f"写真 {data['photos']}枚")
    return " / ".join(parts)
