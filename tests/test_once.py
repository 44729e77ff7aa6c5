"""Values computed once per key, from several threads (the session's git facts)."""

from __future__ import annotations

import threading
import time

import pytest

from pytest_pbe.once import OncePerKey


def test_threads_asking_for_one_key_share_a_single_computation() -> None:
    facts = OncePerKey()
    calls: list[int] = []

    def slow() -> int:
        calls.append(1)
        time.sleep(0.1)
        return 7

    got: list[int] = []
    threads = [threading.Thread(target=lambda: got.append(facts.get("k", slow))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert got == [7, 7, 7, 7]
    assert calls == [1]


def test_a_remembered_failure_is_raised_again_without_asking_twice() -> None:
    facts = OncePerKey(remember=(ValueError,))
    calls: list[int] = []

    def failing() -> int:
        calls.append(1)
        raise ValueError("git said no")

    for _ in range(2):
        with pytest.raises(ValueError, match="git said no"):
            facts.get("k", failing)
    assert calls == [1]


def test_another_failure_is_not_kept_and_forget_asks_afresh() -> None:
    facts = OncePerKey(remember=(ValueError,))
    answers = iter([KeyError("flaky"), 1, 2])

    def compute() -> int:
        answer = next(answers)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    with pytest.raises(KeyError):
        facts.get("k", compute)
    assert facts.get("k", compute) == 1
    assert facts.get("k", compute) == 1
    facts.forget("k")
    assert facts.get("k", compute) == 2
    facts.put("k", 5)
    assert facts.get("k", compute) == 5
