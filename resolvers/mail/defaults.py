"""The shipped system default templates: every type in every language (read-only, owner NULL).

English is written out in full; the other languages are composed from their phrases by mail(), so
that every language has the same layout (greeting, what happened, the link, the fine print).
"""

from __future__ import annotations

from models.mail import TemplateType
from resolvers.mail.conditions import ROUTER_CONDITION
from resolvers.mail.dutch import DUTCH
from resolvers.mail.phrasing import READING, WHAT, WHERE, event, hours, mail, minutes
from resolvers.mail.readings_defaults import METER_READINGS
from resolvers.mail.russian import RUSSIAN, SIGN_IN_CODE
from resolvers.mail.transfers import TRANSFER_RESULT

T = TemplateType


DEFAULTS: dict[TemplateType, dict[str, tuple[str, str, str]]] = {
    T.CONFIRM_EMAIL: {
        "en": (
            "Confirm your e-mail address",
            "<p>Hello {{ recipient_name }},</p>\n<p>please confirm your new e-mail address for "
            "{{ organisation_name }}:</p>\n"
            '<p><a href="{{ link }}">Confirm e-mail address</a></p>\n<p>The link is valid for {{ valid_hours }} '
            "hour(s). "
            "If you did not ask for this change, ignore this message.</p>",
            "Hello {{ recipient_name }},\n\nplease confirm your new e-mail address for "
            "{{ organisation_name }}:\n{{ link }}\n\n"
            "The link is valid for {{ valid_hours }} hour(s). If you did not ask for this change, ignore this "
            "message.\n",
        ),
    },
    T.INVITE_USER: {
        "en": (
            "{{ inviter_name }} invites you to {{ organisation_name }}",
            "<p>Hello {{ recipient_name }},</p>\n<p>{{ inviter_name }} invites you to join "
            "{{ organisation_name }}.</p>\n"
            '<p><a href="{{ link }}">Accept the invitation</a></p>\n<p>The link is valid for {{ valid_hours }} hours '
            "and can be used once.</p>",
            "Hello {{ recipient_name }},\n\n{{ inviter_name }} invites you to join {{ organisation_name }}.\n"
            "Accept the invitation: {{ link }}\n\nThe link is valid for {{ valid_hours }} hours and can be used "
            "once.\n",
        ),
    },
    T.NEW_BATCH: {
        "en": (
            "New batch {{ batch_reference }} for {{ organisation_name }}",
            "<p>Hello {{ recipient_name }},</p>\n<p>{{ sender_organisation_name }} has handed the batch "
            "<strong>{{ batch_reference }}</strong> with {{ device_count }} devices to {{ organisation_name }}.</p>\n"
            '<p><a href="{{ link }}">Review and confirm the ownership request</a></p>',
            "Hello {{ recipient_name }},\n\n{{ sender_organisation_name }} has handed the batch {{ batch_reference }} "
            "with {{ device_count }} devices to {{ organisation_name }}.\nReview and confirm the ownership request: "
            "{{ link }}\n",
        ),
    },
    T.PASSWORD_RESET: {
        "en": (
            "Reset your password",
            "<p>Hello {{ recipient_name }},</p>\n<p>someone asked to reset the password of your "
            "{{ organisation_name }} account.</p>\n"
            '<p><a href="{{ link }}">Choose a new password</a></p>\n<p>The link is valid for {{ valid_hours }} '
            "hour(s) and can be used once. "
            "If it was not you, ignore this message: your password stays as it is.</p>",
            "Hello {{ recipient_name }},\n\nsomeone asked to reset the password of your {{ organisation_name }} "
            "account.\n"
            "Choose a new password: {{ link }}\n\nThe link is valid for {{ valid_hours }} hour(s) and can be used "
            "once. "
            "If it was not you, ignore this message: your password stays as it is.\n",
        ),
    },
    T.ROUTER_OFFLINE: {
        "en": (
            "Router {{ router_name }} at {{ location_name }} is offline",
            "<p>Hello {{ recipient_name }},</p>\n<p>the router <strong>{{ router_name }}</strong> at "
            "{{ location_name }} "
            "({{ organisation_name }}) has been offline since {{ offline_since }}, for "
            "{{ offline_minutes }} {{ 'minute' if offline_minutes == 1 else 'minutes' }} now.</p>\n"
            '<p><a href="{{ link }}">Open the location</a></p>\n'
            "<p>You get this mail through the notification profile {{ profile_name }}.</p>",
            "Hello {{ recipient_name }},\n\nthe router {{ router_name }} at {{ location_name }} "
            "({{ organisation_name }}) "
            "has been offline since {{ offline_since }}, for {{ offline_minutes }} "
            "{{ 'minute' if offline_minutes == 1 else 'minutes' }} now.\nOpen the location: {{ link }}\n\n"
            "You get this mail through the notification profile {{ profile_name }}.\n",
        ),
    },
    T.ALARM: {
        "en": mail(
            f"[{{{{ severity }}}}] {{{{ profile_name }}}} {event('raised', 'repeated', 'cleared')} at {WHERE}",
            "Hello {{ recipient_name }},",
            f"the alarm {{{{ profile_name }}}} {WHAT} was {event('raised', 'repeated', 'cleared')} "
            f"at {WHERE} ({{{{ organisation_name }}}}) on {{{{ at }}}}.{READING}",
            "Open the alarms",
            "You get this mail through your alarm notification settings.",
            strong="{{ profile_name }}",
        ),
    },
}

# Greeting per language (the HTML and the text body start with it).
_HELLO = {
    "de": "Hallo {{ recipient_name }},",
    "ru": "Здравствуйте, {{ recipient_name }}!",
    "es": "Hola, {{ recipient_name }}:",
    "fr": "Bonjour {{ recipient_name }},",
    "it": "Gentile {{ recipient_name }},",
    "sv": "Hej {{ recipient_name }}!",
}

_TRANSLATED: dict[TemplateType, dict[str, tuple[str, str, str]]] = {
    T.CONFIRM_EMAIL: {
        "de": mail(
            "E-Mail-Adresse bestätigen",
            _HELLO["de"],
            "bitte bestätigen Sie Ihre neue E-Mail-Adresse für {{ organisation_name }}:",
            "E-Mail-Adresse bestätigen",
            f"Der Link ist {hours('Stunde', 'Stunden')} gültig. "
            "Wenn Sie diese Änderung nicht angefordert haben, ignorieren Sie diese Nachricht.",
        ),
        "es": mail(
            "Confirme su dirección de correo electrónico",
            _HELLO["es"],
            "Confirme su nueva dirección de correo electrónico para {{ organisation_name }}:",
            "Confirmar la dirección de correo electrónico",
            f"El enlace es válido durante {hours('hora', 'horas')}. Si no ha solicitado este cambio, ignore este "
            "mensaje.",
        ),
        "fr": mail(
            "Confirmez votre adresse e-mail",
            _HELLO["fr"],
            "veuillez confirmer votre nouvelle adresse e-mail pour {{ organisation_name }} :",
            "Confirmer l'adresse e-mail",
            f"Le lien est valable {hours('heure', 'heures')}. Si vous n'avez pas demandé ce changement, ignorez ce "
            "message.",
            colon=" : ",
        ),
        "it": mail(
            "Confermi il suo indirizzo e-mail",
            _HELLO["it"],
            "la preghiamo di confermare il suo nuovo indirizzo e-mail per {{ organisation_name }}:",
            "Conferma l'indirizzo e-mail",
            f"Il link è valido per {hours('ora', 'ore')}. Se non ha richiesto questa modifica, ignori questo "
            "messaggio.",
        ),
        "sv": mail(
            "Bekräfta din e-postadress",
            _HELLO["sv"],
            "Bekräfta din nya e-postadress för {{ organisation_name }}:",
            "Bekräfta e-postadressen",
            f"Länken är giltig i {hours('timme', 'timmar')}. "
            "Om du inte har begärt den här ändringen kan du bortse från meddelandet.",
        ),
    },
    T.INVITE_USER: {
        "de": mail(
            "{{ inviter_name }} lädt Sie zu {{ organisation_name }} ein",
            _HELLO["de"],
            "{{ inviter_name }} lädt Sie ein, {{ organisation_name }} beizutreten.",
            "Einladung annehmen",
            f"Der Link ist {hours('Stunde', 'Stunden')} gültig und kann einmal verwendet werden.",
        ),
        "es": mail(
            "{{ inviter_name }} le invita a {{ organisation_name }}",
            _HELLO["es"],
            "{{ inviter_name }} le invita a unirse a {{ organisation_name }}.",
            "Aceptar la invitación",
            f"El enlace es válido durante {hours('hora', 'horas')} y solo puede usarse una vez.",
        ),
        "fr": mail(
            "{{ inviter_name }} vous invite à rejoindre {{ organisation_name }}",
            _HELLO["fr"],
            "{{ inviter_name }} vous invite à rejoindre {{ organisation_name }}.",
            "Accepter l'invitation",
            f"Le lien est valable {hours('heure', 'heures')} et ne peut être utilisé qu'une seule fois.",
            colon=" : ",
        ),
        "it": mail(
            "{{ inviter_name }} la invita a unirsi a {{ organisation_name }}",
            _HELLO["it"],
            "{{ inviter_name }} la invita a unirsi a {{ organisation_name }}.",
            "Accetta l'invito",
            f"Il link è valido per {hours('ora', 'ore')} e può essere usato una sola volta.",
        ),
        "sv": mail(
            "{{ inviter_name }} bjuder in dig till {{ organisation_name }}",
            _HELLO["sv"],
            "{{ inviter_name }} bjuder in dig att gå med i {{ organisation_name }}.",
            "Acceptera inbjudan",
            f"Länken är giltig i {hours('timme', 'timmar')} och kan bara användas en gång.",
        ),
    },
    T.NEW_BATCH: {
        "de": mail(
            "Neue Charge {{ batch_reference }} für {{ organisation_name }}",
            _HELLO["de"],
            "{{ sender_organisation_name }} hat die Charge {{ batch_reference }} mit {{ device_count }} Geräten "
            "an {{ organisation_name }} übergeben.",
            "Eigentumsanfrage prüfen und bestätigen",
            strong="{{ batch_reference }}",
        ),
        "es": mail(
            "Nuevo lote {{ batch_reference }} para {{ organisation_name }}",
            _HELLO["es"],
            "{{ sender_organisation_name }} ha transferido el lote {{ batch_reference }} con {{ device_count }} "
            "dispositivos "
            "a {{ organisation_name }}.",
            "Revisar y confirmar la solicitud de propiedad",
            strong="{{ batch_reference }}",
        ),
        "fr": mail(
            "Nouveau lot {{ batch_reference }} pour {{ organisation_name }}",
            _HELLO["fr"],
            "{{ sender_organisation_name }} a transféré le lot {{ batch_reference }} de {{ device_count }} appareils "
            "à {{ organisation_name }}.",
            "Vérifier et confirmer la demande de propriété",
            strong="{{ batch_reference }}",
            colon=" : ",
        ),
        "it": mail(
            "Nuovo lotto {{ batch_reference }} per {{ organisation_name }}",
            _HELLO["it"],
            "{{ sender_organisation_name }} ha trasferito il lotto {{ batch_reference }} con {{ device_count }} "
            "dispositivi "
            "a {{ organisation_name }}.",
            "Verifichi e confermi la richiesta di proprietà",
            strong="{{ batch_reference }}",
        ),
        "sv": mail(
            "Ny batch {{ batch_reference }} för {{ organisation_name }}",
            _HELLO["sv"],
            "{{ sender_organisation_name }} har överlämnat batchen {{ batch_reference }} med {{ device_count }} "
            "enheter "
            "till {{ organisation_name }}.",
            "Granska och bekräfta ägarbegäran",
            strong="{{ batch_reference }}",
        ),
    },
    T.PASSWORD_RESET: {
        "de": mail(
            "Passwort zurücksetzen",
            _HELLO["de"],
            "jemand hat angefordert, das Passwort Ihres Kontos bei {{ organisation_name }} zurückzusetzen.",
            "Neues Passwort wählen",
            f"Der Link ist {hours('Stunde', 'Stunden')} gültig und kann einmal verwendet werden. "
            "Wenn Sie das nicht waren, ignorieren Sie diese Nachricht: Ihr Passwort bleibt unverändert.",
        ),
        "es": mail(
            "Restablezca su contraseña",
            _HELLO["es"],
            "Alguien ha solicitado restablecer la contraseña de su cuenta de {{ organisation_name }}.",
            "Elegir una nueva contraseña",
            f"El enlace es válido durante {hours('hora', 'horas')} y solo puede usarse una vez. "
            "Si no ha sido usted, ignore este mensaje: su contraseña seguirá siendo la misma.",
        ),
        "fr": mail(
            "Réinitialisez votre mot de passe",
            _HELLO["fr"],
            "quelqu'un a demandé la réinitialisation du mot de passe de votre compte {{ organisation_name }}.",
            "Choisir un nouveau mot de passe",
            f"Le lien est valable {hours('heure', 'heures')} et ne peut être utilisé qu'une seule fois. "
            "Si ce n'était pas vous, ignorez ce message : votre mot de passe reste inchangé.",
            colon=" : ",
        ),
        "it": mail(
            "Reimpostazione della password",
            _HELLO["it"],
            "qualcuno ha chiesto di reimpostare la password del suo account {{ organisation_name }}.",
            "Scelga una nuova password",
            f"Il link è valido per {hours('ora', 'ore')} e può essere usato una sola volta. "
            "Se non è stato lei, ignori questo messaggio: la sua password resta invariata.",
        ),
        "sv": mail(
            "Återställ ditt lösenord",
            _HELLO["sv"],
            "Någon har begärt att lösenordet till ditt konto hos {{ organisation_name }} ska återställas.",
            "Välj ett nytt lösenord",
            f"Länken är giltig i {hours('timme', 'timmar')} och kan bara användas en gång. "
            "Om det inte var du kan du bortse från meddelandet: ditt lösenord förblir oförändrat.",
        ),
    },
    T.ROUTER_OFFLINE: {
        "de": mail(
            "Router {{ router_name }} am Standort {{ location_name }} ist offline",
            _HELLO["de"],
            "der Router {{ router_name }} am Standort {{ location_name }} ({{ organisation_name }}) ist seit "
            f"{{{{ offline_since }}}} offline, inzwischen {minutes('Minute', 'Minuten')}.",
            "Standort öffnen",
            "Sie erhalten diese Nachricht über das Benachrichtigungsprofil {{ profile_name }}.",
            strong="{{ router_name }}",
        ),
        "es": mail(
            "El router {{ router_name }} en {{ location_name }} está desconectado",
            _HELLO["es"],
            "El router {{ router_name }} en la ubicación {{ location_name }} ({{ organisation_name }}) está "
            "desconectado "
            f"desde {{{{ offline_since }}}}, hace ya {minutes('minuto', 'minutos')}.",
            "Abrir la ubicación",
            "Recibe este correo por el perfil de avisos {{ profile_name }}.",
            strong="{{ router_name }}",
        ),
        "fr": mail(
            "Le routeur {{ router_name }} du site {{ location_name }} est hors ligne",
            _HELLO["fr"],
            "le routeur {{ router_name }} du site {{ location_name }} ({{ organisation_name }}) est hors ligne depuis "
            f"{{{{ offline_since }}}}, soit {minutes('minute', 'minutes')} à ce jour.",
            "Ouvrir le site",
            "Vous recevez ce courriel par le profil d'alerte {{ profile_name }}.",
            strong="{{ router_name }}",
            colon=" : ",
        ),
        "it": mail(
            "Il router {{ router_name }} presso {{ location_name }} è offline",
            _HELLO["it"],
            "il router {{ router_name }} presso la sede {{ location_name }} ({{ organisation_name }}) è offline dalle "
            f"{{{{ offline_since }}}}, da {minutes('minuto', 'minuti')} ormai.",
            "Apri la sede",
            "Riceve questa e-mail tramite il profilo di avviso {{ profile_name }}.",
            strong="{{ router_name }}",
        ),
        "sv": mail(
            "Routern {{ router_name }} vid {{ location_name }} är offline",
            _HELLO["sv"],
            "Routern {{ router_name }} på platsen {{ location_name }} ({{ organisation_name }}) har varit offline "
            "sedan "
            f"{{{{ offline_since }}}}, i {minutes('minut', 'minuter')} nu.",
            "Öppna platsen",
            "Du får det här meddelandet genom aviseringsprofilen {{ profile_name }}.",
            strong="{{ router_name }}",
        ),
    },
}

# fmt: off
_TRANSLATED[T.ALARM] = {
    language: mail(
        f"[{{{{ severity }}}}] {{{{ profile_name }}}} {event(*words)}{separator}{WHERE}", _HELLO[language],
        intro.replace("EVENT", event(*(verbs or words))).replace("WHAT", WHAT).replace("WHERE", WHERE) + READING,
        link_label, closing, strong="{{ profile_name }}", colon=" : " if language == "fr" else ": ",
    )
    for language, (words, verbs, separator, intro, link_label, closing) in {
        "de": (("ausgelöst", "wiederholt", "aufgehoben"), None, ": ",
               "der Alarm {{ profile_name }} WHAT wurde am Standort WHERE ({{ organisation_name }}) am {{ at }} EVENT.",
               "Alarme öffnen", "Sie erhalten diese Nachricht über Ihre Alarmbenachrichtigungen."),
        "es": (("activada", "repetida", "desactivada"), None, ": ",
               "la alarma {{ profile_name }} WHAT fue EVENT en WHERE ({{ organisation_name }}) el {{ at }}.",
               "Abrir las alarmas", "Recibe este correo por su configuración de avisos de alarmas."),
        "fr": (("déclenchée", "répétée", "levée"), None, " : ",
               "l'alarme {{ profile_name }} WHAT a été EVENT sur le site WHERE ({{ organisation_name }}) le {{ at }}.",
               "Ouvrir les alarmes", "Vous recevez ce courriel par vos réglages d'alerte."),
        "it": (("attivato", "ripetuto", "rientrato"), None, ": ",
               "l'allarme {{ profile_name }} WHAT è stato EVENT presso WHERE ({{ organisation_name }}) il {{ at }}.",
               "Apri gli allarmi", "Riceve questa e-mail tramite le sue impostazioni di notifica degli allarmi."),
        "sv": (("utlöst", "upprepat", "återställt"), ("utlösts", "upprepats", "återställts"), ": ",
               "larmet {{ profile_name }} WHAT har EVENT vid WHERE ({{ organisation_name }}) {{ at }}.",
               "Öppna larmen", "Du får det här meddelandet genom dina inställningar för larmaviseringar."),
        "ru": (("сработала", "повторилась", "снята"), None, ": ",
               "Тревога {{ profile_name }} WHAT EVENT на объекте WHERE ({{ organisation_name }}) {{ at }}.",
               "Открыть тревоги", "Вы получаете это письмо согласно вашим настройкам уведомлений о тревогах."),
    }.items()
}
# fmt: on


DEFAULTS[T.METER_READINGS] = METER_READINGS


for _type, _languages in _TRANSLATED.items():
    DEFAULTS[_type].update(_languages)

# Russian (issue 17) and the sign-in code (accounts, issue 17) are in resolvers/mail/russian.py
for _type, _text in RUSSIAN.items():
    DEFAULTS[_type]["ru"] = _text
DEFAULTS[T.SIGN_IN_CODE] = SIGN_IN_CODE
DEFAULTS[T.TRANSFER_RESULT] = TRANSFER_RESULT  # metering notifications (issue 17): resolvers/mail/transfers.py

# Dutch (issue 18) is in resolvers/mail/dutch.py, every type
for _type, _text in DUTCH.items():
    DEFAULTS[_type]["nl"] = _text
DEFAULTS[T.ROUTER_CONDITION] = ROUTER_CONDITION  # notification profiles (issue 18): resolvers/mail/conditions.py
