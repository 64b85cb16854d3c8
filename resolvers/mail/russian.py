"""Russian texts of the shipped mails (issue 17: RU became a language), and the sign-in code mail in every language
(it came with the accounts of issue 17)."""

from __future__ import annotations

from models.mail import TemplateType
from resolvers.mail.phrasing import RU_HOURS, RU_MINUTES, code_mail, mail

T = TemplateType
HELLO = "Здравствуйте, {{ recipient_name }}!"

#: The Russian system default of each type but the alarm (its phrases are with the other languages').
RUSSIAN: dict[TemplateType, tuple[str, str, str]] = {
    T.CONFIRM_EMAIL: mail(
        "Подтвердите адрес электронной почты",
        HELLO,
        "Пожалуйста, подтвердите ваш новый адрес электронной почты для {{ organisation_name }}:",
        "Подтвердить адрес",
        f"Ссылка действительна {RU_HOURS}. Если вы не запрашивали это изменение, не обращайте внимания на это письмо.",
    ),
    T.INVITE_USER: mail(
        "{{ inviter_name }} приглашает вас в {{ organisation_name }}",
        HELLO,
        "{{ inviter_name }} приглашает вас присоединиться к {{ organisation_name }}.",
        "Принять приглашение",
        f"Ссылка действительна {RU_HOURS} и может быть использована один раз.",
    ),
    T.NEW_BATCH: mail(
        "Новая партия {{ batch_reference }} для {{ organisation_name }}",
        HELLO,
        "{{ sender_organisation_name }} передаёт партию {{ batch_reference }} (устройств: {{ device_count }}) "
        "организации {{ organisation_name }}.",
        "Проверить и подтвердить запрос на владение",
        strong="{{ batch_reference }}",
    ),
    T.PASSWORD_RESET: mail(
        "Сброс пароля",
        HELLO,
        "Кто-то запросил сброс пароля вашей учётной записи в {{ organisation_name }}.",
        "Выбрать новый пароль",
        f"Ссылка действительна {RU_HOURS} и может быть использована один раз. "
        "Если это были не вы, не обращайте внимания на это письмо: ваш пароль останется прежним.",
    ),
    T.ROUTER_OFFLINE: mail(
        "Маршрутизатор {{ router_name }} на объекте {{ location_name }} не в сети",
        HELLO,
        "Маршрутизатор {{ router_name }} на объекте {{ location_name }} ({{ organisation_name }}) не в сети с "
        f"{{{{ offline_since }}}}, уже {RU_MINUTES}.",
        "Открыть объект",
        "Вы получаете это письмо по профилю уведомлений {{ profile_name }}.",
        strong="{{ router_name }}",
    ),
}

#: The sign-in code (accounts, issue 17) in every language.

# fmt: off
SIGN_IN_CODE = {
    language: code_mail(subject, greeting, intro, closing)
    for language, (subject, greeting, intro, closing) in {
        "en": ("Your sign-in code", "Hello,", "your code to sign in to {{ organisation_name }}:",
               "It is valid for {{ valid_minutes }} minutes and can be used once. If you did not ask for it, ignore "
               "this message: nobody can sign in without the code."),
        "de": ("Ihr Anmeldecode", "Hallo,", "Ihr Code für die Anmeldung bei {{ organisation_name }}:",
               "Er ist {{ valid_minutes }} Minuten gültig und kann einmal verwendet werden. Wenn Sie ihn nicht "
               "angefordert haben, ignorieren Sie diese Nachricht: ohne den Code kann sich niemand anmelden."),
        "es": ("Su código de acceso", "Hola:", "Su código para acceder a {{ organisation_name }}:",
               "Es válido durante {{ valid_minutes }} minutos y solo puede usarse una vez. Si no lo ha solicitado, "
               "ignore este mensaje: nadie puede acceder sin el código."),
        "fr": ("Votre code de connexion", "Bonjour,", "votre code pour vous connecter à {{ organisation_name }} :",
               "Il est valable {{ valid_minutes }} minutes et ne peut être utilisé qu'une seule fois. Si vous ne "
               "l'avez pas demandé, ignorez ce message : personne ne peut se connecter sans ce code."),
        "it": ("Il suo codice di accesso", "Gentile utente,", "il suo codice per accedere a {{ organisation_name }}:",
               "È valido per {{ valid_minutes }} minuti e può essere usato una sola volta. Se non lo ha richiesto, "
               "ignori questo messaggio: nessuno può accedere senza il codice."),
        "ru": ("Ваш код для входа", "Здравствуйте!", "Ваш код для входа в {{ organisation_name }}:",
               "Код действует {{ valid_minutes }} минут и может быть использован один раз. Если вы его не "
               "запрашивали, не обращайте внимания на это письмо: без кода никто не сможет войти."),
        "sv": ("Din inloggningskod", "Hej!", "Din kod för att logga in på {{ organisation_name }}:",
               "Den är giltig i {{ valid_minutes }} minuter och kan bara användas en gång. Om du inte har begärt "
               "den kan du bortse från meddelandet: ingen kan logga in utan koden."),
    }.items()
}
# fmt: on
