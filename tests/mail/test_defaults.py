"""The shipped system defaults: every type in every language, real texts that render and escape."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from models.mail import LANGUAGES, EmailTemplate, TemplateType
from resolvers.mail import rendering
from resolvers.mail.defaults import DEFAULTS

#: Mails to a third party without an account here (an e-mail integration's readings): no link to open.
WITHOUT_LINK = {TemplateType.METER_READINGS}
PAIRS = [(t, language) for t in TemplateType for language in LANGUAGES]
TRANSLATED = [(t, language) for t, language in PAIRS if language != "en"]

#: A word of each language that its mails use and the other languages' mails do not.
MARKERS = {
    "de": "Hallo",
    "en": "Hello",
    "es": "Hola",
    "fr": "Bonjour",
    "it": "Gentile",
    "sv": "Hej",
    "ru": "Здравствуйте",  # issue 17
    "nl": "Beste",  # issue 18
}

#: Words the other languages share with English: loanwords, and French/Spanish words spelled the same.
LOANWORDS = {
    "link",
    "mail",
    "account",
    "password",
    "batch",
    "ignore",
    "message",
    "invitation",
    "offline",
    "router",
    "minutes",
    "code",  # French (issue 17: sign-in codes)
}


def rendered(template_type: TemplateType, language: str, **overrides) -> rendering.RenderedMail:
    variables = {**rendering.SAMPLE_VARIABLES[template_type], **overrides}
    return rendering.render(*DEFAULTS[template_type][language], variables)


def test_every_type_and_language_is_shipped():
    assert set(DEFAULTS) == set(TemplateType)
    for template_type in TemplateType:
        assert set(DEFAULTS[template_type]) == set(LANGUAGES), template_type


@pytest.mark.parametrize(("template_type", "language"), PAIRS, ids=[f"{t.value}-{lang}" for t, lang in PAIRS])
def test_default_passes_the_save_check_and_uses_every_variable(template_type, language):
    subject, body_html, body_text = DEFAULTS[template_type][language]
    assert rendering.check(template_type, subject, body_html, body_text) == []
    mail = rendered(template_type, language)
    assert mail.subject and "{" not in mail.subject and "\n" not in mail.subject
    for body in (mail.body_html, mail.body_text):
        assert "{{" not in body and "{%" not in body
    for name, value in rendering.SAMPLE_VARIABLES[template_type].items():
        assert str(value) in mail.body_text, (name, mail.body_text)
    if template_type == TemplateType.SIGN_IN_CODE:  # issue 17: the code is the point; nobody to greet by name yet
        assert "493017" in mail.body_html and "493017" not in mail.subject
        return
    for body in (mail.body_html, mail.body_text):
        # the link is the point of every one of these mails, and the recipient is greeted by name (a third
        # party's mail is signed with the name it is sent for instead)
        assert template_type in WITHOUT_LINK or rendering.SAMPLE_VARIABLES[template_type]["link"] in body
        assert "Erika Muster" in body
    if template_type not in WITHOUT_LINK:
        assert f'<a href="{rendering.SAMPLE_VARIABLES[template_type]["link"]}">' in mail.body_html


@pytest.mark.parametrize(("template_type", "language"), TRANSLATED, ids=[f"{t.value}-{lang}" for t, lang in TRANSLATED])
def test_translation_is_its_own_text_not_a_copy_of_english(template_type, language):
    english, translated = rendered(template_type, "en"), rendered(template_type, language)
    assert translated.subject != english.subject
    assert translated.body_text != english.body_text and translated.body_html != english.body_html
    # no English sentence left over: strip the variables' values and compare the words that remain
    sample_words = set(
        re.findall(r"[^\W\d_]{4,}", " ".join(str(v) for v in rendering.SAMPLE_VARIABLES[template_type].values()))
    )

    def words(text: str) -> set[str]:
        return set(re.findall(r"[^\W\d_]{4,}", text)) - sample_words

    shared = words(translated.body_text) & words(english.body_text)
    assert shared <= LOANWORDS, shared
    assert MARKERS[language] in translated.body_text
    for other, marker in MARKERS.items():
        if other != language:
            assert not re.search(rf"\b{marker}\b", translated.body_text), (other, translated.body_text)


@pytest.mark.parametrize(("template_type", "language"), PAIRS, ids=[f"{t.value}-{lang}" for t, lang in PAIRS])
def test_html_escapes_variables_and_text_keeps_them(template_type, language):
    hostile = '<script>alert("x")</script> & Co'
    mail = rendered(template_type, language, recipient_name=hostile, organisation_name=hostile)
    assert "<script>" not in mail.body_html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in mail.body_html
    assert hostile in mail.body_text  # plain text is not HTML: escaping it would show entities to the reader


def test_plural_of_hours_follows_the_number():
    assert "1 Stunde gültig" in rendered(TemplateType.PASSWORD_RESET, "de", valid_hours=1).body_text
    assert "72 Stunden gültig" in rendered(TemplateType.INVITE_USER, "de", valid_hours=72).body_text
    assert "1 timme" in rendered(TemplateType.CONFIRM_EMAIL, "sv").body_text
    assert "2 heures" in rendered(TemplateType.CONFIRM_EMAIL, "fr", valid_hours=2).body_text
    assert "1 Minute." in rendered(TemplateType.ROUTER_OFFLINE, "de", offline_minutes=1).body_text
    assert "45 minuter" in rendered(TemplateType.ROUTER_OFFLINE, "sv").body_text
    assert "for 1 minute now" in rendered(TemplateType.ROUTER_OFFLINE, "en", offline_minutes=1).body_text
    # issue 17: Russian has three forms
    assert "1 час " in rendered(TemplateType.PASSWORD_RESET, "ru", valid_hours=1).body_text
    assert "3 часа " in rendered(TemplateType.PASSWORD_RESET, "ru", valid_hours=3).body_text
    assert "11 часов " in rendered(TemplateType.PASSWORD_RESET, "ru", valid_hours=11).body_text
    assert "72 часа " in rendered(TemplateType.INVITE_USER, "ru", valid_hours=72).body_text
    assert "21 минуту." in rendered(TemplateType.ROUTER_OFFLINE, "ru", offline_minutes=21).body_text


async def test_installed_in_the_database_for_every_type_and_language(runtime):
    async with runtime.session_factory() as session:
        rows = (await session.scalars(select(EmailTemplate).where(EmailTemplate.organisation_id.is_(None)))).all()
    assert {(row.type, row.language) for row in rows} == set(PAIRS)
    assert len(rows) == len(PAIRS)
    for row in rows:
        assert (row.subject, row.body_html, row.body_text) == DEFAULTS[row.type][row.language]
        assert row.is_active
