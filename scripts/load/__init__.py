"""The two runs that put the whole app under load, outside ``make test``: ``make stress`` (concurrent
browser clients against gunicorn on PostgreSQL while Redis is killed, then a check that nothing was
lost, duplicated or answered with a 5xx) and ``make bench`` (every page on 10,000 and on 1,000,000
generated requests, paired, and the CSV export of everything: ``bench`` runs it, ``bench_plan``
says what and in which order, ``bench_setup`` the databases, servers and export, ``bench_drive``
the load process, ``bench_http`` its clients, ``bench_results`` the figures and their table,
``baseline_app`` the bare Flask page). Only their code belongs here, one module per responsibility:
``settings`` (bounds, environment, safety checks), ``pages`` (reading the app's HTML), ``browser``
(one HTTP session and the statistics of every exchange), ``clients`` (what the simulated staff do),
``ledger`` (what the clients believe they did, and the counts that implies), ``faults`` (the
processes: Redis, the worker, gunicorn; Redis killed and started again), ``database`` (the stress
database: recreated, migrated, inspected), ``verdict`` (the checks and the printed report),
``stress`` (the run and its main). Nothing in ``tracker`` imports it; its entry points are
``scripts/stress.py`` and ``scripts/bench.py``; ``tests/test_stress_script.py`` and
``tests/test_bench_script.py`` test their pieces.
"""
