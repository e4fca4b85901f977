"""The provider pages' words in Dutch (English is the key), on top of the web layer's own."""

from __future__ import annotations

from sync.web import i18n

__all__ = ["DUTCH", "translate"]

DUTCH = {
    # frame and sign-in
    "Sociale Kaart: my fiche": "Sociale Kaart: mijn fiche",
    "My fiches": "Mijn fiches",
    "Check and correct your fiche": "Uw fiche nakijken en verbeteren",
    "Give your number: we send a sign-in link to the e-mail address on your fiche.":
        "Geef uw nummer: we sturen een aanmeldlink naar het e-mailadres op uw fiche.",
    "Kind of number": "Soort nummer",
    "number:nihii": "RIZIV-nummer (zorgverlener)",
    "number:cbe": "Ondernemingsnummer (KBO)",
    "number:establishment": "Vestigingsnummer (KBO)",
    "Number": "Nummer",
    "Send me a sign-in link": "Stuur mij een aanmeldlink",
    "If this number is on a fiche with an e-mail address, a sign-in link is on its way to "
    "that address. The link works once, within {minutes} minutes.":
        "Als dit nummer op een fiche met een e-mailadres staat, is er een aanmeldlink "
        "onderweg naar dat adres. De link werkt één keer, binnen {minutes} minuten.",
    "Too many sign-in links were asked for this number or from this network. Try again in "
    "{minutes} minutes.":
        "Er werden te veel aanmeldlinks gevraagd voor dit nummer of vanaf dit netwerk. "
        "Probeer opnieuw binnen {minutes} minuten.",
    "Choose what kind of number this is.": "Kies welk soort nummer dit is.",
    "Enter your number.": "Vul uw nummer in.",
    "A NIHII (RIZIV/INAMI) number has 11 digits (or give its first 8).":
        "Een RIZIV-nummer heeft 11 cijfers (of geef de eerste 8).",
    "This is not a valid enterprise number (10 digits, such as 0403.019.261).":
        "Dit is geen geldig ondernemingsnummer (10 cijfers, zoals 0403.019.261).",
    "This is not a valid establishment unit number (10 digits, starting with 2 to 8).":
        "Dit is geen geldig vestigingsnummer (10 cijfers, beginnend met 2 tot 8).",
    "This link signs you in once.": "Met deze link meldt u zich één keer aan.",
    "Link not valid": "Link niet geldig",
    "This sign-in link has been used already or has expired. Ask for a new one.":
        "Deze aanmeldlink werd al gebruikt of is verlopen. Vraag een nieuwe aan.",
    "Ask for a new link": "Een nieuwe link aanvragen",
    "Or sign in with your digital key": "Of meld u aan met uw digitale sleutel",
    "Signing in with your digital key did not succeed. Try again, or ask for a link.":
        "Aanmelden met uw digitale sleutel is niet gelukt. Probeer opnieuw, of vraag een "
        "link aan.",
    "Your digital key did not give a NIHII, enterprise or establishment number.":
        "Uw digitale sleutel gaf geen RIZIV-, ondernemings- of vestigingsnummer.",
    "Signed in": "Aangemeld",
    "Continue to my fiches": "Verder naar mijn fiches",
    "No fiche holds this number yet.": "Nog geen fiche heeft dit nummer.",
    # the fiche
    "Your changes were sent; they are applied in a moment. This page shows them as soon as "
    "they are.":
        "Uw wijzigingen zijn verstuurd; ze worden zo dadelijk verwerkt. Deze pagina toont ze "
        "zodra dat gebeurd is.",
    "Your changes are applied.": "Uw wijzigingen zijn verwerkt.",
    "Thank you: your confirmation was sent.": "Dank u: uw bevestiging is verstuurd.",
    "Nothing changed.": "Er veranderde niets.",
    "Some values could not be kept; see the messages next to them. Nothing was sent.":
        "Sommige waarden konden niet bewaard worden; zie de boodschap ernaast. Er werd "
        "niets verstuurd.",
    "Kept by others": "Bijgehouden door anderen",
    "where to change it": "waar te wijzigen",
    "Yours to keep": "Door u bij te houden",
    "Your changes are pinned: the Sociale Kaart shows them instead of what automated sources "
    "say. When a source later says something else, the Sociale Kaart team decides which "
    "value to show.":
        "Uw wijzigingen worden vastgezet: de Sociale Kaart toont ze in plaats van wat "
        "automatische bronnen zeggen. Zegt een bron later iets anders, dan beslist het team "
        "van de Sociale Kaart welke waarde getoond wordt.",
    "Your changes count as your own source: the Sociale Kaart shows them unless a source it "
    "trusts more for that field, or the Sociale Kaart team, says otherwise.":
        "Uw wijzigingen tellen als uw eigen bron: de Sociale Kaart toont ze, tenzij een bron "
        "die ze voor dat veld meer vertrouwt, of het team van de Sociale Kaart, iets anders "
        "zegt.",
    "you": "u",
    "not said": "niet opgegeven",
    "yes": "ja",
    "no": "nee",
    "not given yet": "nog niet opgegeven",
    "Save my changes": "Mijn wijzigingen bewaren",
    "Still correct?": "Nog juist?",
    "Every few years we ask you to check your fiche. If everything above is right, say so "
    "with one click.":
        "Om de paar jaar vragen we u uw fiche na te kijken. Klopt alles hierboven, zeg het "
        "dan met één klik.",
    "My data is still correct": "Mijn gegevens zijn nog juist",
    # field labels and hints
    "Practice name": "Naam van de praktijk", "Phone": "Telefoon", "E-mail": "E-mail",
    "Website": "Website", "Opening hours": "Openingsuren", "Languages": "Talen",
    "Accepts new clients": "Neemt nieuwe cliënten aan", "Target groups": "Doelgroepen",
    "Specialisations": "Specialisaties", "Service area": "Werkgebied",
    "Accessibility": "Toegankelijkheid", "First name": "Voornaam", "Last name": "Achternaam",
    "Gender": "Geslacht", "Professions": "Beroepen", "Licence and status": "Erkenning en status",
    "Name": "Naam", "Enterprise status": "Status van de onderneming",
    "Legal form": "Rechtsvorm", "Recognitions": "Erkenningen",
    "Kind of organisation": "Soort organisatie", "Addresses": "Adressen",
    "Description": "Beschrijving", "Activities": "Activiteiten",
    "Declared professions": "Opgegeven beroepen",
    "Such as 055 12 34 56 or +32 55 12 34 56": "Zoals 055 12 34 56 of +32 55 12 34 56",
    "Such as https://www.example.be": "Zoals https://www.voorbeeld.be",
    "Such as: mon-fri 9-17": "Zoals: ma-vr 9-17",
    "One per line: nl, fr, de, en ...": "Eén per regel: nl, fr, de, en ...",
    "One per line": "Eén per regel",
    "One municipality per line (name or NIS code)": "Eén gemeente per regel (naam of NIS-code)",
    "Such as: step-free entrance, accessible toilet":
        "Zoals: drempelvrije ingang, aangepast toilet",
    # sources and where to change
    "CoBRHA (RIZIV/INAMI, FOD Volksgezondheid)": "CoBRHA (RIZIV, FOD Volksgezondheid)",
    "KBO (Crossroads Bank for Enterprises)": "KBO (Kruispuntbank van Ondernemingen)",
    "your professional association": "uw beroepsvereniging",
    "the Sociale Kaart team": "het team van de Sociale Kaart",
    "changed by you": "gewijzigd door u",
    "changed by the Sociale Kaart team": "gewijzigd door het team van de Sociale Kaart",
    "Kept by RIZIV/INAMI: have it changed there; it reaches the Sociale Kaart through "
    "CoBRHA.":
        "Bijgehouden door het RIZIV: laat het daar wijzigen; het bereikt de Sociale Kaart "
        "via CoBRHA.",
    "Professions and licence are kept by RIZIV/INAMI and FOD Volksgezondheid: have them "
    "changed there; they reach the Sociale Kaart through CoBRHA.":
        "Beroepen en erkenning worden bijgehouden door het RIZIV en de FOD "
        "Volksgezondheid: laat ze daar wijzigen; ze bereiken de Sociale Kaart via CoBRHA.",
    "The legal name, legal form and status are kept by the KBO (Crossroads Bank for "
    "Enterprises): have them changed there, through an enterprise counter.":
        "De officiële naam, rechtsvorm en status worden bijgehouden door de KBO: laat ze "
        "daar wijzigen, via een ondernemingsloket.",
    "Recognitions are kept by the recognising authority: they reach the Sociale Kaart "
    "through CoBRHA.":
        "Erkenningen worden bijgehouden door de erkennende overheid: ze bereiken de Sociale "
        "Kaart via CoBRHA.",
    "Ask the Sociale Kaart team to change this.":
        "Vraag het team van de Sociale Kaart om dit te wijzigen.",
    # field errors
    "At most 500 characters.": "Hoogstens 500 tekens.",
    "At most 50 lines of 200 characters.": "Hoogstens 50 regels van 200 tekens.",
    "This is not a phone number.": "Dit is geen telefoonnummer.",
    "This phone number does not exist; check its digits and prefix.":
        "Dit telefoonnummer bestaat niet; kijk de cijfers en het zonenummer na.",
    "This is not an e-mail address (such as name@example.be).":
        "Dit is geen e-mailadres (zoals naam@voorbeeld.be).",
    "This is not a web address (such as https://www.example.be).":
        "Dit is geen webadres (zoals https://www.voorbeeld.be).",
    "Give languages as two-letter codes: nl, fr, de, en ...":
        "Geef talen als codes van twee letters: nl, fr, de, en ...",
    "A municipality here is unknown: give its name or NIS code, one per line.":
        "Een gemeente hier is onbekend: geef haar naam of NIS-code, één per regel.",
}


def translate(text: str, language: str) -> str:
    """``text`` in ``language``: the provider pages' Dutch first, then the web layer's."""
    if language == "nl" and text in DUTCH:
        return DUTCH[text]
    return i18n.translate(text, language)
