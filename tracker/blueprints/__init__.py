"""The web: one blueprint per user group or area, each a module with its own template folder.

Belongs here: the blueprints (``auth``, ``field`` for liaison staff, ``ward`` for ward managers,
``bureau``, ``admin``, ``reports``, ``dashboard``, ``search``, ``imports``, ``notifications``,
``audit``, ``public``), what every view shares (``common``: roles, form errors, conflicts;
``detail``: the detail pages of a request and an issue) and the WTForms of every page
(``forms``). A view parses its form, calls one function of the workflow or of a service, commits
once, and redirects or renders: no rule lives here.

May import: anything below it — the services (finding, reporting, background, safeguards,
city), the workflow and its effects, the models and the foundation. Nothing imports a blueprint
but the app factory.
"""
