"""The transfer result mail (metering notifications, issue 17) in every language: a point's integration delivered
its readings, or failed to (`error` says why; empty when it succeeded). Composed by mail() like the others."""

from __future__ import annotations

from resolvers.mail.phrasing import mail


def _when(succeeded: str, failed: str) -> str:
    """Chosen when the mail is rendered: the failure's wording when there is an error."""
    return f"{{% if error %}}{failed}{{% else %}}{succeeded}{{% endif %}}"


# fmt: off
#: language: (subject (ok, failed), greeting, what happened (ok, failed), why, link label, fine print)
_PHRASES = {
    "en": (("Readings transferred", "Readings not transferred"), "Hello {{ recipient_name }},",
           ("the readings of {{ point_name }} for {{ period }} were transferred by the {{ integration_name }} "
            "integration.", "the readings of {{ point_name }} for {{ period }} could not be transferred by the "
            "{{ integration_name }} integration."), "Reason", "Open the metering point",
           "You receive this message because you subscribed to the metering point at {{ organisation_name }}."),
    "de": (("Zählerstände übermittelt", "Zählerstände nicht übermittelt"), "Hallo {{ recipient_name }},",
           ("die Zählerstände von {{ point_name }} für {{ period }} wurden über die Integration "
            "{{ integration_name }} übermittelt.", "die Zählerstände von {{ point_name }} für {{ period }} konnten "
            "über die Integration {{ integration_name }} nicht übermittelt werden."), "Grund", "Zählpunkt öffnen",
           "Sie erhalten diese Nachricht, weil Sie den Zählpunkt bei {{ organisation_name }} abonniert haben."),
    "es": (("Lecturas enviadas", "Lecturas no enviadas"), "Hola {{ recipient_name }}:",
           ("las lecturas de {{ point_name }} del {{ period }} se enviaron mediante la integración "
            "{{ integration_name }}.", "las lecturas de {{ point_name }} del {{ period }} no pudieron enviarse "
            "mediante la integración {{ integration_name }}."), "Motivo", "Abrir el punto de medida",
           "Recibe este correo porque se suscribió al punto de medida en {{ organisation_name }}."),
    "fr": (("Relevés transmis", "Relevés non transmis"), "Bonjour {{ recipient_name }},",
           ("les relevés de {{ point_name }} du {{ period }} ont été transmis par l'intégration "
            "{{ integration_name }}.", "les relevés de {{ point_name }} du {{ period }} n'ont pas pu être transmis "
            "par l'intégration {{ integration_name }}."), "Raison", "Ouvrir le compteur",
           "Vous recevez ce courriel car vous suivez ce compteur chez {{ organisation_name }}."),
    "it": (("Letture trasmesse", "Letture non trasmesse"), "Gentile {{ recipient_name }},",
           ("le letture di {{ point_name }} del {{ period }} sono state trasmesse tramite l'integrazione "
            "{{ integration_name }}.", "non è stato possibile trasmettere le letture di {{ point_name }} del "
            "{{ period }} tramite l'integrazione {{ integration_name }}."), "Motivo", "Apri il punto di misura",
           "Riceve questa e-mail perché segue il punto di misura presso {{ organisation_name }}."),
    "ru": (("Показания переданы", "Показания не переданы"), "Здравствуйте, {{ recipient_name }}!",
           ("Показания учёта {{ point_name }} за {{ period }} переданы через интеграцию {{ integration_name }}.",
            "Показания учёта {{ point_name }} за {{ period }} не удалось передать через интеграцию "
            "{{ integration_name }}."), "Причина", "Открыть учёт",
           "Вы получаете это письмо, потому что подписались на уведомления по учёту в {{ organisation_name }}."),
    "sv": (("Mätarställningar överförda", "Mätarställningar inte överförda"), "Hej {{ recipient_name }}!",
           ("mätarställningarna för {{ point_name }} för {{ period }} har överförts via integrationen "
            "{{ integration_name }}.", "mätarställningarna för {{ point_name }} för {{ period }} kunde inte "
            "överföras via integrationen {{ integration_name }}."), "Orsak", "Öppna mätpunkten",
           "Du får det här meddelandet eftersom du följer mätpunkten hos {{ organisation_name }}."),
}
# fmt: on


def _mail(phrases: tuple) -> tuple[str, str, str]:
    (ok, failed), greeting, (done, not_done), reason, link_label, closing = phrases
    intro = _when(done, f"{not_done} {reason}: {{{{ error }}}}")
    subject = f"{_when(ok, failed)}: {{{{ point_name }}}}"
    return mail(subject, greeting, intro, link_label, closing)


TRANSFER_RESULT = {language: _mail(phrases) for language, phrases in _PHRASES.items()}
