"""Dutch texts of the shipped mails (issue 18: NL became a language, the manual's own), composed like the others."""

from __future__ import annotations

from models.mail import TemplateType
from resolvers.mail.phrasing import READING, WHAT, WHERE, code_mail, event, hours, mail, minutes

T = TemplateType
HELLO = "Beste {{ recipient_name }},"
_FOR = "{{ sender_name }} ({{ organisation_name }})"


def _transfer() -> tuple[str, str, str]:
    def when(succeeded: str, failed: str) -> str:
        return f"{{% if error %}}{failed}{{% else %}}{succeeded}{{% endif %}}"

    intro = when(
        "de meterstanden van {{ point_name }} over {{ period }} zijn via de koppeling {{ integration_name }} "
        "doorgegeven.",
        "de meterstanden van {{ point_name }} over {{ period }} konden via de koppeling {{ integration_name }} "
        "niet worden doorgegeven. Reden: {{ error }}",
    )
    return mail(
        f"{when('Meterstanden doorgegeven', 'Meterstanden niet doorgegeven')}: {{{{ point_name }}}}",
        HELLO,
        intro,
        "Meetpunt bekijken",
        "U ontvangt dit bericht omdat u dit meetpunt bij {{ organisation_name }} volgt.",
    )


def _readings() -> tuple[str, str, str]:
    rows = [
        ("Adres", "{{ address }}"),
        ("Klantnummer", "{{ account_number }}"),
        ("Meternummer", "{{ meter }}"),
        ("Meterstand", "{{ reading if reading else 'nog geen meterstand' }}"),
        ("Opgenomen op", "{{ reading_at }}"),
    ]
    greeting, intro = "Beste heer/mevrouw,", "hierbij de meterstand van {{ point_name }} over {{ period }}:"
    closing = f"Verstuurd namens {_FOR}."
    table = "".join(f"<tr><th>{label}</th><td>{value}</td></tr>\n" for label, value in rows)
    html = f"<p>{greeting}</p>\n<p>{intro}</p>\n<table>\n{table}</table>\n<p>{closing}</p>"
    text = f"{greeting}\n\n{intro}\n\n" + "".join(f"{label}: {value}\n" for label, value in rows) + f"\n{closing}\n"
    return "Meterstand {{ point_name }}: {{ reading if reading else '-' }} ({{ period }})", html, text


#: The Dutch system default of every type.
DUTCH: dict[TemplateType, tuple[str, str, str]] = {
    T.CONFIRM_EMAIL: mail(
        "Bevestig uw e-mailadres",
        HELLO,
        "bevestig uw nieuwe e-mailadres voor {{ organisation_name }}:",
        "E-mailadres bevestigen",
        f"De link is {hours('uur', 'uur')} geldig. Heeft u deze wijziging niet aangevraagd, negeer dan dit bericht.",
    ),
    T.INVITE_USER: mail(
        "{{ inviter_name }} nodigt u uit voor {{ organisation_name }}",
        HELLO,
        "{{ inviter_name }} nodigt u uit om lid te worden van {{ organisation_name }}.",
        "Uitnodiging accepteren",
        f"De link is {hours('uur', 'uur')} geldig en kan één keer worden gebruikt.",
    ),
    T.NEW_BATCH: mail(
        "Nieuwe partij {{ batch_reference }} voor {{ organisation_name }}",
        HELLO,
        "{{ sender_organisation_name }} heeft de partij {{ batch_reference }} met {{ device_count }} apparaten "
        "overgedragen aan {{ organisation_name }}.",
        "Eigendomsverzoek bekijken en bevestigen",
        strong="{{ batch_reference }}",
    ),
    T.PASSWORD_RESET: mail(
        "Wachtwoord opnieuw instellen",
        HELLO,
        "iemand heeft gevraagd het wachtwoord van uw account bij {{ organisation_name }} opnieuw in te stellen.",
        "Nieuw wachtwoord kiezen",
        f"De link is {hours('uur', 'uur')} geldig en kan één keer worden gebruikt. "
        "Was u dit niet, negeer dan dit bericht: uw wachtwoord blijft ongewijzigd.",
    ),
    T.ROUTER_OFFLINE: mail(
        "Router {{ router_name }} op locatie {{ location_name }} is offline",
        HELLO,
        "de router {{ router_name }} op locatie {{ location_name }} ({{ organisation_name }}) is sinds "
        f"{{{{ offline_since }}}} offline, inmiddels {minutes('minuut', 'minuten')}.",
        "Locatie bekijken",
        "U ontvangt dit bericht via het notificatieprofiel {{ profile_name }}.",
        strong="{{ router_name }}",
    ),
    T.ALARM: mail(
        f"[{{{{ severity }}}}] {{{{ profile_name }}}} {event('geactiveerd', 'herhaald', 'opgeheven')}: {WHERE}",
        HELLO,
        f"de alarmmelding {{{{ profile_name }}}} {WHAT} is op locatie {WHERE} ({{{{ organisation_name }}}}) "
        f"op {{{{ at }}}} {event('geactiveerd', 'herhaald', 'opgeheven')}.{READING}",
        "Alarmmeldingen bekijken",
        "U ontvangt dit bericht via uw instellingen voor alarmmeldingen.",
        strong="{{ profile_name }}",
    ),
    T.SIGN_IN_CODE: code_mail(
        "Uw inlogcode",
        "Beste gebruiker,",
        "uw code om in te loggen bij {{ organisation_name }}:",
        "De code is {{ valid_minutes }} minuten geldig en kan één keer worden gebruikt. Heeft u hem niet "
        "aangevraagd, negeer dan dit bericht: zonder de code kan niemand inloggen.",
    ),
    T.METER_READINGS: _readings(),
    T.TRANSFER_RESULT: _transfer(),
}
