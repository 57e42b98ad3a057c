"""What keeps the data safe: access scope, personal data, the audit chain, accounts, backups.

Belongs here: who may see what as query filters and object checks (``access``), residents'
personal data — showing, logging each showing, erasing (``personal_data``), the hash chain of
the history (``audit``), user accounts and passwords (``accounts``), the record of the admin's
changes and the reading of such event logs (``admin_log``), and backup and restore
(``archive``: the file format; ``backup``).

May import: the models, ``states``, ``formatting``, ``extensions``, the workflow layer, and of
the other services ``background`` (scheduled erasure and verification) and ``finding``
(search index tables in backups). Never a blueprint.
"""
