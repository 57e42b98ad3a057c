"""Finding requests and ward issues: search, similar requests, lists and their exports.

Belongs here: the normalised search text and the WHERE clause of a search (``search``), the
similar open requests shown while logging one and the requests one is linked with
(``similar``), the ward issues of other wards like one (``similar_issues``), the city-wide
事例集's search and pages (``practices``), what each list offers and the filter parsed from its
URL (``listing``), the keyset-paged SQL of a list (``keyset``), the choices of a filter form
(``list_choices``), the scoped, eager-loaded queries of the lists and of the global search
(``queries``), the list pages a view shows (``list_pages``) and CSV/XLSX exports: the file
format and the export record (``exports``), what one export is, rebuilt from a list's URL
(``export_plans``), its cells (``export_rows``; a request export's by one Core SELECT,
``request_rows``); the activity list (活動記録) with its filters and counts of requests heard
(``activities``) and its export (``activity_exports``).

May import: the models, ``states``, ``formatting``, ``extensions``, the workflow layer, and of
the other services ``safeguards`` (access scope, personal data) and, for an export too long to
stream, ``background.export_job`` (which imports no list page). Never a blueprint.
"""
