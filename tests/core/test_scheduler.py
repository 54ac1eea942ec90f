from core.jobs.scheduler import FairQueue


def test_users_take_turns_whatever_order_they_queued_in():
    queue = FairQueue()
    for i in range(3):
        queue.push(f"a{i}", "alice")
    queue.push("b0", "bob")
    queue.push("c0", "carol")
    queue.push("b1", "bob")
    assert queue.order() == ["a0", "b0", "c0", "a1", "b1", "a2"]
    assert [queue.pop() for _ in range(6)] == ["a0", "b0", "c0", "a1", "b1", "a2"]
    assert queue.pop() is None


def test_someone_arriving_goes_before_the_user_just_served():
    queue = FairQueue()
    queue.push("a0", "alice")
    queue.push("a1", "alice")
    assert queue.pop() == "a0"
    queue.push("b0", "bob")
    assert queue.order() == ["b0", "a1"]
    assert queue.pop() == "b0"
    queue.push("b1", "bob")
    assert queue.order() == ["a1", "b1"]  # alice was served longer ago than bob


def test_position_and_remove():
    queue = FairQueue()
    queue.push("a0", "alice")
    queue.push("b0", "bob")
    assert queue.position("b0") == 2
    assert queue.remove("a0") is True
    assert queue.position("b0") == 1
    assert queue.position("a0") == 0
    assert queue.remove("a0") is False
    assert len(queue) == 1


def test_requeued_jobs_can_go_to_the_front_of_their_lane():
    queue = FairQueue()
    queue.push("a1", "alice")
    queue.push("a0", "alice", front=True)
    assert queue.order() == ["a0", "a1"]


def test_position_agrees_with_the_full_order():
    import random

    rng = random.Random(4)
    queue = FairQueue()
    for n in range(200):
        action = rng.random()
        if action < 0.6:
            queue.push(f"j{n}", f"u{rng.randrange(7)}")
        elif action < 0.8:
            queue.pop()
        elif len(queue):
            queue.remove(rng.choice(queue.order()))
        order = queue.order()
        assert [queue.position(job) for job in order] == list(range(1, len(order) + 1))
