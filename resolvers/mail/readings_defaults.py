"""The system defaults of the METER_READINGS mail (issue 17: an e-mail integration sends a metering point's latest
reading to a third party, e.g. the management company), in every language; resolvers/mail/defaults.py lists them.
The recipient has no account here, so the mail has no link and greets nobody by name: it is signed with the name
of the consumer (or organisation) it is sent for."""

from __future__ import annotations


def _readings(
    greeting: str, intro: str, labels: tuple[str, str, str, str, str], none: str, closing: str
) -> tuple[str, str, str]:
    """(subject, html, text) of a meter readings mail: greeting, intro, the point's lines (the reading last but
    one), and who it is sent for."""
    address, account, meter, reading, at = labels
    rows = [
        (address, "{{ address }}"),
        (account, "{{ account_number }}"),
        (meter, "{{ meter }}"),
        (reading, f"{{{{ reading if reading else '{none}' }}}}"),
        (at, "{{ reading_at }}"),
    ]
    table = "".join(f"<tr><th>{label}</th><td>{value}</td></tr>\n" for label, value in rows)
    html = f"<p>{greeting}</p>\n<p>{intro}</p>\n<table>\n{table}</table>\n<p>{closing}</p>"
    text = f"{greeting}\n\n{intro}\n\n" + "".join(f"{label}: {value}\n" for label, value in rows) + f"\n{closing}\n"
    return f"{reading} {{{{ point_name }}}}: {{{{ reading if reading else '-' }}}} ({{{{ period }}}})", html, text


_FOR = "{{ sender_name }} ({{ organisation_name }})"

# fmt: off
METER_READINGS = {
    language: _readings(*phrases)
    for language, phrases in {
        "en": ("Hello,", "here are the meter readings of {{ point_name }} for {{ period }}:",
               ("Address", "Personal account", "Meter", "Reading", "Read at"), "no reading yet",
               f"Sent for {_FOR}."),
        "de": ("Hallo,", "hier ist der Zählerstand von {{ point_name }} für den {{ period }}:",
               ("Adresse", "Kundenkonto", "Zähler", "Zählerstand", "Abgelesen am"), "noch kein Zählerstand",
               f"Gesendet im Auftrag von {_FOR}."),
        "es": ("Hola:", "le enviamos la lectura del contador de {{ point_name }} para el {{ period }}:",
               ("Dirección", "Cuenta personal", "Contador", "Lectura", "Leído el"), "aún sin lectura",
               f"Enviado en nombre de {_FOR}."),
        "fr": ("Bonjour,", "voici le relevé du compteur de {{ point_name }} pour le {{ period }} :",
               ("Adresse", "Compte client", "Compteur", "Relevé", "Relevé le"), "pas encore de relevé",
               f"Envoyé pour le compte de {_FOR}."),
        "it": ("Gentile destinatario,", "le inviamo la lettura del contatore di {{ point_name }} per il {{ period }}:",
               ("Indirizzo", "Conto personale", "Contatore", "Lettura", "Letto il"), "ancora nessuna lettura",
               f"Inviato per conto di {_FOR}."),
        "sv": ("Hej!", "här är mätarställningen för {{ point_name }} för {{ period }}:",
               ("Adress", "Kundnummer", "Mätare", "Mätarställning", "Avläst"), "ingen avläsning ännu",
               f"Skickat för {_FOR}."),
        "ru": ("Здравствуйте!", "показания счётчика {{ point_name }} за {{ period }}:",
               ("Адрес", "Лицевой счёт", "Счётчик", "Показания", "Дата снятия"), "показаний пока нет",
               f"Отправлено от имени {_FOR}."),
    }.items()
}
# fmt: on
