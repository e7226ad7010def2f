"""The demo court's fictional text: names, firms and recorded-entry summaries.

Pure functions of an RNG the caller owns (data.py), so the order of draws is the caller's.
All names are invented combinations; any resemblance to a real file is chance.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

GIVEN = (
    "MOHAMMED", "FATIMA", "PRIYA", "RAJ", "JOSÉ", "MARÍA", "FRANÇOIS", "HÉLÈNE", "ZOË",
    "NOËL", "LOÏC", "AÏCHA", "ÉLODIE", "ANAÏS", "CÉDRIC", "ANDRÉ", "INÈS", "OMAR", "AHMED",
    "WEI", "LI NA", "CHIDI", "AMARA", "KWAME", "YUSUF", "SOFÍA", "LUCÍA", "ZEYNEP", "ARJUN",
    "HARPREET", "GURPREET", "SIMRAN", "OLUWASEUN", "ADEBAYO", "THI HOA", "MINH", "DMITRI",
    "OLEKSANDR", "GRÉGOIRE", "JOËL", "RAÏSSA", "MÉLANIE", "FRANÇOISE", "BJÖRN",
)
SURNAMES = (
    "SINGH", "KAUR", "PATEL", "KHAN", "HOSSAIN", "NGUYEN", "GARCÍA", "RODRÍGUEZ",
    "GONZÁLEZ", "MÜLLER", "ÇELIK", "YILMAZ", "OKAFOR", "ADEYEMI", "MENSAH", "TREMBLAY",
    "CÔTÉ", "GAGNÉ", "BÉLANGER", "LÉVESQUE", "HAÏDARA", "TOURÉ", "DIALLO", "ZHANG", "WANG",
    "LIU", "KIM", "PARK", "IBRAHIM", "HADDAD", "NAÏMI", "KOWALSKI", "HERNÁNDEZ", "PEÑA",
    "ÁLVAREZ", "SANTOS", "MOREAU", "FRANÇOIS", "BOUCHARD", "DESJARDINS",
)
BUSINESS = ("FARMS", "TRADING", "CONSTRUCTION", "TRUCKING", "RESTAURANTS", "CLEANING")
VISA_POSTS = ("NEW DELHI", "LAGOS", "MANILA", "CPC OTTAWA", "ANKARA", "DAKAR", "BOGOTÁ",
              "LOCATION UNKNOWN", "CPC EDMONTON")
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def title(s: str) -> str:
    return s.title()  # "CÔTÉ" -> "Côté", "LI NA" -> "Li Na"


def person(rng: random.Random) -> str:
    return f"{title(rng.choice(GIVEN))} {title(rng.choice(SURNAMES))}"


def firm(rng: random.Random) -> str:
    a, b = title(rng.choice(SURNAMES)), title(rng.choice(SURNAMES))
    return rng.choice((
        f"{a} & {b} LLP", f"{a} Law Professional Corporation", f"Cabinet {a} Avocats Inc.",
        f"Étude légale {a}", f"{a}, {b} & Associés", f"{a} Immigration Law",
        f"{a} Legal Services",
    ))


def dmy(d: date) -> str:
    return f"{d.day:02d}-{MONTHS[d.month - 1]}-{d.year}"


def applicants(rng: random.Random) -> list[str]:
    if rng.random() < 0.04:  # an employer (e.g. an LMIA refusal): a name with "&"
        a, b = rng.choice(SURNAMES), rng.choice(SURNAMES)
        return [rng.choice((f"{a} & {b} {rng.choice(BUSINESS)} LTD.",
                            f"{a} {rng.choice(BUSINESS)} & LOGISTICS INC.",
                            f"BOULANGERIE {a} & FILS INC."))]
    surname = rng.choice(SURNAMES)
    count = rng.choices((1, 2, 3, 4), weights=(70, 18, 8, 4))[0]
    names = []
    for _ in range(count):  # a family mostly shares a surname
        last = surname if rng.random() < 0.8 else rng.choice(SURNAMES)
        name = f"{rng.choice(GIVEN)} {last}"
        if name not in names:
            names.append(name)
    return names


def summary(rng: random.Random, kind: str, d: date, ctx: dict[str, str]) -> str:
    """One recorded-entry summary in the portal's telegraphic style."""
    day = dmy(d)
    if kind == "application":
        decided = dmy(d - timedelta(days=rng.randint(5, 40)))
        text = (f"Application for leave and judicial review against a decision {ctx['decider']}, "
                f"{decided}; FILE NO:{ctx['file_no']}/UCI: {ctx['uci']} filed on {day}")
        return text + (" Tariff fee of $50.00 received" if rng.random() < 0.7 else "")
    return rng.choice({
        "service": (
            f"Copy of R.133 SERVICE EMAIL OF ALJR ON THE RESPONDENT with proof of service on the "
            f"respondent on {day} filed on {day}",
            f"Solicitor's certificate of service on behalf of {ctx['counsel']} confirming service "
            f"of the application upon the Respondent by email on {day} filed on {day}",
        ),
        "appearance": (
            f"Notice of appearance on behalf of the respondent filed on {day} with proof of "
            f"service on the applicant the tribunal",
        ),
        "request": (
            f"First request to IRCC, File no. {ctx['file_no']}, UCI: {ctx['uci']} pursuant to "
            f"Rule 9 dated {day}",
            f"Second request to IRCC, Tribunal File no. {ctx['file_no']} pursuant to Rule 9 "
            f"dated {day}",
        ),
        "middle": (
            f"Certified copy of the decision and reasons sent by IRCC {ctx['post']} on {day} "
            f"pursuant to Rule 9(2) Received on {day}",
            f"Applicant's record containing the affidavit of {ctx['applicant']} and a memorandum "
            f"of argument filed on {day}",
            f"Memorandum of argument of the respondent filed on {day} with proof of service",
            f"Reply memorandum of the applicant filed on {day}",
            f"Letter from the Applicant dated {day} requesting an extension of time to file the "
            f"record received on {day}",
            f"Motion record containing the following original document(s): notice of motion, "
            f"affidavit of {ctx['applicant']} filed on {day}",
            f"Communication to the Court from the Registry dated {day} re: file transferred to "
            f"the {ctx['office']} office",
            f"Acknowledgment of receipt received from the Respondent by email on {day}",
        ),
        "order": (
            f"Order rendered by The Honourable Mr. Justice {ctx['judge']} at Ottawa on {day} "
            f"dismissing the application for leave",
            f"Order rendered by The Honourable Madam Justice {ctx['judge']} at Ottawa on {day} "
            f"granting the application for leave; hearing set",
            f"Notice of discontinuance filed on {day}",
        ),
    }[kind])

