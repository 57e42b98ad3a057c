"""The WTForms of the admin's Open311 pages: API keys, the town table, service definitions."""

from __future__ import annotations

from flask_babel import lazy_gettext
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from ..open311_models import ServiceAttribute
from .form_messages import Form
from .forms import REQUIRED, options, row_id

LIMIT_MESSAGE = (
    "1〜10,000の整数で入力してください。"  # a validator's message stays a str (form_errors joins them)
)


class ApiKeyForm(Form):
    name = StringField(lazy_gettext("名前"), validators=[DataRequired(REQUIRED), Length(max=100)])
    center_id = SelectField(lazy_gettext("範囲"), coerce=row_id, validators=[InputRequired(REQUIRED)])
    rate_limit_per_minute = IntegerField(
        lazy_gettext("1分あたりの上限 (回)"),
        default=60,
        validators=[InputRequired(REQUIRED), NumberRange(1, 10_000, LIMIT_MESSAGE)],
    )


class RateLimitForm(Form):
    rate_limit_per_minute = IntegerField(
        lazy_gettext("1分あたりの上限 (回)"),
        validators=[InputRequired(REQUIRED), NumberRange(1, 10_000, LIMIT_MESSAGE)],
    )


class TownForm(Form):
    town_name = StringField(lazy_gettext("町名"), validators=[DataRequired(REQUIRED), Length(max=100)])
    center_id = SelectField(
        lazy_gettext("まちづくりセンター"), coerce=row_id, validators=[InputRequired(REQUIRED)]
    )


class ServiceProfileForm(Form):
    description = TextAreaField(lazy_gettext("説明"), validators=[Optional(), Length(max=2000)])
    keywords = StringField(
        lazy_gettext("キーワード (カンマ区切り)"), validators=[Optional(), Length(max=200)]
    )
    group = StringField(lazy_gettext("グループ"), validators=[Optional(), Length(max=100)])


class ServiceAttributeForm(Form):
    code = StringField(
        lazy_gettext("コード"),
        validators=[
            DataRequired(REQUIRED),
            Regexp(
                r"^[A-Za-z0-9_]{1,50}$",
                message="半角英数字と _ の50文字以内で入力してください。",
            ),
        ],
    )
    datatype = SelectField(
        lazy_gettext("データ型"),
        choices=options((value, value) for value in ServiceAttribute.DATATYPES),
        default="string",
    )
    required = BooleanField(lazy_gettext("必須"))
    description = StringField(
        lazy_gettext("質問 (説明)"), validators=[DataRequired(REQUIRED), Length(max=200)]
    )
    datatype_description = StringField(
        lazy_gettext("データ型の説明"), validators=[Optional(), Length(max=200)]
    )
    order = IntegerField(
        lazy_gettext("表示順"), default=0, validators=[Optional(), NumberRange(-10_000, 10_000)]
    )
    values = TextAreaField(
        lazy_gettext("選択肢 (1行に1つ、key=名前)"),
        description=lazy_gettext(
            "データ型が singlevaluelist / multivaluelist のときに入力します。例: hole=穴"
        ),
        validators=[Optional(), Length(max=5000)],
    )
