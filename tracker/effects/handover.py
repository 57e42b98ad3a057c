"""The effects of handing a request over to another ward (他区へ引継ぎ).

A request logged in the wrong ward is offered to the right one (``hand_over``); while it is
being handed over (他区へ引継ぎ中) the target ward's staff see it too, and its managers take it
into one of their centers (``accept_handover``) or send it back (``decline_handover``); the
sending ward may take the offer back (``cancel_handover``). The reference number, the due date
and who logged it stay; every step writes the wards (and, on acceptance, the centers) into its
history event.
"""

from __future__ import annotations

from ..models import Center, ServiceRequest, Ward
from ..wording import N_
from .support import Context, WorkflowError, clean_text


def _ward_id(value) -> int | None:
    if isinstance(value, Ward):
        return value.id
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def hand_over_guard(request: ServiceRequest, payload: dict) -> str | None:
    if _ward_id(payload.get("handover_ward")) == request.ward_id:
        return N_("自分の区には引き継げません。引継ぎ先の区を選んでください。")
    if request.current_budget_lines:  # a cancelled draw (取消) no longer ties it to the ward
        return N_("まちづくり推進経費を充当した要望は他区へ引き継げません。")
    return None


def hand_over(ctx: Context):
    request: ServiceRequest = ctx.subject
    ward_id = _ward_id(ctx.payload.get("handover_ward"))
    ward = ctx.session.get(Ward, ward_id) if ward_id else None
    if ward is None:
        raise WorkflowError(N_("引継ぎ先の区を選んでください。"))
    ctx.comment = clean_text(ctx.payload, "comment")
    request.handover_ward = ward
    ctx.data = {"from_ward": request.ward.name, "to_ward": ward.name}
    return None


def accept(ctx: Context):
    """The target ward takes the request into one of its centers; it is that ward's from now on."""
    request: ServiceRequest = ctx.subject
    try:
        center = ctx.session.get(Center, int(ctx.payload.get("center")))
    except (TypeError, ValueError):
        center = None
    if center is None or not center.active or center.ward_id != request.handover_ward_id:
        raise WorkflowError(N_("引き受けるまちづくりセンターを選んでください。"))
    ctx.data = {
        "from_ward": request.ward.name,
        "to_ward": center.ward.name,
        "from_center": request.center.name,
        "to_center": center.name,
    }
    request.ward, request.center, request.handover_ward = center.ward, center, None
    ctx.comment = clean_text(ctx.payload, "comment")
    return None


def _back_to_sender(ctx: Context, key: str):
    request: ServiceRequest = ctx.subject
    ctx.comment = clean_text(ctx.payload, "comment")
    ctx.data = {"from_ward": request.ward.name, key: request.handover_ward.name}
    request.handover_ward = None
    return None


def decline(ctx: Context):
    """The target ward says the request is not theirs; it stays with the ward that logged it."""
    return _back_to_sender(ctx, "declined_by")


def cancel(ctx: Context):
    """The sending ward takes its offer back."""
    return _back_to_sender(ctx, "to_ward")
