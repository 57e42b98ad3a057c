"""What assistive technology needs from the shared templates: the form macros tie each hint and
error to its input, errors are announced, the page has a skip link, and base.html translates."""

from __future__ import annotations

import re

import pytest
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, StringField
from wtforms.validators import DataRequired, Length

MACRO = '{% from "macros/forms.html" import field, error_summary %}'


class SampleForm(FlaskForm):
    class Meta:
        csrf = False

    title = StringField("件名", validators=[DataRequired("件名を入力してください。"), Length(max=5)])
    place = StringField("場所", description="町名と目印を書きます。")
    agree = BooleanField("同意する", description="確認のうえ選びます。")
    kind = RadioField("種類", choices=["電話", "窓口"], validators=[DataRequired("選んでください。")])


def render(app, template: str, data: dict | None = None, **context) -> str:
    with app.test_request_context("/", method="POST", data=data or {}):
        form = SampleForm()
        form.validate()
        return app.jinja_env.from_string(MACRO + template).render(form=form, **context)


def attributes_of(html: str, element_id: str) -> str:
    found = re.search(rf'<(?:input|select|textarea|fieldset)[^>]*\bid="{element_id}"[^>]*>', html)
    assert found, f"no element with id={element_id} in {html}"
    return found.group(0)


def test_an_invalid_field_is_aria_invalid_and_described_by_its_error(app):
    html = render(app, "{{ field(form.title) }}")
    tag = attributes_of(html, "title")
    assert 'aria-invalid="true"' in tag
    assert 'aria-describedby="title-error"' in tag
    assert re.search(r'id="title-error"[^>]*>\s*<p class="field-error">件名を入力してください。</p>', html)


def test_the_hint_comes_before_the_input_and_describes_it(app):
    html = render(app, "{{ field(form.place) }}", {"title": "ok", "kind": "電話"})
    tag = attributes_of(html, "place")
    assert 'aria-describedby="place-hint"' in tag and "aria-invalid" not in tag
    assert html.index('id="place-hint"') < html.index('<input aria-describedby="place-hint"')
    assert html.index('<label for="place">') < html.index('id="place-hint"')


def test_hint_and_error_are_both_named_and_the_callers_own_description_is_kept(app):
    html = render(
        app,
        "{{ field(form.title, hint='短く書きます。', **{'aria-describedby': 'counter'}) }}",
        {"title": "とても長い件名です"},
    )
    tag = attributes_of(html, "title")
    assert 'aria-describedby="counter title-hint title-error"' in tag
    assert 'id="title-hint"' in html and 'id="title-error"' in html


def test_a_checkbox_and_a_radio_group_are_described_too(app):
    html = render(app, "{{ field(form.agree) }}{{ field(form.kind) }}", {"title": "ok"})
    assert 'aria-describedby="agree-hint"' in attributes_of(html, "agree")
    assert re.search(r'<fieldset aria-describedby="kind-error">', html)
    assert html.count('aria-invalid="true"') == 2  # each radio of the failing group
    assert 'id="kind-error"' in html


def test_a_valid_field_has_no_aria_attributes(app):
    html = render(app, "{{ field(form.title) }}", {"title": "ok"})
    assert "aria-" not in attributes_of(html, "title")
    assert "field-error" not in html


def test_the_error_summary_is_announced_and_links_to_each_field(app):
    html = render(app, "{{ error_summary(form) }}")
    assert 'role="alert"' in html
    assert '<a href="#title">件名: 件名を入力してください。</a>' in html
    assert '<a href="#kind">' in html and '<a href="#place">' not in html
    assert render(app, "{{ error_summary(form) }}", {"title": "ok", "kind": "電話"}).strip() == ""


@pytest.fixture
def flashed(app, session):
    """A page of base.html with one error and one success message flashed."""
    from flask import flash, render_template_string

    def page(lang: str = "ja") -> str:
        with app.test_request_context(f"/?lang={lang}"):
            app.preprocess_request()
            flash("保存できませんでした。", "error")
            flash("保存しました。", "success")
            return render_template_string('{% extends "base.html" %}{% block title %}試し{% endblock %}')

    return page


def test_errors_are_alerts_and_other_messages_are_status(flashed):
    html = flashed()
    assert '<p class="flash flash-error" role="alert">保存できませんでした。</p>' in html
    assert '<p class="flash flash-success" role="status">保存しました。</p>' in html


def test_the_skip_link_leads_to_main(flashed):
    html = flashed()
    assert re.search(r'<a class="skip-link" href="#main">本文へ移動</a>', html)
    assert '<main id="main" tabindex="-1">' in html
    assert html.index("skip-link") < html.index("<header")
    assert "js/forms.js" in html and html.count("js/forms.js") == 1


def test_base_html_speaks_english_when_asked(flashed):
    html = flashed("en")
    assert '<html lang="en">' in html
    assert "Skip to main content" in html
    assert "区役所" not in html and "パンくず" not in html and "要望・区重要課題" not in html
    assert 'aria-label="Breadcrumb"' in html


def test_the_error_pages_are_translated(app, session):
    from flask import render_template

    with app.test_request_context("/?lang=en"):
        app.preprocess_request()
        page = render_template("error.html", title="Not found", message="The page does not exist.")
        crash = render_template("error_500.html")
    assert "ホームへ戻る" not in page and "ログイン画面へ" not in page
    assert "Back to home" in page or "To the login page" in page
    assert '<html lang="en">' in crash and "エラー" not in crash
