"""WTForms for every page that takes input. Choices are filled in by the view.

Every form derives from ``form_messages.Form`` (plain Japanese errors); amounts, dates and fiscal
years use the fields of ``fields``, which read what staff type with ``tracker.parsing``."""

from __future__ import annotations

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

REQUIRED = "入力してください。"


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


class VersionedForm(Form):
    """A form that acts on a request or a ward issue: it carries the version the user saw.

    ``detail.stamp_version`` fills it in; ``common.run_action`` compares it (optimistic locking).
    """

    version = HiddenField()


class LoginForm(Form):
    login = StringField("ログインID", validators=[DataRequired(REQUIRED), Length(max=64)])
    password = PasswordField("パスワード", validators=[DataRequired(REQUIRED), Length(max=200)])
    next = HiddenField()


class PasswordForm(Form):
    current = PasswordField("現在のパスワード", validators=[DataRequired(REQUIRED)])
    new = PasswordField("新しいパスワード", validators=[DataRequired(REQUIRED), Length(max=200)])
    confirm = PasswordField("新しいパスワード (確認)", validators=[DataRequired(REQUIRED)])


class RequestForm(Form):
    title = StringField("件名", validators=[DataRequired(REQUIRED), Length(max=200)])
    description = TextAreaField("内容", validators=[Length(max=5000)])
    category_id = SelectField("分野", coerce=int, validators=[InputRequired(REQUIRED)])
    center_id = SelectField("まちづくりセンター", coerce=int, validators=[Optional()])
    location_text = StringField("場所 (住所・目印)", validators=[Length(max=200)])
    latitude = FiniteDecimalField("緯度", places=6, validators=[Optional(), NumberRange(-90, 90)])
    longitude = FiniteDecimalField("経度", places=6, validators=[Optional(), NumberRange(-180, 180)])
    source = SelectField(
        "受付の経路",
        choices=options([(source.value, source.label) for source in STAFF_SOURCES]),
        validators=[DataRequired(REQUIRED)],
    )
    priority = SelectField(
        "緊急度",
        choices=options([(p.value, p.label) for p in Priority]),
        default=Priority.MEDIUM.value,
        validators=[Optional()],
    )
    organisation = StringField("団体名 (自治会など)", validators=[Length(max=200)])
    requester_name = StringField("要望者氏名 (任意)", validators=[Length(max=100)])
    requester_contact = StringField("連絡先 (任意)", validators=[Length(max=200)])
    received_on = JapaneseDateField("受付日", validators=[Optional()])
    answer_due_on = JapaneseDateField("回答期限", validators=[Optional()])
    photos = MultipleFileField("写真")


class AnswerForm(VersionedForm):
    answer_kind = RadioField(
        "回答区分", choices=options(AnswerKind.choices()), validators=[DataRequired(REQUIRED)]
    )
    answer_text = TextAreaField("回答内容", validators=[DataRequired(REQUIRED), Length(max=5000)])
    answered_on = JapaneseDateField("回答日", validators=[DataRequired(REQUIRED)])


class ReferForm(VersionedForm):
    referred_to = StringField("回付先 (担当課)", validators=[DataRequired(REQUIRED), Length(max=120)])
    comment = TextAreaField("メモ", validators=[Length(max=2000)])


class ReasonForm(VersionedForm):
    comment = TextAreaField("理由", validators=[DataRequired(REQUIRED), Length(max=2000)])


class EscalateForm(VersionedForm):
    ward_issue_id = SelectField("まとめる区重要課題", coerce=row_id, validators=[Optional()])
    title = StringField("新しい区重要課題の件名", validators=[Length(max=200)])
    proposal = TextAreaField("対応案", validators=[Length(max=5000)])
    lead_bureau_id = SelectField("主管局", coerce=int, validators=[Optional()])
    comment = TextAreaField("メモ", validators=[Length(max=2000)])


class IssueForm(VersionedForm):
    title = StringField("件名", validators=[DataRequired(REQUIRED), Length(max=200)])
    situation = TextAreaField("現状と課題", validators=[Length(max=10000)])
    proposal = TextAreaField("対応案", validators=[Length(max=10000)])
    lead_bureau_id = SelectField("主管局", coerce=int, validators=[Optional()])
    related_bureau_ids = SelectMultipleField("関係局", coerce=int, validators=[Optional()])


class SendForm(VersionedForm):
    lead_bureau_id = SelectField("主管局", coerce=int, validators=[InputRequired(REQUIRED)])
    related_bureau_ids = SelectMultipleField("関係局", coerce=int, validators=[Optional()])
    comment = TextAreaField("送付メモ", validators=[Length(max=2000)])


class ConfirmForm(VersionedForm):
    comment = TextAreaField("メモ", validators=[Length(max=2000)])


class OwnerForm(VersionedForm):
    """A person in charge of an issue: the view offers the people of its ward or lead bureau."""

    owner = SelectField("担当者", coerce=row_id, validators=[InputRequired(REQUIRED)])


class PublicForm(VersionedForm):
    is_public = BooleanField("公開ページに掲載する")


PUBLIC_TEXT_HINT = (
    "公開ページに載る文章です。初回は内部の記録から下書きを用意しました。住民の氏名・連絡先や職員名を"
    "含めないでください。確認済みの内容を編集すると、別の管理職が「公開内容の確認」を行うまで公開ページに"
    "掲載されません。"
)


class PublicTextForm(VersionedForm):
    """公開内容: what residents read of the issue, separate from the internal texts."""

    title = StringField(
        "公開する件名", description=PUBLIC_TEXT_HINT, validators=[DataRequired(REQUIRED), Length(max=200)]
    )
    summary = TextAreaField("概要", validators=[Length(max=5000)])
    decision_text = TextAreaField("協議結果", validators=[Length(max=5000)])
    budget_text = TextAreaField("予算", validators=[Length(max=5000)])
    progress_text = TextAreaField("進捗", validators=[Length(max=5000)])
    outcome = TextAreaField("結果", validators=[Length(max=5000)])


class GoodPracticeForm(VersionedForm):
    """事例集: what worked, for the other wards to read (no resident's name or contact)."""

    summary = TextAreaField(
        "うまくいった点の要約 (他区の参考になる点)", validators=[DataRequired(REQUIRED), Length(max=2000)]
    )


class DecideForm(VersionedForm):
    decision = RadioField(
        "協議結果", choices=options(Decision.choices()), validators=[DataRequired(REQUIRED)]
    )
    decision_reason = TextAreaField("理由・協議内容", validators=[Length(max=5000)])
    next_review_on = JapaneseDateField("次回協議予定日 (継続協議のとき)", validators=[Optional()])


class BudgetForm(VersionedForm):
    within_existing_budget = BooleanField("既存予算内で対応 (新たな予算化なし)")
    fiscal_year = FiscalYearField("年度", validators=[Optional()])
    project_name = StringField("事業名", validators=[Length(max=200)])
    allocated_yen = AmountField("予算額", validators=[Optional()])
    comment = TextAreaField("メモ", validators=[Length(max=2000)])


class FundForm(VersionedForm):
    fiscal_year = FiscalYearField("年度", validators=[InputRequired(REQUIRED)])
    project_name = StringField("事業名", validators=[DataRequired(REQUIRED), Length(max=200)])
    allocated_yen = AmountField("充当額", validators=[InputRequired(REQUIRED)])
    comment = TextAreaField("メモ", validators=[Length(max=2000)])


class NoteForm(VersionedForm):
    body = TextAreaField("進捗", validators=[DataRequired(REQUIRED), Length(max=5000)])


class CommentForm(VersionedForm):
    body = TextAreaField("コメント", validators=[DataRequired(REQUIRED), Length(max=5000)])


class AttachmentForm(VersionedForm):
    file = FileField("ファイル", validators=[FileRequired("ファイルを選んでください。")])


class InquireForm(VersionedForm):
    question = TextAreaField("照会内容 (区への質問)", validators=[DataRequired(REQUIRED), Length(max=5000)])


class AnswerInquiryForm(VersionedForm):
    answer = TextAreaField("照会への回答", validators=[DataRequired(REQUIRED), Length(max=5000)])


class OpinionForm(VersionedForm):
    body = TextAreaField("意見", validators=[DataRequired(REQUIRED), Length(max=5000)])


class HandOverForm(VersionedForm):
    handover_ward_id = SelectField("引継ぎ先の区", coerce=row_id, validators=[InputRequired(REQUIRED)])
    comment = TextAreaField("理由", validators=[DataRequired(REQUIRED), Length(max=2000)])


class AcceptHandoverForm(VersionedForm):
    center_id = SelectField(
        "引き受けるまちづくりセンター", coerce=row_id, validators=[InputRequired(REQUIRED)]
    )
    comment = TextAreaField("メモ", validators=[Length(max=2000)])


class CompleteForm(VersionedForm):
    """The outcome, and an executed amount per budget line (``for_lines`` adds those fields)."""

    outcome = TextAreaField("成果", validators=[DataRequired(REQUIRED), Length(max=5000)])

    @classmethod
    def for_lines(cls, lines) -> type[CompleteForm]:
        """The form for an issue with ``lines``: a field ``executed_<line id>`` (決算額) for each."""
        fields = {
            f"executed_{line.id}": AmountField(
                f"決算額: {fiscal_year_label(line.fiscal_year)} {line.project_name}",
                validators=[InputRequired(REQUIRED)],
                allow_zero=True,
                default=line.allocated_yen,
            )
            for line in lines
        }
        return type(cls.__name__, (cls,), fields)


class UserForm(Form):
    login = StringField("ログインID", validators=[DataRequired(REQUIRED), Length(max=64)])
    display_name = StringField("氏名", validators=[DataRequired(REQUIRED), Length(max=80)])
    email = EmailField("メールアドレス", validators=[Optional(), Length(max=254)])
    role = SelectField("役割", choices=options(Role.choices()), validators=[DataRequired(REQUIRED)])
    ward_id = SelectField("区 (区役所 管理職)", coerce=int, validators=[Optional()])
    center_id = SelectField("まちづくりセンター (地域担当職員)", coerce=int, validators=[Optional()])
    bureau_id = SelectField("局 (局 担当者)", coerce=int, validators=[Optional()])
    password = PasswordField("初期パスワード", validators=[Optional(), Length(max=200)])


class ResetPasswordForm(Form):
    password = PasswordField("新しい初期パスワード", validators=[DataRequired(REQUIRED), Length(max=200)])


class NameForm(Form):
    name = StringField("名称", validators=[DataRequired(REQUIRED), Length(max=80)])
    sort_order = IntegerField("表示順", default=0, validators=[Optional()])
    active = BooleanField("有効", default=True)


class CenterForm(NameForm):
    ward_id = SelectField("区", coerce=int, validators=[InputRequired(REQUIRED)])
    note = StringField("備考", validators=[Length(max=200)])


class WardForm(Form):
    name = StringField("名称", validators=[DataRequired(REQUIRED), Length(max=40)])
    population = IntegerField("人口", validators=[Optional(), NumberRange(0)])
    households = IntegerField("世帯数", validators=[Optional(), NumberRange(0)])
    area_km2 = FiniteDecimalField("面積 (km²)", places=2, validators=[Optional(), NumberRange(0)])


class WardFundForm(Form):
    ward_id = SelectField("区", coerce=int, validators=[InputRequired(REQUIRED)])
    fiscal_year = FiscalYearField("年度", validators=[InputRequired(REQUIRED)])
    allocated_yen = AmountField("配分額", validators=[InputRequired(REQUIRED)], allow_zero=True)


class SecondFactorForm(Form):
    """The login's second step, and the first code that confirms a new authenticator app."""

    code = StringField(
        "確認コード",
        validators=[DataRequired(REQUIRED), Length(max=40)],
        description="認証アプリの6桁の数字（またはリカバリーコード）",
    )


class PasswordCheckForm(Form):
    password = PasswordField("パスワード", validators=[DataRequired(REQUIRED), Length(max=200)])


class DisableMfaForm(PasswordCheckForm):
    code = StringField("確認コード", validators=[DataRequired(REQUIRED), Length(max=40)])
