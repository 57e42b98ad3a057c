"""Every form's error messages in plain Japanese (and in English), instead of WTForms' stock ones.

WTForms asks its translations for a message by its English text ("Not a valid integer value.");
WTForms' own Japanese catalog answers in a stilted register (「無効な整数です。」) that reads badly
next to the city's fields. ``Form`` answers instead from ``STOCK``, whose texts are in this
project's catalog: Japanese as the source, English in ``translations/en``. A message a field or
validator was given explicitly is not in ``STOCK`` and passes through unchanged.
"""

from __future__ import annotations

from flask_babel import gettext
from flask_wtf import FlaskForm


def N_(message: str) -> str:
    """Marks a message for the catalog; ``PlainMessages`` translates it when it is shown."""
    return message


_EXPIRED = N_("画面の有効期限が切れました。ページを開き直してから、もう一度送信してください。")
_CHOOSE = N_("一覧から選んでください。")

STOCK = {
    "This field is required.": N_("入力してください。"),
    "Not a valid integer value.": N_("半角または全角の数字で入力してください (例: 120)。"),
    "Not a valid decimal value.": N_("数値で入力してください (例: 32.8031)。"),
    "Not a valid float value.": N_("数値で入力してください (例: 32.8031)。"),
    "Not a valid date value.": N_("日付を入力してください (例: 2026/12/1、令和8年12月1日)。"),
    "Not a valid datetime value.": N_("日時を入力してください (例: 2026/12/1 9:30)。"),
    "Not a valid time value.": N_("時刻を入力してください (例: 9:30)。"),
    "Not a valid week value.": N_("週を入力してください。"),
    "Not a valid choice.": _CHOOSE,
    "Invalid Choice: could not coerce.": _CHOOSE,
    "Choices cannot be None.": _CHOOSE,
    "'%(value)s' is not a valid choice for this field.": N_(
        "「%(value)s」は選べません。一覧から選んでください。"
    ),
    "'%(value)s' are not valid choices for this field.": N_(
        "「%(value)s」は選べません。一覧から選んでください。"
    ),
    "Number must be at least %(min)s.": N_("%(min)s以上の数を入力してください。"),
    "Number must be at most %(max)s.": N_("%(max)s以下の数を入力してください。"),
    "Number must be between %(min)s and %(max)s.": N_("%(min)sから%(max)sまでの数を入力してください。"),
    "Date must be at least %(min)s.": N_("%(min)s以降の日付を入力してください。"),
    "Date must be at most %(max)s.": N_("%(max)s以前の日付を入力してください。"),
    "Date must be between %(min)s and %(max)s.": N_("%(min)sから%(max)sまでの日付を入力してください。"),
    "Field must be at least %(min)d character long.": N_("%(min)d文字以上で入力してください。"),
    "Field must be at least %(min)d characters long.": N_("%(min)d文字以上で入力してください。"),
    "Field cannot be longer than %(max)d character.": N_("%(max)d文字以内で入力してください。"),
    "Field cannot be longer than %(max)d characters.": N_("%(max)d文字以内で入力してください。"),
    "Field must be exactly %(max)d character long.": N_("%(max)d文字で入力してください。"),
    "Field must be exactly %(max)d characters long.": N_("%(max)d文字で入力してください。"),
    "Field must be between %(min)d and %(max)d characters long.": N_(
        "%(min)d文字から%(max)d文字で入力してください。"
    ),
    "Field must be equal to %(other_name)s.": N_("「%(other_name)s」と同じ内容を入力してください。"),
    "Invalid email address.": N_("メールアドレスの形が正しくありません (例: name@city.example.jp)。"),
    "Invalid URL.": N_("URLの形が正しくありません (例: https://www.city.example.jp/)。"),
    "Invalid input.": N_("入力の形が正しくありません。"),
    "Invalid value, must be one of: %(values)s.": N_("次のいずれかを入力してください: %(values)s"),
    "Invalid value, can't be any of: %(values)s.": N_("次の値は使えません: %(values)s"),
    "This field cannot be edited.": N_("この項目は変更できません。"),
    "This field is disabled and cannot have a value.": N_("この項目は入力できません。"),
    "CSRF token missing.": _EXPIRED,
    "CSRF failed.": _EXPIRED,
    "CSRF token expired.": _EXPIRED,
    "Invalid CSRF Token.": _EXPIRED,
    "The CSRF token is missing.": _EXPIRED,
    "The CSRF token has expired.": _EXPIRED,
    "The CSRF token is invalid.": _EXPIRED,
    "The CSRF tokens do not match.": _EXPIRED,
}


class PlainMessages:
    """The translations object WTForms asks for its stock messages."""

    def gettext(self, string: str) -> str:
        found = STOCK.get(string)
        return gettext(found) if found is not None else string

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


PLAIN_MESSAGES = PlainMessages()


class Form(FlaskForm):
    """The base of every form of the app: Flask-WTF's CSRF, and the plain messages above."""

    class Meta:
        def get_translations(self, form):
            return PLAIN_MESSAGES
