"""The city's own data: master data from the reference documents, its admin rules, demo data.

Belongs here: the wards, centers, bureaus, categories and ward funds of the city and the demo
accounts (``masterdata``), the rules for editing master data and the admin's overview of it
(``masterdata_admin``), what a form may offer of it (``choices``; the activity form's:
``activity_choices``), and the demo requests of
the current fiscal year that ``make run`` shows (``demo_requests``) with ward and bureau
working on them together (``demo_teamwork``), the next budget year's calendar
(``demo_calendar``) and the 事例集 entries of the city's published examples
(``demo_practices``), the liaisons' activity log (``demo_activities``), the Open311 demo keys, towns and
service definitions (``demo_open311``); the default indicators
(指標) and their demo targets and survey values (``indicator_defaults``); synthetic data at
scale for the benchmark and load tests (``synthetic`` and its ``synthetic_*`` parts: vocabulary,
plans, stories, the COPY writer; ``flask gen-data``). How the city writes
money, fiscal years and dates is ``tracker.formatting``: every layer uses it, so it stays on
the ground floor.

May import: the models, ``states``, ``formatting``, ``extensions``, the workflow layer, and of
the other services ``safeguards`` (accounts), ``open311`` (the demo's keys and services) and
``reporting.indicators`` (the computed metrics the default indicators name). Never a blueprint.
"""
