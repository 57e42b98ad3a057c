"""Demo of ward and bureau working together, on top of the demo requests (``demo_requests``).

So that `make run` shows what the issues in consultation look like when people talk about them:
the lead bureau and the ward comment on each issue in consultation; in 中央区 the bureau has put
a question to the ward (照会) that waits for the ward's answer; in 東区 the ward has attached the
school district council's letter (陳情書, a PDF); a liaison has corrected where an answered
request was (訂正, with the reason); and 北区 has offered a request to 中央区, whose manager
finds it in the triage list (他区からの引継ぎ依頼). Everything goes through the workflow, so the
history shows it. Idempotent: nothing is done twice once the first demo comment is there.
"""

from __future__ import annotations

import datetime as dt
import io

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import workflow
from ..effects.teamwork import AttachmentStore, Upload
from ..models import Bureau, ServiceRequest, User, Ward, WardIssue
from ..states import IssueState, RequestState, Role
from ..teamwork_models import Comment
from .masterdata import ward_managers

BUREAU_COMMENT = "現地の照度調査の日程を調整しています。結果が出しだい共有します。"
WARD_REPLY = "校区自治協議会の会長にも調査日をお伝えします。"
QUESTION = "設置を希望する箇所の数と、校区自治協議会での合意の状況を教えてください。"
CORRECTION = {"location_text": "中央区中央公園 北側入口", "comment": "場所の記載が不正確だったため"}
HANDOVER_REASON = "施設の所在地が中央区のため、中央区で対応をお願いします。"
# A one-page PDF, enough for the content check (``tracker.effects.attachments``) and a viewer.
LETTER_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _one(session: Session, model, **where):
    return session.scalars(select(model).filter_by(**where).order_by(model.id)).first()


def _demo_request(session: Session, title: str, login: str) -> ServiceRequest | None:
    liaison = _one(session, User, login=login)
    if liaison is None:
        return None
    return _one(session, ServiceRequest, title=f"{title} ({liaison.center.name})")


def load_demo_teamwork(session: Session, attachment_dir: str, today: dt.date) -> bool:
    """Add the demo's comments, 照会, attachment, correction and hand-over; False if already there."""
    if session.scalar(select(Comment.id).where(Comment.body == BUREAU_COMMENT).limit(1)):
        return False
    bureau = _one(session, Bureau, name="文化市民局")
    staff = _one(session, User, role=Role.BUREAU_STAFF, bureau_id=bureau.id) if bureau else None
    consulting = session.scalars(
        select(WardIssue)
        .where(WardIssue.state == IssueState.CONSULTING, WardIssue.title.like("防犯灯の増設 (%"))
        .order_by(WardIssue.ward_id)
    ).all()
    for issue in consulting if staff else ():
        manager = ward_managers(session, issue.ward_id)[0]
        workflow.apply(session, staff, issue, "comment", {"body": BUREAU_COMMENT}, today=today)
        workflow.apply(session, manager, issue, "comment", {"body": WARD_REPLY}, today=today)
        ward = issue.ward.name
        if ward == "中央区":
            workflow.apply(session, staff, issue, "inquire", {"question": QUESTION}, today=today)
        if ward == "東区":
            store = AttachmentStore(attachment_dir, 1024 * 1024, 20)
            upload = Upload(io.BytesIO(LETTER_PDF), "校区自治協議会_要望書.pdf")
            workflow.apply(session, manager, issue, "attach", {"upload": upload, "store": store}, today=today)
    answered = _demo_request(session, "公園の街灯が切れている", "chuo.liaison")
    if answered is not None and answered.state == RequestState.ANSWERED:
        workflow.apply(session, answered.logged_by, answered, "correct_request", CORRECTION, today=today)
    offered = _demo_request(session, "公民館の駐車場の段差", "kita.liaison")
    central = _one(session, Ward, name="中央区")
    if offered is not None and central is not None and offered.state == RequestState.RECEIVED:
        sender = ward_managers(session, offered.ward_id)[0]
        payload = {"handover_ward": central.id, "comment": HANDOVER_REASON}
        workflow.apply(session, sender, offered, "hand_over", payload, today=today)
    session.flush()
    return True
