"""The two runs that put the whole app under load, outside ``make test``: ``make stress`` (concurrent
browser clients against gunicorn on PostgreSQL while Redis is killed, then a check that nothing was
lost, duplicated or answered with a 5xx) and ``make bench`` (keyset vs OFFSET paging and export
memory on 200,000 requests). Only their code belongs here, one module per responsibility:
``settings`` (bounds, environment, safety checks), ``pages`` (reading the app's HTML), ``browser``
(one HTTP session and the statistics of every exchange), ``clients`` (what the simulated staff do),
``ledger`` (what the clients believe they did, and the counts that implies), ``faults`` (the
processes: Redis, the worker, gunicorn; Redis killed and started again), ``database`` (the stress
database: recreated, migrated, inspected), ``verdict`` (the checks and the printed report),
``stress`` (the run and its main) and ``bench``. Nothing in ``tracker`` imports it; its entry
points are ``scripts/stress.py`` and ``scripts/bench.py``, and ``tests/test_stress_script.py``
tests the stress run's pieces.
"""
