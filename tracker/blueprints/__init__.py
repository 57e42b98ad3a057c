"""The web: one blueprint per user group or area, each a module with its own template folder.

Belongs here: the blueprints (``auth``, ``field`` for liaison staff, ``ward`` for ward managers,
``bureau``, ``admin``, ``reports``, ``dashboard``, ``search``, ``imports``, ``notifications``,
``audit``, ``public``, ``practices`` (the city-wide 事例集), ``exports`` for the page and the
download of an export made in the background, ``teamwork`` for the comments and
attachments of both detail pages,
``corrections`` for 訂正 and 取消 of what was entered, and ``api`` for the small JSON answers a
form asks for while it is filled in), what every view shares (``common``: roles, form errors,
conflicts; ``detail``: the detail pages of a request and an issue), the WTForms of every page
(``forms``; the corrections' in ``correction_forms``), their fields for
amounts, dates and fiscal years (``fields``) and their plain error messages (``form_messages``).
A view parses its form, calls one function of the workflow or of a service, commits once, and
redirects or renders: no rule lives here.

May import: anything below it — the services (finding, reporting, background, safeguards,
city), the workflow and its effects, the models and the foundation. Nothing imports a blueprint
but the app factory.
"""
