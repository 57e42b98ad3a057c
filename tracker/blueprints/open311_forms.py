"""The WTForms of the admin's Open311 pages: API keys, the town table, service definitions."""

from __future__ import annotations

from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from ..open311_models import ServiceAttribute
from .form_messages import Form
from .forms import REQUIRED, options, row_id

LIMIT_MESSAGE = "1〜10,000の整数で入力してください。"


class ApiKeyForm(Form):
    name = StringField("名前", validators=[DataRequired(REQUIRED), Length(max=100)])
    center_id = SelectField("範囲", coerce=row_id, validators=[InputRequired(REQUIRED)])
    rate_limit_per_minute = IntegerField(
        "1分あたりの上限 (回)",
        default=60,
        validators=[InputRequired(REQUIRED), NumberRange(1, 10_000, LIMIT_MESSAGE)],
    )


class RateLimitForm(Form):
    rate_limit_per_minute = IntegerField(
        "1分あたりの上限 (回)", validators=[InputRequired(REQUIRED), NumberRange(1, 10_000, LIMIT_MESSAGE)]
    )


class TownForm(Form):
    town_name = StringField("町名", validators=[DataRequired(REQUIRED), Length(max=100)])
    center_id = SelectField("まちづくりセンター", coerce=row_id, validators=[InputRequired(REQUIRED)])


class ServiceProfileForm(Form):
    description = TextAreaField("説明", validators=[Optional(), Length(max=2000)])
    keywords = StringField("キーワード (カンマ区切り)", validators=[Optional(), Length(max=200)])
    group = StringField("グループ", validators=[Optional(), Length(max=100)])


class ServiceAttributeForm(Form):
    code = StringField(
        "コード",
        validators=[
            DataRequired(REQUIRED),
            Regexp(r"^[A-Za-z0-9_]{1,50}$", message="半角英数字と _ の50文字以内で入力してください。"),
        ],
    )
    datatype = SelectField(
        "データ型", choices=options((value, value) for value in ServiceAttribute.DATATYPES), default="string"
    )
    required = BooleanField("必須")
    description = StringField("質問 (説明)", validators=[DataRequired(REQUIRED), Length(max=200)])
    datatype_description = StringField("データ型の説明", validators=[Optional(), Length(max=200)])
    order = IntegerField("表示順", default=0, validators=[Optional(), NumberRange(-10_000, 10_000)])
    values = TextAreaField(
        "選択肢 (1行に1つ、key=名前)",
        description="データ型が singlevaluelist / multivaluelist のときに入力します。例: hole=穴",
        validators=[Optional(), Length(max=5000)],
    )
