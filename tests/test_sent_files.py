"""Every file sent to staff is no-store, and every spreadsheet cell goes through the one
neutraliser. Before this, XLSX downloads kept ``send_file``'s own caching header (a shared PC's
browser cache kept the residents' list), and a cell such as ``  =1+1`` or ``＝HYPERLINK(…)``
was written as it was."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from tracker.finding.exports import neutralise

from .factories import png_bytes


@pytest.mark.parametrize(
    "text",
    [
        "=1+1",
        "+1",
        "-1",
        "@SUM(A1)",
        "\t=1",
        "\r=1",
        "  =1+1",
        "\u3000=1",
        '＝HYPERLINK("x")',
        "＋1",
        "－1",
        "＠A",
        "\n=1",
    ],
)
def test_anything_a_spreadsheet_would_run_as_a_formula_is_written_as_text(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["街灯", "2,000千円", "A=B", "メール@example.jp", " 公園"])
def test_ordinary_text_is_left_alone(text):
    assert neutralise(text) == text


def test_numbers_stay_numbers():
    assert neutralise(-5) == -5 and neutralise(2.5) == 2.5


def test_an_exported_title_that_starts_a_formula_after_spaces_is_text_in_the_xlsx(make, login_as):
    liaison = make.liaison()
    make.request(liaison, title='  =HYPERLINK("http://example.invalid")')
    response = login_as(liaison).get("/requests/?format=xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).active
    titles = [row for row in sheet.iter_rows(values_only=True) if any("HYPERLINK" in str(c) for c in row)]
    assert titles and all(str(c).startswith("'") for row in titles for c in row if "HYPERLINK" in str(c))


@pytest.mark.parametrize(
    "path", ["/requests/?format=xlsx", "/requests/?format=csv", "/imports/template.xlsx"]
)
def test_downloads_are_never_stored_by_the_browser(make, login_as, path):
    response = login_as(make.liaison()).get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"


def test_photos_are_never_stored_by_the_browser(make, login_as):
    liaison = make.liaison()
    request = make.request(liaison, photos=[(io.BytesIO(png_bytes()), "a.png")])
    response = login_as(liaison).get(f"/photos/{request.photos[0].id}")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-store"


def test_static_files_keep_their_caching(make, login_as):
    response = login_as(make.liaison()).get("/static/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
