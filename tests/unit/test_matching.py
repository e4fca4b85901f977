"""Specification of probable matching (sync.matching): normalising, blocking, scoring, deciding."""

from __future__ import annotations

import dataclasses
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from pydantic import JsonValue

from sync.cloudevents import decode
from sync.errors import PermanentError
from sync.mapping import MappingContext
from sync.mapping.common import address
from sync.matching import (
    MATCHED_FROM,
    Profile,
    Weights,
    blocking_keys,
    decide,
    default_weights,
    is_matchable,
    lookup_keys,
    normalise,
    profile_of,
    rank,
    score,
    stored_keys,
)
from sync.matching.export import read_export
from sync.sources import map_event

W = default_weights()
SAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "samples"


def person(first: str = "An", last: str = "Peeters", code: str | None = "GENERAL_PRACTITIONER",
           street: str | None = "Kerkstraat", number: str | None = "12",
           postcode: str | None = "9700", municipality: str | None = "Oudenaarde",
           phone: str | None = "+3255112233", email: str | None = "an.peeters@telenet.be",
           kbo: tuple[str, ...] = ()) -> Profile:
    """A person's profile, built the way the apply path builds one from fields."""
    fields: dict[str, JsonValue] = {"name.first": first, "name.last": last,
                                    "contact.phone": phone, "contact.email": email}
    if code:
        fields["professions"] = [{"code": code}]
    if postcode or municipality:
        fields["addresses"] = [address(street=street, number=number, box=None,
                                       postcode=postcode, municipality=municipality)]
    return profile_of("person", fields, kbo)


def organisation(name: str, code: str | None = "orgretirementhome", **given: Any) -> Profile:
    fields: dict[str, JsonValue] = {
        "name": {"nl": name},
        "addresses": [address(street=given.get("street", "Lindestraat"),
                              number=given.get("number", "5"), box=None,
                              postcode=given.get("postcode", "9690"),
                              municipality=given.get("municipality", "Kluisbergen"))],
        "contact.phone": given.get("phone", "+3255998877")}
    if code:
        fields["organisationTypes"] = [code]
    return profile_of("organisation", fields, given.get("kbo", ()))


def level(a: Profile, b: Profile, feature: str) -> str:
    return score(a, b, W).level(feature)


# -- normalisation --------------------------------------------------------------------------

def test_accents_case_and_titles_do_not_make_another_name() -> None:
    """``Dr. Céline DUPONT`` and ``celine dupont`` are the same words."""
    assert normalise.person_tokens("Dr. Céline") == normalise.person_tokens("celine")
    assert normalise.person_tokens("dokter Hélène (huisarts)") == ("helene",)
    assert normalise.person_tokens("DUPONT") == normalise.person_tokens("Dupont")


def test_dutch_spelling_variants_fold_together() -> None:
    """``Wijns``/``Wyns`` and ``Sophie``/``Sofie`` are spellings, not people."""
    assert normalise.person_tokens("Wijns") == normalise.person_tokens("Wyns")
    assert normalise.person_tokens("Sophie") == normalise.person_tokens("Sofie")


def test_phone_numbers_in_any_written_form_agree() -> None:
    forms = ("+32 55 11 22 33", "055/11.22.33", "0032 55 112233", "+3255112233")
    assert {normalise.phone(f) for f in forms} == {"055112233"}
    assert normalise.phone("12") == ""


def test_streets_written_short_agree_with_their_full_name() -> None:
    assert normalise.street("St.-Jansstr.") == normalise.street("Sint-Jansstraat")
    assert normalise.street("Gentse stwg") == normalise.street("Gentsesteenweg")
    assert normalise.house_number("12 bus 3") == normalise.house_number("12")
    assert normalise.house_number("12A") != normalise.house_number("12")


def test_organisation_names_lose_legal_forms_and_expand_abbreviations() -> None:
    assert normalise.organisation_tokens("WZC Ter Linde vzw") == normalise.organisation_tokens(
        "Woonzorgcentrum Ter Linde")


# -- blocking -------------------------------------------------------------------------------

def test_a_record_shares_a_blocking_key_with_its_fiche_despite_a_typo_in_the_name() -> None:
    fiche, record = person(last="Peeters"), person(last="Peters")
    assert blocking_keys(fiche) & blocking_keys(record)


def test_a_practice_that_moved_still_shares_the_whole_name_key() -> None:
    fiche = person(postcode="9700", municipality="Oudenaarde", phone=None, email=None)
    record = person(postcode="8500", municipality="Kortrijk", phone=None, email=None)
    assert "p|n|an peeters" in blocking_keys(fiche) & blocking_keys(record)


def test_an_old_municipality_name_blocks_with_the_merged_municipality() -> None:
    """Kruishoutem merged into Kruisem in 2019: the NIS code of today is in both keys."""
    fiche = person(postcode="9770", municipality="Kruishoutem", phone=None, email=None)
    record = person(postcode="9770", municipality="Kruisem", phone=None, email=None)
    assert any("|45068|" in key for key in blocking_keys(fiche) & blocking_keys(record))


# -- scores ---------------------------------------------------------------------------------

def test_the_same_provider_scores_every_feature_and_explains_it() -> None:
    result = score(person(), person(), W)
    assert result.total == 8 + 2 + 3 + 3 + 5 + 5
    assert result.explain().startswith("name exact +8, profession same +2, place same +3")


def test_first_and_last_name_swapped_is_still_the_same_name() -> None:
    assert level(person(first="Peeters", last="An"), person(), "name") == "exact"


def test_a_typo_in_the_last_name_is_close_not_exact() -> None:
    assert level(person(last="Peetres"), person(), "name") == "close"


def test_a_doubled_letter_in_a_short_first_name_is_close() -> None:
    assert level(person(first="Lote"), person(first="Lotte"), "name") == "close"


def test_an_initial_agrees_only_with_a_name_it_begins() -> None:
    assert level(person(first="J."), person(first="Jan"), "name") == "initial"
    assert level(person(first="K."), person(first="Jan"), "name") == "firstDiffers"


def test_two_short_first_names_one_letter_apart_are_different_people() -> None:
    """An and Jan Peeters at one practice are two providers."""
    assert level(person(first="Jan"), person(first="An"), "name") == "firstDiffers"


def test_the_old_name_of_a_merged_municipality_is_the_same_place() -> None:
    """Meulebeke merged into Tielt on 1 January 2025."""
    fiche = person(postcode="8760", municipality="Meulebeke")
    record = person(postcode="8760", municipality="Tielt")
    assert (level(fiche, record, "place"), level(fiche, record, "address")) == ("same", "same")


def test_general_practitioner_and_physician_are_related_professions() -> None:
    assert level(person(code="GENERAL_PRACTITIONER"), person(code="PHYSICIAN"),
                 "profession") == "related"
    assert level(person(code="NURSE"), person(code="PHYSIOTHERAPIST"), "profession") == "differs"


def test_a_feature_one_side_lacks_adds_nothing() -> None:
    result = score(person(phone=None, email=None), person(), W)
    assert {p.feature: p.points for p in result.parts}["phone"] == 0.0
    assert result.level("email") == "missing"


def test_a_shared_enterprise_number_weighs_heavily_for_organisations() -> None:
    fiche = organisation("Ter Linde", kbo=("0403019261",))
    record = organisation("Woonzorgcentrum Ter Linde vzw", code=None, kbo=("0403019261",))
    assert level(fiche, record, "kbo") == "same"
    assert score(fiche, record, W).total >= W.auto


def test_organisations_sharing_only_a_generic_word_have_different_names() -> None:
    assert level(organisation("Wijkgezondheidscentrum Botermarkt"),
                 organisation("Wijkgezondheidscentrum De Sleep"), "name") == "differs"


def test_two_services_of_one_campus_do_not_have_the_same_name() -> None:
    assert level(organisation("Dienstencentrum Ter Linde"),
                 organisation("Woonzorgcentrum Ter Linde"), "name") != "exact"


# -- decisions ------------------------------------------------------------------------------

FICHE_A, FICHE_B = uuid.UUID(int=1), uuid.UUID(int=2)


def test_the_same_provider_links_automatically() -> None:
    verdict = decide(rank(person(), [(FICHE_A, person())], W), W)
    assert verdict.outcome == "link"
    assert verdict.best is not None
    assert verdict.best.fiche_id == FICHE_A


def test_a_colleague_at_the_same_address_with_the_practice_phone_is_a_new_fiche() -> None:
    """Els Peeters works at An Peeters's practice: same address, phone, profession."""
    record = person(first="Els", email="els.peeters@telenet.be")
    assert decide(rank(record, [(FICHE_A, person())], W), W).outcome == "new"


def test_a_namesake_in_another_town_is_a_new_fiche() -> None:
    record = person(postcode="8500", municipality="Kortrijk", street="Veldstraat",
                    phone="+3256000000", email="an.peeters2@gmail.com")
    assert decide(rank(record, [(FICHE_A, person())], W), W).outcome == "new"


def test_an_initial_with_the_same_e_mail_address_links_automatically() -> None:
    """'J. Peeters' with jan.peeters@... is Jan: an e-mail address is a person's own."""
    fiche = person(first="J.", email="jan.peeters@telenet.be")
    record = person(first="Jan", email="jan.peeters@telenet.be")
    verdict = decide(rank(record, [(FICHE_A, fiche)], W), W)
    assert verdict.outcome == "link"
    assert verdict.best is not None
    assert verdict.best.score.level("name") == "initial"


def test_an_initial_without_an_e_mail_address_goes_to_review_not_to_a_link() -> None:
    """A practice's address and phone are shared: 'J. Peeters' may be Jan or Joke."""
    verdict = decide(rank(person(first="Jan"), [(FICHE_A, person(first="J.", email=None))], W),
                     W)
    assert verdict.outcome == "review"


def test_a_colleague_with_the_same_initial_and_another_e_mail_address_is_a_new_fiche() -> None:
    """Joke Peeters at the practice of 'J. Peeters' (jan.peeters@...): another person."""
    fiche = person(first="J.", email="jan.peeters@telenet.be")
    record = person(first="Joke", email="joke.peeters@gmail.com")
    assert decide(rank(record, [(FICHE_A, fiche)], W), W).outcome == "new"


def test_a_practice_that_moved_within_its_town_links_automatically() -> None:
    """Same name, profession and municipality; another street, another phone, no e-mail."""
    record = person(street="Stationsstraat", number="40", phone="+3255998877", email=None)
    verdict = decide(rank(record, [(FICHE_A, person())], W), W)
    assert verdict.outcome == "link"
    assert verdict.best is not None
    assert verdict.best.score.level("address") == "differs"


def test_a_few_doors_down_the_same_street_is_near() -> None:
    assert level(person(number="18"), person(number="12"), "address") == "near"
    assert level(person(number="112"), person(number="12"), "address") == "sameStreet"


def test_a_moved_practice_in_another_town_with_the_same_phone_links() -> None:
    record = person(postcode="8500", municipality="Kortrijk", street="Veldstraat", email=None)
    assert decide(rank(record, [(FICHE_A, person())], W), W).outcome == "link"


def test_a_namesake_in_another_town_with_nothing_else_in_common_is_a_new_fiche() -> None:
    record = person(postcode="8500", municipality="Kortrijk", street="Veldstraat",
                    phone="+3256000000", email=None)
    assert decide(rank(record, [(FICHE_A, person())], W), W).outcome == "new"


def test_a_slip_in_a_short_last_name_links_only_with_the_same_e_mail_address() -> None:
    """'Moes' for 'Moens' is a slip; 'Maas' for 'Maes' may be another family."""
    assert level(person(last="Moes"), person(last="Moens"), "name") == "lastTypo"
    assert decide(rank(person(last="Moes"), [(FICHE_A, person(last="Moens"))], W),
                  W).outcome == "link"
    assert decide(rank(person(last="Moes", email=None), [(FICHE_A, person(last="Moens"))], W),
                  W).outcome != "link"


def test_a_slip_in_a_short_first_name_is_not_a_colleague_only_with_the_same_e_mail() -> None:
    """'Iles' for 'Ilse' with her own e-mail address links; 'Tim' for 'Tom' at the
    practice without one does not."""
    assert decide(rank(person(first="Iles"), [(FICHE_A, person(first="Ilse"))], W),
                  W).outcome == "link"
    assert decide(rank(person(first="Tim", email=None), [(FICHE_A, person(first="Tom"))], W),
                  W).outcome != "link"


def test_two_fiches_that_both_fit_are_sent_to_review_together() -> None:
    """The directory itself holds a duplicate: linking to either would be a guess."""
    verdict = decide(rank(person(), [(FICHE_B, person()), (FICHE_A, person())], W), W)
    assert verdict.outcome == "review"
    assert [c.fiche_id for c in verdict.candidates] == [FICHE_A, FICHE_B]


def test_the_same_inputs_give_the_same_decision_whatever_the_candidate_order() -> None:
    candidates = [(FICHE_A, person(first="Jan")), (FICHE_B, person(first="J."))]
    first = decide(rank(person(first="Jan"), candidates, W), W)
    second = decide(rank(person(first="Jan"), list(reversed(candidates)), W), W)
    assert first == second


def test_thresholds_are_data_and_an_auto_threshold_below_review_is_refused() -> None:
    raw: dict[str, Any] = {
        "thresholds": {"auto": 5, "review": 9}, "autoNameLevels": [], "ambiguityMargin": 1,
        "maxCandidates": 1, "maxReviewCandidates": 1, "similarity": {},
        "person": {}, "organisation": {}}
    with pytest.raises(ValueError, match="threshold"):
        Weights.from_json(raw)


# -- the export -----------------------------------------------------------------------------

HEADER = ("id,kind,first_name,last_name,name,profession,street,house_number,postcode,"
          "municipality,phone,email,kbo_number")


def test_an_export_row_becomes_a_hand_made_fiche_event_without_identifiers() -> None:
    from datetime import UTC, datetime

    rows = list(read_export([HEADER, "SK-1,person,An,Peeters,,huisarts,Kerkstraat,12,9770,"
                             "Kruishoutem,055/11.22.33,,0403.019.261"], datetime.now(UTC)))
    [row] = rows
    assert not isinstance(row, ValueError)
    fields = row.event["data"]["fields"]
    assert fields["professions"][0]["code"] == "GENERAL_PRACTITIONER"
    assert fields["addresses"][0]["nis"] == "45068"
    assert row.event["type"] == "be.socialekaart.fiche.created"
    assert row.kbo_numbers == ("0403019261",)


def test_an_export_row_with_an_unknown_profession_is_reported_by_line() -> None:
    from datetime import UTC, datetime

    [error] = list(read_export([HEADER, "SK-1,person,An,Peeters,,astroloog,,,,,,,"],
                               datetime.now(UTC)))
    assert isinstance(error, ValueError)
    assert "line 2" in str(error)


def test_keys_are_stored_once_per_source_that_may_still_send_a_record() -> None:
    """A fiche holding a CoBRHA record is under the associations' keys only: CoBRHA records
    never meet it; a hand-made one is under both; records look up their own source's keys."""
    keys = blocking_keys(person())
    hand_made = stored_keys(keys, "person", [])
    from_cobrha = stored_keys(keys, "person", ["cobrha"])
    assert hand_made == {f"{s}|{k}" for s in ("cobrha", "association") for k in keys}
    assert from_cobrha == {f"association|{k}" for k in keys}
    assert lookup_keys(keys, "cobrha") <= hand_made
    assert not lookup_keys(keys, "cobrha") & from_cobrha
    assert stored_keys(keys, "person", ["cobrha", "association"]) == frozenset()


def test_every_kind_a_source_sends_is_matched_from_that_source() -> None:
    """Each sample of every source maps to (source, kind) pairs MATCHED_FROM knows, so no
    record is ever looked up under keys nobody writes."""
    context = MappingContext(ssin_secret=b"test-secret")
    seen: set[tuple[str, str]] = set()
    for sample in sorted(SAMPLES.glob("*.jsonl")):
        for line in sample.read_text(encoding="utf-8").splitlines():
            try:
                updates = map_event(decode(line.encode()), context)
            except PermanentError:
                continue  # the samples hold bad input on purpose
            seen |= {(u.source.value, u.kind.value) for u in updates if is_matchable(u)}
    assert {"cobrha", "kbo", "association"} <= {source for source, _ in seen}
    for source, kind in seen:
        assert source in MATCHED_FROM[kind], (source, kind)


def test_a_profile_is_stored_as_its_fields_and_read_back_equal() -> None:
    """``to_json`` is written by hand for speed: it must stay what ``asdict`` gives, as JSON."""
    profile = person(kbo=("0403019261",))
    assert profile.to_json() == json.loads(json.dumps(dataclasses.asdict(profile)))
    assert Profile.from_json(profile.to_json()) == profile
