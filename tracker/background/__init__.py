"""Work that happens after the request: the outbox, RQ, the worker, and the jobs on it.

Belongs here: the one way to start background work (``jobs``: a job is recorded in the caller's
transaction and handed to RQ after commit, or run inline without Redis), ``flask worker`` and
its daily schedule (``worker``), the admin's job board (``job_board``), notifications that
subscribe to the workflow's events and each user's own list of them (``notifications``), daily
reminders (``reminders``), the Excel/CSV import of a center's field log (``import_format``,
``importer``) and list exports too long to stream, with their page's rules and the deletion of
old files (``export_job``).

May import: the models, ``states``, ``formatting``, ``extensions``, the workflow layer, Flask's
app context (config, the app factory for a worker), and of the other services ``finding``
(search text, and the export plans, rows and files) and ``safeguards`` (the audit chain's
bulk append). Never a blueprint.
"""
