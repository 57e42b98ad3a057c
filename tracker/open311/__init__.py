"""Open311 GeoReport v2: what the city's API answers residents' apps and the call center.

Belongs here: API keys (``keys``), the arrival and routing of POSTed requests and the intake
queue (``submissions``), the records, services and updates the API reads out (``records``), and
their rendering in JSON and XML with the spec's element names (``render``). Nothing here imports
Flask: the ``api`` blueprint parses the HTTP request, calls one function here, commits and
answers. May import the models, ``tracker.effects`` (to create a request as the workflow does),
``tracker.formatting`` and ``tracker.parsing``; never the web layer.

No answer built here ever carries a requester's name, contact, e-mail, phone or device/account id.
"""
