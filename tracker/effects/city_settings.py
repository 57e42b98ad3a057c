"""The city's own rules of work that the admin may change, read where the workflow needs them.

Each setting has a key, a Japanese label and a default; a key with no row in ``city_settings``
takes its default, so a new city starts with the careful choice (two pairs of eyes: on).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from ..ops_models import CitySetting
from ..wording import N_


@dataclass(frozen=True)
class Setting:
    key: str
    label: str
    help: str
    default: bool


TWO_EYES_APPROVAL = Setting(
    "two_eyes_approval",
    N_("区重要課題の決定は起案者と別の管理職が行う"),
    N_("オンのとき、起案した管理職は自分の起案を「区重要課題に決定」できません。"),
    True,
)

SETTINGS: dict[str, Setting] = {s.key: s for s in (TWO_EYES_APPROVAL,)}


def is_on(session: Session, setting: Setting) -> bool:
    row = session.get(CitySetting, setting.key)
    return setting.default if row is None else row.value == "on"


def set_on(session: Session, setting: Setting, on: bool) -> bool:
    """Turn ``setting`` on or off (a row from now on); return whether it was on before."""
    was_on = is_on(session, setting)
    row = session.get(CitySetting, setting.key)
    value = "on" if on else "off"
    if row is None:
        session.add(CitySetting(key=setting.key, value=value))
    else:
        row.value = value
    session.flush()
    return was_on
