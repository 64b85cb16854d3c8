"""The system defaults of the METER_READINGS mail (issue 17: an e-mail integration sends a metering point's latest
reading, e.g. to the management company), in every language; resolvers/mail/defaults.py lists them."""

from __future__ import annotations


def _readings(subject: str, intro: str, labels: tuple[str, str, str, str, str], none: str) -> tuple[str, str, str]:
    """(subject, html, text) of a meter readings mail: an intro and the point's lines, the reading last."""
    address, account, meter, reading, at = labels
    rows = [
        (address, "{{ address }}"),
        (account, "{{ account_number }}"),
        (meter, "{{ meter }}"),
        (reading, f"{{{{ reading if reading else '{none}' }}}}"),
        (at, "{{ reading_at }}"),
    ]
    html = f"<p>{intro}</p>\n<table>\n" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>\n" for k, v in rows)
    text = f"{intro}\n\n" + "".join(f"{k}: {v}\n" for k, v in rows)
    return subject, html + "</table>", text


_READINGS_SUBJECT = "{{ point_name }}: {{ reading if reading else '-' }} ({{ period }})"

# fmt: off
METER_READINGS = {
    language: _readings(_READINGS_SUBJECT, intro, labels, none)
    for language, (intro, labels, none) in {
        "en": ("Meter readings of {{ point_name }} for {{ period }}:",
               ("Address", "Personal account", "Meter", "Reading", "Read at"), "no reading yet"),
        "de": ("Zählerstand von {{ point_name }} für den {{ period }}:",
               ("Adresse", "Kundenkonto", "Zähler", "Zählerstand", "Abgelesen am"), "noch kein Zählerstand"),
        "es": ("Lectura del contador de {{ point_name }} para el {{ period }}:",
               ("Dirección", "Cuenta personal", "Contador", "Lectura", "Leído el"), "aún sin lectura"),
        "fr": ("Relevé du compteur de {{ point_name }} pour le {{ period }} :",
               ("Adresse", "Compte client", "Compteur", "Relevé", "Relevé le"), "pas encore de relevé"),
        "it": ("Lettura del contatore di {{ point_name }} per il {{ period }}:",
               ("Indirizzo", "Conto personale", "Contatore", "Lettura", "Letto il"), "ancora nessuna lettura"),
        "sv": ("Mätarställning för {{ point_name }} för {{ period }}:",
               ("Adress", "Kundnummer", "Mätare", "Mätarställning", "Avläst"), "ingen avläsning ännu"),
    }.items()
}
# fmt: on
