"""Enumerations shared by the models and the workflow.

They live in their own module so that both ``models`` and ``workflow`` can import them
without importing each other. Each enum value is stored in the database as its string
value; ``label`` gives the Japanese wording the city uses.
"""

from enum import StrEnum


class LabelledEnum(StrEnum):
    """A string enum whose members carry a Japanese label."""

    def __new__(cls, value: str, label: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(member.value, member.label) for member in cls]


class Role(LabelledEnum):
    LIAISON = "liaison", "地域担当職員"
    WARD_MANAGER = "ward_manager", "区役所 管理職"
    BUREAU_STAFF = "bureau_staff", "局 担当者"
    ADMIN = "admin", "システム管理者 (地域政策課)"


class RequestState(LabelledEnum):
    RECEIVED = "received", "受付"
    REFERRED = "referred", "回付"
    HANDING_OVER = "handing_over", "他区へ引継ぎ中"
    ESCALATED = "escalated", "区重要課題化"
    ANSWERED = "answered", "回答済み"
    WITHDRAWN = "withdrawn", "取下げ"


OPEN_REQUEST_STATES = (
    RequestState.RECEIVED,
    RequestState.REFERRED,
    RequestState.ESCALATED,
    RequestState.HANDING_OVER,
)


class IssueState(LabelledEnum):
    DRAFT = "draft", "起案"
    AWAITING_APPROVAL = "awaiting_approval", "決裁待ち"
    REGISTERED = "registered", "区重要課題決定"
    CONSULTING = "consulting", "局協議中"
    INQUIRING = "inquiring", "区へ照会中"
    DECIDED = "decided", "協議済"
    NOT_ADOPTED = "not_adopted", "対応しない"
    BUDGETED = "budgeted", "予算化"
    IMPLEMENTING = "implementing", "実施中"
    COMPLETED = "completed", "完了"
    WITHDRAWN = "withdrawn", "取下げ"


# Issue states of an issue the ward has decided on (区重要課題決定 or later, not withdrawn): what
# reports count as registered and what the public pages may show. A draft awaiting approval is not.
REGISTERED_ISSUE_STATES = tuple(
    state
    for state in IssueState
    if state not in (IssueState.DRAFT, IssueState.AWAITING_APPROVAL, IssueState.WITHDRAWN)
)
# Issue states in which the bureau has given its decision: a bundled request may be answered.
DECIDED_ISSUE_STATES = (
    IssueState.DECIDED,
    IssueState.NOT_ADOPTED,
    IssueState.BUDGETED,
    IssueState.IMPLEMENTING,
    IssueState.COMPLETED,
)
# Issue states that can still take more requests.
OPEN_ISSUE_STATES = (
    IssueState.DRAFT,
    IssueState.AWAITING_APPROVAL,
    IssueState.REGISTERED,
    IssueState.CONSULTING,
    IssueState.INQUIRING,
    IssueState.DECIDED,
    IssueState.BUDGETED,
    IssueState.IMPLEMENTING,
)


class Source(LabelledEnum):
    COMMUNITY_ACTIVITY = "community_activity", "地域活動"
    SCHOOL_DISTRICT_COUNCIL = "school_district_council", "校区自治協議会"
    NEIGHBOURHOOD_ASSOCIATION = "neighbourhood_association", "町内自治会"
    COUNTER = "counter", "窓口"
    PHONE = "phone", "電話"
    APP = "app", "アプリ"  # Open311: a residents' app or the call center, through an API key
    OTHER = "other", "その他"


# The sources staff choose when they log or import a request: アプリ arrives only through an API key.
STAFF_SOURCES = tuple(source for source in Source if source != Source.APP)


class AnswerKind(LabelledEnum):
    RESOLVED = "resolved", "対応済み"
    INFORMATION = "information", "情報提供"
    DIFFICULT = "difficult", "対応困難"


class Decision(LabelledEnum):
    ADOPT = "adopt", "対応する"
    PARTIAL = "partial", "一部対応"
    REJECT = "reject", "対応しない"
    CONTINUE = "continue", "継続協議"


class Funding(LabelledEnum):
    BUREAU = "bureau", "局予算"
    WARD_FUND = "ward_fund", "まちづくり推進経費"


class JobState(LabelledEnum):
    PENDING = "pending", "待機中"
    ENQUEUED = "enqueued", "キュー投入済み"
    RUNNING = "running", "実行中"
    RETRYING = "retrying", "再試行待ち"
    DONE = "done", "完了"
    FAILED = "failed", "失敗"


class ImportState(LabelledEnum):
    PENDING = "pending", "待機中"
    RUNNING = "running", "取込中"
    DONE = "done", "取込完了"
    INVALID = "invalid", "エラーあり"
    DUPLICATE = "duplicate", "取込済みのファイル"


class OrganisationKind(LabelledEnum):
    """The kinds of community organisation a center's liaison staff meet (地域団体)."""

    SCHOOL_DISTRICT_COUNCIL = "school_district_council", "校区自治協議会"
    NEIGHBOURHOOD_ASSOCIATION = "neighbourhood_association", "町内自治会"
    OTHER = "other", "その他の団体"


class IndicatorKind(LabelledEnum):
    """How an indicator's actual values come about: computed from the data, or entered."""

    COMPUTED = "computed", "データから算出"
    ENTERED = "entered", "調査等の入力値"
