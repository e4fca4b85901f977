"""Dutch first, English second: the pages' words, keyed by their English text.

A template writes ``{{ t("Sign in") }}``; in Dutch that is looked up here, in English the key
is the text. A unit test checks that every key the templates use has its Dutch.
"""

from __future__ import annotations

__all__ = ["LANGUAGES", "translate"]

LANGUAGES = ("nl", "en")

DUTCH = {
    # the frame
    "Sociale Kaart console": "Sociale Kaart-console",
    "Skip to content": "Naar de inhoud",
    "Operations": "Werking",
    "Dead letters": "Onverwerkbare berichten",
    "Conflicts": "Conflicten",
    "Matches": "Koppelingen",
    "Fiches": "Fiches",
    "Sign out": "Afmelden",
    "Signed in as": "Aangemeld als",
    "Language": "Taal",
    "roles": "rollen",
    # sign-in and refusals
    "Sign in": "Aanmelden",
    "Name": "Naam",
    "Password": "Wachtwoord",
    "Wrong name or password.": "Verkeerde naam of wachtwoord.",
    "Too many failed attempts; try again in 15 minutes.":
        "Te veel mislukte pogingen; probeer het over 15 minuten opnieuw.",
    "Sign in with your government login": "Aanmelden met uw overheidslogin",
    "Your session has ended; sign in again.": "Uw sessie is verlopen; meld u opnieuw aan.",
    "Refused": "Geweigerd",
    "This page is for another role.": "Deze pagina is voor een andere rol.",
    "The form was not sent from this console (its security token is missing or wrong). "
    "Reload the page and try again.":
        "Het formulier kwam niet van deze console (het veiligheidstoken ontbreekt of klopt "
        "niet). Laad de pagina opnieuw en probeer nog eens.",
    "The request is too large.": "Het verzoek is te groot.",
    "The database did not answer in time. Try again in a moment.":
        "De databank antwoordde niet op tijd. Probeer het zo meteen opnieuw.",
    "Not found": "Niet gevonden",
    "Back": "Terug",
    # operations
    "Readiness": "Gereedheid",
    "ready": "gereed",
    "not ready": "niet gereed",
    "check": "controle",
    "state": "toestand",
    "Lag per source and partition": "Achterstand per bron en partitie",
    "group": "groep",
    "topic": "topic",
    "partition": "partitie",
    "lag": "achterstand",
    "trend": "verloop",
    "Sources": "Bronnen",
    "source": "bron",
    "applied per minute (last 30 min)": "verwerkt per minuut (laatste 30 min)",
    "event age at last apply": "leeftijd van het bericht bij de laatste verwerking",
    "last apply": "laatste verwerking",
    "ago": "geleden",
    "Outbox": "Outbox",
    "backlog": "achterstand",
    "oldest unsent": "oudste niet verzonden",
    "open conflicts": "open conflicten",
    "dead letters": "onverwerkbare berichten",
    "Problems": "Problemen",
    "Refreshes by itself every few seconds.": "Ververst vanzelf om de paar seconden.",
    # dead letters
    "Filter": "Filteren",
    "all topics": "alle topics",
    "reason": "reden",
    "detail": "uitleg",
    "original position": "oorspronkelijke positie",
    "attempts": "pogingen",
    "failed at": "mislukt op",
    "event": "bericht",
    "select": "kiezen",
    "Replay selected": "Geselecteerde opnieuw aanbieden",
    "Replay all with this reason": "Alle met deze reden opnieuw aanbieden",
    "Replay": "Opnieuw aanbieden",
    "replayed": "opnieuw aangeboden",
    "already replayed": "al eerder opnieuw aangeboden",
    "cannot be replayed": "kan niet opnieuw aangeboden worden",
    "truncated: the original was {size} bytes and only its start was kept; ask its sender "
    "for it again.":
        "afgekapt: het origineel was {size} bytes en alleen het begin is bewaard; vraag het "
        "opnieuw aan de afzender.",
    "No dead letters.": "Geen onverwerkbare berichten.",
    "Nothing was selected.": "Er was niets geselecteerd.",
    "text": "tekst",
    # conflicts
    "No open conflicts.": "Geen open conflicten.",
    "field": "veld",
    "fiche": "fiche",
    "Pinned value": "Vastgezette waarde",
    "Candidate from the source": "Voorstel van de bron",
    "pinned by": "vastgezet door",
    "since": "sinds",
    "record": "record",
    "raised at": "gemeld op",
    "Comment (optional)": "Opmerking (niet verplicht)",
    "Keep the pinned value": "Vastgezette waarde behouden",
    "Accept the candidate": "Voorstel aanvaarden",
    "Decision sent": "Beslissing verstuurd",
    "it is applied in a moment.": "ze wordt zo dadelijk verwerkt.",
    # matches
    "No candidates wait for review.": "Geen koppelingen wachten op nazicht.",
    "Record": "Record",
    "Candidate fiche": "Kandidaat-fiche",
    "score": "score",
    "feature": "kenmerk",
    "level": "niveau",
    "contribution": "bijdrage",
    "Accept: the record is this fiche": "Aanvaarden: het record is deze fiche",
    "Reject: not the same": "Weigeren: niet dezelfde",
    "identifiers": "identificatoren",
    # fiches
    "Search": "Zoeken",
    "Name, NIHII, CBE, municipality or profession": "Naam, RIZIV, KBO, gemeente of beroep",
    "No fiche found.": "Geen fiche gevonden.",
    "kind": "soort",
    "status": "status",
    "version": "versie",
    "Visible values": "Zichtbare waarden",
    "value": "waarde",
    "from": "van",
    "Pins": "Vastgezette waarden",
    "author": "auteur",
    "role": "rol",
    "Open conflicts": "Open conflicten",
    "Linked records": "Gekoppelde records",
    "Split off": "Afsplitsen",
    "linked by": "gekoppeld door",
    "History": "Geschiedenis",
    "what changed": "wat veranderde",
    "why": "waarom",
    "when": "wanneer",
    "Decisions taken in the console": "Beslissingen in de console",
    "who": "wie",
    "action": "actie",
    "page": "pagina",
    "inactive": "inactief",
    "active": "actief",
    "person": "persoon",
    "organisation": "organisatie",
    "none": "geen",
}


def translate(text: str, language: str) -> str:
    """``text`` in ``language`` (the English key itself when there is no Dutch)."""
    return DUTCH.get(text, text) if language == "nl" else text
