"""Fake but realistic-looking patient identities: MRN, name, birth date, address.

They exist so the pipeline has real-looking direct identifiers to keep out of the analysts' database; none
belongs to a real person. Everything is drawn from the caller's seeded `random.Random` (one per patient).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

CLINIC_AUTHORITY = "HWCLINIC"


def _words(text: str) -> tuple[str, ...]:
    """Space-separated words; `_` stands for a space inside one (a street name)."""
    return tuple(word.replace("_", " ") for word in text.split())


_MALE_NAMES = _words(
    "James Robert John Michael David William Richard Joseph Thomas Christopher Charles Daniel Matthew "
    "Anthony Mark Donald Steven Andrew Paul Joshua Kenneth Kevin Brian Timothy Ronald George Jason Edward "
    "Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin Samuel "
    "Gregory Alexander Patrick Frank Raymond Jack Dennis Jerry Tyler Aaron Jose Adam Nathan Henry Zachary"
)
_FEMALE_NAMES = _words(
    "Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty Sandra "
    "Margaret Ashley Kimberly Emily Donna Michelle Carol Amanda Melissa Deborah Stephanie Dorothy Rebecca "
    "Sharon Laura Cynthia Amy Kathleen Angela Shirley Brenda Emma Anna Pamela Nicole Samantha Katherine "
    "Christine Helen Debra Rachel Carolyn Janet Maria Catherine Heather Diane Olivia Julie Joyce Victoria"
)
_LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
    "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
    "Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams "
    "Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker "
    "Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper "
    "Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood Bennett"
)
_STREETS = _words(
    "Oak_St Maple_Ave Cedar_Ln Pine_St Elm_St Washington_Ave Lake_Dr Hillcrest_Rd Park_Ave Walnut_St Sunset_Blvd "
    "River_Rd Church_St Highland_Ave Meadow_Ln Franklin_St Jefferson_Ave Mill_Rd Spring_St Chestnut_St "
    "Ridge_Rd Lincoln_Ave Forest_Dr Main_St"
)
_CITIES = (
    ("Louisville", "KY", "402"),
    ("Lexington", "KY", "405"),
    ("Cincinnati", "OH", "452"),
    ("Dayton", "OH", "454"),
    ("Huntington", "WV", "257"),
    ("Charleston", "WV", "253"),
    ("Evansville", "IN", "477"),
    ("Knoxville", "TN", "379"),
)


@dataclass(frozen=True, slots=True)
class Identity:
    mrn: str
    family_name: str
    given_name: str
    middle_initial: str
    birth_date: date
    street: str
    city: str
    state: str
    zip_code: str

    @property
    def pid5(self) -> str:
        """PID-5 (XPN): family^given^middle."""
        return f"{self.family_name}^{self.given_name}^{self.middle_initial}"

    @property
    def pid11(self) -> str:
        """PID-11 (XAD): street^other^city^state^zip^country."""
        return f"{self.street}^^{self.city}^{self.state}^{self.zip_code}^USA"


MRN_FIRST, MRN_COUNT = 40_000_000, 9_999_999  # 8-digit MRNs


def draw_identity(rng: random.Random, mrn: int, sex: str, as_of: date) -> Identity:
    """An adult aged 20 to 65 on `as_of`; `mrn` comes from a ranking, so MRNs are unique."""
    given = rng.choice(_MALE_NAMES if sex == "M" else _FEMALE_NAMES)
    city, state, zip_prefix = rng.choice(_CITIES)
    age_days = rng.randrange(20 * 365, 65 * 365)
    return Identity(
        mrn=str(MRN_FIRST + mrn),
        family_name=rng.choice(_LAST_NAMES),
        given_name=given,
        middle_initial=rng.choice("ABCDEFGHJKLMNPRSTW"),
        birth_date=as_of - timedelta(days=age_days),
        street=f"{rng.randrange(10, 9900)} {rng.choice(_STREETS)}",
        city=city,
        state=state,
        zip_code=f"{zip_prefix}{rng.randrange(0, 100):02d}",
    )
