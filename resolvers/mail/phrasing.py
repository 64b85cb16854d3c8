"""Building blocks of the shipped mail texts (resolvers/mail/defaults.py, resolvers/mail/russian.py): the common
layout of a mail and the parts chosen when it is rendered (plurals, an alarm's event)."""

from __future__ import annotations


def mail(
    subject: str, greeting: str, intro: str, link_label: str, closing: str = "", *, strong: str = "", colon: str = ": "
) -> tuple[str, str, str]:
    """(subject, html, text) from a language's phrases; `strong` is a variable set in bold in the HTML,
    `colon` what separates the link's label from the link in the text body (French puts a space before it)."""
    intro_html = intro.replace(strong, f"<strong>{strong}</strong>") if strong else intro
    html = f'<p>{greeting}</p>\n<p>{intro_html}</p>\n<p><a href="{{{{ link }}}}">{link_label}</a></p>'
    text = f"{greeting}\n\n{intro}\n{link_label}{colon}{{{{ link }}}}\n"
    if closing:
        html += f"\n<p>{closing}</p>"
        text += f"\n{closing}\n"
    return subject, html, text


def hours(one: str, many: str) -> str:
    """The validity in hours with the noun in singular or plural, chosen when the mail is rendered."""
    return f"{{{{ valid_hours }}}} {{{{ '{one}' if valid_hours == 1 else '{many}' }}}}"


def event(raised: str, repeated: str, cleared: str) -> str:
    """What happened to an alarm, chosen when the mail is rendered."""
    return f"{{{{ '{cleared}' if event == 'CLEARED' else ('{repeated}' if event == 'UPDATED' else '{raised}') }}}}"


#: Where the alarm is: the location, and the device in brackets when there is one.
WHERE = "{{ location_name }}{{ ' (' ~ device_name ~ ')' if device_name else '' }}"
READING = "{{ ' ' ~ reading if reading else '' }}"
WHAT = "({{ severity }}, {{ event }})"


def minutes(one: str, many: str) -> str:
    """Minutes offline with the noun in singular or plural, chosen when the mail is rendered."""
    return f"{{{{ offline_minutes }}}} {{{{ '{one}' if offline_minutes == 1 else '{many}' }}}}"


# --- Russian (issue 17): its plural has three forms (1 час, 2 часа, 5 часов) ---------------------------------


def ru_plural(variable: str, one: str, few: str, many: str) -> str:
    """The number with the Russian noun form for it, chosen when the mail is rendered."""
    n = f"{variable} % 100"
    return (
        f"{{{{ {variable} }}}} {{{{ '{one}' if {variable} % 10 == 1 and {n} != 11 else "
        f"('{few}' if {variable} % 10 in (2, 3, 4) and {n} not in (12, 13, 14) else '{many}') }}}}"
    )


RU_HOURS = ru_plural("valid_hours", "час", "часа", "часов")
RU_MINUTES = ru_plural("offline_minutes", "минуту", "минуты", "минут")


def code_mail(subject: str, greeting: str, intro: str, closing: str) -> tuple[str, str, str]:
    """(subject, html, text) of a sign-in code mail: no link, the code set apart. Never the code in the subject:
    subjects are stored and listed in clear (only bodies are sealed)."""
    html = f"<p>{greeting}</p>\n<p>{intro}</p>\n<p><strong>{{{{ code }}}}</strong></p>\n<p>{closing}</p>"
    text = f"{greeting}\n\n{intro}\n\n    {{{{ code }}}}\n\n{closing}\n"
    return subject, html, text
