"""Small JSON answers the staff pages ask for while a form is filled in.

``/api/amount`` says back what a typed amount will be stored as (「2,000千円 (2,000,000円) で
登録します」) or why it will be refused, with the one reader of amounts (``tracker.parsing``), so
the page's script never parses money itself.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import login_required

from ..parsing import AmountError, AmountUnit, parse_amount

bp = Blueprint("api", __name__, url_prefix="/api")

MAX_TEXT = 40  # characters of a typed amount looked at


@bp.route("/amount")
@login_required
def amount():
    text = request.args.get("text", "")[:MAX_TEXT]
    chosen = AmountUnit.chosen(request.args.get("unit"), AmountUnit.THOUSAND_YEN)
    try:
        parsed = parse_amount(text, chosen, allow_zero=request.args.get("zero") == "1")
    except AmountError as refused:
        return jsonify(error=refused.message)
    return jsonify(words=parsed.said_back(), yen=parsed.yen)
