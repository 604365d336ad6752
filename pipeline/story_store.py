"""Finding and creating stories through the LSH band index (I/O around pipeline.stories)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pipeline.models import Story, StoryBand
from pipeline.stories import Signature, bands, similarity, same_story


_INSERT_STORY = Story.__table__.insert().returning(Story.__table__.c.id)  # built once: see pipeline.store
_INSERT_BAND = StoryBand.__table__.insert()


class StoryRef(NamedTuple):
    id: int
    incident_id: int | None


def find_story(session: Session, sig: Signature, since: datetime) -> StoryRef | None:
    """The most similar recent story sharing a band with ``sig``, if similar enough."""
    keys = bands(sig)
    candidates = session.execute(
        select(Story.id, Story.incident_id, Story.signature).join(StoryBand, StoryBand.story_id == Story.id)
        .where(StoryBand.band.in_(keys), StoryBand.created_at >= since).distinct())
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
                                       for key in set(bands(sig))])
    return StoryRef(story_id, None)


def assign(session: Session, story_id: int, incident_id: int) -> None:
    session.execute(update(Story).where(Story.id == story_id).values(incident_id=incident_id))
