"""A pure-Python lexer that reproduces Stanford CoreNLP 3.4.1's ``PTBTokenizer`` as
pycocoevalcap runs it (``-preserveLines -lowerCase``; default PTB3 escaping).

CoreNLP's tokenizer is a JFlex scanner: at each position every rule is tried and the
longest match wins (trailing context included), ties going to the earlier rule; a rule's
action may emit a different string (``(`` -> ``-LRB-``, ``"`` -> ``` `` ``` or ``''``,
``£`` -> ``#``) or give back part of the match (``cannot`` -> ``can`` + ``not``). This
module is a table of such rules (:data:`_RULES`) and the same longest-match loop. It was
written against the jar's behaviour, not its source, and is tested against the jar's
recorded output on a corpus of thousands of captions (``tests/metrics/data``).

Characters outside the Basic Multilingual Plane (emoji, ...) are deleted, as the 3.4.1
scanner, which reads UTF-16 code units, finds neither half of a surrogate pair
tokenisable. Tokens come out lower-cased (``str.lower``, like Java's ``toLowerCase``).

The scanner looks past the end of a line for a few rules (a sentence-final acronym such
as ``a.`` or ``etc.`` followed by a capitalised word splits off its period). A caption
is lexed here as if followed by a line that starts with a lower-case word (as in a file
of model captions); see :func:`ptb_tokens`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable

__all__ = ["ptb_tokens"]


def _char_class(pred: Callable[[str], bool]) -> str:
    """A regex character class body of the BMP characters satisfying ``pred``."""
    out: list[str] = []
    start = prev = None
    for cp in range(0x10000):
        ok = not 0xD800 <= cp <= 0xDFFF and pred(chr(cp))
        if ok:
            if start is None:
                start = cp
            prev = cp
        elif start is not None:
            out.append(_range(start, prev))
            start = None
    if start is not None:
        out.append(_range(start, prev))
    return "".join(out)


def _range(a: int, b: int) -> str:
    if a == b:
        return re.escape(chr(a))
    return f"{re.escape(chr(a))}-{re.escape(chr(b))}"


_L = _char_class(lambda c: unicodedata.category(c).startswith("L"))
_LU = _char_class(lambda c: unicodedata.category(c) == "Lu")
_ND = _char_class(lambda c: unicodedata.category(c) == "Nd")
#: marks and a few symbol ranges the scanner counts as letters (combining accents,
#: Thai / Indic vowel signs, soft hyphen)
_EXTRA_LETTER = (
    "\u00ad\u0237-\u024f\u02c2-\u02c5\u02d2-\u02df\u02e5-\u02ff\u0300-\u036f\u0370-\u037d"
    "\u0384\u0385\u03cf\u03f6\u03fc-\u03ff\u0483-\u0487\u04cf\u04f6-\u04ff\u0510-\u0525"
    "\u055a-\u055f\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7\u0615-\u061a"
    "\u063b-\u063f\u064b-\u065e\u0670\u06d6-\u06ef\u06fa-\u06ff\u070f\u0711\u0730-\u074f"
    "\u0750-\u077f\u07a6-\u07b1\u07ca-\u07f5\u07fa\u0900-\u0903\u093c\u093e-\u094e"
    "\u0951-\u0955\u0962-\u0963\u0981-\u0983\u09bc-\u09c4\u09c7\u09c8\u09cb-\u09cd\u09d7"
    "\u09e2\u09e3\u0a01-\u0a03\u0a3c\u0a3e-\u0a4f\u0a81-\u0a83\u0abc-\u0acf\u0b82"
    "\u0bbe-\u0bc2\u0bc6-\u0bc8\u0bca-\u0bcd\u0c01-\u0c03\u0c3e-\u0c56\u0d3e-\u0d44"
    "\u0d46-\u0d48\u0e30-\u0e3a\u0e47-\u0e4e\u0eb1-\u0ebc\u0ec8-\u0ecd"
)

LETTER = f"[{_L}{_EXTRA_LETTER}]"
DIGIT = f"[{_ND}\u07c0-\u07c9]"
UPPER = f"[{_LU}]"
ALNUM = f"[{_L}{_ND}]"  # \p{Alpha}\p{Digit}
ALPHA = f"[{_L}]"
SPACE = "[ \t\u00a0\u2000-\u200a\u3000]"
NL = "\r\n\u2028\u2029\u000b\u000c\u0085"
SPACENL = f"[ \t\u00a0\u2000-\u200a\u3000{NL}]"
APOS = "(?:['\u0092\u2019\u00b4]|(?i:&apos;))"
APOSETC = "(?:['\u0092\u2019\u00b4`\u0091\u2018\u201b]|(?i:&apos;))"
HYPHEN = "[-_\u058a\u2010\u2011]"
NUM = (
    f"(?:{DIGIT}*(?:[.:,\u066b\u066c]{DIGIT}+)+"
    f"|{DIGIT}+(?:[.:,\u00ad\u066b\u066c\u2009\u202f]{DIGIT}+)*)"
)
NUMBER = f"[-+]?{NUM}"
WORD = f"{LETTER}(?:{LETTER}|{DIGIT})*(?:[.!?]{LETTER}(?:{LETTER}|{DIGIT})*)*"
ACRO = (
    "(?:[A-Za-z](?:\\.[A-Za-z])*|(?i:canada|sino|korean|eu|japan|non)-(?i:u)\\.(?i:s)"
    "|(?i:u)\\.(?i:s)\\.-(?:(?i:u)\\.(?i:k)|(?i:u)\\.(?i:s)\\.(?i:s)\\.(?i:r)))"
)
ACRO2 = ACRO.replace("(?:\\.[A-Za-z])*", "(?:\\.[A-Za-z])+", 1)
REDAUX = f"{APOS}(?i:[msd]|re|ve|ll)"
SREDAUX = f"(?i:n){APOSETC}(?i:t)"


def _ci(words: str) -> str:
    """A case-insensitive group of ``|``-separated alternatives, longest first (Python's
    alternation takes the first alternative that matches, JFlex the longest)."""
    alts = sorted(words.split("|"), key=len, reverse=True)
    return f"(?i:{'|'.join(alts)})"


ABMONTH = "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
ABDAYS = "mon|tue|tues|wed|thu|thurs|fri"
ABSTATE = (
    "calif|mass|conn|fla|ill|mich|pa|va|ariz|tenn|mo|md|wis|minn|ind|okla|wash|kan|ore|ga"
    "|colo|ky|del|ala|la|nev|neb|ark|miss|vt|wyo|tex"
)
ABCOMP = "inc|cos?|corp|pp?tys?|ltd|plc|bancorp|dept|bhd|assn"
ABNUM = "prop|ph"
ABPTIT = "jr|bros|sr|ed\\.d|ph\\.d"
ABBREV1 = f"(?:{_ci(ABPTIT)}|{_ci(ABMONTH + '|' + ABDAYS + '|' + ABSTATE + '|' + ABCOMP)}"
ABBREV1 += f"|{_ci(ABNUM + '|etc|al|seq')})\\."
ABTITLE = (
    "mr|mrs|ms|miss|drs?|profs?|sens?|reps?|lt|col|gen|messrs|govs?|adm|rev|maj|sgt|pvt"
    "|mt|capt|st|ave|pres|lieut|hon|brig|co?mdr|pfc|spc|supts?|det|ft"
)
_ABOTHER = _ci("vs|alex|wm|jos|cie|a\\.k\\.a|cf|treas")
ABBREV4 = f"(?:{_ci(ABTITLE)}|{_ABOTHER}|{ACRO})"
ABBREV2 = f"{ABBREV4}\\."
ACRONYM = f"{ACRO}\\."
ABBREV3 = _ci("ca|figs?|prop|nos?|art|bldg|pp|op") + "\\."
SENT_START = (
    "[A]bout|[A]ccording|[A]dditionally|[A]fter|[A]n|[A]|[A]s|[A]t|[B]ut|[E]arlier|[H]e"
    "|[H]er|[H]ere|[H]owever|[I]f|[I]n|[I]t|[L]ast|[M]any|[M]ore|[M]r\\.|[M]s\\.|[N]ow"
    "|[O]nce|[O]ne|[O]ther|[O]ur|[S]he|[S]ince|[S]o|[S]ome|[S]uch|[T]hat|[T]he|[T]hen"
    "|[T]here|[T]hese|[T]hey|[T]his|[W]e|[W]hen|[W]hile|[W]hat|[Y]et|[Y]ou"
)
SGML = (
    "<(?:[!?][A-Za-z-][^>\r\n]*|[A-Za-z][A-Za-z0-9_:.-]*(?:[ ]+(?:[A-Za-z][A-Za-z0-9_:.-]*"
    "|[A-Za-z][A-Za-z0-9_:.-]*[ ]*=[ ]*(?:'[^']*'|\"[^\"]*\"|[A-Za-z][A-Za-z0-9_:.-]*)))*"
    "[ ]*/?|/[A-Za-z][A-Za-z0-9_:.-]*)[ ]*>"
)
SENTEND = f"{SPACENL}(?:{SPACENL}|{UPPER}|{SGML})"
MISCSYMBOL = (
    "[+%&~^|\\\\\u00a6\u00a7\u00a8\u00a9\u00ac\u00ae\u00af\u00b0-\u00b3\u00b4-\u00ba"
    "\u00d7\u00f7\u0387\u05be\u05c0\u05c3\u05c6\u05f3\u05f4\u0600-\u0603\u0606-\u060a"
    "\u060c\u0614\u061b\u061e\u066a\u066d\u0703-\u070d\u07f6\u07f7\u07f8\u0964\u0965"
    "\u0e4f\u1fbd\u2016\u2017\u2020-\u2025\u2030-\u2038\u203b\u203c\u2043\u203e-\u2042"
    "\u2044\u207a-\u207f\u208a-\u208e\u2100-\u214f\u2190-\u21ff\u2200-\u2bff\u3001-\u3006"
    "\u3008-\u3020\u30fb\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]"
)

#: quotes that may open a quotation (the rules that guess "opening" skip right quotes)
OPEN_QUOTES = (
    "(?:'|&apos;|[`\u2018\u201a-\u201c\u201e\u201f\u0082\u0084\u0091\u0093\u2039\u00ab]{1,2})"
)

# quotes -> PTB forms (latex quotes), with a guess of "opening" from the rule
_SQ = re.compile("&apos;|'")
_DQ = re.compile("\"|''|'`|`'|&quot;")
_LSQ = re.compile("[\u0082\u008b\u0091\u2018\u201a\u201b\u2039]")
_RSQ = re.compile("[\u0092\u009b\u00b4\u2019\u203a]")
_LDQ = re.compile("[\u0084\u0093\u201c\u00ab]|[\u0091\u2018]'")
_RDQ = re.compile("[\u0094\u201d\u00bb]|[\u0092\u2019]'")


def _quotes(tok: str, left: bool) -> str:
    single, double = ("`", "``") if left else ("'", "''")
    tok = _DQ.sub(double, _SQ.sub(single, tok))
    tok = _LSQ.sub("`", tok)
    tok = _RSQ.sub("'", tok)
    tok = _LDQ.sub("``", tok)
    return _RDQ.sub("''", tok)


_CURRENCY = {"\u00a2": "cents", "\u00a3": "#", "\u0080": "$", "\u20ac": "$"}
_FRACTIONS = {"\u00bc": "1/4", "\u00bd": "1/2", "\u00be": "3/4", "\u2153": "1/3", "\u2154": "2/3"}
_BRACKETS = {"(": "-LRB-", ")": "-RRB-", "{": "-LCB-", "}": "-RCB-", "[": "-LSB-", "]": "-RSB-"}

# An action maps the matched text (trailing context excluded) to (token or None,
# characters consumed); None deletes the text, consumed < len(text) gives text back.
Action = Callable[[str], tuple[str | None, int]]


def _keep(t: str) -> tuple[str | None, int]:
    return t, len(t)


def _skip(t: str) -> tuple[str | None, int]:
    return None, len(t)


def _back(n: int) -> Action:
    return lambda t: (t[:-n], len(t) - n)


def _quote(left: bool) -> Action:
    return lambda t: (_quotes(t, left), len(t))


def _period_too(t: str) -> tuple[str | None, int]:
    """The abbreviation with its period, and the period once more (sentence end)."""
    return t, len(t) - 1


def _acronym(t: str) -> tuple[str | None, int]:
    if len(t) == 2:  # "I." -> "I" + "."
        return t[:-1], 1
    return t, len(t) - 1


def _remove_from_number(t: str) -> tuple[str | None, int]:
    return re.sub("[\u00ad\u066c\u2009\u202f]", "", t), len(t)


def _nbsp(t: str) -> tuple[str | None, int]:
    return t.replace(" ", "\u00a0"), len(t)


def _phone(t: str) -> tuple[str | None, int]:
    return t.replace(" ", "\u00a0").replace("(", "-LRB-").replace(")", "-RRB-"), len(t)


def _smiley(t: str) -> tuple[str | None, int]:
    return t.replace("(", "-LRB-").replace(")", "-RRB-"), len(t)


def _hyphens(t: str) -> tuple[str | None, int]:
    return ("--" if 3 <= len(t) <= 4 else t), len(t)


def _soft(t: str) -> tuple[str | None, int]:
    return t.replace("\u00ad", ""), len(t)


def _amp(t: str) -> tuple[str | None, int]:
    return t.replace("&amp;", "&"), len(t)


def _const(s: str) -> Action:
    return lambda t: (s, len(t))


def _map(table: dict[str, str]) -> Action:
    return lambda t: ("".join(table.get(c, c) for c in t), len(t))


_SMILEY = "[<>]?[:;=][-o*']?[()DPdpO\\\\{@|\\[\\]]"
_ASIANSMILEY = (
    "[\\^x=~<>]\\.\\[\\^x=~<>]|[-\\^x=~<>']_[-\\^x=~<>']|\\([-\\^x=~<>'][_.]?[-\\^x=~<>']\\)"
    "|\\([\\^x=~<>']-[\\^x=~<>'`]\\)"
)

#: (main pattern, trailing-context pattern or None, action), in the scanner's order
_RULE_TABLE: list[tuple[str, str | None, Action]] = [
    (_ci("cannot|'twas"), None, _back(3)),
    (_ci("'tis|gonna|gotta|lemme|gimme|wanna"), None, _back(2)),
    (SGML, None, _nbsp),
    ("(?i:&(?:MD|mdash|ndash);)|[\u0096\u0097\u2013\u2014\u2015]", None, _const("--")),
    ("(?i:&amp;)", None, _const("&")),
    ("(?i:&(?:HT|TL|UR|LR|QC|QL|QR|odq|cdq|#[0-9]+);)", None, _keep),
    (WORD, REDAUX, _soft),
    (f"[{_L}\u00ad]*[A-MO-Za-mo-z]\u00ad*", SREDAUX, _soft),
    (WORD, None, _soft),
    (
        f"{APOS}(?i:n){APOS}?|[lLdDjJ]{APOS}|(?i:dunkin){APOS}|(?i:somethin){APOS}"
        f"|(?i:ol){APOS}|{APOS}(?i:em)|[A-HJ-XZn]{APOSETC}{LETTER}{{2}}{LETTER}*"
        f"|{APOS}[2-9]0(?i:s)|{APOS}(?i:till?)|{LETTER}{LETTER}*[aeiouyAEIOUY]{APOSETC}"
        f"[aeiouA-Z]{LETTER}*|{APOS}(?i:cause)|(?i:cont'd)\\.?|(?i:nor'easter|c'mon|e'er"
        f"|s'mores|ev'ry|li'l|nat'l)|(?i:o){APOSETC}(?i:o)",
        None,
        _keep,
    ),
    (f"(?i:y){APOS}", LETTER, _keep),
    ('(?i:https?)://[^ \t\n\f\r"<>|()]+[^ \t\n\f\r"<>|.!?(){},-]', None, _keep),
    (
        '(?:(?i:www)\\.(?:[^ \t\n\f\r"<>|.!?(){},]+\\.)+[a-zA-Z]{2,4}'
        "|(?:[^ \t\n\f\r\"`'<>|.!?(){},-_$]+\\.)+(?i:com|net|org|edu))"
        '(?:/[^ \t\n\f\r"<>|()]+[^ \t\n\f\r"<>|.!?(){},-])?',
        None,
        _keep,
    ),
    (
        '(?:(?i:&lt;)|<)?[a-zA-Z0-9][^ \t\n\f\r"<>|()\u00a0{}]*@'
        '(?:[^ \t\n\f\r"<>|(){}.\u00a0]+\\.)*[^ \t\n\f\r"<>|(){}.\u00a0]+(?:(?i:&gt;)|>)?',
        None,
        _keep,
    ),
    (f"@[a-zA-Z_][a-zA-Z_0-9]*|#{LETTER}(?:{LETTER}|{DIGIT}|_)*(?:{LETTER}|{DIGIT})", None, _keep),
    (REDAUX, "[^A-Za-z]", _quote(False)),
    (SREDAUX, "[^A-Za-z]", _quote(False)),
    (f"{DIGIT}{{1,2}}[-/]{DIGIT}{{1,2}}[-/]{DIGIT}{{2,4}}", None, _keep),
    (NUMBER, None, _remove_from_number),
    (
        "[\u207a\u207b\u208a\u208b]?(?:[\u2070\u00b9\u00b2\u00b3\u2074-\u2079]+|[\u2080-\u2089]+)",
        None,
        _keep,
    ),
    (f"(?:{DIGIT}{{1,4}}[- \u00a0])?{DIGIT}{{1,4}}(?:\\\\?/|\u2044){DIGIT}{{1,4}}", None, _nbsp),
    ("[\u00bc\u00bd\u00be\u2153-\u215e]", None, _map(_FRACTIONS)),
    (
        "-(?:RRB|LRB|RCB|LCB|RSB|LSB)-|C\\.D\\.s|pro-|anti-|S(?:&|(?i:&amp;))P-500|S(?:&|(?i:&amp;))Ls"
        f"|Cap{APOS}n|c{APOS}est",
        None,
        _amp,
    ),
    (f"{_ci('e|yahoo|jeopardy')}!", None, _keep),
    (
        f"{ALNUM}+(?:-{ALPHA}+){{0,2}}(?:\\\\?/{ALNUM}+(?:-{ALPHA}+){{0,2}}){{1,2}}",
        None,
        _keep,
    ),
    ("[A-Z]*\\$|#", None, _keep),
    (
        "[\u00a2\u00a3\u00a4\u00a5\u0080\u20a0\u20ac\u060b\u0e3f\u20a4\uffe0\uffe1\uffe5\uffe6]",
        None,
        _map(_CURRENCY),
    ),
    (ACRONYM, f"{SPACENL}+(?:{SENT_START}|{SGML})(?:{SPACENL}|[?!])", _acronym),
    (ABBREV3, f"{SPACENL}?{DIGIT}", _keep),
    (_ci("so|no") + "\\.", f"{SPACENL}+{_ci('africa|korea|cal')}", _keep),
    (_ci("pt[ey]|co") + "\\.", f"{SPACE}{_ci('ltd|lim')}", _keep),
    (ABBREV1, SENTEND, _period_too),
    (ABBREV1, "[\\s\\S][\\s\\S]", _keep),
    (ABBREV1, None, _period_too),
    (ABBREV2, None, _keep),
    (ABBREV4, SPACE, _keep),
    (ACRO, SPACENL, _keep),
    (f"{APOS}[0-9][0-9]", SPACENL, _keep),
    ("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[x0-9]{2}:[0-9]{2}Z?", None, _keep),
    ("\u00b0[CF]", None, _keep),
    (f"{WORD}\\.", "[,;:\u3001]", _soft),
    (
        "(?:\\([0-9]{2,3}\\)[ \u00a0]?|(?:\\+\\+?)?(?:[0-9]{2,4}[- \u00a0])?[0-9]{2,4}[- \u00a0])"
        "[0-9]{3,4}[- \u00a0]?[0-9]{3,5}|(?:(?:\\+\\+?)?[0-9]{2,4}\\.)?[0-9]{2,4}\\.[0-9]{3,4}"
        "\\.[0-9]{3,5}",
        None,
        _phone,
    ),
    ("\"|(?i:&quot;)|[`'\u0091\u0092\u2018\u2019]'", f"[{_L}{_ND}$]", _quote(True)),
    ("\"|(?i:&quot;)|[`'\u0091\u0092\u2018\u2019]'", None, _quote(False)),
    ("\x7f", None, _skip),
    ("<|(?i:&lt;)", None, _const("<")),
    (">|(?i:&gt;)", None, _const(">")),
    (_SMILEY, f"[^{_L}{_ND}]", _smiley),
    (_ASIANSMILEY, None, _smiley),
    ("[{}\\[\\]()]", None, _map(_BRACKETS)),
    ("-+", None, _hyphens),
    ("\\.\\.\\.+|[\u0085\u2026]", f"\\.{SPACENL}+{LETTER}", _const("...")),
    ("\\.[ \u00a0](?:\\.[ \u00a0])+\\.", f"{SPACE}\\.{SPACENL}+{LETTER}", _const("...")),
    ("\\.\\.\\.+|[\u0085\u2026]|\\.[ \u00a0](?:\\.[ \u00a0])+\\.", None, _const("...")),
    ("@+|#+|_+", None, _keep),
    ("\\*+|(?:\\\\\\*){1,3}", None, _keep),
    ("[,;:\u3001]", None, _keep),
    ("[?!]+", None, _keep),
    ("[.\u00a1\u00bf\u037e\u0589\u061f\u06d4\u0700-\u0702\u07fa\u3002]", None, _keep),
    ("=+", None, _keep),
    ("/", None, _keep),
    (
        f"{ALNUM}[{_L}{_ND}.,\u00ad]*(?:-(?:[{_L}{_ND}\u00ad]+(?:\\.{DIGIT}+)?|{ACRO2}\\.))+",
        None,
        _soft,
    ),
    (
        f"(?:[dDoOlL]{APOSETC}{ALNUM})?(?:{ALNUM}+|{NUMBER})"
        f"(?:{HYPHEN}(?:[dDoOlL]{APOSETC}{ALNUM})?(?:{ALNUM}+|{NUM}))*",
        None,
        _quote(False),
    ),
    ("[A-Z]+(?:(?:[+&]|(?i:&amp;))[A-Z]+)+", "[,;:\u3001]", _amp),
    ("[A-Z]+(?:(?:[+&]|(?i:&amp;))[A-Z]+)+", None, _amp),
    (OPEN_QUOTES, f"{LETTER}[^ \t\u00a0\u2000-\u200a\u3000{NL}]", _quote(True)),
    (OPEN_QUOTES, f"[AaIiUu][ \t\u00a0\u2000-\u200a\u3000{NL}]", _quote(True)),
    (
        f"(?:{APOS}|[`\u2018-\u201f\u0082\u0084\u0091-\u0094\u2039\u203a\u00ab\u00bb]{{1,2}})",
        None,
        _quote(False),
    ),
    (REDAUX, None, _quote(False)),
    (SREDAUX, None, _quote(False)),
    ("<<|>>", None, _keep),
    (MISCSYMBOL, None, _keep),
    ("[\u0086\u0087\u0089\u0095\u0098\u0099]", None, _keep),
    (f"\0|{SPACE}+|[\u200b\u200e\u200f\ufeff]|[{NL}]|(?i:&nbsp;)", None, _skip),
]

_RULES = [
    (re.compile(main if ctx is None else f"({main})(?:{ctx})"), ctx is not None, act)
    for main, ctx, act in _RULE_TABLE
]


def _first_chars(pattern: str) -> re.Pattern | None:
    """A one-character regex matching (a superset of) the characters a match of
    ``pattern`` can start with; None: any character (or the empty string)."""
    from re import _constants as c  # type: ignore[attr-defined]
    from re import _parser as p

    parts: list[str] = []
    ignore = False

    def seq(items) -> bool:  # True: the sequence can match the empty string
        for op, av in items:  # noqa: SIM110 (stop at the first item that cannot be empty)
            if not one(op, av):
                return False
        return True

    def one(op, av) -> bool:
        nonlocal ignore
        if op is c.LITERAL:
            parts.append(re.escape(chr(av)))
            return False
        if op is c.IN:
            for iop, iav in av:
                if iop is c.LITERAL:
                    parts.append(re.escape(chr(iav)))
                elif iop is c.RANGE:
                    parts.append(f"{re.escape(chr(iav[0]))}-{re.escape(chr(iav[1]))}")
                else:  # NEGATE, CATEGORY: give up on this rule
                    raise LookupError
            return False
        if op is c.BRANCH:
            return any([seq(alt) for alt in av[1]])
        if op is c.SUBPATTERN:
            ignore |= bool(av[1] & re.IGNORECASE)
            return seq(av[3])
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            return seq(av[2]) or av[0] == 0
        raise LookupError  # ANY, NOT_LITERAL, AT, ASSERT, ...

    try:
        if seq(p.parse(pattern)) or not parts:
            return None
    except LookupError:
        return None
    return re.compile(f"[{''.join(parts)}]", re.IGNORECASE if ignore else 0)


_FIRST = [_first_chars(main) for main, _, _ in _RULE_TABLE]
_CANDIDATES: dict[str, list] = {}


def _candidates(ch: str) -> list:
    """The rules a match at a position holding ``ch`` can come from, in order."""
    rules = _CANDIDATES.get(ch)
    if rules is None:
        rules = [r for r, f in zip(_RULES, _FIRST, strict=True) if f is None or f.match(ch)]
        _CANDIDATES[ch] = rules
    return rules


#: what the scanner sees after a caption: the start of a next line in lower case
_AFTER = "\nqqsentinelqq\n"


#: words of letters between spaces are one token each (no rule splits a run of letters
#: but the assimilations below, none looks behind, and none looks past a word of letters
#: followed by a space), so a caption whose words are all letters but (maybe) the last is
#: split there and only its last word scanned: ``A man on a surfboard.`` scans
#: ``surfboard.`` (cached: such last words repeat)
_PLAIN = re.compile("[A-Za-z ]*")
_ASSIMILATIONS = frozenset(["cannot", "gonna", "gotta", "lemme", "gimme", "wanna"])


def ptb_tokens(text: str, after: str = _AFTER) -> list[str]:
    """CoreNLP 3.4.1 ``PTBTokenizer -lowerCase`` tokens of one line of text (no filter).

    :param text: one caption; line breaks inside it act as token boundaries
    :param after: the text the scanner sees after the caption: ``"\n"`` + the next
        lines of the file (``""``: the end of the file); by default a next line that
        starts with a lower-case word
    :return: lower-cased PTB tokens, punctuation included (``-lrb-``, ``.``, ``''``)
    """
    cut = text.rfind(" ", 0, len(text.rstrip(" "))) + 1  # start of the last word
    if _PLAIN.fullmatch(text, 0, cut):  # fast path (most captions)
        words = text[:cut].lower().split()
        if _ASSIMILATIONS.isdisjoint(words):
            return words + list(_lex(text[cut:], after))
    return list(_lex(text, after))


@functools.lru_cache(maxsize=1 << 16)
def _lex(text: str, after: str) -> tuple[str, ...]:
    """The scanner itself (cached: a sweep scores the same references on every row)."""
    end = len(text)
    s = text + after
    pos, out = 0, []
    while pos < end:
        ch = s[pos]
        if ch == " ":  # only the whitespace rule starts with a space
            pos += 1
            continue
        best_len, best = 0, None
        for rx, has_ctx, act in _candidates(ch):
            m = rx.match(s, pos)
            if m is None:
                continue
            total = m.end() - pos
            if total > best_len:
                best_len = total
                best = (m.group(1) if has_ctx else m.group(0), act)
        if best is None:  # untokenisable: deleted
            pos += 1
            continue
        tok, consumed = best[1](best[0])
        if tok:
            out.append(tok.lower())
        pos += max(consumed, 1)
    return tuple(out)
