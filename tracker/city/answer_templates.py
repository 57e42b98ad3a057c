"""A ward's answer templates (定型文): kept by its ward managers (the admin: every ward's), offered
on the answer forms of the ward's requests.

Each write checks the actor's scope and the input before it changes anything, then changes the
rows, flushes and records the change in the admin change log with old and new values
(``tracker.safeguards.admin_log.recording``) in the caller's transaction; a refusal is a
``TemplateError`` naming the field it belongs to. The caller commits. Nothing is deleted: a
template no longer wanted is deactivated, which takes it off the answer forms and keeps it for
the history. ``position`` orders a ward's list (then the id); moving one swaps it with its
neighbour, after numbering the list 1, 2, 3... so that equal positions cannot stall a move.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..effects.support import WorkflowError
from ..models import User, Ward
from ..safeguards import admin_log
from ..states import Role
from ..teamwork_models import AnswerTemplate
from ..wording import N_

TITLE_LIMIT = 80  # the column's size
BODY_LIMIT = 5000  # the answer text's limit: a template is inserted into it


class TemplateError(WorkflowError):
    """A refusal; ``field`` names the form field it is shown next to (None: above the form)."""

    def __init__(self, template: str, field: str | None = None, **params: object):
        super().__init__(template, **params)
        self.field = field


def may_keep(actor: User, ward_id: int | None) -> bool:
    """The admin, and a ward manager for their own ward."""
    if not actor.active or ward_id is None:
        return False
    if actor.role == Role.ADMIN:
        return True
    return actor.role == Role.WARD_MANAGER and actor.ward_id == ward_id


def _ordered(ward_id: int):
    return (
        select(AnswerTemplate)
        .where(AnswerTemplate.ward_id == ward_id)
        .order_by(AnswerTemplate.position, AnswerTemplate.id)
    )


def templates_of(session: Session, ward_id: int) -> Sequence[AnswerTemplate]:
    """Every template of the ward, active or not, in the ward's order (the keeper's page)."""
    return session.scalars(_ordered(ward_id)).all()


def offered(session: Session, ward_id: int | None) -> Sequence[AnswerTemplate]:
    """The ward's active templates, in order: what its answer forms offer."""
    if ward_id is None:
        return ()
    return session.scalars(_ordered(ward_id).where(AnswerTemplate.active)).all()


def _checked(fields: dict[str, Any]) -> tuple[str, str]:
    title = " ".join(str(fields.get("title") or "").split())
    body = str(fields.get("body") or "").replace("\r\n", "\n").strip()
    if not title:
        raise TemplateError(N_("題名を入力してください。"), "title")
    if len(title) > TITLE_LIMIT:
        raise TemplateError(N_("題名は%(limit)s文字以内にしてください。"), "title", limit=TITLE_LIMIT)
    if not body:
        raise TemplateError(N_("本文を入力してください。"), "body")
    if len(body) > BODY_LIMIT:
        raise TemplateError(N_("本文は%(limit)s文字以内にしてください。"), "body", limit=BODY_LIMIT)
    for field, text in (("title", title), ("body", body)):
        if "\x00" in text:
            raise TemplateError(N_("使えない文字が含まれています。"), field)
    return title, body


def _guard(actor: User, ward_id: int | None) -> None:
    if not may_keep(actor, ward_id):
        raise TemplateError(N_("この区の定型文は編集できません。"))


def add_template(session: Session, actor: User, ward: Ward | None, fields: dict[str, Any]) -> AnswerTemplate:
    """A new active template at the end of the ward's list."""
    if ward is None:
        raise TemplateError(N_("区を選んでください。"))
    _guard(actor, ward.id)
    title, body = _checked(fields)
    last = session.scalar(select(func.max(AnswerTemplate.position)).where(AnswerTemplate.ward_id == ward.id))
    with admin_log.recording(session, actor, f"定型文「{title}」を追加 ({ward.name})"):
        template = AnswerTemplate(
            ward_id=ward.id,
            title=title,
            body=body,
            position=(last or 0) + 1,
            active=True,
            created_by_id=actor.id,
        )
        session.add(template)
    return template


def update_template(session: Session, actor: User, template: AnswerTemplate, fields: dict[str, Any]) -> None:
    """A new title and body; refused when nothing would change."""
    _guard(actor, template.ward_id)
    title, body = _checked(fields)
    if (title, body) == (template.title, template.body):
        raise TemplateError(N_("変更はありません。"))
    with admin_log.recording(session, actor, f"定型文「{title}」を更新"):
        template.title = title
        template.body = body


def move_template(session: Session, actor: User, template: AnswerTemplate, direction: Any) -> None:
    """One place up (``"up"``) or down (``"down"``) in the ward's list."""
    _guard(actor, template.ward_id)
    if direction not in ("up", "down"):
        raise TemplateError(N_("移動する方向を選んでください。"))
    rows = list(templates_of(session, template.ward_id))
    index = rows.index(template)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(rows):
        first = direction == "up"
        raise TemplateError(N_("既に先頭です。") if first else N_("既に最後です。"))
    rows[index], rows[other] = rows[other], rows[index]
    with admin_log.recording(session, actor, f"定型文「{template.title}」の並び順を変更"):
        for position, row in enumerate(rows, start=1):
            if row.position != position:
                row.position = position


def set_active(session: Session, actor: User, template: AnswerTemplate, active: Any) -> None:
    """Deactivate (``False``: no longer offered, kept for the history) or reactivate it."""
    _guard(actor, template.ward_id)
    if not isinstance(active, bool):
        raise TemplateError(N_("有効か無効かを選んでください。"))
    if template.active == active:
        raise TemplateError(N_("既に有効です。") if active else N_("既に無効です。"))
    verb = "有効" if active else "無効"
    with admin_log.recording(session, actor, f"定型文「{template.title}」を{verb}に変更"):
        template.active = active
