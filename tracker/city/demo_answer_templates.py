"""Demo of the wards' answer templates (定型文), so that `make run` offers some on the answer forms.

Each ward gets the same five everyday answers, added through ``answer_templates.add_template``
(so the admin change log shows them) by the ward's first manager, or the admin for a ward without
one (西区 in the demo). Idempotent: a title the ward already has is left alone.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import User, Ward
from ..states import Role
from ..teamwork_models import AnswerTemplate
from . import answer_templates
from .masterdata import ward_managers

TEMPLATES = (
    (
        "道路補修の依頼を受け付けました",
        "{受付日}にご連絡いただいた道路の傷みについて、土木センターへ現地の確認と補修を依頼しました。"
        "補修の時期が決まりましたら、あらためてお知らせします。",
    ),
    (
        "所管課へ伝えました",
        "「{件名}」についてのご要望は、担当する所管課へ内容をお伝えしました。"
        "今後の対応については、所管課から直接ご連絡する場合があります。",
    ),
    (
        "現地を確認しました",
        "{受付日}にいただいたご要望について、職員が現地を確認しました。"
        "確認した状況をもとに、対応の方法を関係課と検討しています。",
    ),
    (
        "対応が難しい理由",
        "「{件名}」について関係課と検討しましたが、予算や法令上の制約があり、現時点での対応は難しいとの結論になりました。"
        "状況が変わりましたら、あらためて検討します。ご理解をお願いいたします。",
    ),
    (
        "防犯灯の設置基準",
        "防犯灯は、町内自治会が設置し、市が設置費と電気料金の一部を補助する仕組みです。"
        "設置の場所や補助の要件は、お住まいの町内自治会にご相談ください。申請の手続きは区役所でご案内しています。",
    ),
)


def load_demo_answer_templates(session: Session) -> int:
    """Add the demo templates each ward does not have yet; how many were added now."""
    added = 0
    admin = session.scalars(
        select(User).where(User.role == Role.ADMIN, User.active).order_by(User.id)
    ).first()
    for ward in session.scalars(select(Ward).order_by(Ward.sort_order)):
        keeper = next(iter(ward_managers(session, ward.id)), admin)
        if keeper is None:
            continue
        have = set(session.scalars(select(AnswerTemplate.title).where(AnswerTemplate.ward_id == ward.id)))
        for title, body in TEMPLATES:
            if title not in have:
                answer_templates.add_template(session, keeper, ward, {"title": title, "body": body})
                added += 1
    session.flush()
    return added
