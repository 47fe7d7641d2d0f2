"""Finding parts and models: numbers in every spelling, words as technicians type them.

A number is answered by the database first (its own index on the normal form, and supersession:
an old number finds the part to order today); a number's family by prefix, and words, by a
Whoosh index of the newest release. Words are stemmed, forgive one typo or a swapped pair,
and reach the catalogue's vocabulary through synonyms engineers keep ("power supply" means
POWER BOARD). Every word must match, so a query about something the catalogue does not hold
finds nothing rather than noise; words the catalogue has never used are set aside and said so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from whoosh.collectors import Collector, FilterCollector, TopCollector
from whoosh.query import And, NullQuery, Or, Prefix, Query, Term
from whoosh.searching import Hit as WhooshHit
from whoosh.searching import Searcher

from parts_catalog.diagrams import ref_number_query
from parts_catalog.models import (
    FitmentVersion,
    ModelVersion,
    PartVersion,
    Release,
    SearchSynonym,
)
from parts_catalog.numbers import normalise
from parts_catalog.search_index import KINDS, MODEL, PART, SCHEMA, analyzer, stems
from parts_catalog.services import resolve_number
from parts_catalog.spelling import (
    MODEL_NUMBER,
    SPELLING,
    SPELLING_AND_MODEL,
    NearNumber,
    near_numbers,
    nearest_words,
    synonym_words,
)
from parts_catalog.supersession import CURRENT, KIT, NLA, NO_LONGER_AVAILABLE, Resolution

# How far below the best text match a result may score and still be shown: the tail of a
# ranking is where noise lives.
RELATIVE_FLOOR = 0.25
# Ranking weights for what a part's status says about ordering it today.
_STATUS_WEIGHT = {"active": 1.0, "discontinued": 0.8, NLA: 0.5}
_SUPERSEDED_WEIGHT = 0.7
# Facets count the stored fields of this many best results.
FACET_WINDOW = 500
FAMILY_LIMIT = 200  # members of a number's family listed, in number order
SUGGESTIONS = 5  # "did you mean" offers at most this many
_CHECKS = 4  # corrected queries tried (each a search) before giving up


#: For each searcher (one index generation as one worker thread sees it; a changed index is a new
#: searcher), each scored document's ranking weight and key. Reading them from the stored fields
#: of a word search's hundred candidates was a sixth of its time, the same documents again and
#: again; the candidates shown are still read whole.
_RANKING: WeakKeyDictionary[Searcher, dict[int, tuple[float, str]]] = WeakKeyDictionary()
_RANKING_KEPT = 100_000  # documents a searcher keeps: about 25 MB at most

#: For each searcher, what a word comes to in its index: the words a stem stands for by field
#: (``PartSearch._variants``: a typo's nearest word costs a walk of the term list), and a word
#: as corrected against the titles' words. Technicians' words repeat from search to search; a
#: changed index is a new searcher, with nothing kept.
_WORDS_SEEN: WeakKeyDictionary[Searcher, dict[tuple[str, str], Any]] = WeakKeyDictionary()
_WORDS_SEEN_KEPT = 20_000  # words a searcher keeps (then it starts again)


def _words_seen(searcher: Searcher) -> dict[tuple[str, str], Any]:
    kept = _WORDS_SEEN.get(searcher)
    if kept is None:
        kept = _WORDS_SEEN.setdefault(searcher, {})
    elif len(kept) >= _WORDS_SEEN_KEPT:
        kept.clear()
    return kept


#: A text's words as the index analyses them, with where each lies in it: highlighting a hit
#: analysed its title and where it fits again for every search, and titles repeat ("POWER
#: BOARD"). Depends on the text alone.
_TOKENS: dict[str, tuple[tuple[str, int, int], ...]] = {}
_TOKENS_KEPT = 50_000


# --- synonyms ------------------------------------------------------------------------------------


Synonyms = Mapping[tuple[str, ...], Sequence[tuple[str, ...]]]


#: Which state of the list a reading is: pairs are only added and removed
#: (``parts_catalog.synonyms``), so an addition moves the newest id and time, a removal the count.
_SYNONYMS_VERSION = select(
    func.count(SearchSynonym.id), func.max(SearchSynonym.id), func.max(SearchSynonym.updated_at)
)
#: By database (an engine): the version read and the list as stems at that version.
_synonyms_read: dict[int, tuple[tuple[Any, ...], dict[tuple[str, ...], list[tuple[str, ...]]]]] = {}


def load_synonyms(session: Session) -> dict[tuple[str, ...], list[tuple[str, ...]]]:
    """The synonym list, as stems: technicians' words → the catalogue's. Shared: not to be
    changed.

    Stemming the list again for every search cost a twentieth of its time: the process keeps it,
    and one small statement a search says whether it changed since, so an engineer's change
    works at once on every worker and node.
    """
    version = tuple(session.execute(_SYNONYMS_VERSION).one())
    engine = id(session.get_bind())
    kept = _synonyms_read.get(engine)
    if kept is not None and kept[0] == version:
        return kept[1]
    found: dict[tuple[str, ...], list[tuple[str, ...]]] = defaultdict(list)
    for words, means in session.execute(select(SearchSynonym.words, SearchSynonym.means)):
        key, value = stems(words), stems(means)
        if key and value:
            found[key].append(value)
    if len(_synonyms_read) > 16:
        _synonyms_read.clear()  # engines come and go in tests; a server has one
    _synonyms_read[engine] = (version, dict(found))
    return _synonyms_read[engine][1]


def _alternatives(words: tuple[str, ...], synonyms: Synonyms) -> list[tuple[str, ...]]:
    """``words``, and ``words`` with each phrase the synonym list knows put in its terms."""
    found = [words]
    for phrase, meanings in synonyms.items():
        n = len(phrase)
        for start in range(len(words) - n + 1):
            if words[start : start + n] == phrase:
                for meaning in meanings:
                    found.append(words[:start] + meaning + words[start + n :])
    return list(dict.fromkeys(found))


# --- queries -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    category: str | None = None
    status: str | None = None
    product_line: str | None = None
    model: str | None = None

    def query(self) -> Query | None:
        terms: list[Query] = []
        if self.category:
            terms.append(Term("category", self.category.lower()))
        if self.status:
            terms.append(Term("status", self.status))
        if self.product_line:
            terms.append(Term("product_line", self.product_line.lower()))
        if self.model:
            terms.append(Term("models", normalise(self.model)))
        return And(terms) if terms else None

    def any(self) -> bool:
        return bool(self.category or self.status or self.product_line or self.model)


@dataclass(frozen=True)
class Highlight:
    """Why a result matched: ``text`` with the matching ``spans`` (start, end) marked."""

    field: str
    text: str
    spans: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Replacement:
    """What supersession says of the number asked for: the parts to order today."""

    requested: str
    outcome: str  # as in parts_catalog.supersession: superseded, kit, no_longer_available
    chain: tuple[str, ...]  # every number on the way, the requested one first
    order: tuple[str, ...]  # the parts to order instead

    @property
    def summary(self) -> str:
        if self.outcome == NO_LONGER_AVAILABLE:
            return "superseded, but nothing on the chain is available any more"
        what = "replaced by a kit" if self.outcome == KIT else "superseded"
        return f"{what}: order {', '.join(self.order)}"


def replacement_of(requested: str, resolution: Resolution) -> Replacement | None:
    """What to order instead of ``requested``, or ``None`` when it is itself the part to order
    (or unknown): the one sentence search results and the part page's heading both show."""
    if not resolution.known or resolution.outcome == CURRENT or not resolution.chain:
        return None
    chain = [requested] + [edge.new_number for edge in resolution.chain]
    return Replacement(
        requested=requested,
        outcome=resolution.outcome,
        chain=tuple(dict.fromkeys(chain)),
        order=tuple(item.part_number for item in resolution.result if item.status != NLA),
    )


@dataclass(frozen=True)
class Hit:
    kind: str
    key: str
    title: str
    score: float
    why: str  # "number", "replaces", "number prefix", "words"
    status: str = ""
    category: str = ""
    safety_critical: bool = False
    highlights: tuple[Highlight, ...] = ()
    replacement: Replacement | None = None


@dataclass(frozen=True)
class Suggestion:
    """A query to try instead ("did you mean"), and why: ``reason`` is how a number differs
    (``spelling.DIGIT``, ``LETTER``, ``SWAP``, ``MISSING``, ``EXTRA``) or what was corrected in
    words (``SPELLING``, ``MODEL_NUMBER``, ``SPELLING_AND_MODEL``)."""

    query: str
    reason: str
    kind: str = ""  # part or model: the catalogue number suggested, or corrected in the words
    key: str = ""  # that number as the catalogue spells it
    title: str = ""  # its description (a model's name)
    status: str = ""  # a part's status, "superseded" when something replaces it; "model"
    found: int = 0  # results a corrected query finds (a number is one)


@dataclass
class Results:
    query: str
    hits: list[Hit] = field(default_factory=list)
    total: int = 0
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    did_you_mean: str | None = None  # the best of ``suggestions``
    suggestions: list[Suggestion] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # words the catalogue never uses
    model: str | None = None  # a model number in the query, used as a filter
    unavailable: bool = False  # the index could not be read: only exact numbers were answered
    total_is_estimate: bool = False  # ``total`` is an upper bound


# How much a field's match counts, and a near word (a typo) against the word itself.
_FIELD_WEIGHT = {"title": 2.0, "fits": 1.0}
_NEAR_WEIGHT = 0.3


def _has_digit(text: str) -> bool:
    return any(ch.isdigit() for ch in text)


def _is_number(token: str) -> bool:
    norm = normalise(token)
    return len(norm) >= 3 and any(ch.isdigit() for ch in norm)


def _looks_like_a_number(text: str) -> bool:
    """ "1 474 594 11", "kdl-55w", "A2072": digits, and no word that is only letters."""
    tokens = text.split()
    if not tokens or not any(ch.isdigit() for ch in text):
        return False
    return len(tokens) == 1 or all(any(ch.isdigit() for ch in t) or len(t) <= 3 for t in tokens)


def _spans(spelled: str, norm_prefix: str) -> tuple[tuple[int, int], ...]:
    """Where the normal-form prefix lies in the number as spelled (separators skipped)."""
    matched = 0
    for end, char in enumerate(spelled, start=1):
        if normalise(char):
            matched += 1
        if matched == len(norm_prefix):
            return ((0, end),)
    return ((0, len(spelled)),)


def _word_spans(text: str, matched: set[str]) -> tuple[tuple[int, int], ...]:
    tokens = _TOKENS.get(text)
    if tokens is None:
        if len(_TOKENS) >= _TOKENS_KEPT:
            _TOKENS.clear()
        tokens = _TOKENS[text] = tuple(
            (token.text, token.startchar, token.endchar)
            for token in analyzer(text, chars=True, mode="index")
        )
    return tuple((start, end) for word, start, end in tokens if word in matched)


class PartSearch:
    """One search over the parts index and the database, for one query."""

    def __init__(
        self,
        session: Session,
        searcher: Searcher | None,
        release: Release,
        *,
        kinds: Sequence[str] = KINDS,
        filters: Filters | None = None,
        synonyms: Synonyms | None = None,
    ) -> None:
        self.session = session
        self.searcher = searcher
        self.release = release
        self.kinds = [k for k in kinds if k in KINDS]
        self.filters = filters or Filters()
        self.synonyms = synonyms or {}
        self._synonym_vocabulary: list[str] | None = None

    def run(
        self,
        text: str,
        *,
        limit: int = 20,
        offset: int = 0,
        facets: bool = False,
        suggest: bool = True,
    ) -> Results:
        """Results for ``text``, best first: the number asked for (and what replaces it), the
        number's family, then words.

        When nothing is found, or words (a model number among them) had to be left out, and
        ``suggest``: ``suggestions`` holds what to try instead, each checked to find something.

        Without a searcher (the index is missing or damaged) exact numbers are still answered,
        from the database, and ``unavailable`` says that the rest could not be.
        """
        text = " ".join(text.split())[:200]
        results = Results(query=text)
        if not text or not self.kinds:
            return results
        hits: list[Hit] = []
        asked = ref_number_query(text)
        if asked is not None and PART in self.kinds:
            # "kdl-55w800c ref 251": the part at that ref on the model's exploded view, first.
            hits = self._ref_number(*asked)
            if hits:
                model_norm = normalise(asked[0])
                results.model = self._model_number(model_norm)
                hits += [h for h in self._numbers(model_norm) if h.kind == MODEL]
                results.total = len(hits)
                results.hits = hits[offset : offset + limit]
                return results
        norm = normalise(text)
        if any(ch.isdigit() for ch in norm):
            hits = self._numbers(norm)  # "ILCE 7M3" as well as "1-474-594-11"
        if _looks_like_a_number(text) and self.searcher is not None:
            hits += self._family(norm, results, facets=facets, seen=hits)
        results.unavailable = self.searcher is None
        if not hits and self.searcher is not None:
            hits = self._words(text, results, limit=limit + offset, facets=facets)
        results.total = max(results.total, len(hits))
        results.hits = hits[offset : offset + limit]
        if suggest and (not hits or results.ignored):
            results.suggestions = self._did_you_mean(text, results, found=bool(hits))
            results.did_you_mean = results.suggestions[0].query if results.suggestions else None
        return results

    # numbers, from the database

    def _ref_number(self, model: str, ref_no: str) -> list[Hit]:
        """The parts fitted at reference ``ref_no`` on ``model``, as of the release."""
        model_norm = normalise(model)
        spelled = self._model_number(model_norm)
        if spelled is None:
            return []
        fitted = self.session.execute(
            select(FitmentVersion.part_norm, FitmentVersion.diagram)
            .where(
                FitmentVersion.model_norm == model_norm,
                func.upper(FitmentVersion.ref_no) == ref_no.upper(),
                FitmentVersion.as_of(self.release.id),
            )
            .order_by(FitmentVersion.id)
        ).all()
        hits = []
        for part_norm, diagram in fitted:
            part = self.session.scalar(
                select(PartVersion).where(
                    PartVersion.number_norm == part_norm, PartVersion.as_of(self.release.id)
                )
            )
            if part is None:
                continue
            # Said as where it fits, so pages show it where they show fitments.
            where = f"{spelled} at ref {ref_no}"
            spans = ((len(spelled) + 4, len(where)),)
            where += f" ({diagram})" if diagram else ""
            hits.append(
                self._part_hit(
                    part, why="ref", score=110.0, extra=(Highlight("fits", where, spans),)
                )
            )
        return hits

    def _numbers(self, norm: str) -> list[Hit]:
        """The part or model with this number; for a part that has been superseded, the parts
        to order today after it, each saying what it replaces."""
        hits: list[Hit] = []
        if PART in self.kinds:
            part = self.session.scalar(
                select(PartVersion).where(
                    PartVersion.number_norm == norm, PartVersion.as_of(self.release.id)
                )
            )
            resolution = resolve_number(self.session, norm, release=self.release)
            replacement = replacement_of(part.number if part else norm, resolution)
            if part is not None:
                notes = (Highlight("replaced_by", replacement.summary),) if replacement else ()
                hits.append(
                    self._part_hit(
                        part, why="number", score=100.0, replacement=replacement, extra=notes
                    )
                )
            if replacement is not None:
                hits += self._replacements(replacement, resolution)
        if MODEL in self.kinds:
            model = self.session.scalar(
                select(ModelVersion).where(
                    ModelVersion.number_norm == norm, ModelVersion.as_of(self.release.id)
                )
            )
            if model is not None:
                hits.append(
                    Hit(
                        kind=MODEL,
                        key=model.number,
                        title=model.name or model.number,
                        score=100.0,
                        why="number",
                        status="model",
                        category=model.product_line or "",
                        highlights=(Highlight("number", model.number, ((0, len(model.number)),)),),
                    )
                )
        return hits

    def _replacements(self, replacement: Replacement, resolution: Resolution) -> list[Hit]:
        hits = []
        requested = replacement.requested
        via = [n for n in replacement.chain[1:] if n not in replacement.order]
        for item in resolution.result:
            part = self.session.scalar(
                select(PartVersion).where(
                    PartVersion.number_norm == normalise(item.part_number),
                    PartVersion.as_of(self.release.id),
                )
            )
            if part is None:
                continue
            if resolution.outcome == KIT:
                note = f"in the kit that replaces {requested}"
            elif item.status == NLA:
                note = f"{requested} leads here, but this is no longer available"
            else:
                note = f"replaces {requested}"
            if via:
                note += f" (via {', '.join(via)})"
            if item.quantity != 1:
                note += f"; order × {item.quantity}"
            if item.condition:
                note += f"; {item.condition}"
            hits.append(
                self._part_hit(
                    part,
                    why="replaces",
                    score=95.0,
                    replacement=replacement,
                    extra=(Highlight("replaces", note),),
                )
            )
        return hits

    def _part_hit(
        self,
        part: PartVersion,
        *,
        why: str,
        score: float,
        replacement: Replacement | None = None,
        extra: tuple[Highlight, ...] = (),
    ) -> Hit:
        spans = ((0, len(part.number)),) if why == "number" else ()
        return Hit(
            kind=PART,
            key=part.number,
            title=part.description,
            score=score,
            why=why,
            status=part.status,
            category=part.category or "",
            safety_critical=part.safety_critical,
            highlights=(*extra, Highlight("number", part.number, spans)) if spans else extra,
            replacement=replacement,
        )

    # the index

    def _restrict(self) -> Query | None:
        terms: list[Query] = []
        if len(self.kinds) < len(KINDS):
            terms.append(Or([Term("kind", k) for k in self.kinds]))
        if (f := self.filters.query()) is not None:
            terms.append(f)
        return And(terms) if terms else None

    def _search(self, query: Query, *, limit: int, facets: bool, **options: Any) -> Any:
        """The best ``limit`` matches (at least ``FACET_WINDOW`` when counting facets)."""
        assert self.searcher is not None
        restrict = self._restrict()
        if options:  # sorted, not scored: Whoosh's own collector
            return self.searcher.search(query, limit=limit, filter=restrict, **options)
        collector: Collector = _BestCollector(limit=max(limit, FACET_WINDOW) if facets else limit)
        if restrict is not None:
            collector = FilterCollector(collector, allow=restrict)
        self.searcher.search_with_collector(query, collector)
        return collector.results()

    def _family(
        self, norm: str, results: Results, *, facets: bool, seen: Sequence[Hit]
    ) -> list[Hit]:
        if len(norm) < 3:
            return []
        found = self._search(
            Prefix("norm", norm), limit=FAMILY_LIMIT, facets=facets, sortedby="norm"
        )
        known = {h.key for h in seen}
        hits = []
        for hit in found:
            if hit["key"] in known:
                continue
            extra = max(len(hit["norm"]) - len(norm), 0)
            hits.append(
                self._hit(
                    hit,
                    why="number prefix",
                    score=round(50.0 - extra / 10, 3),
                    highlights=(Highlight("number", hit["key"], _spans(hit["key"], norm)),),
                )
            )
        hits.sort(key=lambda h: (-h.score, h.key))
        results.total = len(found)
        if facets:
            self._facets(found, results)
        return hits

    def _words(self, text: str, results: Results, *, limit: int, facets: bool) -> list[Hit]:
        words = self._take_model(text.split(), results)
        if not any(stems(w) for w in words):
            if results.model is None:
                return []
            return self._numbers(normalise(results.model)) if MODEL in self.kinds else []
        # Each word as typed and as corrected against the catalogue's own words (one edit or a
        # swapped pair away); words the catalogue never uses, even so, are set aside.
        typed: list[str] = []  # as typed, for synonyms ("mains lead")
        fixed: list[str] = []  # as corrected against the catalogue ("amplfier", "speakr")
        for word in words:
            word_stems = stems(word)
            if not word_stems:
                continue  # a stop word
            fixed_stems = stems(self._correct(word))
            corrected = fixed_stems != word_stems and all(self._used(s) for s in fixed_stems)
            if corrected or all(self._used(s) or self._synonym_word(s) for s in word_stems):
                typed += word_stems
                fixed += fixed_stems if corrected else word_stems
            else:
                results.ignored.append(word)
        kept = len(words) - len(results.ignored)
        if (
            not typed
            # Words are set aside only from a longer question, and only a minority of them:
            # "hdmi board" in a catalogue without HDMI boards is not a question about boards.
            or (results.ignored and (len(words) < 3 or kept <= len(results.ignored)))
            # What is left must name a thing, not only where it fits: "camera flash" in a
            # catalogue without flashes is not a question about cameras.
            or (results.ignored and not any(self._used(s, ("title",)) for s in fixed))
        ):
            results.ignored = []
            return []
        alternatives = [tuple(fixed), *_alternatives(tuple(typed), self.synonyms)]
        query = self._words_query(alternatives)
        if results.model is not None:
            query = And([query, Term("models", normalise(results.model))])
        wanted = max(limit, 50) * 2
        found = self._search(query, limit=wanted, facets=facets)
        if found.is_empty():
            return []
        best = found[0].score
        scored: list[tuple[float, WhooshHit]] = []
        for hit in found:
            if hit.score < best * RELATIVE_FLOOR:
                break
            scored.append((self._word_score(hit), hit))
        scored.sort(key=lambda pair: (-pair[0], self._ranking(pair[1])[1]))
        # Highlights for the hits asked for only: finding the words in a hundred titles and
        # fits took most of a word search's time, for a page that shows ten of them.
        matching = self._matching_words(alternatives)
        hits = [self._word_hit(hit, matching, score) for score, hit in scored[: max(limit, 1)]]
        if len(scored) < found.scored_length() or found.scored_length() < wanted:
            results.total = len(scored)  # all there is (the tail below the floor is not shown)
        elif found.has_exact_length() or facets:
            results.total = len(found)  # a page with counts beside it must not guess
        else:
            # Counting a million matches exactly costs more than the search: an upper bound.
            results.total = found.estimated_length()
            results.total_is_estimate = True
        if facets:
            self._facets(found, results)
        return hits

    def _word_score(self, hit: WhooshHit) -> float:
        """The index's score, weighed down for parts no longer current or superseded."""
        score: float = hit.score
        return round(score * self._ranking(hit)[0], 3)

    def _ranking(self, hit: WhooshHit) -> tuple[float, str]:
        """A document's weight (:meth:`_word_score`) and key, kept for its searcher."""
        assert self.searcher is not None
        kept = _RANKING.get(self.searcher)
        if kept is None:
            kept = _RANKING.setdefault(self.searcher, {})
        found = kept.get(hit.docnum)
        if found is None:
            weight = 1.0
            if hit["kind"] == PART:
                weight = _STATUS_WEIGHT.get(hit["status"], 0.6)
                if hit.get("replaced_by"):
                    weight *= _SUPERSEDED_WEIGHT
            found = (weight, hit["key"])
            if len(kept) < _RANKING_KEPT:
                kept[hit.docnum] = found
        return found

    def _word_hit(self, hit: WhooshHit, matched: set[str], score: float) -> Hit:
        highlights = [Highlight("title", hit["title"], _word_spans(hit["title"], matched))]
        fits_spans = _word_spans(hit.get("fits") or "", matched)
        if fits_spans:
            highlights.append(Highlight("fits", hit["fits"], fits_spans))
        return self._hit(hit, why="words", score=score, highlights=tuple(highlights))

    def _correct(self, word: str) -> str:
        """``word``, or the catalogue's word one edit (or swap) away when it has none such."""
        assert self.searcher is not None
        lowered = word.lower()
        if len(lowered) < 4 or not lowered.isalpha():
            return lowered
        kept = _words_seen(self.searcher)
        known: str | None = kept.get(("correct", lowered))
        if known is not None:
            return known
        reader = self.searcher.reader()
        if (SCHEMA["title"].spelling_fieldname("title"), lowered) in reader:
            fixed = lowered
        else:
            suggestions = self.searcher.corrector("title").suggest(
                lowered, limit=1, maxdist=1, prefix=1
            )
            fixed = str(suggestions[0]) if suggestions else lowered
        kept[("correct", lowered)] = fixed
        return fixed

    def _take_model(self, tokens: list[str], results: Results) -> list[str]:
        """The tokens without a model number among them ("power board kdl-55w800c", "ilce 7m3
        battery"), which becomes a filter; one token or two adjacent ones."""
        if self.filters.model:
            return tokens
        span = self._model_span(tokens)
        if span is None:
            return tokens
        start, width, results.model = span
        return tokens[:start] + tokens[start + width :]

    def _model_span(self, tokens: Sequence[str]) -> tuple[int, int, str] | None:
        """Where a model number lies among ``tokens`` (start, width), and its spelling."""
        for width in (1, 2):
            for start in range(len(tokens) - width + 1):
                candidate = "".join(tokens[start : start + width])
                spelled = (
                    self._model_number(normalise(candidate)) if _is_number(candidate) else None
                )
                if spelled is not None:
                    return start, width, spelled
        return None

    def _model_number(self, norm: str) -> str | None:
        """The model with this normal form, as the catalogue spells it."""
        return self.session.scalar(
            select(ModelVersion.number).where(
                ModelVersion.number_norm == norm, ModelVersion.as_of(self.release.id)
            )
        )

    def _variants(self, stem: str) -> dict[str, tuple[str, ...]]:
        """The index's word ``stem`` stands for, by field: itself where the catalogue uses it;
        only when no field does, the commonest word one edit or one swapped pair away ("pwoer"
        finds "power"). A real word is never taken for a typo of another ("module" is not
        "model"), and one word per field keeps the query small: Whoosh scores every document a
        query matches, and can skip blocks of tied scores only in a simple query."""
        assert self.searcher is not None
        kept = _words_seen(self.searcher)
        known: dict[str, tuple[str, ...]] | None = kept.get(("variants", stem))
        if known is not None:
            return known
        reader = self.searcher.reader()
        found: dict[str, tuple[str, ...]] = {
            name: (stem,) if (name, stem) in reader else () for name in _FIELD_WEIGHT
        }
        if not any(found.values()) and len(stem) >= 4 and not stem.isdigit():
            # Whoosh counts a swap as two edits, and two edits let too much in.
            swaps = {stem[:i] + stem[i + 1] + stem[i] + stem[i + 2 :] for i in range(len(stem) - 1)}
            for name in _FIELD_WEIGHT:
                near = {*reader.terms_within(name, stem, 1, prefix=1)}
                near |= {swap for swap in swaps if (name, swap) in reader}
                best = max(
                    near, key=lambda word: (reader.doc_frequency(name, word), word), default=None
                )
                found[name] = (best,) if best else ()
        kept[("variants", stem)] = found
        return found

    def _used(self, stem: str, fields: Sequence[str] = tuple(_FIELD_WEIGHT)) -> bool:
        """Whether the catalogue uses ``stem``, or a word one typo away, in ``fields``."""
        return any(self._variants(stem)[name] for name in fields)

    def _word_query(self, stem: str) -> Query:
        terms: list[Query] = []
        for name, words in self._variants(stem).items():
            for word in words:
                near = 1.0 if word == stem else _NEAR_WEIGHT
                terms.append(Term(name, word, boost=_FIELD_WEIGHT[name] * near))
        return Or(terms) if terms else NullQuery

    def _words_query(self, alternatives: Sequence[tuple[str, ...]]) -> Query:
        """Any alternative, each with all of its words. An alternative with a word the index does
        not hold is left out rather than kept as a query that matches nothing: such a branch
        would stop Whoosh from skipping blocks, and every match would be scored."""
        # Alternatives that come to the same index words are one ("speakr" as typed, and as
        # corrected to "speaker"): the first, corrected, wins.
        chosen: dict[tuple[tuple[str, ...], ...], tuple[str, ...]] = {}
        for words in alternatives:
            if words and all(self._used(s) for s in words):
                signature = tuple(
                    tuple(sorted({w for v in self._variants(s).values() for w in v})) for s in words
                )
                chosen.setdefault(signature, words)
        queries: list[Query] = [
            And([self._word_query(s) for s in words]) for words in chosen.values()
        ]
        if not queries:
            return NullQuery
        return Or(queries) if len(queries) > 1 else queries[0]

    def _matching_words(self, alternatives: Sequence[tuple[str, ...]]) -> set[str]:
        return {
            word
            for words in alternatives
            for stem in words
            for variants in self._variants(stem).values()
            for word in variants
        }

    def _synonym_word(self, stem: str) -> bool:
        return any(stem in phrase for phrase in self.synonyms)

    # did you mean

    def _did_you_mean(self, text: str, results: Results, *, found: bool) -> list[Suggestion]:
        """Numbers one edit from a number that found nothing, then the query with its words
        and model number corrected, when that finds something; at most ``SUGGESTIONS``."""
        suggestions: list[Suggestion] = []
        if not found and _looks_like_a_number(text):
            for near in near_numbers(
                self.session, normalise(text), release_id=self.release.id, kinds=self.kinds
            ):
                suggestions.append(
                    Suggestion(
                        query=near.number,
                        reason=near.edit,
                        kind=near.kind,
                        key=near.number,
                        title=near.title,
                        status="superseded" if near.superseded else near.status,
                        found=1,
                    )
                )
        corrected = self._corrected(text.split(), must_be_whole=found)
        if corrected is not None:
            seen = {normalise(s.query) for s in suggestions}
            if normalise(corrected.query) not in seen:
                suggestions.append(corrected)
        return suggestions[:SUGGESTIONS]

    def _corrected(self, tokens: Sequence[str], *, must_be_whole: bool) -> Suggestion | None:
        """``tokens`` with each word the catalogue does not know put in the nearest word it (or
        the synonym list) knows, and a model number it does not know in the nearest model's;
        the first such query that finds something (with every word used, when the query as
        typed found something without some of its words)."""
        slots = self._slots(tokens)
        if all(len(slot) == 1 for slot in slots):
            return None
        # Each slot's best correction; then, one slot at a time, its second best.
        best = [slot[1] if len(slot) > 1 else slot[0] for slot in slots]
        choices = [best] + [
            [*best[:n], slot[2], *best[n + 1 :]] for n, slot in enumerate(slots) if len(slot) > 2
        ]
        typed = " ".join(tokens).lower()
        for choice in choices[:_CHECKS]:
            query = " ".join(c.text for c in choice)
            if query.lower() == typed:
                continue
            check = PartSearch(
                self.session,
                self.searcher,
                self.release,
                kinds=self.kinds,
                filters=self.filters,
                synonyms=self.synonyms,
            ).run(query, limit=1, suggest=False)
            if not check.hits or (must_be_whole and check.ignored):
                continue
            model = next((c.model for c in choice if c.model is not None), None)
            words = any(c.why == SPELLING for c in choice)
            reason = MODEL_NUMBER if not words else SPELLING_AND_MODEL if model else SPELLING
            return Suggestion(
                query=query,
                reason=reason,
                kind=MODEL if model else "",
                key=model.number if model else "",
                title=model.title if model else "",
                status="model" if model else "",
                found=check.total,
            )
        return None

    def _slots(self, tokens: Sequence[str]) -> list[list[_Choice]]:
        """``tokens`` as slots of alternatives (the text as typed first, then corrections): a
        model number the catalogue knows is kept as typed; one it does not know, alone or with
        its neighbour ("ilce 7m4", "kdl 55w80c"), offers the nearest models; a word it does not
        know, the nearest words."""
        span = self._model_span(tokens)
        slots: list[list[_Choice]] = []
        model_seen = span is not None  # one model per query: other numbers are kept as typed
        i = 0
        while i < len(tokens):
            if span is not None and i == span[0]:
                slots.append([_Choice(" ".join(tokens[i : i + span[1]]))])
                i += span[1]
                continue
            fixed = None if model_seen else self._model_fix(tokens, i)
            if fixed is not None:
                width, near = fixed
                slots.append(
                    [_Choice(" ".join(tokens[i : i + width]))]
                    + [_Choice(n.number, MODEL_NUMBER, n) for n in near]
                )
                model_seen = True
                i += width
                continue
            word = tokens[i]
            slots.append([_Choice(word), *(_Choice(w, SPELLING) for w in self._word_fixes(word))])
            i += 1
        return slots

    def _model_fix(self, tokens: Sequence[str], i: int) -> tuple[int, list[NearNumber]] | None:
        """The models one edit from a number at ``tokens[i]`` (how many tokens it takes, the
        models): a word and the digits after it together ("kdl 55w80c", "ilce 7m4"), or a
        token with digits alone, else with the token after it."""
        here = tokens[i]
        after = tokens[i + 1] if i + 1 < len(tokens) else ""
        if _has_digit(here):
            widths: tuple[int, ...] = (1, 2) if after else (1,)
        elif _has_digit(after):
            widths = (2,)
        else:
            return None
        for width in widths:
            norm = normalise("".join(tokens[i : i + width]))
            near = near_numbers(self.session, norm, release_id=self.release.id, kinds=[MODEL])
            if near:
                return width, near[:2]
        return None

    def _word_fixes(self, word: str) -> list[str]:
        """Up to two words nearest to ``word`` when neither the index nor the synonym list
        knows it (none for a known word, a number, a stop word, or a word of two letters)."""
        lowered = word.lower()
        if self.searcher is None or len(lowered) < 3 or not lowered.isalpha():
            return []
        if all(self._known_stem(s) for s in stems(lowered)):
            return []
        reader = self.searcher.reader()
        vocabulary: dict[str, int] = {}
        spelled = SCHEMA["title"].spelling_fieldname("title")
        for candidate in reader.terms_within(spelled, lowered, 2, prefix=1):
            candidate_stems = stems(candidate)
            vocabulary[candidate] = (
                reader.doc_frequency("title", candidate_stems[0]) if candidate_stems else 0
            )
        if self._synonym_vocabulary is None:
            self._synonym_vocabulary = synonym_words(self.session)
        for candidate in self._synonym_vocabulary:
            vocabulary.setdefault(candidate, 1)
        return nearest_words(lowered, list(vocabulary.items()))

    def _known_stem(self, stem: str) -> bool:
        assert self.searcher is not None
        reader = self.searcher.reader()
        return any((name, stem) in reader for name in _FIELD_WEIGHT) or self._synonym_word(stem)

    def _facets(self, found: Any, results: Results) -> None:
        """Counts to narrow the results by, over the best ``FACET_WINDOW`` matches: counting
        over every match would score and read every document (a million, for "board")."""
        categories: dict[str, int] = defaultdict(int)
        statuses: dict[str, int] = defaultdict(int)
        for hit in islice(found, FACET_WINDOW):
            if hit.get("category"):
                categories[hit["category"]] += 1
            statuses[hit["status"]] += 1
        results.facets["category"] = _top(categories.items())
        results.facets["status"] = _top(statuses.items())
        lines: dict[str, int] = defaultdict(int)
        models: dict[str, int] = defaultdict(int)
        for hit in islice(found, FACET_WINDOW):
            for line in filter(None, (hit.get("product_line") or "").split(",")):
                lines[line] += 1
            if hit["kind"] == PART:
                for norm in filter(None, (hit.get("models") or "").split(",")):
                    models[norm] += 1
        results.facets["product_line"] = _top(lines.items())
        top_models = _top(models.items())
        rows = self.session.execute(
            select(ModelVersion.number_norm, ModelVersion.number).where(
                ModelVersion.number_norm.in_([norm for norm, _n in top_models]),
                ModelVersion.as_of(self.release.id),
            )
        )
        spelled: dict[str, str] = dict(rows.all())
        results.facets["model"] = [(spelled.get(norm, norm), n) for norm, n in top_models]

    def _hit(
        self, hit: WhooshHit, *, why: str, score: float, highlights: tuple[Highlight, ...]
    ) -> Hit:
        if hit.get("replaced_by"):
            highlights = (
                *highlights,
                Highlight("replaced_by", f"replaced by {hit['replaced_by']}"),
            )
        return Hit(
            kind=hit["kind"],
            key=hit["key"],
            title=hit["title"],
            score=score,
            why=why,
            status=hit["status"],
            category=hit.get("category") or "",
            safety_critical=bool(hit.get("safety")),
            highlights=highlights,
        )


@dataclass(frozen=True)
class _Choice:
    """One alternative for a slot of a query: the text as typed (no ``why``), or a correction."""

    text: str
    why: str = ""
    model: NearNumber | None = None


class _BestCollector(TopCollector):  # type: ignore[misc]
    """Whoosh's top-N collector, raising its bar as soon as it holds N results.

    Whoosh raises the bar (and starts skipping blocks of postings that cannot beat it) only
    when a better document replaces one in the top N. Catalogue descriptions repeat ("POWER
    BOARD" ten thousand times), so scores tie, nothing is ever replaced, and every match is
    scored; with the bar set when the top N fills, equal blocks are skipped.
    """

    def _collect(self, global_docnum: int, score: float) -> float:
        key: float = super()._collect(global_docnum, score)
        if len(self.items) == self.limit:
            # A hair above the lowest kept score: a block's best possible score is computed
            # apart from its documents' scores, and ties come out a rounding error higher.
            self.minscore = self.items[0][0] * (1 + 1e-6)
        return key


def _top(counts: Iterable[tuple[str, int]], n: int = 12) -> list[tuple[str, int]]:
    return sorted(counts, key=lambda kv: (-kv[1], kv[0]))[:n]
