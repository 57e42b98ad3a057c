"""The forms of the activity pages: log or edit an activity, link a request heard in it, and
keep a center's community organisations. Choices are filled in by the view
(``tracker.city.activity_choices``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _  # labels are read when a form is shown
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..fieldwork.operations import MAX_ATTENDEES, TEXT_LIMITS
from ..fieldwork.organisations import NAME_LIMIT
from ..states import OrganisationKind
from .fields import JapaneseDateField
from .form_messages import Form
from .forms import REQUIRED, NameForm, enum_options, row_id


class CheckboxesField(SelectMultipleField):
    """A multiple choice shown as checkboxes (big enough to tap on a tablet)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ActivityForm(Form):
    held_on = JapaneseDateField(_("活動日"), validators=[DataRequired(REQUIRED)])
    starts_at = TimeField(_("開始時刻"), validators=[Optional()])
    ends_at = TimeField(_("終了時刻"), validators=[Optional()])
    kind_id = SelectField(_("活動区分"), coerce=row_id, validators=[InputRequired(REQUIRED)])
    center_id = SelectField(_("まちづくりセンター"), coerce=row_id, validators=[InputRequired(REQUIRED)])
    organisation_id = SelectField(_("団体"), coerce=row_id, validators=[Optional()])
    organisation_text = StringField(
        _("その他の団体名"), validators=[Length(max=TEXT_LIMITS["organisation_text"])]
    )
    place = StringField(_("場所"), validators=[Length(max=TEXT_LIMITS["place"])])
    attendees = IntegerField(_("参加者数"), validators=[Optional(), NumberRange(0, MAX_ATTENDEES)])
    summary = TextAreaField(_("内容"), validators=[Length(max=TEXT_LIMITS["summary"])])
    liaison_ids = CheckboxesField(_("活動した地域担当職員"), coerce=row_id)
    version = HiddenField()

    def values(self) -> dict:
        """The typed values as ``fieldwork.operations`` takes them."""
        data = {name: self[name].data for name in self._fields if name not in ("csrf_token", "version")}
        data["organisation_id"] = data["organisation_id"] or None
        data["organisation_text"] = data["organisation_text"] or ""
        return data


class LinkRequestForm(Form):
    reference = StringField(
        _("受付番号"),
        validators=[DataRequired(REQUIRED), Length(max=40)],
        render_kw={"placeholder": "R-CHUO-2024-0001"},
    )


class UnlinkRequestForm(Form):
    request_id = IntegerField(_("要望"), validators=[InputRequired(REQUIRED), NumberRange(1, 2**31 - 1)])


class OrganisationForm(Form):
    center_id = SelectField(_("まちづくりセンター"), coerce=row_id, validators=[InputRequired(REQUIRED)])
    name = StringField(_("団体名"), validators=[DataRequired(REQUIRED), Length(max=NAME_LIMIT)])
    kind = SelectField(_("種類"), choices=enum_options(OrganisationKind), validators=[DataRequired(REQUIRED)])
    sort_order = IntegerField(_("表示順"), default=0, validators=[Optional(), NumberRange(-(10**8), 10**8)])
    active = BooleanField(_("有効"), default=True)


class ActivityKindForm(NameForm):
    """An activity kind (admin's master data): a name, its heading in lists, order, active."""

    group = StringField(_("見出し (例: 会議出席)"), validators=[Length(max=40)])
