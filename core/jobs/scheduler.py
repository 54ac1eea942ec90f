"""The fair queue: round-robin across users, first come first served within one user."""

from __future__ import annotations

from collections import deque


class FairQueue:
    """Queued job ids per user; `pop` serves users in turn, so one busy user cannot starve the rest.

    The next user is the one served longest ago; people never served yet go first, in the order they
    arrived. So someone who queues ten jobs gets one, then everyone else waiting gets one, and so on.
    """

    def __init__(self) -> None:
        self._lanes: dict[str, deque[str]] = {}
        self._owner: dict[str, str] = {}
        self._last_served: dict[str, int] = {}
        self._arrived: dict[str, int] = {}
        self._tick = 0

    def __len__(self) -> int:
        return len(self._owner)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._owner

    def push(self, job_id: str, user_id: str, front: bool = False) -> None:
        if job_id in self._owner:
            return
        if user_id not in self._lanes:
            self._tick += 1
            self._lanes[user_id] = deque()
            self._arrived[user_id] = self._tick
        lane = self._lanes[user_id]
        if front:
            lane.appendleft(job_id)
        else:
            lane.append(job_id)
        self._owner[job_id] = user_id

    def remove(self, job_id: str) -> bool:
        user_id = self._owner.pop(job_id, None)
        if user_id is None:
            return False
        lane = self._lanes[user_id]
        lane.remove(job_id)
        if not lane:
            del self._lanes[user_id]
        return True

    def _rotation(self) -> list[str]:
        return sorted(self._lanes, key=self._rotation_key)

    def pop(self) -> str | None:
        """The next job to run, or None when nothing waits."""
        rotation = self._rotation()
        if not rotation:
            return None
        user_id = rotation[0]
        lane = self._lanes[user_id]
        job_id = lane.popleft()
        del self._owner[job_id]
        if not lane:
            del self._lanes[user_id]
        self._tick += 1
        self._last_served[user_id] = self._tick
        return job_id

    def order(self) -> list[str]:
        """Every queued job in the order `pop` would return them."""
        lanes = [list(self._lanes[user]) for user in self._rotation()]
        result: list[str] = []
        for depth in range(max((len(lane) for lane in lanes), default=0)):
            result.extend(lane[depth] for lane in lanes if depth < len(lane))
        return result

    def position(self, job_id: str) -> int:
        """1-based place in line; 0 when not queued. Counts lanes instead of building the whole order."""
        user_id = self._owner.get(job_id)
        if user_id is None:
            return 0
        depth = self._lanes[user_id].index(job_id)
        last_served, arrived = self._last_served, self._arrived
        mine = (last_served.get(user_id, 0), arrived[user_id])
        ahead = depth
        for user, lane in self._lanes.items():
            if user != user_id:
                # A lane before ours in the rotation serves one more job in the round that serves ours.
                before = (last_served.get(user, 0), arrived[user]) < mine
                ahead += min(len(lane), depth + 1 if before else depth)
        return ahead + 1

    def _rotation_key(self, user: str) -> tuple[int, int]:
        return (self._last_served.get(user, 0), self._arrived[user])
