"""The words of a notice that are not in the mail template: the push title and the integration's name, per
language (an unknown language reads English, an unknown kind its own name)."""

from __future__ import annotations

#: The push notification's title per language: (succeeded, failed).
PUSH_TITLES = {
    "de": ("Zählerstände übermittelt", "Zählerstände nicht übermittelt"),
    "en": ("Readings transferred", "Readings not transferred"),
    "es": ("Lecturas enviadas", "Lecturas no enviadas"),
    "fr": ("Relevés transmis", "Relevés non transmis"),
    "it": ("Letture trasmesse", "Letture non trasmesse"),
    "ru": ("Показания переданы", "Показания не переданы"),
    "sv": ("Mätarställningar överförda", "Mätarställningar inte överförda"),
}

# fmt: off
#: The integrations' kinds (resolvers.metering.hooks.TransferFinished.kind) as the manual's chooser names them.
KIND_NAMES = {
    "EMAIL": {"de": "E-Mail", "en": "e-mail", "es": "correo electrónico", "fr": "courriel", "it": "e-mail",
              "ru": "электронная почта", "sv": "e-post"},
    "WEBHOOK": {"de": "Webhook", "en": "webhook", "es": "webhook", "fr": "webhook", "it": "webhook",
                "ru": "HTTP-вебхук", "sv": "webhook"},
    "CITY_PORTAL": {"de": "Stadtportal (mos.ru)", "en": "city portal (mos.ru)", "es": "portal municipal (mos.ru)",
                    "fr": "portail de la ville (mos.ru)", "it": "portale cittadino (mos.ru)",
                    "ru": "портал mos.ru", "sv": "stadsportalen (mos.ru)"},
    "STATE_HOUSING": {"de": "GIS ZhKKh", "en": "GIS ZhKKh", "es": "GIS ZhKKh", "fr": "GIS ZhKKh", "it": "GIS ZhKKh",
                      "ru": "ГИС ЖКХ", "sv": "GIS ZhKKh"},
    "UTILITY": {"de": "Mosvodokanal", "en": "Mosvodokanal", "es": "Mosvodokanal", "fr": "Mosvodokanal",
                "it": "Mosvodokanal", "ru": "Мосводоканал", "sv": "Mosvodokanal"},
}
# fmt: on


def push_title(language: str, succeeded: bool) -> str:
    ok, failed = PUSH_TITLES.get(language, PUSH_TITLES["en"])
    return ok if succeeded else failed


def kind_name(kind: str, language: str) -> str:
    names = KIND_NAMES.get(kind, {})
    return names.get(language, names.get("en", kind))
