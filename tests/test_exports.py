"""Exports of the lists: every matching row, the same filters and scope as on screen, CSV that
Excel opens (BOM, CRLF, no formulas), XLSX, the export history, and personal data only when
asked for and allowed."""

from __future__ import annotations

import csv
import io
import unicodedata

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tracker.finding import exports
from tracker.models import HistoryEvent
from tracker.ops_models import PersonalDataAccess
from tracker.states import IssueState, RequestState

from .test_lists import bulk_requests, selects

NAME, CONTACT = "熊本 太郎", "096-000-0000"


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/csv"
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    text = body.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    # Records end in CRLF; a line break inside a cell is stored (and so written) as LF.
    assert text.endswith("\r\n") and text.count("\r\n") == len(rows)
    return rows


def xlsx_rows(response) -> list[list]:
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    workbook = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]


def export_events(session) -> list[HistoryEvent]:
    return session.execute(select(HistoryEvent).where(HistoryEvent.action == "export")).scalars().all()


def accesses(session) -> list[PersonalDataAccess]:
    return session.execute(select(PersonalDataAccess)).scalars().all()


# --- the files -------------------------------------------------------------------------------


def test_csv_has_bom_crlf_japanese_and_no_formulas(make, session, login_as):
    liaison = make.liaison()
    bulk_requests(session, liaison, 1, title='=HYPERLINK("http://evil")', organisation="+81 熊本")
    multiline = '改行\r\nあり, "引用"'
    bulk_requests(session, liaison, 1, title="-1+2", organisation="@SUM(A1)", description=multiline)
    rows = csv_rows(login_as(liaison).get("/requests/?format=csv&sort=reference&direction=asc"))
    header, first, second = rows
    assert header[:3] == ["受付番号", "年度", "件名"]
    assert "要望者氏名" not in header
    assert first[2] == '\'=HYPERLINK("http://evil")'
    assert first[header.index("団体・組織")] == "'+81 熊本"
    assert second[2] == "'-1+2" and second[header.index("団体・組織")] == "'@SUM(A1)"
    assert second[header.index("内容")] == '改行\nあり, "引用"'  # CRLF stored as LF
    assert first[header.index("区")] == "中央区"


def test_xlsx_opens_with_japanese_intact(make, session, login_as):
    liaison = make.liaison()
    bulk_requests(session, liaison, 3, title="公園の街灯が切れている")
    response = login_as(liaison).get("/requests/?format=xlsx")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    rows = xlsx_rows(response)
    assert rows[0][0] == "受付番号" and len(rows) == 4
    assert {row[2] for row in rows[1:]} == {"公園の街灯が切れている"}
    assert rows[1][1] == 2024  # numbers stay numbers


def test_issue_export_csv_and_xlsx(make, session, login_as):
    manager = make.manager()
    budgeted = make.issue(IssueState.BUDGETED, manager=manager)
    make.issue(IssueState.DRAFT, manager=manager, with_request=False)
    client = login_as(manager)
    rows = csv_rows(client.get("/issues/?format=csv&state=budgeted"))
    assert len(rows) == 2 and rows[1][0] == budgeted.reference
    assert rows[1][rows[0].index("予算額 (円)")] == "2000000"
    assert rows[1][rows[0].index("主管局")] == "環境局"
    assert len(xlsx_rows(client.get("/issues/?format=xlsx"))) == 3


# --- all the rows, the same filters, the same scope ------------------------------------------


def test_the_export_has_every_matching_row_not_just_the_page(make, session, login_as, app, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 10)
    liaison = make.liaison()
    received = bulk_requests(session, liaison, 35)
    bulk_requests(session, liaison, 5, state=RequestState.ANSWERED)
    bulk_requests(session, make.liaison("東区"), 4)
    client = login_as(liaison)
    rows = csv_rows(client.get("/requests/?state=received&format=csv&after=garbage"))
    assert [row[0] for row in rows[1:]] == [r.reference for r in sorted(received, key=lambda r: -r.id)]
    event = export_events(session)[-1]
    assert event.data["rows"] == 35 and event.data["format"] == "csv"
    assert event.data["filters"]["state"] == ["received"]
    assert event.data["what"] == "要望一覧" and event.actor_id == liaison.id


def test_bureau_inbox_export_keeps_the_tab_and_scope(make, session, login_as):
    staff = make.staff("環境局")
    consulting = make.issue(IssueState.CONSULTING, staff=staff)
    make.issue(IssueState.DECIDED, staff=staff)
    make.issue(IssueState.CONSULTING, lead="消防局")
    rows = csv_rows(login_as(staff).get("/bureau/?tab=consulting&format=csv"))
    assert [row[0] for row in rows[1:]] == [consulting.reference]
    assert export_events(session)[-1].data["filters"]["tab"] == "consulting"


def test_the_work_queues_export(make, session, login_as):
    liaison = make.liaison()
    manager = make.manager()
    bulk_requests(session, liaison, 3)
    bulk_requests(session, liaison, 2, state=RequestState.ANSWERED)
    queue = csv_rows(login_as(liaison).get("/field/?format=csv&personal=1"))
    assert len(queue) == 4 and queue[0][-2:] == ["要望者氏名", "連絡先"] and queue[1][-2] == NAME
    triage = xlsx_rows(login_as(manager).get("/ward/?format=xlsx"))
    assert len(triage) == 4 and "要望者氏名" not in triage[0]
    assert [e.data["what"] for e in export_events(session)] == ["未回答の要望", "要望の振り分け"]
    assert len(accesses(session)) == 3


# --- personal data ---------------------------------------------------------------------------


def test_personal_data_only_when_asked_and_recorded_per_request(make, session, login_as):
    manager = make.manager()
    liaison = make.liaison()
    carrying = bulk_requests(session, liaison, 3)
    bulk_requests(session, liaison, 2, requester_name="", requester_contact="")
    client = login_as(manager)
    plain = csv_rows(client.get("/requests/?format=csv"))
    assert "要望者氏名" not in plain[0] and NAME not in str(plain)
    assert accesses(session) == []
    rows = csv_rows(client.get("/requests/?format=csv&personal=1"))
    assert rows[0][-2:] == ["要望者氏名", "連絡先"]
    assert sum(1 for row in rows[1:] if row[-2] == NAME and row[-1] == CONTACT) == 3
    recorded = accesses(session)
    assert sorted(a.request_id for a in recorded) == sorted(r.id for r in carrying)
    assert {(a.user_id, a.action, a.role) for a in recorded} == {(manager.id, "export", "ward_manager")}
    events = export_events(session)
    assert [e.data["filters"]["personal"] for e in events] == [False, True]
    assert events[-1].data["filters"]["personal_rows"] == 3 and events[-1].data["rows"] == 5


def test_admin_may_export_personal_data_of_every_ward(make, session, login_as):
    bulk_requests(session, make.liaison("東区"), 2)
    rows = csv_rows(login_as(make.admin()).get("/requests/?format=xlsx&personal=1".replace("xlsx", "csv")))
    assert rows[0][-1] == "連絡先" and all(row[-2] == NAME for row in rows[1:])
    assert len(accesses(session)) == 2


def test_bureau_staff_never_get_personal_data_even_when_asking(make, session, login_as):
    staff = make.staff("環境局")
    make.issue(IssueState.CONSULTING, staff=staff)
    client = login_as(staff)
    for fmt in ("csv", "xlsx"):
        response = client.get(f"/bureau/?tab=all&format={fmt}&personal=1")
        header = csv_rows(response)[0] if fmt == "csv" else xlsx_rows(response)[0]
        assert "要望者氏名" not in header and "連絡先" not in header
        assert NAME.encode() not in response.get_data()
    assert client.get("/requests/?format=csv&personal=1").status_code == 403
    assert accesses(session) == []
    assert all(e.data["filters"]["personal"] is False for e in export_events(session))


# --- the history of exports ------------------------------------------------------------------


def test_the_admin_sees_the_export_history(make, session, login_as):
    liaison = make.liaison()
    bulk_requests(session, liaison, 2)
    login_as(liaison).get("/requests/?format=csv&state=received&personal=1").get_data()  # recorded once sent
    admin = login_as(make.admin())
    text = admin.get("/admin/audit/exports").get_data(as_text=True)
    assert "<h1>ファイル出力の記録</h1>" in text
    # the row of the export (the user filter above the table lists every login)
    assert f'href="/admin/audit/exports?user={liaison.id}">{liaison.login}</a>' in text
    assert "<td>要望一覧</td>" in text and "<td>CSV</td>" in text and "<td>含む (2件)</td>" in text
    assert "state=received" in text
    access_log = admin.get("/admin/audit/").get_data(as_text=True)
    assert '<a href="/admin/audit/exports">ファイル出力の記録' in access_log  # the way there
    assert login_as(make.manager()).get("/admin/audit/exports").status_code == 403


# --- constant queries, whatever the number of rows -------------------------------------------


@pytest.mark.parametrize(
    "role, path",
    [
        ("manager", "/requests/?format=csv&personal=1"),
        ("manager", "/requests/?format=xlsx&state=received"),
        ("manager", "/issues/?format=csv"),
        ("staff", "/bureau/?tab=all&format=xlsx"),
        ("liaison", "/field/?format=csv&personal=1"),
        ("manager", "/ward/?format=csv"),
    ],
)
def test_exports_run_a_constant_number_of_queries(make, session, login_as, count_queries, role, path):
    liaison = make.liaison()
    manager = make.manager()
    staff = make.staff("環境局")
    client = login_as({"liaison": liaison, "manager": manager, "staff": staff}[role])

    def add(count):
        bulk_requests(session, liaison, count)
        for _ in range(max(1, count // 10)):
            make.issue(IssueState.BUDGETED, manager=manager, staff=staff)

    def queries():
        count_queries.clear()
        response = client.get(path)
        assert response.status_code == 200
        response.get_data()
        return len(selects(count_queries))

    add(3)
    queries()
    few = queries()
    add(30)
    assert queries() == few


# --- the record: once the file has been sent, with the rows sent -------------------------------


def test_a_streamed_export_is_recorded_after_its_last_row_with_the_rows_sent(
    make, session, login_as, monkeypatch
):
    monkeypatch.setattr(exports, "CHUNK_ROWS", 2)
    liaison = make.liaison()
    bulk_requests(session, liaison, 5)
    response = login_as(liaison).get("/requests/?format=csv")
    assert export_events(session) == []  # nothing is claimed before the rows have gone
    assert len(csv_rows(response)) == 6
    event = export_events(session)[-1]
    assert event.data["rows"] == 5 and event.actor_id == liaison.id


def test_a_download_cut_half_way_records_no_export_but_its_personal_data_log(
    make, session, login_as, monkeypatch
):
    monkeypatch.setattr(exports, "CHUNK_ROWS", 2)
    manager = make.manager()
    bulk_requests(session, make.liaison(), 5)
    response = login_as(manager).get("/requests/?format=csv&personal=1")
    chunks = iter(response.response)
    assert next(chunks).startswith("\ufeff".encode())  # the header
    assert "熊本 太郎".encode() in next(chunks)  # two rows with personal data have left
    response.close()  # the client went away
    assert export_events(session) == []
    assert len(accesses(session)) == 5  # logged before the first byte left


def test_an_xlsx_download_is_recorded_once_sent(make, session, login_as):
    liaison = make.liaison()
    bulk_requests(session, liaison, 3)
    response = login_as(liaison).get("/requests/?format=xlsx")
    assert export_events(session) == []
    assert len(xlsx_rows(response)) == 4
    assert export_events(session)[-1].data["rows"] == 3


def _reference_neutralise(text: str) -> str:
    """The rule as written, without the first-character shortcut."""
    read_as = unicodedata.normalize("NFKC", text).lstrip(" \u3000\n\x0b\x0c")
    risky = text.startswith(exports.FORMULA_PREFIXES) or read_as.startswith(exports.FORMULA_PREFIXES)
    return "'" + text if risky else text


def test_the_first_character_shortcut_defuses_exactly_what_the_whole_rule_defuses():
    tails = ("1+1", "\u0338=1", " =1", "")
    risky = 0
    for code in range(1, 0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        for tail in tails:
            text = chr(code) + tail
            expected = _reference_neutralise(text)
            assert exports.neutralise(text) == expected, repr(text)
            risky += expected != text
    assert risky > 30  # ＝, ﹦, ⁼, spaces before "=", ... were all caught
