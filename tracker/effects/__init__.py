"""What the workflow's actions do, and the writes around them.

Belongs here: the effects and guards of the request and ward-issue actions (``request_effects``,
``issue_effects``; the approval step, ``approval``; the persons in charge, ``owners``), the
corrections (訂正) and 取消 of what was entered (``corrections``), and what they share
(``support``: the workflow error, the action context, payload cleaning, the history writer);
logging a new request (``intake``) with its photos and reference number; drawing on a ward's
fund (``funds``); comments and attachments (``teamwork``, with the files checked by content in
``attachments``); 照会 and 意見 (``consultation``); handing a request to another ward
(``handover``); the public text of an issue and its approval (``publication``); the city's
settings the rules read (``city_settings``); the city's budget calendar and the issues it puts
at risk (``budget_calendar``); the indicators' definitions, targets and entered values
(``indicators``); how history events read (``history``); and ``events``, the hook through which
the workflow announces what happened; ``counters``, the flush listener that keeps the
dashboards' summary tables (``tracker.summary_models``) right in every transaction, with
``activity_counters`` for the field work's, ``bureau_counters`` for the bureaus' inboxes and
``report_counters`` for the fiscal-year report's.

May import: the models, ``states``, ``formatting``, ``extensions`` and ``tracker.workflow``
(whose tables call the effects). Never Flask, and never a service package (finding, reporting,
background, safeguards, city) or a blueprint: the rules run the same from a view, a job, a
command or a test. Side effects such as notifications subscribe to ``events``; they are not
called from here.
"""
