"""Finding and creating stories through the LSH band index (I/O around pipeline.stories)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, select, tuple_
from sqlalchemy.orm import Session

from pipeline.models import Story, StoryBand
from pipeline.stories import Signature, similarity, same_story


_INSERT_STORY = Story.__table__.insert().returning(Story.__table__.c.id)  # built once: see pipeline.store
_INSERT_BAND = StoryBand.__table__.insert()


class StoryRef(NamedTuple):
    id: int
    incident_id: int | None


_st, _sb = Story.__table__.c, StoryBand.__table__.c
_SHARING_A_BAND = (select(_st.id, _st.incident_id, _st.signature)
                   .select_from(Story.__table__.join(StoryBand.__table__, _sb.story_id == _st.id))
                   .where(_sb.band.in_(bindparam("bands", expanding=True)), _sb.created_at >= bindparam("since"))
                   .distinct())
_ASSIGN = Story.__table__.update().where(_st.id == bindparam("story_id")).values(
    incident_id=bindparam("incident", type_=_st.incident_id.type))


def find_story(session: Session, sig: Signature, since: datetime) -> StoryRef | None:
    """The most similar recent story sharing a band with ``sig``, if similar enough."""
    candidates = session.execute(_SHARING_A_BAND, {"bands": sig.bands, "since": since})
    best, best_score = None, 0.0
    for story_id, incident_id, raw in candidates:
        other = Signature.from_bytes(raw)
        score = similarity(sig, other)
        if same_story(sig, other) and score > best_score:
            best, best_score = StoryRef(story_id, incident_id), score
    return best


def create_story(session: Session, sig: Signature | None, now: datetime) -> StoryRef:
    """A new story; ``None``: an article with no words to compare, a story of its own (no bands)."""
    story_id = int(session.execute(_INSERT_STORY, {"signature": sig.to_bytes() if sig else b"",
                                                   "created_at": now}).scalar_one())
    if sig is not None:
        # One executemany of plain rows: ORM objects for 32 band rows cost several times more.
        session.execute(_INSERT_BAND, [{"band": key, "story_id": story_id, "created_at": now}
                                       for key in set(sig.bands)])
    return StoryRef(story_id, None)


def assign(session: Session, story_id: int, incident_id: int) -> None:
    session.execute(_ASSIGN, {"story_id": story_id, "incident": incident_id})


_OLD_BANDS = (select(_sb.band, _sb.story_id).where(_sb.created_at < bindparam("before"))
              .limit(bindparam("limit", type_=_sb.story_id.type)))


PRUNE_CHUNK = 2000  # band rows per delete: each chunk is a short write transaction


def prune_bands(session: Session, before: datetime, limit: int = PRUNE_CHUNK) -> int:
    """Delete up to ``limit`` band rows created before ``before``; returns how many.

    find_story only looks at bands of the story window, so older ones are dead weight:
    kept, they made the band index (32 rows per story) grow with the archive, and
    every new story's inserts slower with it. The story rows and their signatures stay.
    """
    old = session.execute(_OLD_BANDS, {"before": before, "limit": limit}).all()
    if old:
        session.execute(StoryBand.__table__.delete().where(tuple_(_sb.band, _sb.story_id).in_(
            [tuple(row) for row in old])))
    return len(old)
