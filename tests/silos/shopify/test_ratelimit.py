from __future__ import annotations

from silos.shopify.ratelimit import LeakyBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_enforced_bucket_fills_and_leaks() -> None:
    clock = Clock()
    bucket = LeakyBucket(4, 2.0, clock, enforce=True)
    assert [bucket.take() for _ in range(5)] == [True, True, True, True, False]
    assert bucket.header() == "4/4"
    clock.now += 0.5  # one request leaks out
    assert bucket.take() is True and bucket.take() is False
    clock.now += 0.25  # half a request: still full
    assert bucket.take() is False
    assert bucket.header() == "4/4"
    clock.now += 100
    assert bucket.take() is True and bucket.header() == "1/4"


def test_unenforced_bucket_never_refuses_and_caps_the_header() -> None:
    clock = Clock()
    bucket = LeakyBucket(2, 1.0, clock, enforce=False)
    assert all(bucket.take() for _ in range(10))
    assert bucket.header() == "2/2"
    clock.now += 1.5
    assert bucket.used() == 1
    bucket.reset()
    assert bucket.header() == "0/2"
