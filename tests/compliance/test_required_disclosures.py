"""Which disclosures a message must carry: 12 CFR 1006.18(e)(1) on the initial communication,
1006.18(e)(2) on later ones, 1006.6(e) opt-out on electronic ones; none on a limited-content
voicemail (1006.2(j))."""

from __future__ import annotations

from orchestrator.domain import Channel


def test_us_initial_email(library):
    pack = library.pack_for("US-NY")
    assert pack.required_disclosures(Channel.EMAIL, initial=True) == (
        "debt_collector_initial",
        "opt_out",
    )


def test_us_later_call(library):
    pack = library.pack_for("US-NY")
    assert pack.required_disclosures(Channel.CALL, initial=False) == ("debt_collector",)


def test_limited_content_voicemail_carries_none(library):
    pack = library.pack_for("US-NY")
    assert pack.required_disclosures(Channel.CALL, initial=True, limited_content=True) == ()


def test_a_tenant_may_add_disclosures_but_not_remove_them(library):
    overlay = library.parse_overlay(
        {
            "id": "acme",
            "extends": "uk-fca-conc7",
            "disclosures": {"subsequent": ["debt_collector"]},
        },
        "acme",
    )
    pack = library.pack_for("GB", overlay)
    assert pack.required_disclosures(Channel.SMS, initial=False) == ("debt_collector", "opt_out")
