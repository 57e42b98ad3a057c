"""What the city and each person read off the data: dashboards, the fiscal-year report, charts.

Belongs here: the personal dashboard of each role (``personal_dashboard``), the city dashboard's
figures (``dashboards``) and their charts (``dashboard_charts``), the fiscal-year report of ward
issues with its XLSX job (``reports``), SVG charts drawn on the server (``charts``), the
indicators (指標): the computed metrics (``indicators``), the pages' tables of actual against
target (``indicator_tables``) and their charts (``indicator_charts``), what the public pages
show of the published ward issues (``public``), and the counts of the liaisons' field work with
the figures the city publishes from them (``activity_counts``), and the reads of the summary
tables that the counts of requests and issues come from (``counters``). Figures are aggregates computed
by a fixed number of queries, never row by row.

May import: the models, ``states``, ``formatting``, ``extensions``, the workflow layer, and of
the other services ``finding`` (scoped queries, export helpers), ``safeguards`` (access scope)
and ``background`` (to start a report job). Nothing below imports reporting: it is read-only.
"""
