"""How a run's keys are spread over Celery workers: lanes of chunks.

Rules:
- Keys are dealt round-robin into `count` lanes (DEEPGRAM_MAX_CONCURRENCY), then each lane is
  cut into chunks of `chunk_size` keys (USAGE_SYNC_CHUNK_SIZE); empty lanes are dropped.
- A lane runs its chunks one after another, so at most `count` calls reach Deepgram at once,
  however many workers there are.
- A resumed run's chunks not done are dealt round-robin into `count` lanes (`chunk_lanes`).
"""


def sync_lanes(key_ids: list[int], *, count: int, chunk_size: int) -> list[list[list[int]]]:
    """Split keys into `count` lanes of chunks. Each lane runs its chunks one after another,
    so at most `count` calls reach Deepgram at once, however many workers there are."""
    spread = [key_ids[n::count] for n in range(count)]
    return [
        [lane[i : i + chunk_size] for i in range(0, len(lane), chunk_size)]
        for lane in spread
        if lane
    ]


def chunk_lanes(
    chunks: list[tuple[int, list[int]]], *, count: int
) -> list[list[tuple[int, list[int]]]]:
    """Deal numbered chunks round-robin into at most `count` lanes (none empty)."""
    return [lane for lane in (chunks[n::count] for n in range(count)) if lane]
