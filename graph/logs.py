"""What fleetgraph writes to its logs, and what it keeps out of them.

Logs are read by more people than the database (operators, log shippers, support), so secrets
must never reach them:

- GraphQL errors (graph.schema.Schema.process_errors): a client's mistake (syntax, validation,
  variable coercion, or one of our refusals such as UNAUTHENTICATED) is logged at INFO as its
  message with every quoted value masked, unless it names the schema (a type, field or argument),
  and never with the document: documents hold inline passwords (`login(input: {password: "…"})`).
  An unexpected exception is a server error: ERROR with the traceback, the field path and the
  operation name, but again neither the document nor the variables.
- The uvicorn access log (a filter on `uvicorn.access`, and on `uvicorn.error`, which logs
  websocket paths): the one-time token of `/downloads/<token>` and the values of secret-looking
  query parameters (`?token=`, `password`, …) are replaced by `[redacted]`; GraphQL over GET keeps
  its `query` with string literals masked and loses its `variables`.
- SQL parameters never reach a log: every engine is made with `hide_parameters=True` (graph.db), and
  aiosqlite's DEBUG lines lose the arguments of the calls they print.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode

import orjson
from graphql import GraphQLError

if TYPE_CHECKING:
    from graphql import GraphQLSchema

graphql_log = logging.getLogger("fleetgraph.graphql")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "[redacted]"
MASK = "***"

# --- GraphQL errors --------------------------------------------------------------------------------

# GraphQL strings, block strings first in one pattern (so a masked one is not matched again), and
# single-quoted texts: graphql-core quotes token values, names and Python reprs of variables that way.
_DOUBLE_QUOTED = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*(?:"""|$)|"(?:[^"\\\n]|\\.)*"?', re.DOTALL)
_SINGLE_QUOTED = re.compile(r"'(?:[^'\\\n]|\\.)*'")
# Long digit runs: a one-time code or a number sent where a string was expected.
_LONG_NUMBER = re.compile(r"\d{6,}")
# What may stand around a schema name inside quotes: '$input', 'String!', '[ID!]', '@include', 'User.email'.
_NAME_DECORATION = re.compile(r"^[$@\[]*|[!\]]*$")


def _masked_string(match: re.Match[str]) -> str:
    return f'"""{MASK}"""' if match.group(0).startswith('"""') else f'"{MASK}"'


def mask_string_literals(document: str) -> str:
    """A GraphQL document with the contents of every string literal replaced by ***."""
    return _DOUBLE_QUOTED.sub(_masked_string, document)


# graphql-core quotes the punctuator a syntax error found ("Expected Name, found '}'"): no client value.
_PUNCTUATOR = re.compile(r"^[!$&()\[\]{}:=@|]$|^\.\.\.$")


def _known(quoted: str, names: frozenset[str]) -> bool:
    if _PUNCTUATOR.match(quoted[1:-1] if len(quoted) >= 2 else ""):
        return True
    inner = _NAME_DECORATION.sub("", quoted[1:-1] if len(quoted) >= 2 else "")
    parts = inner.split(".")
    return bool(inner) and all(part in names for part in parts)


def mask_message(message: str, names: Iterable[str] = ()) -> str:
    """An error message with client-supplied values masked: quoted texts that are not names of the
    schema, and long digit runs. Schema names stay, so `Cannot query field '***' on type 'Query'`
    still says where the client went wrong."""
    known = frozenset(names)

    def keep_names(match: re.Match[str]) -> str:
        text = match.group(0)
        if _known(text, known):
            return text
        if text.startswith('"""'):
            return f'"""{MASK}"""'
        return f"{text[0]}{MASK}{text[0]}"

    message = _DOUBLE_QUOTED.sub(keep_names, message)
    message = _SINGLE_QUOTED.sub(keep_names, message)
    return _LONG_NUMBER.sub(MASK, message)


@lru_cache(maxsize=8)
def schema_names(schema: GraphQLSchema) -> frozenset[str]:
    """Every type, field, argument, input field, enum value and directive name of a schema (public anyway)."""
    names: set[str] = set()
    for type_name, graphql_type in schema.type_map.items():
        names.add(type_name)
        for attribute in ("fields", "values"):
            members = getattr(graphql_type, attribute, None)
            if not isinstance(members, dict):
                continue
            for member_name, member in members.items():
                names.add(member_name)
                names.update(getattr(member, "args", None) or {})
    for directive in schema.directives:
        names.add(directive.name)
        names.update(directive.args)
    return frozenset(names)


def _is_client_error(error: GraphQLError) -> bool:
    """Syntax, validation and coercion errors have no original error; our refusals (ApiError) are
    GraphQL errors themselves. Anything else is an unexpected exception: a server error."""
    return error.original_error is None or isinstance(error.original_error, GraphQLError)


def _operation_name(execution_context: Any) -> str:
    try:
        name = execution_context.operation_name if execution_context is not None else None
    except Exception:
        name = None
    return name or "-"


def log_graphql_errors(errors: list[GraphQLError], execution_context: Any = None) -> None:
    """Replaces strawberry's default (ERROR with `str(error)`, which prints the document's lines). Each line
    has the request ID that the client got in the error's `extensions.requestId`."""
    schema = getattr(getattr(execution_context, "schema", None), "_schema", None)
    names = schema_names(schema) if schema is not None else frozenset()
    operation = _operation_name(execution_context)
    request_id = getattr(getattr(execution_context, "context", None), "request_id", "") or "-"
    fields = {"requestId": request_id, "operation": operation}
    for error in errors:
        locations = ",".join(f"{loc.line}:{loc.column}" for loc in error.locations or ())
        if _is_client_error(error):
            default = (
                "GRAPHQL_PARSE_FAILED" if error.message.startswith("Syntax Error") else "GRAPHQL_VALIDATION_FAILED"
            )
            code = (error.extensions or {}).get("code") or default
            graphql_log.info(
                "GraphQL request refused (%s) operation=%s request=%s at=%s: %s",
                code,
                operation,
                request_id,
                locations or "-",
                mask_message(error.message, names),
                extra={"fields": fields},
            )
        else:
            original = error.original_error
            path = ".".join(str(part) for part in error.path or ()) or "-"
            # The traceback is for us; the document and the variables are the client's and may hold secrets.
            graphql_log.error(
                "GraphQL server error %s in operation=%s request=%s path=%s",
                type(original).__name__,
                operation,
                request_id,
                path,
                exc_info=original,
                extra={"fields": fields},
            )


# --- access log ------------------------------------------------------------------------------------

#: Path prefixes whose next segment is a bearer secret (a one-time download token).
SECRET_PATH_PREFIXES = ("/downloads/",)
#: Query parameters whose value is secret, wherever they appear (`/register?token=`, `?access_token=`).
SECRET_QUERY_PARAMETERS = re.compile(r"token|password|passwd|secret|otp|code|key|signature|sig|auth", re.IGNORECASE)


def redact_target(target: str) -> str:
    """A request target (path and query string, as uvicorn logs it) without its secrets."""
    path, separator, query = target.partition("?")
    for prefix in SECRET_PATH_PREFIXES:
        if path.startswith(prefix) and len(path) > len(prefix):
            rest = path[len(prefix) :]
            _, slash, tail = rest.partition("/")
            path = f"{prefix}{REDACTED}{slash}{tail}"
    if not separator:
        return path
    redacted: list[tuple[str, str]] = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == "query":  # GraphQL over GET: keep the document, not its literals
            value = mask_string_literals(value)
        elif name == "variables" or SECRET_QUERY_PARAMETERS.search(name):
            value = REDACTED
        redacted.append((name, value))
    return f"{path}?{urlencode(redacted, quote_via=quote, safe='[]{}(),:$@!*/')}"


class RedactSecretsFilter(logging.Filter):
    """Rewrites request targets in uvicorn's log records (arguments that are paths) before any handler sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(isinstance(arg, str) and arg.startswith("/") for arg in args):
            record.args = tuple(
                redact_target(arg) if isinstance(arg, str) and arg.startswith("/") else arg for arg in args
            )
        return True


class HideCallArgumentsFilter(logging.Filter):
    """aiosqlite logs every operation at DEBUG as the call it runs, `partial(execute, sql, parameters)`:
    the statement's parameters (password hashes, tokens, whatever a user sent). Only the call's name stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(arg, functools.partial) for arg in record.args):
            record.args = tuple(
                f"{getattr(arg.func, '__qualname__', 'call')}(…)" if isinstance(arg, functools.partial) else arg
                for arg in record.args
            )
        return True


#: Logger -> filter: uvicorn.access logs every request target; uvicorn.error logs websocket targets
#: ("WebSocket /graphql?…"); aiosqlite logs SQL parameters at DEBUG.
FILTERS: dict[str, type[logging.Filter]] = {
    "uvicorn.access": RedactSecretsFilter,
    "uvicorn.error": RedactSecretsFilter,
    "aiosqlite": HideCallArgumentsFilter,
}


def install_redaction() -> None:
    """Put the filters on their loggers (idempotent). Logger filters survive uvicorn's own
    dictConfig, and the app factory calls this too, so every worker process has them."""
    for name, kind in FILTERS.items():
        logger = logging.getLogger(name)
        if not any(isinstance(existing, kind) for existing in logger.filters):
            logger.addFilter(kind())


#: Libraries whose INFO lines say nothing to an operator (Alembic's context and revision lines at every start).
QUIET_LOGGERS = ("alembic",)


def quiet_libraries() -> None:
    """Only warnings from QUIET_LOGGERS; the app factory calls this too, for every worker process."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


class JsonLines(logging.Formatter):
    """One JSON object per line (FLEETGRAPH_LOG_FORMAT=json), for log shippers: time, level, logger, message,
    the traceback if any, and a record's `fields` (the request line's request ID, operation, status, …) as
    keys of their own."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


JsonLines.converter = time.gmtime


def configure_logging(level: str, log_format: str = "text") -> None:
    """The server's logging: one format for fleetgraph's loggers (text, or JSON lines), secrets filtered from
    uvicorn's."""
    if log_format == "json":
        handler = logging.StreamHandler()
        handler.setFormatter(JsonLines())
        logging.basicConfig(level=level, handlers=[handler])
    else:
        logging.basicConfig(level=level, format=LOG_FORMAT)
    install_redaction()
    quiet_libraries()
