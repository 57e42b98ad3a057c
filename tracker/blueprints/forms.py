"""WTForms for every page that takes input. Choices are filled in by the view.

Every form derives from ``form_messages.Form`` (plain Japanese errors); amounts, dates and fiscal
years use the fields of ``fields``, which read what staff type with ``tracker.parsing``."""

from __future__ import annotations

from flask_babel import lazy_gettext as _
from flask_wtf.file import FileField, FileRequired, MultipleFileField
from wtforms import (
    BooleanField,
    DecimalField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..formatting import fiscal_year_label
from ..states import STAFF_SOURCES, AnswerKind, Decision, Priority, Role
from .fields import AmountField, FiscalYearField, JapaneseDateField
from .form_messages import Form

REQUIRED = _("入力してください。")


MAX_ROW_ID = 2**31 - 1  # id columns are INTEGER (as DatabaseIdConverter bounds ids in URLs)


def row_id(value) -> int:
    """``coerce`` for a choice that names a row by id: a number an id column can hold.

    For a field whose value is looked up before it is checked against the choices, or never
    is: a larger number would fail the look-up on PostgreSQL ("integer out of range", a 500).
    Anything else is an invalid choice, and the form is refused.
    """
    number = int(value)
    if not 0 <= number <= MAX_ROW_ID:
        raise ValueError("not a row id")
    return number


class FiniteDecimalField(DecimalField):
    """A DecimalField that refuses NaN and Infinity like any other value that is not a number.

    (WTForms' NumberRange fails with a ValueError, a 500, on a signaling NaN such as "sNaN".)
    """

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not self.data.is_finite():
            self.data = None
            raise ValueError(self.gettext("Not a valid decimal value."))


def options(pairs) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def enum_options(members) -> list[SelectChoice]:
    """Select options of enum members whose labels are read when the page is shown (in its
    language), not when the form class is defined."""
    return [SelectChoice(member.value, _(member.source_label)) for member in members]


class VersionedForm(Form):
    """A form that acts on a request or a ward issue: it carries the version the user saw.

    ``detail.stamp_version`` fills it in; ``common.run_action`` compares it (optimistic locking).
    """

    version = HiddenField()


class LoginForm(Form):
    login = StringField(_("ログインID"), validators=[DataRequired(REQUIRED), Length(max=64)])
    password = PasswordField(_("パスワード"), validators=[DataRequired(REQUIRED), Length(max=200)])
    next = HiddenField()


class PasswordForm(Form):
    current = PasswordField(_("現在のパスワード"), validators=[DataRequired(REQUIRED)])
    new = PasswordField(_("新しいパスワード"), validators=[DataRequired(REQUIRED), Length(max=200)])
    confirm = PasswordField(_("新しいパスワード (確認)"), validators=[DataRequired(REQUIRED)])


class RequestForm(Form):
    title = StringField(_("件名"), validators=[DataRequired(REQUIRED), Length(max=200)])
    description = TextAreaField(_("内容"), validators=[Length(max=5000)])
    category_id = SelectField(_("分野"), coerce=int, validators=[InputRequired(REQUIRED)])
    center_id = SelectField(_("まちづくりセンター"), coerce=int, validators=[Optional()])
    location_text = StringField(_("場所 (住所・目印)"), validators=[Length(max=200)])
    latitude = FiniteDecimalField(_("緯度"), places=6, validators=[Optional(), NumberRange(-90, 90)])
    longitude = FiniteDecimalField(_("経度"), places=6, validators=[Optional(), NumberRange(-180, 180)])
    source = SelectField(
        _("受付の経路"),
        choices=enum_options(STAFF_SOURCES),
        validators=[DataRequired(REQUIRED)],
    )
    priority = SelectField(
        _("緊急度"),
        choices=enum_options(Priority),
        default=Priority.MEDIUM.value,
        validators=[Optional()],
    )
    organisation = StringField(_("団体名 (自治会など)"), validators=[Length(max=200)])
    requester_name = StringField(_("要望者氏名 (任意)"), validators=[Length(max=100)])
    requester_contact = StringField(_("連絡先 (任意)"), validators=[Length(max=200)])
    received_on = JapaneseDateField(_("受付日"), validators=[Optional()])
    answer_due_on = JapaneseDateField(_("回答期限"), validators=[Optional()])
    photos = MultipleFileField(_("写真"))


class AnswerForm(VersionedForm):
    answer_kind = RadioField(
        _("回答区分"), choices=enum_options(AnswerKind), validators=[DataRequired(REQUIRED)]
    )
    answer_text = TextAreaField(_("回答内容"), validators=[DataRequired(REQUIRED), Length(max=5000)])
    answered_on = JapaneseDateField(_("回答日"), validators=[DataRequired(REQUIRED)])


class ReferForm(VersionedForm):
    referred_to = StringField(_("回付先 (担当課)"), validators=[DataRequired(REQUIRED), Length(max=120)])
    comment = TextAreaField(_("メモ"), validators=[Length(max=2000)])


class ReasonForm(VersionedForm):
    comment = TextAreaField(_("理由"), validators=[DataRequired(REQUIRED), Length(max=2000)])


class EscalateForm(VersionedForm):
    ward_issue_id = SelectField(_("まとめる区重要課題"), coerce=row_id, validators=[Optional()])
    title = StringField(_("新しい区重要課題の件名"), validators=[Length(max=200)])
    proposal = TextAreaField(_("対応案"), validators=[Length(max=5000)])
    lead_bureau_id = SelectField(_("主管局"), coerce=int, validators=[Optional()])
    comment = TextAreaField(_("メモ"), validators=[Length(max=2000)])


class IssueForm(VersionedForm):
    title = StringField(_("件名"), validators=[DataRequired(REQUIRED), Length(max=200)])
    situation = TextAreaField(_("現状と課題"), validators=[Length(max=10000)])
    proposal = TextAreaField(_("対応案"), validators=[Length(max=10000)])
    lead_bureau_id = SelectField(_("主管局"), coerce=int, validators=[Optional()])
    related_bureau_ids = SelectMultipleField(_("関係局"), coerce=int, validators=[Optional()])


class SendForm(VersionedForm):
    lead_bureau_id = SelectField(_("主管局"), coerce=int, validators=[InputRequired(REQUIRED)])
    related_bureau_ids = SelectMultipleField(_("関係局"), coerce=int, validators=[Optional()])
    comment = TextAreaField(_("送付メモ"), validators=[Length(max=2000)])


class ConfirmForm(VersionedForm):
    comment = TextAreaField(_("メモ"), validators=[Length(max=2000)])


class OwnerForm(VersionedForm):
    """A person in charge of an issue: the view offers the people of its ward or lead bureau."""

    owner = SelectField(_("担当者"), coerce=row_id, validators=[InputRequired(REQUIRED)])


class PublicForm(VersionedForm):
    is_public = BooleanField(_("公開ページに掲載する"))


PUBLIC_TEXT_HINT = _(
    "公開ページに載る文章です。初回は内部の記録から下書きを用意しました。住民の氏名・連絡先や職員名を"
    "含めないでください。確認済みの内容を編集すると、別の管理職が「公開内容の確認」を行うまで公開ページに"
    "掲載されません。"
)


class PublicTextForm(VersionedForm):
    """公開内容: what residents read of the issue, separate from the internal texts."""

    title = StringField(
        _("公開する件名"), description=PUBLIC_TEXT_HINT, validators=[DataRequired(REQUIRED), Length(max=200)]
    )
    summary = TextAreaField(_("概要"), validators=[Length(max=5000)])
    decision_text = TextAreaField(_("協議結果"), validators=[Length(max=5000)])
    budget_text = TextAreaField(_("予算"), validators=[Length(max=5000)])
    progress_text = TextAreaField(_("進捗"), validators=[Length(max=5000)])
    outcome = TextAreaField(_("結果"), validators=[Length(max=5000)])


class GoodPracticeForm(VersionedForm):
    """事例集: what worked, for the other wards to read (no resident's name or contact)."""

    summary = TextAreaField(
        _("うまくいった点の要約 (他区の参考になる点)"), validators=[DataRequired(REQUIRED), Length(max=2000)]
    )


class DecideForm(VersionedForm):
    decision = RadioField(_("協議結果"), choices=enum_options(Decision), validators=[DataRequired(REQUIRED)])
    decision_reason = TextAreaField(_("理由・協議内容"), validators=[Length(max=5000)])
    next_review_on = JapaneseDateField(_("次回協議予定日 (継続協議のとき)"), validators=[Optional()])


class BudgetForm(VersionedForm):
    within_existing_budget = BooleanField(_("既存予算内で対応 (新たな予算化なし)"))
    fiscal_year = FiscalYearField(_("年度"), validators=[Optional()])
    project_name = StringField(_("事業名"), validators=[Length(max=200)])
    allocated_yen = AmountField(_("予算額"), validators=[Optional()])
    comment = TextAreaField(_("メモ"), validators=[Length(max=2000)])


class FundForm(VersionedForm):
    fiscal_year = FiscalYearField(_("年度"), validators=[InputRequired(REQUIRED)])
    project_name = StringField(_("事業名"), validators=[DataRequired(REQUIRED), Length(max=200)])
    allocated_yen = AmountField(_("充当額"), validators=[InputRequired(REQUIRED)])
    comment = TextAreaField(_("メモ"), validators=[Length(max=2000)])


class NoteForm(VersionedForm):
    body = TextAreaField(_("進捗"), validators=[DataRequired(REQUIRED), Length(max=5000)])


class CommentForm(VersionedForm):
    body = TextAreaField(_("コメント"), validators=[DataRequired(REQUIRED), Length(max=5000)])


class AttachmentForm(VersionedForm):
    file = FileField(_("ファイル"), validators=[FileRequired(_("ファイルを選んでください。"))])


class InquireForm(VersionedForm):
    question = TextAreaField(
        _("照会内容 (区への質問)"), validators=[DataRequired(REQUIRED), Length(max=5000)]
    )


class AnswerInquiryForm(VersionedForm):
    answer = TextAreaField(_("照会への回答"), validators=[DataRequired(REQUIRED), Length(max=5000)])


class OpinionForm(VersionedForm):
    body = TextAreaField(_("意見"), validators=[DataRequired(REQUIRED), Length(max=5000)])


class HandOverForm(VersionedForm):
    handover_ward_id = SelectField(_("引継ぎ先の区"), coerce=row_id, validators=[InputRequired(REQUIRED)])
    comment = TextAreaField(_("理由"), validators=[DataRequired(REQUIRED), Length(max=2000)])


class AcceptHandoverForm(VersionedForm):
    center_id = SelectField(
        _("引き受けるまちづくりセンター"), coerce=row_id, validators=[InputRequired(REQUIRED)]
    )
    comment = TextAreaField(_("メモ"), validators=[Length(max=2000)])


class CompleteForm(VersionedForm):
    """The outcome, and an executed amount per budget line (``for_lines`` adds those fields)."""

    outcome = TextAreaField(_("成果"), validators=[DataRequired(REQUIRED), Length(max=5000)])

    @classmethod
    def for_lines(cls, lines) -> type[CompleteForm]:
        """The form for an issue with ``lines``: a field ``executed_<line id>`` (決算額) for each."""
        fields = {
            f"executed_{line.id}": AmountField(
                _(
                    "決算額: %(value)s %(project_name)s",
                    value=fiscal_year_label(line.fiscal_year),
                    project_name=line.project_name,
                ),
                validators=[InputRequired(REQUIRED)],
                allow_zero=True,
                default=line.allocated_yen,
            )
            for line in lines
        }
        return type(cls.__name__, (cls,), fields)


class UserForm(Form):
    login = StringField(_("ログインID"), validators=[DataRequired(REQUIRED), Length(max=64)])
    display_name = StringField(_("氏名"), validators=[DataRequired(REQUIRED), Length(max=80)])
    email = EmailField(_("メールアドレス"), validators=[Optional(), Length(max=254)])
    role = SelectField(_("役割"), choices=enum_options(Role), validators=[DataRequired(REQUIRED)])
    ward_id = SelectField(_("区 (区役所 管理職)"), coerce=int, validators=[Optional()])
    center_id = SelectField(_("まちづくりセンター (地域担当職員)"), coerce=int, validators=[Optional()])
    bureau_id = SelectField(_("局 (局 担当者)"), coerce=int, validators=[Optional()])
    password = PasswordField(_("初期パスワード"), validators=[Optional(), Length(max=200)])


class ResetPasswordForm(Form):
    password = PasswordField(_("新しい初期パスワード"), validators=[DataRequired(REQUIRED), Length(max=200)])


class NameForm(Form):
    name = StringField(_("名称"), validators=[DataRequired(REQUIRED), Length(max=80)])
    sort_order = IntegerField(_("表示順"), default=0, validators=[Optional()])
    active = BooleanField(_("有効"), default=True)


class CenterForm(NameForm):
    ward_id = SelectField(_("区"), coerce=int, validators=[InputRequired(REQUIRED)])
    note = StringField(_("備考"), validators=[Length(max=200)])


class WardForm(Form):
    name = StringField(_("名称"), validators=[DataRequired(REQUIRED), Length(max=40)])
    population = IntegerField(_("人口"), validators=[Optional(), NumberRange(0)])
    households = IntegerField(_("世帯数"), validators=[Optional(), NumberRange(0)])
    area_km2 = FiniteDecimalField(_("面積 (km²)"), places=2, validators=[Optional(), NumberRange(0)])


class WardFundForm(Form):
    ward_id = SelectField(_("区"), coerce=int, validators=[InputRequired(REQUIRED)])
    fiscal_year = FiscalYearField(_("年度"), validators=[InputRequired(REQUIRED)])
    allocated_yen = AmountField(_("配分額"), validators=[InputRequired(REQUIRED)], allow_zero=True)


class SecondFactorForm(Form):
    """The login's second step, and the first code that confirms a new authenticator app."""

    code = StringField(
        _("確認コード"),
        validators=[DataRequired(REQUIRED), Length(max=40)],
        description=_("認証アプリの6桁の数字（またはリカバリーコード）"),
    )


class PasswordCheckForm(Form):
    password = PasswordField(_("パスワード"), validators=[DataRequired(REQUIRED), Length(max=200)])


class DisableMfaForm(PasswordCheckForm):
    code = StringField(_("確認コード"), validators=[DataRequired(REQUIRED), Length(max=40)])
