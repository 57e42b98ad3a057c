"""The liaison staff's field work (活動記録): who may see and log which activities, and every
write to an activity, its liaisons and its link to the requests heard in it.

Belongs here: the scope of activities (``access``), the operations that log, edit and link
activities, each writing its history event (subject ``activity_id``) in the same transaction
(``operations``), the requests heard in an activity (``heard``: what the request form starts
with, a request found by its reference, the activity a request's page may show), how an
activity's history reads (``history``), and the centers' community organisations
(``organisations``).
Counts and reports of activities are ``tracker.reporting``; pages are the ``activities``
blueprint; the import of activity logs is ``tracker.background``.

May import: the models, ``states``, ``formatting``, ``parsing``, ``extensions`` and the workflow
layer (``tracker.effects``). Never Flask, never a service package or a blueprint.
"""
