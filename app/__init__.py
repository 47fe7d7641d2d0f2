"""The Benchside web application."""

from __future__ import annotations

import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, g, request
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map
from werkzeug.wrappers import Response

from app import access, cookie_session, db, input_guard, request_log, security
from app.extensions import csrf, login_manager
from app.search import indexing
from config import Config, config_from_env


class DatabaseId(IntegerConverter):
    """``<int:...>`` in every route: ids are 32-bit integers in the database, and PostgreSQL
    refuses to compare one with a larger number (a 500); such a URL names nothing (404)."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def create_app(config: type[Config] | None = None) -> Flask:
    app = Flask(__name__)
    app.url_map.converters["int"] = DatabaseId  # before any route is added
    app.config.from_object(config or config_from_env())
    register_instance(app)
    if app.config["PROXY_COUNT"]:
        hops = app.config["PROXY_COUNT"]
        # Client address and scheme only: the host is never taken from a header (see BASE_URL).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    register_extensions(app)
    register_security(app)
    register_request_hooks(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_commands(app)
    register_template_globals(app)
    register_settings(app)
    db.register_commit_point(app)  # last: its hook runs before every other after_request
    return app


def register_instance(app: Flask) -> None:
    """Make the instance folder, and the secret key in it when none is set (flaskr makes its
    instance folder here too: importing the settings changes nothing on disk)."""
    folder = Path(app.config["INSTANCE_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    if app.config["SECRET_KEY"]:
        return
    key_file = folder / "secret_key"
    if not key_file.exists():
        # Written whole under another name, then linked into place: a worker starting at the
        # same moment either wins or reads the winner's complete key, never a half-written one.
        fd, draft = tempfile.mkstemp(dir=folder, prefix=".secret_key.")
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, key_file)
        except FileExistsError:
            pass
        finally:
            os.unlink(draft)
    app.config["SECRET_KEY"] = key_file.read_text().strip()


def register_settings(app: Flask) -> None:
    """The frozen values services receive (``app.settings``), built once from the config."""
    from app.auth.settings import AccountSettings
    from app.escalations.settings import EscalationSettings
    from app.mail.mailer import Mailer
    from app.repairs.settings import RepairSettings
    from app.settings import Settings
    from app.warranty.settings import WarrantySettings

    base = urlsplit(app.config["BASE_URL"])

    def link(endpoint: str, **values: Any) -> str:
        urls = app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
        return urls.build(endpoint, values, force_external=True)

    mail = Mailer(base_url=app.config["BASE_URL"], templates=app.jinja_env, link=link)
    app.extensions["benchside.settings"] = Settings(
        mail=mail,
        accounts=AccountSettings.from_config(app.config, mail=mail),
        escalations=EscalationSettings.from_config(app.config, mail=mail),
        repairs=RepairSettings.from_config(app.config),
        warranty=WarrantySettings.from_config(app.config),
    )


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    cookie_session.init_app(app)
    indexing.init_app(app)
    # CSRF is checked in ``_check_csrf`` so that form pages can report it on the form instead.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to open that page."
    login_manager.login_message_category = "info"
    app.config["REMEMBER_COOKIE_DURATION"] = timedelta(
        days=app.config["REMEMBER_COOKIE_DURATION_DAYS"]
    )

    from app.auth import loaders, services

    loaders.register(login_manager)
    services.configure_password_hashing(
        time_cost=app.config["ARGON2_TIME_COST"],
        memory_kib=app.config["ARGON2_MEMORY_KIB"],
        parallelism=app.config["ARGON2_PARALLELISM"],
    )


def register_security(app: Flask) -> None:
    # Before the other hooks: every request, even one they refuse, has an id, a log line and
    # the security headers, and a change that another site started is refused before any of
    # them acts on it.
    request_log.init_app(app)
    security.init_app(app)


def register_request_hooks(app: Flask) -> None:
    @app.before_request
    def _check_input() -> None:
        rule = access.access_of(request.endpoint, app)
        input_guard.guard(form_checks_nul=bool(rule and rule.form_page))

    @app.before_request
    def _check_csrf() -> None:
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return
        rule = access.access_of(request.endpoint, app)
        if rule is not None and rule.form_page:
            return  # the view's form validates the token and keeps what was typed
        if access.is_api_request() and access.bearer_token() is not None:
            return  # a browser never adds this header to a cross-site request: nothing to forge
        csrf.protect()

    from app.auth import loaders

    app.before_request(loaders.load_bearer_user)
    app.before_request(access.enforce)

    @app.after_request
    def _no_store_for_signed_in(response: Response) -> Response:
        # Pages of a signed-in user must not come back from the cache after logout. The user
        # as Flask-Login keeps it on ``g`` once asked (access checks ask on every request),
        # rather than through the proxy's few lookups.
        user = g.get("_login_user") or current_user
        if user and user.is_authenticated:
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def register_blueprints(app: Flask) -> None:
    from app import api
    from app.admin import bp as admin_bp
    from app.auth.routes import bp as auth_bp
    from app.authoring import bp as authoring_bp
    from app.catalog import bp as catalog_bp
    from app.diagnose import bp as diagnose_bp
    from app.escalations.routes import bp as escalations_bp
    from app.home import bp as home_bp
    from app.notices.routes import bp as notices_bp
    from app.orders.routes import bp as orders_bp
    from app.repairs.admin_routes import bp as repair_admin_bp
    from app.repairs.routes import bp as repairs_bp
    from app.search import bp as search_bp
    from app.warranty.routes import bp as warranty_bp

    app.register_blueprint(home_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(catalog_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(diagnose_bp)
    app.register_blueprint(authoring_bp)
    app.register_blueprint(orders_bp)
    app.register_blueprint(escalations_bp)
    app.register_blueprint(repairs_bp)
    app.register_blueprint(warranty_bp)
    app.register_blueprint(repair_admin_bp)
    app.register_blueprint(notices_bp)
    api.init_app(app)


def register_error_handlers(app: Flask) -> None:
    from app import errors

    errors.register(app)


def register_commands(app: Flask) -> None:
    from app import cli

    cli.register(app)


def register_template_globals(app: Flask) -> None:
    from app import navigation, rendering

    app.jinja_env.add_extension("jinja2.ext.do")
    rendering.init_app(app)
    app.context_processor(navigation.context)
