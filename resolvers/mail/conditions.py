"""The router condition mail (notification profiles, issue 18) in every language: a router reported a fault or
its fault cleared, or the machine behind it started or ended a standstill (`event`: FAULT_RAISED, FAULT_CLEARED,
STANDSTILL_STARTED, STANDSTILL_ENDED; `detail`: the fault's code and message, empty otherwise)."""

from __future__ import annotations

from resolvers.mail.phrasing import mail

EVENTS = ("FAULT_RAISED", "FAULT_CLEARED", "STANDSTILL_STARTED")


def _by_event(raised: str, cleared: str, started: str, ended: str) -> str:
    """Chosen when the mail is rendered, by `event`."""
    branches = "".join(
        f"{{% {'if' if i == 0 else 'elif'} event == '{name}' %}}{text}"
        for i, (name, text) in enumerate(zip(EVENTS, (raised, cleared, started), strict=True))
    )
    return f"{branches}{{% else %}}{ended}{{% endif %}}"


# fmt: off
#: language: (greeting, subjects (raised, cleared, started, ended), what happened (same), link label, fine print)
_PHRASES = {
    "en": ("Hello {{ recipient_name }},",
           ("Fault at {{ location_name }}", "Fault cleared at {{ location_name }}",
            "Standstill at {{ location_name }}", "Running again at {{ location_name }}"),
           ("the router {{ router_name }} at {{ location_name }} ({{ organisation_name }}) reports a fault",
            "the fault reported by the router {{ router_name }} at {{ location_name }} ({{ organisation_name }}) "
            "has cleared",
            "the machine behind the router {{ router_name }} at {{ location_name }} ({{ organisation_name }}) stands "
            "still",
            "the machine behind the router {{ router_name }} at {{ location_name }} ({{ organisation_name }}) runs "
            "again"),
           "Open the location", "You get this mail through the notification profile {{ profile_name }}."),
    "de": ("Hallo {{ recipient_name }},",
           ("Störung am Standort {{ location_name }}", "Störung behoben am Standort {{ location_name }}",
            "Stillstand am Standort {{ location_name }}", "Maschine läuft wieder am Standort {{ location_name }}"),
           ("der Router {{ router_name }} am Standort {{ location_name }} ({{ organisation_name }}) meldet eine "
            "Störung",
            "die Störung des Routers {{ router_name }} am Standort {{ location_name }} ({{ organisation_name }}) ist "
            "behoben",
            "die Maschine am Router {{ router_name }} am Standort {{ location_name }} ({{ organisation_name }}) steht "
            "still",
            "die Maschine am Router {{ router_name }} am Standort {{ location_name }} ({{ organisation_name }}) läuft "
            "wieder"),
           "Standort öffnen", "Sie erhalten diese Nachricht über das Benachrichtigungsprofil {{ profile_name }}."),
    "es": ("Hola, {{ recipient_name }}:",
           ("Avería en {{ location_name }}", "Avería resuelta en {{ location_name }}",
            "Parada en {{ location_name }}", "Funciona de nuevo en {{ location_name }}"),
           ("el router {{ router_name }} en la ubicación {{ location_name }} ({{ organisation_name }}) informa de "
            "una avería",
            "la avería del router {{ router_name }} en la ubicación {{ location_name }} ({{ organisation_name }}) se "
            "ha resuelto",
            "la máquina del router {{ router_name }} en la ubicación {{ location_name }} ({{ organisation_name }}) "
            "está parada",
            "la máquina del router {{ router_name }} en la ubicación {{ location_name }} ({{ organisation_name }}) "
            "vuelve a funcionar"),
           "Abrir la ubicación", "Recibe este correo por el perfil de avisos {{ profile_name }}."),
    "fr": ("Bonjour {{ recipient_name }},",
           ("Panne sur le site {{ location_name }}", "Panne résolue sur le site {{ location_name }}",
            "Arrêt sur le site {{ location_name }}", "Reprise sur le site {{ location_name }}"),
           ("le routeur {{ router_name }} du site {{ location_name }} ({{ organisation_name }}) signale une panne",
            "la panne du routeur {{ router_name }} du site {{ location_name }} ({{ organisation_name }}) est résolue",
            "l'équipement du routeur {{ router_name }} du site {{ location_name }} ({{ organisation_name }}) est à "
            "l'arrêt",
            "l'équipement du routeur {{ router_name }} du site {{ location_name }} ({{ organisation_name }}) "
            "fonctionne à nouveau"),
           "Ouvrir le site", "Vous recevez ce courriel par le profil d'alerte {{ profile_name }}."),
    "it": ("Gentile {{ recipient_name }},",
           ("Guasto presso {{ location_name }}", "Guasto risolto presso {{ location_name }}",
            "Fermo macchina presso {{ location_name }}", "Di nuovo in funzione presso {{ location_name }}"),
           ("il router {{ router_name }} presso la sede {{ location_name }} ({{ organisation_name }}) segnala un "
            "guasto",
            "il guasto del router {{ router_name }} presso la sede {{ location_name }} ({{ organisation_name }}) è "
            "stato risolto",
            "la macchina del router {{ router_name }} presso la sede {{ location_name }} ({{ organisation_name }}) è "
            "ferma",
            "la macchina del router {{ router_name }} presso la sede {{ location_name }} ({{ organisation_name }}) è "
            "di nuovo in funzione"),
           "Apri la sede", "Riceve questa e-mail tramite il profilo di avviso {{ profile_name }}."),
    "nl": ("Beste {{ recipient_name }},",
           ("Storing op locatie {{ location_name }}", "Storing opgelost op locatie {{ location_name }}",
            "Stilstand op locatie {{ location_name }}", "Machine draait weer op locatie {{ location_name }}"),
           ("de router {{ router_name }} op locatie {{ location_name }} ({{ organisation_name }}) meldt een storing",
            "de storing van de router {{ router_name }} op locatie {{ location_name }} ({{ organisation_name }}) is "
            "opgelost",
            "de machine achter de router {{ router_name }} op locatie {{ location_name }} ({{ organisation_name }}) "
            "staat stil",
            "de machine achter de router {{ router_name }} op locatie {{ location_name }} ({{ organisation_name }}) "
            "draait weer"),
           "Locatie openen", "U ontvangt dit bericht via het notificatieprofiel {{ profile_name }}."),
    "ru": ("Здравствуйте, {{ recipient_name }}!",
           ("Неисправность на объекте {{ location_name }}", "Неисправность устранена на объекте {{ location_name }}",
            "Простой на объекте {{ location_name }}", "Снова в работе на объекте {{ location_name }}"),
           ("маршрутизатор {{ router_name }} на объекте {{ location_name }} ({{ organisation_name }}) сообщает о "
            "неисправности",
            "неисправность маршрутизатора {{ router_name }} на объекте {{ location_name }} ({{ organisation_name }}) "
            "устранена",
            "оборудование за маршрутизатором {{ router_name }} на объекте {{ location_name }} "
            "({{ organisation_name }}) простаивает",
            "оборудование за маршрутизатором {{ router_name }} на объекте {{ location_name }} "
            "({{ organisation_name }}) снова работает"),
           "Открыть объект", "Вы получаете это письмо по профилю уведомлений {{ profile_name }}."),
    "sv": ("Hej {{ recipient_name }}!",
           ("Fel på platsen {{ location_name }}", "Fel åtgärdat på platsen {{ location_name }}",
            "Stillestånd på platsen {{ location_name }}", "Maskinen går igen på platsen {{ location_name }}"),
           ("routern {{ router_name }} på platsen {{ location_name }} ({{ organisation_name }}) rapporterar ett fel",
            "felet hos routern {{ router_name }} på platsen {{ location_name }} ({{ organisation_name }}) är åtgärdat",
            "maskinen vid routern {{ router_name }} på platsen {{ location_name }} ({{ organisation_name }}) står "
            "stilla",
            "maskinen vid routern {{ router_name }} på platsen {{ location_name }} ({{ organisation_name }}) går igen"),
           "Öppna platsen", "Du får det här meddelandet genom aviseringsprofilen {{ profile_name }}."),
}
# fmt: on


def _mail(language: str, phrases: tuple) -> tuple[str, str, str]:
    greeting, subjects, happened, link_label, closing = phrases
    intro = f"{_by_event(*happened)} ({{{{ at }}}}, {{{{ event }}}}).{{{{ ' ' ~ detail if detail else '' }}}}"
    colon = " : " if language == "fr" else ": "
    return mail(_by_event(*subjects), greeting, intro, link_label, closing, colon=colon)


ROUTER_CONDITION = {language: _mail(language, phrases) for language, phrases in _PHRASES.items()}
