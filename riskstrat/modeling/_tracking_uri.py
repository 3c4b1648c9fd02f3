"""What a tracking URI may show and whether MLflow can open it, before MLflow tries.

A database store's URI (``mysql://user:secret@host/db``) carries its password: every
message that names a URI, MLflow's own included, shows it as ``***``. A scheme MLflow keeps
no registry at, or a database whose SQLAlchemy driver is missing, is said in one line here
rather than as a traceback from deep inside MLflow.
"""

from __future__ import annotations

import re

# Where MLflow keeps a model registry (its own list, by the scheme before any "+driver"),
# but a Databricks workspace's (databricks://, databricks-uc://, uc://): its sign-in is
# Databricks' own, riskstrat neither sets it up nor tests against it, and without it
# MLflow fails with a traceback.
REGISTRY_SCHEMES = (
    "file",
    "http",
    "https",
    "postgresql",
    "mysql",
    "sqlite",
    "mssql",
)
_DATABASE_SCHEMES = ("mysql", "postgresql", "mssql")
# The pip package that gives each driver module SQLAlchemy imports by default.
_DRIVER_PACKAGES = {
    "MySQLdb": "mysqlclient",
    "psycopg": "psycopg",
    "psycopg2": "psycopg2-binary",
    "pyodbc": "pyodbc",
    "pymysql": "PyMySQL",
}

NOT_A_REGISTRY = (
    "tracking URI {uri}: riskstrat reads no model registry at a {scheme}:// URI; expected "
    "sqlite:///path/to/mlruns.db (embedded), http(s)://host:port (a tracking server) or a "
    "database URL (postgresql://, mysql:// or mssql://)"
)
NO_DRIVER = (
    "tracking URI {uri}: the database driver {module!r} that SQLAlchemy needs for {scheme} is "
    "not installed in this environment; expected it installed beside riskstrat (pip install "
    "{package}), or a URI naming an installed driver ({scheme}+driver://...)"
)
UNKNOWN_DRIVER = (
    "tracking URI {uri}: SQLAlchemy knows no driver {driver!r} for {scheme}; expected "
    "{scheme}:// or {scheme}+<an installed driver>://"
)
NOT_A_DATABASE_URL = (
    "tracking URI {uri}: not a database URL SQLAlchemy can read ({reason}); expected "
    "{scheme}://<user>:<password>@<host>:<port>/<database>"
)

# A URI's user and password (greedy: the host follows the last @ of the word), and a
# password given as a query parameter. "<user>:<password>@<host>" in advice is left alone.
_USERINFO = re.compile(
    r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^\s:@/'\"<>]*):[^\s'\"]*@"
)
_QUERY_PASSWORD = re.compile(r"(?P<key>[?&]password=)[^&\s'\"]*", re.IGNORECASE)
# MLflow's words for a reply it could not read as JSON, and the tags that make it a page.
_RESPONSE_BODY = re.compile(r"Response body: '?(?P<body>.*?)'?\s*$", re.DOTALL)
_HTML = re.compile(r"<\s*(!doctype|html|head|body|title)\b", re.IGNORECASE)
_BODY_SHOWN = 200


def masked(text: str, *uris: str) -> str:
    """``text`` with the password of every URI in it shown as ``***``.

    ``uris`` known to be in it (the tracking URI) are replaced whole by
    :func:`shown_uri`, which reads them as SQLAlchemy does, so a password holding
    characters the pattern stops at (``/``, ``#``, a space) is masked too.
    """
    for uri in uris:
        if uri:
            text = text.replace(uri, shown_uri(uri))
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    return _QUERY_PASSWORD.sub(lambda m: f"{m['key']}***", text)


def refusal(exc: BaseException, *uris: str) -> str:
    """MLflow's refusal as a message may show it: passwords masked (:func:`masked`) and a
    reply that is not MLflow's JSON cut down.

    A server that is not MLflow's (a web server, a proxy's sign-in page) answers with a
    page MLflow repeats whole after "Response body:"; an operator's log needs only that it
    is one, and which request got it.
    """
    # Masked before the body is cut: a cut between a password and its "@" would leave
    # the password where the pattern no longer finds it.
    text = masked(str(getattr(exc, "message", None) or exc), *uris)
    found = _RESPONSE_BODY.search(text)
    if found:
        body = found["body"]
        if _HTML.search(body):
            body = "an HTML page, not MLflow's reply: expected the URI of an MLflow server"
        else:
            first = " ".join(body.split())
            body = repr(first if len(first) <= _BODY_SHOWN else first[:_BODY_SHOWN] + "...")
        text = f"{text[: found.start()]}Response body: {body}"
    return text


def shown_uri(uri: str) -> str:
    """A tracking URI as a message may show it: its password masked."""
    if uri.partition("://")[0].lower().partition("+")[0] in _DATABASE_SCHEMES:
        from sqlalchemy.engine import make_url

        try:
            url = make_url(uri)
            shown = url.render_as_string(hide_password=True)
        except Exception:  # not readable as a URL: the pattern below still masks it
            return masked(uri)
        return masked(shown)  # render_as_string keeps a password= query parameter
    return masked(uri)


def uri_problem(uri: str) -> str | None:
    """Why MLflow could not open a registry at ``uri`` (a URI with a scheme), or None."""
    scheme = uri.partition("://")[0].lower()
    base, _plus, driver = scheme.partition("+")
    if base not in REGISTRY_SCHEMES:
        return NOT_A_REGISTRY.format(uri=shown_uri(uri), scheme=scheme)
    if base not in _DATABASE_SCHEMES:
        return None
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        make_url(uri).get_dialect().import_dbapi()
    except NoSuchModuleError:
        return UNKNOWN_DRIVER.format(uri=shown_uri(uri), driver=driver, scheme=base)
    except ModuleNotFoundError as exc:
        module = exc.name or str(exc)
        package = _DRIVER_PACKAGES.get(module.split(".", 1)[0], module)
        return NO_DRIVER.format(uri=shown_uri(uri), module=module, scheme=base, package=package)
    except (ArgumentError, ValueError) as exc:  # a port that is not a number, say
        return NOT_A_DATABASE_URL.format(uri=shown_uri(uri), reason=masked(str(exc)), scheme=base)
    return None
