"""Inferred CPV codes for UK SIC 2007 codes where the link is obvious.

Most sources say what an organisation does only through its SIC code, while buyers search by
CPV. This table bridges the two for activities a public buyer commonly procures; anything
ambiguous (retail, membership bodies, holding companies) is deliberately absent, so a listing
gets no CPV code rather than a misleading one. Keys are SIC prefixes (division "01", group
"812", class "8121"); the longest matching prefix wins.
"""

from __future__ import annotations

SIC_PREFIX_TO_CPV: dict[str, tuple[str, ...]] = {
    "01": ("03000000",),  # crop and animal production -> agricultural products
    "02": ("77200000",),  # forestry and logging -> forestry services
    "03": ("03310000",),  # fishing and aquaculture -> fish and aquatic products
    "10": ("15000000",),  # food manufacture -> food products
    "11": ("15900000",),  # beverages -> beverages
    "14": ("18000000",),  # clothing manufacture -> clothing
    "181": ("79810000",),  # printing -> printing services
    "351": ("09310000",),  # electricity generation and supply -> electricity
    "38": ("90500000",),  # waste collection and treatment -> refuse and waste services
    "383": ("90514000",),  # materials recovery -> refuse recycling services
    "41": ("45000000",),  # building construction -> construction work
    "42": ("45000000",),  # civil engineering -> construction work
    "43": ("45000000",),  # specialised construction -> construction work
    "4631": ("03220000",),  # wholesale of fruit and vegetables -> vegetables, fruit and nuts
    "4721": ("03220000",),  # fruit and vegetable shops -> vegetables, fruit and nuts
    "4724": ("15810000",),  # bakers' shops -> bread products, fresh pastry goods and cakes
    "4932": ("60120000",),  # taxi operation -> taxi services
    "4939": ("60100000",),  # other passenger land transport -> road transport services
    "4941": ("60000000",),  # road freight -> transport services
    "53": ("64100000",),  # postal and courier -> post and courier services
    "551": ("55100000",),  # hotels -> hotel services
    "5610": ("55300000",),  # restaurants and cafes -> restaurant and food-serving services
    "562": ("55520000",),  # event and contract catering -> catering services
    "5630": ("55400000",),  # bars and pubs -> beverage-serving services
    "58": ("79970000",),  # publishing -> publishing services
    "591": ("92100000",),  # film and video production -> motion picture and video services
    "62": ("72000000",),  # programming and IT consultancy -> IT services
    "631": ("72000000",),  # data processing and hosting -> IT services
    "691": ("79100000",),  # legal activities -> legal services
    "692": ("79200000",),  # accounting -> accounting services
    "702": ("79400000",),  # management consultancy -> business and management consultancy
    "711": ("71000000",),  # architecture and engineering -> architectural and engineering services
    "721": ("73100000",),  # research in natural sciences and engineering -> research and development
    "722": ("79315000",),  # research in social sciences and humanities -> social research services
    "731": ("79340000",),  # advertising -> advertising and marketing services
    "732": ("79300000",),  # market research -> market research
    "741": ("79930000",),  # specialised design -> specialty design services
    "742": ("79961000",),  # photography -> photographic services
    "743": ("79530000",),  # translation and interpretation -> translation services
    "74901": ("90713000",),  # environmental consulting -> environmental issues consultancy
    "78": ("79600000",),  # employment placement -> recruitment services
    "812": ("90910000",),  # cleaning activities -> cleaning services
    "8122": ("90911000",),  # building and window cleaning -> building and window cleaning
    "813": ("77310000",),  # landscape service activities -> green-area maintenance
    "821": ("79500000",),  # office administration -> office-support services
    "85": ("80000000",),  # education -> education and training services
    "86": ("85100000",),  # human health -> health services
    "87": ("85311000",),  # residential care -> social work services with accommodation
    "88": ("85300000",),  # social work without accommodation -> social work services
    "90": ("92000000",),  # creative and performing arts -> recreational and cultural services
    "91": ("92500000",),  # libraries and museums -> library, archive and museum services
    "931": ("92600000",),  # sports facilities and clubs -> sporting services
    "951": ("50300000",),  # computer and equipment repair -> repair of IT equipment
    "952": ("50000000",),  # repair of personal and household goods -> repair services
    "9601": ("98310000",),  # laundries and dry cleaners -> washing and dry-cleaning services
}


def cpv_for_sic(sic_code: str) -> list[str]:
    """CPV codes inferred from a 5-digit SIC code (empty when the link is not obvious)."""
    code = sic_code.strip()
    for length in range(len(code), 1, -1):
        found = SIC_PREFIX_TO_CPV.get(code[:length])
        if found:
            return list(found)
    return []
