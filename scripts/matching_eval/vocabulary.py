"""What the drawn people and organisations are made of: names, professions, places."""

from __future__ import annotations

COLUMNS = ("id", "kind", "first_name", "last_name", "name", "profession", "street",
           "house_number", "postcode", "municipality", "phone", "email", "kbo_number")

FIRST = ("An", "Anne", "Annelies", "Katrien", "Sofie", "Sarah", "Els", "Ellen", "Inge", "Griet",
         "Lien", "Lotte", "Marie", "Céline", "Hélène", "Ine", "Nathalie", "Valérie", "Joke",
         "Evelien", "Leen", "Hilde", "Kristien", "Veerle", "Liesbeth", "Elise", "Emma", "Febe",
         "Ilse", "Mieke", "Jan", "Jef", "Joris", "Koen", "Pieter", "Bart", "Tom", "Wim", "Dirk",
         "Geert", "Stijn", "Thomas", "Michiel", "Frederik", "Jeroen", "Kristof", "Wouter",
         "Bram", "Raf", "Luc", "Marc", "Johan", "Sébastien", "François", "Jérôme", "Maarten",
         "Tim", "Sander", "Lucas", "Arne", "Zoë", "Noémie", "Maïté", "Ruben", "Jonas")
LAST = ("Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens",
        "Wouters", "De Smet", "Dubois", "Lambert", "Dupont", "Vermeulen", "Hermans",
        "Van den Broeck", "Van Damme", "De Backer", "Desmet", "Verstraete", "Martens", "Aerts",
        "Segers", "Declercq", "Leclercq", "Vandenberghe", "De Vos", "Coppens", "Van de Velde",
        "Smets", "Michiels", "Cools", "Verhaeghe", "Vermeersch", "D'Hondt", "Van Acker",
        "Bogaert", "Van Hecke", "Lemmens", "Pauwels", "Baert", "Deprez", "Geerts", "Thys",
        "Van Dyck", "Vercauteren", "Wyns", "Roels", "Cuypers", "Bosmans", "Sels", "Renders",
        "Van Hoof", "Verbeke", "Dewulf", "Callens", "Lauwers", "Rombouts", "Hendrickx",
        "Stevens", "Van Looy", "Sterckx", "Heylen", "Nys", "Verlinden", "Moens", "Beckers",
        "Debruyne", "Vanhoutte", "Dhaene", "Ghesquière", "Lefèvre", "Van Caeneghem")
PROFESSIONS = (("GENERAL_PRACTITIONER", "huisarts", 5), ("PHYSIOTHERAPIST", "kinesitherapeut", 4),
               ("NURSE", "verpleegkundige", 4), ("CLINICAL_PSYCHOLOGIST", "klinisch psycholoog", 3),
               ("SPEECH_THERAPIST", "logopedist", 2), ("DIETICIAN", "diëtist", 1),
               ("MIDWIFE", "vroedvrouw", 1), ("DENTIST", "tandarts", 2),
               ("PODIATRIST", "podoloog", 1), ("OCCUPATIONAL_THERAPIST", "ergotherapeut", 1))
STREETS = ("Kerkstraat", "Stationsstraat", "Nieuwstraat", "Molenstraat", "Schoolstraat",
           "Dorpsstraat", "Beekstraat", "Kapelstraat", "Sint-Jansstraat", "Grote Markt",
           "Leopoldlaan", "Stationsplein", "Gentsesteenweg", "Brusselsesteenweg",
           "Oudenaardsesteenweg", "Kortrijkseweg", "Lindenlaan", "Populierenlaan", "Veldstraat",
           "Hoogstraat", "Meersstraat", "Ringlaan", "Vijverstraat", "Koning Albertlaan",
           "Sint-Martinusplein", "Bruggestraat", "Tieltstraat", "Marktplein", "Zandstraat",
           "Sint-Amandsstraat", "Nederename", "Lange Munte", "Heirweg", "Processiestraat")
#: Where the practices are: a region, so that towns hold many providers (and namesakes).
POSTCODES = ("9700", "9770", "9750", "9790", "9680", "9690", "9600", "9630", "9660", "9667",
             "9800", "9850", "9870", "9880", "9910", "9920", "9930", "9950", "8700", "8760",
             "8755", "8750", "8790", "8500", "8800", "8820", "8830", "9000", "9050", "9090",
             "9820", "9810", "9830", "9840", "9070", "9080", "9160", "9185", "2070", "2870")
#: Places whose municipality merged (2019, 2025): a fiche typed before keeps the old name.
MERGED = (("9770", "Kruishoutem"), ("9750", "Zingem"), ("8760", "Meulebeke"), ("8755", "Ruiselede"),
          ("9850", "Nevele"), ("9920", "Lovendegem"), ("9950", "Waarschoot"), ("9930", "Zomergem"),
          ("9880", "Aalter"), ("9910", "Knesselare"), ("9820", "Merelbeke"), ("9090", "Melle"),
          ("9810", "Nazareth"), ("9840", "De Pinte"), ("2070", "Zwijndrecht"), ("2870", "Puurs"))
ORG_TYPES = (
    ("orgpharmacy", "Apotheek", ("Centrum", "De Linde", "{last}", "Sint-Jan", "Ter Beke")),
    ("orgretirementhome", "Woonzorgcentrum",
     ("Ter Linde", "De Vlaamse Ardennen", "Sint-Vincentius", "Heilig Hart", "Ter Leie")),
    ("orgprimaryhealthcarecenter", "Wijkgezondheidscentrum",
     ("De Sleep", "Botermarkt", "Watersportbaan", "De Kaai")),
    ("orgpractice", "Groepspraktijk", ("De Linde", "Ter Heide", "{last}", "Het Anker")),
    ("orghospital", "AZ", ("Oudenaarde", "Glorieux", "Sint-Elisabeth", "Alma")),
    ("orgpsychiatriccarehome", "Psychiatrisch verzorgingstehuis",
     ("Ter Kouter", "De Kaai", "Sint-Jozef")),
)
ABBREVIATED = {"Woonzorgcentrum": "WZC", "Wijkgezondheidscentrum": "WGC",
               "Psychiatrisch verzorgingstehuis": "PVT", "AZ": "Algemeen Ziekenhuis"}
ASSOCIATIONS = {"PHYSIOTHERAPIST": "axxon", "CLINICAL_PSYCHOLOGIST": "vvkp", "NURSE": "nvkvv",
                "SPEECH_THERAPIST": "vvl", "DIETICIAN": "vbvd", "PODIATRIST": "vvp",
                "OCCUPATIONAL_THERAPIST": "ergo", "MIDWIFE": "vbov"}
NIHII_FIRST = {"GENERAL_PRACTITIONER": "1", "DENTIST": "3", "NURSE": "4", "MIDWIFE": "4",
               "PHYSIOTHERAPIST": "5", "SPEECH_THERAPIST": "5"}
COBRHA_CODE = {"GENERAL_PRACTITIONER": "PHYSICIAN"}
TIME = "2026-11-28T09:00:00Z"
