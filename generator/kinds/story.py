"""One page per story."""
from __future__ import annotations

from types import MappingProxyType
from typing import NamedTuple

from ..plan import PagePlan, Planning
from .ratings import published, scorecard

KINDS = ("story",)
_NO_CARDS = MappingProxyType({})  # one object: without ratings, the cards are the same from build to build


def plans(planning: Planning) -> list[PagePlan]:
    """A story's page depends on its own text and place (digest) and on its
    neighbours' (their titles in the links). Plans are kept in the session:
    most of them are equal from one build of a preview to the next, and while
    the stories stand in the same order (the same neighbours) only the plans of
    the stories that are new objects, and of their neighbours, are looked up."""
    known = planning.memo.table("story-plans")
    library = planning.library
    ratings = published(library, planning.settings)
    cards = ratings.keys if ratings is not None else _NO_CARDS  # what a page shows of its result (scorecard_key)
    stories = list(library.stories.values())
    memo = planning.memo.table("story-plans-last")
    last = memo.get("last")
    if last is not None and last.neighbours is library.neighbours and last.cards is cards:
        result, around = list(last.plans), last.around  # the same order: the same neighbours
        redo = set()
        for i, (story, before) in enumerate(zip(stories, last.stories)):
            if story is not before:
                redo.add(i)
                redo.update(around[i])  # a neighbour's page links it by its title
        for i in redo:
            result[i] = _plan(planning, known, cards, stories[i])
    else:
        result = [_plan(planning, known, cards, story) for story in stories]
        position = {s.id: i for i, s in enumerate(stories)}
        around = [tuple(position[n] for n in library.neighbours[s.id] if n is not None) for s in stories]
    memo["last"] = _Last(library.neighbours, cards, stories, result, around)
    return result


class _Last(NamedTuple):
    """The last build's story plans, in the library's order (kept alive: compared by identity)."""

    neighbours: dict
    cards: dict
    stories: list
    plans: list[PagePlan]
    around: list[tuple[int, ...]]  #: for each story, the positions of its neighbours


def _plan(planning: Planning, known: dict, cards: dict, story) -> PagePlan:
    before, after = planning.library.neighbours[story.id]
    face = planning.face_of.get  # a missing neighbour (None) has none
    key = (story.digest, face(before), face(after), cards.get(story.id), story.source)  # the source names the file
    plan = known.get(key)
    if plan is None:
        plan = known[key] = PagePlan(f"{story.url}index.html", "story.html", "story",
                                     f"故事“{story.title}”（{story.source}）", key=story.id, file=story.source,
                                     deps=key[:4], lastmod=story.date.isoformat())
    return plan


def context(plan: PagePlan, view) -> dict:
    lib = view.library
    story = lib.stories[plan.key]
    county, town = view.townships[(story.county, story.township)]
    branch = view.branch(town, story.branch)
    before, after = lib.neighbours[story.id]
    return dict(story=story, county=county, township=town, branch=branch, title=story.title,
                standard=view.standard_by_id.get(story.standard),
                tags=[view.tag_by_name[t] for t in story.tags if t in view.tag_by_name],
                prev=lib.stories[before] if before else None, next=lib.stories[after] if after else None,
                result=scorecard(lib, view.settings, story.id), criteria=view.settings.rating.criteria)
