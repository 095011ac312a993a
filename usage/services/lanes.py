"""How a run's keys are spread over Celery workers: lanes of chunks.

Rules:
- A chunk holds keys of one project only (up to `chunk_size`, USAGE_SYNC_CHUNK_SIZE), since
  each chunk asks Deepgram about its project as a whole: one chunk per project up to that
  size keeps the calls at four a range of days, however many keys.
- Chunks are dealt round-robin into `count` lanes (DEEPGRAM_MAX_CONCURRENCY); empty lanes are
  dropped. A lane runs its chunks one after another, and a chunk fetches at most
  `count // lanes` ranges at once (`range_concurrency`), so at most `count` calls reach
  Deepgram at once, however many workers there are.
- A resumed run's chunks not done are dealt round-robin into `count` lanes (`chunk_lanes`).
"""


def sync_lanes(
    keys: list[tuple[int, int]], *, count: int, chunk_size: int
) -> list[list[list[int]]]:
    """Split keys, given as (key pk, project pk), into chunks of one project each, dealt into
    at most `count` lanes run side by side."""
    by_project: dict[int, list[int]] = {}
    for key_pk, project_pk in keys:
        by_project.setdefault(project_pk, []).append(key_pk)
    chunks = [
        ids[i : i + chunk_size]
        for _, ids in sorted(by_project.items())
        for i in range(0, len(ids), chunk_size)
    ]
    return [lane for lane in (chunks[n::count] for n in range(count)) if lane]


def chunk_lanes(
    chunks: list[tuple[int, list[int]]], *, count: int
) -> list[list[tuple[int, list[int]]]]:
    """Deal numbered chunks round-robin into at most `count` lanes (none empty)."""
    return [lane for lane in (chunks[n::count] for n in range(count)) if lane]


def range_concurrency(count: int, lanes: int) -> int:
    """How many ranges one lane's chunk fetches at once, so that all lanes together make at
    most `count` calls at once."""
    return max(1, count // max(1, lanes))
