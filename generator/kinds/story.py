"""One page per story."""
from __future__ import annotations

from ..plan import PagePlan, Planning
from .ratings import published, scorecard

KINDS = ("story",)


def plans(planning: Planning) -> list[PagePlan]:
    """A story's page depends on its own text and place (digest) and on its
    neighbours' (their titles in the links). Plans are kept in the session:
    most of them are equal from one build of a preview to the next."""
    known = planning.memo.table("story-plans")
    face = planning.face_of.get  # a missing neighbour (None) has none
    neighbours, result = planning.library.neighbours, []
    ratings = published(planning.library, planning.settings)
    cards = ratings.keys if ratings is not None else {}  # what a page shows of its result (scorecard_key)
    for story in planning.library.stories.values():
        before, after = neighbours[story.id]
        card = cards.get(story.id)
        key = (story.digest, face(before), face(after), card, story.source)  # the source names the file
        plan = known.get(key)
        if plan is None:
            plan = known[key] = PagePlan(f"{story.url}index.html", "story.html", "story",
                                         f"故事“{story.title}”（{story.source}）", key=story.id, file=story.source,
                                         deps=key[:4], lastmod=story.date.isoformat())
        result.append(plan)
    return result


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
