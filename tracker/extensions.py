"""Flask extensions, created once here and bound to the app in ``create_app``."""

import flask_talisman
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints so that Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


class Talisman(flask_talisman.Talisman):
    """Security headers; a response whose view set its own Content-Security-Policy keeps it
    (the photo route's ``sandbox`` policy is stricter than the site's).

    One per app (made in ``create_app``): Talisman keeps its settings on the instance, so a shared
    one would carry one app's production settings (forced HTTPS) into another."""

    def _set_content_security_policy_headers(self, headers, options):
        own = headers.get("Content-Security-Policy")
        super()._set_content_security_policy_headers(headers, options)
        if own:
            headers["Content-Security-Policy"] = own
