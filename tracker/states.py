"""Enumerations shared by the models and the workflow.

They live in their own module so that both ``models`` and ``workflow`` can import them
without importing each other. Each enum value is stored in the database as its string
value; ``label`` gives the Japanese wording the city uses.
"""

from enum import StrEnum

from .wording import N_, translate


class LabelledEnum(StrEnum):
    """A string enum whose members carry a Japanese label (``source_label``), marked for the
    catalog; ``label`` reads it in the current user's language (``wording``)."""

    def __new__(cls, value: str, label: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.source_label = label
        return member

    @property
    def label(self) -> str:
        return translate(self.source_label)

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(member.value, member.label) for member in cls]


class Role(LabelledEnum):
    LIAISON = "liaison", N_("地域担当職員")
    WARD_MANAGER = "ward_manager", N_("区役所 管理職")
    BUREAU_STAFF = "bureau_staff", N_("局 担当者")
    ADMIN = "admin", N_("システム管理者 (地域政策課)")


class RequestState(LabelledEnum):
    RECEIVED = "received", N_("受付")
    REFERRED = "referred", N_("回付")
    HANDING_OVER = "handing_over", N_("他区へ引継ぎ中")
    ESCALATED = "escalated", N_("区重要課題化")
    ANSWERED = "answered", N_("回答済み")
    WITHDRAWN = "withdrawn", N_("取下げ")


OPEN_REQUEST_STATES = (
    RequestState.RECEIVED,
    RequestState.REFERRED,
    RequestState.ESCALATED,
    RequestState.HANDING_OVER,
)


class IssueState(LabelledEnum):
    DRAFT = "draft", N_("起案")
    AWAITING_APPROVAL = "awaiting_approval", N_("決裁待ち")
    REGISTERED = "registered", N_("区重要課題決定")
    CONSULTING = "consulting", N_("局協議中")
    INQUIRING = "inquiring", N_("区へ照会中")
    DECIDED = "decided", N_("協議済")
    NOT_ADOPTED = "not_adopted", N_("対応しない")
    BUDGETED = "budgeted", N_("予算化")
    IMPLEMENTING = "implementing", N_("実施中")
    COMPLETED = "completed", N_("完了")
    WITHDRAWN = "withdrawn", N_("取下げ")


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
    COMMUNITY_ACTIVITY = "community_activity", N_("地域活動")
    SCHOOL_DISTRICT_COUNCIL = "school_district_council", N_("校区自治協議会")
    NEIGHBOURHOOD_ASSOCIATION = "neighbourhood_association", N_("町内自治会")
    COUNTER = "counter", N_("窓口")
    PHONE = "phone", N_("電話")
    APP = "app", N_("アプリ")  # Open311: a residents' app or the call center, through an API key
    OTHER = "other", N_("その他")


# The sources staff choose when they log or import a request: アプリ arrives only through an API key.
STAFF_SOURCES = tuple(source for source in Source if source != Source.APP)


class AnswerKind(LabelledEnum):
    RESOLVED = "resolved", N_("対応済み")
    INFORMATION = "information", N_("情報提供")
    DIFFICULT = "difficult", N_("対応困難")


class Priority(LabelledEnum):
    """緊急度 of a request: how soon the ward should act on it (queues sort and filter by it)."""

    HIGH = "high", N_("高")
    MEDIUM = "medium", N_("中")
    LOW = "low", N_("低")


class Decision(LabelledEnum):
    ADOPT = "adopt", N_("対応する")
    PARTIAL = "partial", N_("一部対応")
    REJECT = "reject", N_("対応しない")
    CONTINUE = "continue", N_("継続協議")


class Funding(LabelledEnum):
    BUREAU = "bureau", N_("局予算")
    WARD_FUND = "ward_fund", N_("まちづくり推進経費")


class JobState(LabelledEnum):
    PENDING = "pending", N_("待機中")
    ENQUEUED = "enqueued", N_("キュー投入済み")
    RUNNING = "running", N_("実行中")
    RETRYING = "retrying", N_("再試行待ち")
    DONE = "done", N_("完了")
    FAILED = "failed", N_("失敗")


class ImportState(LabelledEnum):
    PENDING = "pending", N_("待機中")
    RUNNING = "running", N_("取込中")
    DONE = "done", N_("取込完了")
    INVALID = "invalid", N_("エラーあり")
    DUPLICATE = "duplicate", N_("取込済みのファイル")


class OrganisationKind(LabelledEnum):
    """The kinds of community organisation a center's liaison staff meet (地域団体)."""

    SCHOOL_DISTRICT_COUNCIL = "school_district_council", N_("校区自治協議会")
    NEIGHBOURHOOD_ASSOCIATION = "neighbourhood_association", N_("町内自治会")
    OTHER = "other", N_("その他の団体")


class IndicatorKind(LabelledEnum):
    """How an indicator's actual values come about: computed from the data, or entered."""

    COMPUTED = "computed", N_("データから算出")
    ENTERED = "entered", N_("調査等の入力値")
