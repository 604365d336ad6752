"""Finding and creating stories through the LSH band index (I/O around pipeline.stories)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from pipeline.models import Story, StoryBand
from pipeline.stories import Signature, bands, similarity, same_story


def find_story(session: Session, sig: Signature, since: datetime) -> int | None:
    """The most similar recent story sharing a band with ``sig``, if similar enough."""
    keys = bands(sig)
    candidates = session.execute(
        select(Story.id, Story.signature).join(StoryBand, StoryBand.story_id == Story.id)
        .where(StoryBand.band.in_(keys), StoryBand.created_at >= since).distinct())
    best, best_score = None, 0.0
    for story_id, raw in candidates:
        other = Signature.from_bytes(raw)
        if same_story(sig, other) and similarity(sig, other) > best_score:
            best, best_score = story_id, similarity(sig, other)
    return best


def create_story(session: Session, sig: Signature, now: datetime) -> Story:
    story = Story(signature=sig.to_bytes(), created_at=now)
    session.add(story)
    session.flush()
    # One executemany of plain rows: ORM objects for 32 band rows cost several times more.
    session.execute(insert(StoryBand), [{"band": key, "story_id": story.id, "created_at": now}
                                        for key in set(bands(sig))])
    return story
