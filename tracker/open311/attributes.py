"""``attribute[CODE]`` of a POSTed request, checked against its category's questions.

The spec sends a single value as ``attribute[CODE]=value`` and a ``multivaluelist`` as
``attribute[CODE][]=a&attribute[CODE][]=b``; both spellings are read for every code. A required
question must be answered, a code the category does not ask is refused, a list answer must be
among the question's keys, a number must be a number and a datetime ISO 8601.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..open311_models import ServiceAttribute
from .errors import Open311Error

ATTRIBUTE_KEY = re.compile(r"^attribute\[([^\[\]]{1,50})\](\[\])?$")
MAX_ANSWER = 2000  # characters of one answer


def _values(value) -> list[str]:
    items = value if isinstance(value, list | tuple) else [value]
    return [str(item).strip() for item in items if str(item).strip()]


def given_answers(fields: Mapping) -> dict[str, list[str]]:
    """Every ``attribute[...]`` of the form, by code: the non-empty values given."""
    answers: dict[str, list[str]] = {}
    for key, value in fields.items():
        match = ATTRIBUTE_KEY.match(key)
        if match is None:
            if key.startswith("attribute["):
                raise Open311Error(
                    400, f"attribute: malformed parameter name {key[:60]!r} (属性の指定が正しくありません)"
                )
            continue
        answers.setdefault(match.group(1), []).extend(_values(value))
    return answers


def _refuse(code: str, why: str) -> Open311Error:
    return Open311Error(400, f"attribute[{code}]: {why}")


def _check_one(question: ServiceAttribute, values: list[str]) -> str | list[str]:
    code = question.code
    if any(len(value) > MAX_ANSWER for value in values):
        raise _refuse(code, f"at most {MAX_ANSWER} characters ({MAX_ANSWER}文字まで)")
    if question.datatype == "multivaluelist":
        keys = {str(item.get("key")) for item in question.values or []}
        unknown = [value for value in values if value not in keys]
        if unknown:
            raise _refuse(code, f"not one of the listed values: {unknown[0][:40]} (選択肢にない値です)")
        return sorted(set(values))
    if len(values) > 1:
        raise _refuse(code, "only one value may be given (値は一つだけ指定できます)")
    value = values[0]
    if question.datatype == "singlevaluelist":
        if value not in {str(item.get("key")) for item in question.values or []}:
            raise _refuse(code, f"not one of the listed values: {value[:40]} (選択肢にない値です)")
    elif question.datatype == "number":
        try:
            number = Decimal(value)
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or not math.isfinite(float(number)):
            raise _refuse(code, "must be a number (数値で指定してください)")
    elif question.datatype == "datetime":
        try:
            dt.datetime.fromisoformat(value)
        except ValueError:
            raise _refuse(
                code, "must be an ISO 8601 date and time (日時はISO 8601で指定してください)"
            ) from None
    return value


def check_answers(session: Session, category_id: int, fields: Mapping) -> dict[str, str | list[str]]:
    """The answers to store, by code; Open311Error (400) for the first one that is wrong."""
    given = given_answers(fields)
    questions = {
        row.code: row
        for row in session.scalars(
            select(ServiceAttribute).where(ServiceAttribute.category_id == category_id)
        ).all()
    }
    for code in given:
        if code not in questions:
            raise _refuse(code, "this service has no such attribute (この分野にない属性です)")
    answers: dict[str, str | list[str]] = {}
    for code, question in sorted(questions.items(), key=lambda item: (item[1].order, item[0])):
        values = given.get(code, [])
        if not values:
            if question.required:
                raise _refuse(code, "is required (必須の属性です)")
            continue
        answers[code] = _check_one(question, values)
    return answers
