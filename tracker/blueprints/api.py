"""The machine-facing answers: the small JSON the staff pages ask for, and Open311 GeoReport v2.

``/api/amount`` says back what a typed amount will be stored as (「2,000千円 (2,000,000円) で
登録します」) or why it will be refused, with the one reader of amounts (``tracker.parsing``), so
the page's script never parses money itself.

The Open311 server lives under ``/open311/v2/`` in the route modules of this same blueprint
(``open311_read`` for what apps read, ``open311_write`` for what they send); each parses the
HTTP request, calls ``tracker.open311`` and answers in the spec's JSON or XML.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import login_required

from ..parsing import AmountError, AmountUnit, parse_amount

bp = Blueprint("api", __name__)

MAX_TEXT = 40  # characters of a typed amount looked at


@bp.route("/api/amount")
@login_required
def amount():
    text = request.args.get("text", "")[:MAX_TEXT]
    chosen = AmountUnit.chosen(request.args.get("unit"), AmountUnit.THOUSAND_YEN)
    try:
        parsed = parse_amount(text, chosen, allow_zero=request.args.get("zero") == "1")
    except AmountError as refused:
        return jsonify(error=refused.message)
    return jsonify(words=parsed.said_back(), yen=parsed.yen)
