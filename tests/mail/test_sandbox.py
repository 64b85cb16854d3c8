"""The template sandbox: injection and resource attacks are refused at save time with field, line and reason."""

from __future__ import annotations

import pytest

from models.mail import TemplateType
from resolvers.mail import rendering
from tests.factories import snapshot
from tests.mail.template_helpers import UPDATE, copy, system_default

T = TemplateType.INVITE_USER

#: (template, line of the problem, words of the reason)
INJECTIONS = [
    ("{{ ''.__class__.__mro__ }}", 1, "__class__"),
    ("Hello\n{{ cycler.__init__.__globals__ }}", 2, ""),
    ("a\nb\n{% for x in ().__class__.__base__.__subclasses__() %}{{ x }}{% endfor %}", 3, "__class__"),
    ("{{ recipient_name.__class__.__init__.__globals__['os'] }}", 1, "unsafe"),
    ("{{ self._TemplateReference__context }}", 1, "unsafe"),
    ("{{ link.format.__globals__ }}", 1, "str.format"),
    ("{{ '{0.__class__}'.format(link) }}", 1, "str.format"),
    ("{{ link|attr('__class__') }}", 1, "__class__"),
    ("{{ lipsum.__globals__['os'].popen('id').read() }}", 1, "lipsum"),
    ("{% include '/etc/passwd' %}", 1, "include"),
    ("{% import 'x' as y %}", 1, "import"),
    ("{% extends 'base' %}", 1, "extends"),
    ("{{ recipient_name|safe }}", 1, "safe"),  # would turn off escaping of a name others chose
    ("{% autoescape false %}{{ recipient_name }}{% endautoescape %}", 1, "not allowed"),
    ("{{ unknown_variable }}", 1, "undefined"),
    ("{{ link ", 1, "unexpected end"),
]

#: Templates that would use up memory or time on the server.
EXHAUSTION = [
    ("{{ 'x' * 10**9 }}", 1, "too large"),
    ("{{ '{:>999999999}'.format(1) }}", 1, "str.format"),
    ("{{ link.ljust(10**9) }}", 1, "ljust"),
    ("{{ (1).to_bytes(10**9, 'big') }}", 1, "to_bytes"),
    ("{{ '%*d' % (10**9, 1) }}", 1, "%-formatting"),
    ("{{ range(10**9)|list }}", 1, "range"),
    ("{% for a in range(1000) %}\n{% for b in range(1000) %}{% endfor %}{% endfor %}", 2, "loops inside loops"),
    ("{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}", 1, "macro"),
    ("{% for x in link recursive %}{{ loop(x) }}{% endfor %}", 1, "recursive"),
    ("{{ 'x'|center(10**9) }}", 1, "center"),
    ("{{ 'x'|indent(10**9) }}", 1, "indent"),
    ("{{ 'x'|batch(10**9, 'y')|list }}", 1, "batch"),
    ("{{ 'x'|slice(10**9)|list }}", 1, "slice"),
    ("{{ link|replace('', link * 1000) }}", 1, "replace"),
    ("{{ (link * 3000)|join(link * 3000) }}", 1, "join"),
    ("{{ 2 ** 100000000 }}", 1, "power"),
    ("{{ 9 ** 999 }}", 1, "number"),
    ("{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", 1, "namespace"),
    ("{% for i in range(1000) %}{{ link * 3000 }}{% endfor %}", None, "too large"),
    ("{% set a = link * 3000 %}{% set b = a ~ a %}{% set c = b ~ b %}{{ c }}", 1, "concatenation"),
    ("{% set a = link * 3000 %}{% set b = a + a %}{% set c = b + b %}{{ c }}", 1, "concatenation"),
    ("{{ ('a\\n' * 1000)|indent(link * 3000) }}", 1, "indent with a width of 144000"),
    ("{{ link|wordwrap(1, wrapstring=link * 3000) }}", 1, "wordwrap"),
    ("{{ [1]|tojson(indent=10**9) }}", 1, "tojson"),
]


@pytest.mark.parametrize(
    ("source", "line", "reason"), INJECTIONS + EXHAUSTION, ids=[s for s, _, _ in INJECTIONS + EXHAUSTION]
)
def test_check_refuses_with_line_and_reason(source, line, reason):
    for field, parts in (
        ("subject", (source, "t", "t")),
        ("bodyHtml", ("s", source, "t")),
        ("bodyText", ("s", "t", source)),
    ):
        problems = rendering.check(T, *parts)
        assert [p.field for p in problems] == [field]
        assert problems[0].line == line, problems
        assert reason in problems[0].reason, problems
        with pytest.raises(Exception):  # noqa: B017 - render() refuses the same templates, whatever the error type
            rendering.render(*parts, rendering.SAMPLE_VARIABLES[T])


def test_what_a_mail_template_needs_still_works():
    source = (
        "{% if valid_hours > 24 %}{{ (valid_hours / 24)|round|int }} days{% else %}{{ valid_hours }} hours{% endif %}\n"
        "{% for word in recipient_name.split() %}[{{ loop.index }}:{{ word|upper }}]{% endfor %}\n"
        "{% set short = link.split('?')[0] %}{{ short }} {{ '-' * 3 }} {{ organisation_name|center(15)|trim }}\n"
        "{{ inviter_name|default('someone')|title }} {{ [recipient_name, organisation_name]|join(', ') }}"
    )
    assert rendering.check(T, "s", source, source) == []
    mail = rendering.render("s", source, source, rendering.SAMPLE_VARIABLES[T])
    assert mail.body_text == (
        "3 days\n[1:ERIKA][2:MUSTER]\nhttps://fleetgraph.example/register --- IntegraDemo\nDemo Integra "
        "Erika Muster, IntegraDemo"
    )


def test_html_is_autoescaped_and_text_is_not():
    variables = {
        **rendering.SAMPLE_VARIABLES[T],
        "recipient_name": "<img src=x onerror=alert(1)>",
        "organisation_name": 'R&D "Labs"',
    }
    source = "{{ recipient_name }} / {{ organisation_name }} / <b>kept</b>"
    mail = rendering.render(source, source, source, variables)
    assert mail.body_html == "&lt;img src=x onerror=alert(1)&gt; / R&amp;D &#34;Labs&#34; / <b>kept</b>"
    assert mail.body_text == '<img src=x onerror=alert(1)> / R&D "Labs" / <b>kept</b>'
    assert mail.subject == mail.body_text  # the subject is plain text too


@pytest.mark.parametrize("source", [s for s, _, _ in INJECTIONS[:6] + EXHAUSTION[:3]])
async def test_update_refuses_and_saves_nothing(gql, world, runtime, source):
    admin = world.tokens["admin_a"]
    draft = await copy(gql, admin, await system_default(runtime, T, "en"))
    before = await snapshot(runtime)
    result = await gql(
        UPDATE,
        {
            "input": {
                "id": draft["id"],
                "name": "Changed",
                "bodyText": "ok {{ link }}",
                "bodyHtml": "<p>fine</p>\n" + source,
            }
        },
        token=admin,
    )
    payload = result["data"]["emailTemplateUpdate"]
    assert payload["emailTemplate"] is None
    (error,) = payload["errors"]
    assert error["code"] == "TEMPLATE_INVALID" and error["field"] == ["bodyHtml"]
    expected_line = next(line for s, line, _ in INJECTIONS + EXHAUSTION if s == source) + 1
    assert error["line"] == expected_line and error["message"].startswith(f"line {expected_line}: ")
    assert await snapshot(runtime) == before  # not even the name changed


async def test_every_broken_part_is_reported(gql, world, runtime):
    admin = world.tokens["admin_a"]
    draft = await copy(gql, admin, await system_default(runtime, T, "en"))
    result = await gql(
        UPDATE,
        {
            "input": {
                "id": draft["id"],
                "subject": "{{ nope }}",
                "bodyHtml": "ok",
                "bodyText": "line\n{{ ''.__class__ }}",
            }
        },
        token=admin,
    )
    errors = result["data"]["emailTemplateUpdate"]["errors"]
    assert [(e["code"], e["field"], e["line"]) for e in errors] == [
        ("TEMPLATE_INVALID", ["subject"], 1),
        ("TEMPLATE_INVALID", ["bodyText"], 2),
    ]
