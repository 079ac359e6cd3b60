"""Lint refuses threatening, deceptive or insulting language and names the phrase."""

from __future__ import annotations

import pytest

from orchestrator.messages import Category, lint

SMS_EN = "en-US/sms/bad.j2"
SMS_ZH = "zh-CN/sms/bad.j2"


def _sms(text: str) -> str:
    return f"{{% block body %}}\n{text}\n{{% endblock %}}\n"


@pytest.mark.parametrize(
    ("line", "phrase", "category"),
    [
        ("Pay today or you will be arrested.", "arrested", Category.ARREST),
        ("Pay now or face JAIL time.", "JAIL", Category.ARREST),
        ("We will contact your employer about this.", "employer", Category.THIRD_PARTY),
        ("We may call your family.", "your family", Category.THIRD_PARTY),
        ("We will file a lawsuit against you.", "lawsuit", Category.LEGAL_THREAT),
        ("Your wages will be garnished.", "garnished", Category.LEGAL_THREAT),
        ("The police have been informed.", "police", Category.LEGAL_THREAT),
        ("Stop acting like a deadbeat.", "deadbeat", Category.INSULT),
        ("This is your last chance.", "last chance", Category.DECEPTION),
        ("URGENT: pay now.", "URGENT", Category.DECEPTION),
    ],
)
def test_english_threats_are_named(scratch, line: str, phrase: str, category: Category) -> None:
    library = scratch({SMS_EN: _sms(line)})
    [finding] = lint(library)
    assert (finding.path, finding.line, finding.phrase, finding.category, finding.locale) == (
        SMS_EN,
        2,
        phrase,
        category,
        "en-US",
    )
    assert repr(phrase) in finding.message


@pytest.mark.parametrize(
    ("line", "phrase", "category"),
    [
        ("请立即还款，否则将被拘留。", "拘留", Category.ARREST),
        ("我们将联系您的单位和家人。", "单位", Category.THIRD_PARTY),
        ("我们将向法院起诉您。", "法院", Category.LEGAL_THREAT),
        ("你这个老赖。", "老赖", Category.INSULT),
        ("这是最后机会。", "最后机会", Category.DECEPTION),
    ],
)
def test_chinese_threats_are_named(scratch, line: str, phrase: str, category: Category) -> None:
    library = scratch({SMS_ZH: _sms(line)})
    findings = lint(library)
    assert (SMS_ZH, 2, phrase, category, "zh-CN") in [
        (f.path, f.line, f.phrase, f.category, f.locale) for f in findings
    ]


def test_every_phrase_in_a_line_is_reported(scratch) -> None:
    library = scratch({SMS_ZH: _sms("请立即还款，否则将被拘留，并通知您的家人。")})
    phrases = {f.phrase for f in lint(library)}
    assert {"否则", "拘留", "家人"} <= phrases


def test_a_phrase_broken_over_two_lines_is_still_found(scratch) -> None:
    library = scratch({SMS_EN: _sms("We will have you\nARRESTED and put in\njail.")})
    found = {(f.line, f.phrase) for f in lint(library)}
    assert found == {(3, "ARRESTED"), (4, "jail")}


def test_english_in_a_chinese_template_is_checked_against_the_english_list(scratch) -> None:
    library = scratch({SMS_ZH: _sms("您好，police will visit.")})
    [finding] = lint(library)
    assert (finding.phrase, finding.locale) == ("police", "en-US")


def test_words_match_whole_words_only(scratch) -> None:
    library = scratch(
        {SMS_EN: _sms("Our policy: a courtesy reminder about your judgement-free plan.")}
    )
    # "policy" is not "police", "courtesy" is not "court"; "judgement" is listed.
    assert [f.phrase for f in lint(library)] == ["judgement"]


def test_comments_and_variable_names_are_not_read(scratch) -> None:
    library = scratch(
        {
            SMS_EN: (
                "{# never threaten arrest or jail here #}"
                "{% block body %}{{ reference }}{% endblock %}"
            )
        }
    )
    assert lint(library) == []


def test_string_literals_are_read(scratch) -> None:
    library = scratch({SMS_EN: "{% block body %}{{ 'you will go to jail' }}{% endblock %}"})
    assert [f.phrase for f in lint(library)] == ["jail"]


def test_disclosure_texts_are_linted_for_threats(scratch) -> None:
    library = scratch(
        {"en-US/_disclosures/debt_collector.j2": "From a debt collector. Pay or go to jail."}
    )
    [finding] = lint(library)
    assert (finding.path, finding.phrase) == ("en-US/_disclosures/debt_collector.j2", "jail")


def test_a_template_may_not_hard_code_an_opt_out_line(scratch) -> None:
    library = scratch(
        {
            SMS_EN: _sms("Pay at the link. Reply STOP to stop."),
            SMS_ZH: _sms("请还款。回复TD退订"),
        }
    )
    found = {(f.path, f.phrase, f.category) for f in lint(library)}
    assert found == {
        (SMS_EN, "Reply STOP", Category.DISCLOSURE),
        (SMS_ZH, "回复TD", Category.DISCLOSURE),
    }


def test_a_bad_phrase_list_is_a_config_error(scratch) -> None:
    from orchestrator.errors import ConfigError

    library = scratch({"_lint/en-US.yaml": "threats_of_doom:\n  - doom\n"})
    with pytest.raises(ConfigError, match="unknown category"):
        lint(library)
