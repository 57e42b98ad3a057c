"""How history events read on a timeline: labels for actions, states, roles and data."""

from __future__ import annotations

from ..formatting import fiscal_year_label, thousand_yen
from ..models import HistoryEvent
from ..states import AnswerKind, Decision, IssueState, RequestState, Role
from ..workflow import ISSUE_ACTIONS, REQUEST_ACTIONS

EXTRA_LABELS = {
    "create": "登録",
    "bundle": "要望を追加",
    "issue_withdrawn": "区重要課題の取下げにより受付に戻る",
    "erase_personal_data": "個人情報の消去",
    "export": "出力",
    "admin_change": "管理操作",
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


def event_details(event: HistoryEvent) -> str:
    """The event's data as one readable Japanese line."""
    data, parts = event.data or {}, []
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
    if "is_public" in data:
        parts.append("公開" if data["is_public"] else "非公開")
    if "changes" in data:
        parts.append("変更: " + "、".join(data["changes"]))
    if data.get("import_batch_id"):
        parts.append(f"一括取込 #{data['import_batch_id']}")
    if data.get("photos"):
        parts.append(f"写真 {data['photos']}枚")
    return " / ".join(parts)
