"""Demo of the city-wide 事例集 (good-practice library), on top of the city's three published
examples (``masterdata.load_demo_issues`` walks them to 完了).

So that `make run` shows the library with entries: each example is marked as a good practice by
a manager of its ward, with a short summary of what worked, through the workflow (so the issue's
history shows it). Idempotent: an example already in the library, or not completed, is left alone.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import workflow
from ..effects import good_practice
from ..models import WardIssue
from ..states import IssueState
from .masterdata import ward_managers

SUMMARIES = {
    "中心市街地客引き対策": (
        "商店街・警察・地元の自治会と合同パトロールを始め、条例による指導と組み合わせたことで、"
        "客引き行為が目に見えて減った。地域の担い手が継続して参加できる当番表を作ったことが効いた。"
    ),
    "ごみステーション施設整備に係る補助の新設": (
        "校区自治協議会と集積所の現状を一緒に点検し、補助の要件を地域の実情に合わせたため、"
        "初年度から申請が集まった。申請書の記入例を町内自治会に配ったことも利用を後押しした。"
    ),
    "老朽危険消防倉庫の建替え": (
        "消防団・町内自治会と倉庫の危険度を一緒に調べて優先順位をつけ、建替えの順番に地域の合意を"
        "得てから予算要求したことで、局との協議が早くまとまった。"
    ),
}


def load_demo_practices(session: Session, today: dt.date) -> int:
    """Mark the completed published examples as good practices; how many were marked now."""
    marked = 0
    for title, summary in SUMMARIES.items():
        issue = session.scalars(select(WardIssue).filter_by(title=title).order_by(WardIssue.id)).first()
        if issue is None or issue.state != IssueState.COMPLETED:
            continue
        if good_practice.practice_of(session, issue) is not None:
            continue
        manager = ward_managers(session, issue.ward_id)[0]
        workflow.apply(session, manager, issue, "mark_good_practice", {"summary": summary}, today=today)
        marked += 1
    session.flush()
    return marked
