"""Rendering mail templates with jinja2's sandbox.

Templates are written by organisation admins, so they run in jinja2's immutable sandbox (no
attribute access to Python internals, no mutation), the HTML body autoescaped, undefined names an
error. A template is checked when it is saved: it must compile and render with sample data.

The sandbox alone keeps templates away from Python internals, not from using up the server: a
template could build a gigabyte string (`'x' * 10**9`, `'{:>999999999}'.format(1)`,
`link.ljust(10**9)`) or loop a billion times (nested loops, recursive macros). So mail templates
get a smaller language: no macros, call blocks, includes or nested loops; `range` of at most
1,000 items; only a few harmless methods of strings and none of other values; size checks on the
operators and filters that multiply text; and every rendered part is cut off at MAX_OUTPUT.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, nodes
from jinja2.compiler import CodeGenerator
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from models.mail import TemplateType

MAX_OUTPUT = 200_000  # characters of one rendered part, and of any string or list a template builds
MAX_RANGE = 1_000
MAX_WIDTH = 1_000  # width or count arguments of filters (center, indent, batch, slice)
MAX_NUMBER = 10**100
#: String methods a template may call; everything else (ljust, zfill, format, encode, …) is refused.
STRING_METHODS = frozenset(
    {
        "capitalize",
        "casefold",
        "count",
        "endswith",
        "find",
        "isalnum",
        "isalpha",
        "isdigit",
        "islower",
        "isspace",
        "isupper",
        "lower",
        "lstrip",
        "partition",
        "rfind",
        "rpartition",
        "rsplit",
        "rstrip",
        "split",
        "splitlines",
        "startswith",
        "strip",
        "swapcase",
        "title",
        "upper",
    }
)
#: Statements a mail template may use: output, conditions, one level of loops, assignments, filter blocks.
ALLOWED_STATEMENTS = (
    nodes.Output,
    nodes.If,
    nodes.For,
    nodes.Assign,
    nodes.AssignBlock,
    nodes.FilterBlock,
    nodes.With,
    nodes.ExprStmt,
    nodes.Scope,
)


def _too_big(what: str) -> SecurityError:
    return SecurityError(f"{what} would be too large for an e-mail")


def _length(value: Any) -> int:
    return len(value) if isinstance(value, (str, list, tuple)) else 0


def _limited_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise _too_big(f"range of {len(numbers)} items (at most {MAX_RANGE})")
    return numbers


def _checked_width(name: str, keyword: str, original):
    """Filter `name` with its width/count argument (the first after the value, or `keyword`) kept small."""

    def filter_(value: Any, *args: Any, **kwargs: Any) -> Any:
        width = args[0] if args else kwargs.get(keyword)
        if (isinstance(width, int) and abs(width) > MAX_WIDTH) or (isinstance(width, str) and len(width) > MAX_WIDTH):
            raise _too_big(f"{name} with a width of {width if isinstance(width, int) else len(width)}")
        return original(value, *args, **kwargs)

    return filter_


class _MailCodeGenerator(CodeGenerator):
    def visit_Concat(self, node: nodes.Concat, frame: Any) -> None:
        """`a ~ b ~ …` through environment.checked_concat, so that its size is checked before it is built."""
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        else:
            join = "markup_join" if frame.eval_ctx.autoescape else "str_join"
        self.write(f"environment.checked_concat({join}, (")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write("))")


class MailSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%", "+"})
    code_generator_class = _MailCodeGenerator

    def __init__(self, *, autoescape: bool) -> None:
        super().__init__(autoescape=autoescape, undefined=StrictUndefined)
        self.globals = {"range": _limited_range}  # no lipsum, cycler, joiner, namespace, dict
        # random: not repeatable; format: printf widths; safe: would turn autoescaping off for a variable;
        # wordwrap, urlize and tojson insert a string of the template's choice any number of times
        for name in ("random", "format", "safe", "wordwrap", "urlize", "tojson"):
            self.filters.pop(name, None)
        for name, keyword in (("center", "width"), ("indent", "width"), ("batch", "linecount"), ("slice", "slices")):
            self.filters[name] = _checked_width(name, keyword, self.filters[name])
        join, replace = self.filters["join"], self.filters["replace"]

        def checked_join(eval_ctx, value, d="", attribute=None):
            items = list(value)
            if len(items) * len(str(d)) + sum(len(str(item)) for item in items) > MAX_OUTPUT:
                raise _too_big("join")
            return join(eval_ctx, items, d, attribute)

        def checked_replace(eval_ctx, s, old, new, count=None):
            text = str(s)
            occurrences = len(text) + 1 if old == "" else text.count(str(old))
            if len(text) + occurrences * len(str(new)) > MAX_OUTPUT:
                raise _too_big("replace")
            return replace(eval_ctx, s, old, new, count)

        checked_join.jinja_pass_arg = join.jinja_pass_arg  # type: ignore[attr-defined]
        checked_replace.jinja_pass_arg = replace.jinja_pass_arg  # type: ignore[attr-defined]
        self.filters["join"], self.filters["replace"] = checked_join, checked_replace

    @staticmethod
    def checked_concat(join: Any, values: tuple[Any, ...]) -> str:
        if sum(len(value) if isinstance(value, str) else len(str(value)) for value in values) > MAX_OUTPUT:
            raise _too_big("concatenation")
        return join(values)

    def wrap_str_format(self, value: Any) -> Any:
        # jinja2 hands out str.format/format_map before asking is_safe_attribute: refuse them here
        if getattr(value, "__name__", None) in ("format", "format_map") and isinstance(
            getattr(value, "__self__", None), str
        ):
            raise SecurityError("str.format is not allowed in e-mail templates")
        return None

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str):
            return attr in STRING_METHODS
        if isinstance(obj, (int, float, complex, bytes, bytearray, list, tuple, dict, set, frozenset, range)):
            return False  # int.to_bytes(10**9), list.index … nothing a mail needs
        return super().is_safe_attribute(obj, attr, value)

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "%":
            if isinstance(left, str):
                raise SecurityError("%-formatting of strings is not allowed")
            return left % right
        if operator_ == "+":
            if _length(left) + _length(right) > MAX_OUTPUT:
                raise _too_big("concatenation")
            return left + right
        if operator_ == "**":
            if isinstance(right, (int, float)) and abs(right) > 1000:
                raise _too_big("power")
            result = left**right
        else:  # "*": a string or list times a number is checked before it is built
            for sequence, times in ((left, right), (right, left)):
                if _length(sequence) and isinstance(times, int) and _length(sequence) * times > MAX_OUTPUT:
                    raise _too_big("repetition")
            result = operator.mul(left, right)
        if isinstance(result, (int, float)) and not isinstance(result, bool) and abs(result) > MAX_NUMBER:
            raise _too_big("number")
        return result


_HTML = MailSandbox(autoescape=True)
_TEXT = MailSandbox(autoescape=False)


def _validate(tree: nodes.Template) -> None:
    """Refuse the statements a mail template does not need and that could loop without end."""

    def walk(node: nodes.Node, loop_depth: int) -> None:
        if isinstance(node, nodes.Stmt) and not isinstance(node, ALLOWED_STATEMENTS):
            raise TemplateSyntaxError(
                f"{{% {type(node).__name__.lower()} %}} is not allowed in e-mail templates", node.lineno
            )
        if isinstance(node, nodes.For):
            if node.recursive:
                raise TemplateSyntaxError("recursive loops are not allowed in e-mail templates", node.lineno)
            if loop_depth:
                raise TemplateSyntaxError("loops inside loops are not allowed in e-mail templates", node.lineno)
            loop_depth += 1
        for child in node.iter_child_nodes():
            walk(child, loop_depth)

    walk(tree, 0)


@lru_cache(maxsize=512)
def _compiled(environment: MailSandbox, source: str) -> Template:
    """Parsed, checked and compiled once per source: every mail of a type renders the same few templates."""
    tree = environment.parse(source)
    _validate(tree)
    return environment.from_string(tree)


def _render_part(environment: MailSandbox, source: str, variables: dict[str, Any]) -> str:
    output, size = [], 0
    for chunk in _compiled(environment, source).generate(variables):
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise _too_big("the rendered text")
        output.append(chunk)
    return "".join(output)


#: The variables each type of mail is rendered with (also the sample data of previews and checks).
SAMPLE_VARIABLES: dict[TemplateType, dict[str, Any]] = {
    TemplateType.CONFIRM_EMAIL: {
        "recipient_name": "Erika Muster",
        "organisation_name": "IntegraDemo",
        "link": "https://fleetgraph.example/confirm-email?token=sample",
        "valid_hours": 1,
    },
    TemplateType.INVITE_USER: {
        "recipient_name": "Erika Muster",
        "organisation_name": "IntegraDemo",
        "inviter_name": "Demo Integra",
        "link": "https://fleetgraph.example/register?token=sample",
        "valid_hours": 72,
    },
    TemplateType.NEW_BATCH: {
        "recipient_name": "Erika Muster",
        "organisation_name": "IntegraDemo",
        "batch_reference": "BATCH-2026-001",
        "device_count": 250,
        "sender_organisation_name": "Integra Metering AG",
        "link": "https://fleetgraph.example/batches/sample",
    },
    TemplateType.PASSWORD_RESET: {
        "recipient_name": "Erika Muster",
        "organisation_name": "IntegraDemo",
        "link": "https://fleetgraph.example/reset?token=sample",
        "valid_hours": 1,
    },
    TemplateType.ROUTER_OFFLINE: {
        "recipient_name": "Erika Muster",
        "organisation_name": "IntegraDemo",
        "profile_name": "Night shift",
        "router_name": "R_M26118014A81B88FB",
        "location_name": "Pumping station North",
        "offline_since": "2026-12-02 14:05 UTC",
        "offline_minutes": 45,
        "link": "https://fleetgraph.example/locations/sample",
    },
    TemplateType.ALARM: {
        "recipient_name": "Erika Muster",
        "organisation_name": "IntegraDemo",
        "profile_name": "HIGH_TEMPERATURE",
        "severity": "HIGH",
        "event": "RAISED",
        "location_name": "Pumping station North",
        "device_name": "HMI Pumpe 1",
        "reading": "temperature = 85.0",
        "at": "2026-12-02 14:05 UTC",
        "link": "https://fleetgraph.example/alarms/sample",
    },
    # accounts (issue 17): no link and no name (the address may belong to nobody yet); the code is the point
    TemplateType.SIGN_IN_CODE: {
        "organisation_name": "IntegraDemo",
        "code": "493017",
        "valid_minutes": 10,
    },
    TemplateType.METER_READINGS: {
        "sender_name": "Erika Muster",
        "organisation_name": "IntegraDemo Consumers",
        "point_name": "Flat 16 bathroom",
        "address": "Tverskaya ulitsa 7, Moscow",
        "account_number": "2919282910",
        "meter": "33100050 DECAST VSKM-15 IWAN (NB-IoT)",
        "reading": "123.456 m³",
        "reading_at": "2026-12-02 09:00 Europe/Moscow",
        "period": "2026-12-02",
    },
    # metering notifications (issue 17): a failed transfer, so the sample shows the reason too
    TemplateType.TRANSFER_RESULT: {
        "recipient_name": "Erika Muster",
        "organisation_name": "IntegraDemo Consumers",
        "point_name": "Flat 16 bathroom, cold water",
        "integration_name": "CITY_PORTAL",
        "period": "2026-12-01",
        "error": "The meter is not registered with the portal yet.",
        "link": "https://fleetgraph.example/metering-points/sample",
    },
    # notification profiles (issue 18): a fault appeared, so the sample shows its code and message too
    TemplateType.ROUTER_CONDITION: {
        "recipient_name": "Erika Muster",
        "organisation_name": "IntegraDemo",
        "profile_name": "Night shift",
        "router_name": "R_M26118014A81B88FB",
        "location_name": "Pumping station North",
        "event": "FAULT_RAISED",
        "detail": "E42: Motor overload",
        "at": "2026-12-02 14:05 UTC",
        "link": "https://fleetgraph.example/locations/sample",
    },
}


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    body_html: str
    body_text: str


@dataclass(frozen=True)
class TemplateProblem:
    field: str  # "subject", "bodyHtml" or "bodyText"
    line: int | None
    reason: str


def render(subject: str, body_html: str, body_text: str, variables: dict[str, Any]) -> RenderedMail:
    """Render all three parts; raises jinja2 errors (callers check templates when they are saved)."""
    return RenderedMail(
        subject=" ".join(_render_part(_TEXT, subject, variables).split()),  # one line, always
        body_html=_render_part(_HTML, body_html, variables),
        body_text=_render_part(_TEXT, body_text, variables),
    )


def check(template_type: TemplateType, subject: str, body_html: str, body_text: str) -> list[TemplateProblem]:
    """Problems that keep a template from being saved: syntax, sandbox violations, render errors."""
    problems = []
    for field, source, environment in (
        ("subject", subject, _TEXT),
        ("bodyHtml", body_html, _HTML),
        ("bodyText", body_text, _TEXT),
    ):
        try:
            _render_part(environment, source, SAMPLE_VARIABLES[template_type])
        except TemplateSyntaxError as error:
            problems.append(TemplateProblem(field, error.lineno, error.message or "syntax error"))
        except SecurityError as error:
            problems.append(TemplateProblem(field, _line_of(error), f"not allowed: {error}"))
        except TemplateError as error:
            problems.append(TemplateProblem(field, _line_of(error), error.message or type(error).__name__))
        except Exception as error:
            problems.append(TemplateProblem(field, _line_of(error), f"{type(error).__name__}: {error}"))
    return problems


def _line_of(error: BaseException) -> int | None:
    """The template line an exception was raised on, from jinja2's rewritten traceback."""
    traceback = error.__traceback__
    line = None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == "<template>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line
