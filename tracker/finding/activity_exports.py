"""The export of the activity list (CSV/XLSX): every activity matching the filters, in the list's
order, with the count of requests heard in each.

As the request export (``tracker.finding.list_pages.deliver``): streamed up to
``EXPORT_INLINE_MAX_ROWS`` rows, a background job past them; recorded when the file is complete
(``exports.record_export``: who, which list, the filters, the rows written, the format). The
cells are read by ``export_rows`` (liaisons eager-loaded per batch, the count of requests by a
correlated subquery in the same SELECT), so the number of queries does not grow with the rows.
Activities hold no resident's personal data.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..formatting import today_in_tokyo
from ..models import User
from ..wording import N_, translate
from . import activities, export_plans, list_pages

WHAT = N_("活動記録一覧")  # recorded in Japanese; the file is named in the user's language


def export(session: Session, user: User, flt: activities.ActivityFilter, fmt: str):
    """Send every matching activity as ``fmt`` (or start the job that writes the file)."""
    plan = export_plans.activity_plan(user, flt, today_in_tokyo())
    return list_pages.deliver(plan, fmt, what=WHAT, filename=translate(WHAT), personal=None)
