"""Human reference numbers: ``CHUO-2024-00012`` for requests, ``CHUO-2024-K003`` for issues.

A number is taken by an atomic upsert on a counter row, so two requests logged at the same
moment in two transactions get two different numbers on PostgreSQL and on SQLite; the unique
constraint on ``reference`` is the last line of defence.
"""

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..models import ReferenceCounter, Ward


def next_sequence(session: Session, key: str) -> int:
    return reserve(session, key, 1)[0]


def reserve(session: Session, key: str, count: int) -> range:
    """Take ``count`` consecutive numbers of ``key`` in one statement (for a bulk import)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(ReferenceCounter)
        .values(key=key, value=count)
        .on_conflict_do_update(
            index_elements=[ReferenceCounter.key],
            set_={"value": ReferenceCounter.value + count},
        )
        .returning(ReferenceCounter.value)
    )
    last = session.execute(statement).scalar_one()
    return range(last - count + 1, last + 1)


def _ward_code(session: Session, ward_id: int) -> str:
    return session.execute(select(Ward.code).where(Ward.id == ward_id)).scalar_one()


def request_reference(session: Session, ward_id: int, fiscal_year: int) -> str:
    return request_references(session, ward_id, fiscal_year, 1)[0]


def request_references(session: Session, ward_id: int, fiscal_year: int, count: int) -> list[str]:
    code = _ward_code(session, ward_id)
    numbers = reserve(session, f"R-{code}-{fiscal_year}", count)
    return [f"{code}-{fiscal_year}-{number:05d}" for number in numbers]


def issue_reference(session: Session, ward_id: int, fiscal_year: int) -> str:
    code = _ward_code(session, ward_id)
    number = next_sequence(session, f"K-{code}-{fiscal_year}")
    return f"{code}-{fiscal_year}-K{number:03d}"
