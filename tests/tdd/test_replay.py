"""Replay mode: red at the parent, green at the commit, in a temporary worktree."""

from __future__ import annotations

import os

DISCOUNT = "def apply(price, percent):\n    return round(price * (100 - percent) / 100, 2)\n"
DISCOUNT_TEST = (
    "from shop.discount import apply\n\n\n"
    "def test_apply_takes_the_percentage_off():\n    assert apply(200, 10) == 180\n"
)
SRC = "src__shop__discount_py"
TEST = "tests__test_discount_py"


def worktrees(story) -> int:
    return story.git("worktree", "list", "--porcelain").count("worktree ")


def test_a_genuine_red_green_is_verified(story) -> None:
    story.commit("feat: stub", **{SRC: "def apply(price, percent):\n    return price\n"})
    story.commit("test: discount", **{TEST: DISCOUNT_TEST})
    story.commit("feat: discount", **{SRC: DISCOUNT})
    _, item = story.verify(mode="replay")
    # The stub came untested before the test: a violation, but the feature commit replays.
    assert item["metrics"]["replay_verified"] == 1, item
    assert item["metrics"]["replay_failed"] == 0
    assert item["details"][-1].endswith("replay: verified")
    assert worktrees(story) == 1


def test_a_new_module_imported_by_the_test_is_a_red(story) -> None:
    story.commit("test: discount", **{TEST: DISCOUNT_TEST})
    story.commit("feat: discount", **{SRC: DISCOUNT})
    result, item = story.verify(mode="replay")
    assert item["status"] == "passed", item
    assert item["metrics"]["replay_verified"] == 1
    assert "replay: 1 verified, 0 failed, 0 unverified" in item["summary"]
    assert result.ret == 0
    assert worktrees(story) == 1


def test_a_test_already_green_at_the_parent_is_caught(story) -> None:
    story.commit("feat: discount", **{SRC: DISCOUNT, TEST: DISCOUNT_TEST})
    story.commit(
        "test: rounding",
        tests__test_rounding_py=(
            "from shop.discount import apply\n\n\n"
            "def test_apply_rounds_to_cents():\n    assert apply(10, 33) == 6.7\n"
        ),
    )
    sha = story.commit(
        "feat: rounding",
        **{SRC: DISCOUNT.replace("/ 100, 2)", "/ 100, ndigits=2)")},  # the same behaviour
    )
    _, item = story.verify(mode="replay")
    assert item["status"] == "failed", item
    assert item["metrics"]["replay_failed"] == 1
    [finding] = [f for f in item["findings"] if f["rule"] == "replay-failed"]
    assert finding["commit"] == sha
    assert "already passed at the parent, before the change" in finding["message"]


def test_a_collection_error_at_the_parent_is_not_accepted_as_red(story) -> None:
    story.commit(
        "wip: discount\n\nPBE-Waive: work in progress, fixed two commits later",
        **{SRC: "def apply(price, percent)\n    return price\n"},
    )
    story.commit("test: discount", **{TEST: DISCOUNT_TEST})
    sha = story.commit("feat: discount", **{SRC: DISCOUNT})
    result, item = story.verify(mode="replay")
    assert item["status"] == "error", item
    assert item["metrics"]["unverified"] == 1
    assert "could not be verified by replay" in item["summary"]
    [finding] = item["findings"]
    assert finding["rule"] == "unverified"
    assert finding["commit"] == sha
    assert "collection error at the parent" in finding["message"]
    assert result.ret != 0
    assert worktrees(story) == 1


def test_uncommitted_work_replays_against_head(story) -> None:
    story.commit("test: discount", **{TEST: DISCOUNT_TEST})
    story.write("src/shop/discount.py", DISCOUNT)
    _, item = story.verify(mode="replay")
    assert item["status"] == "passed", item
    assert item["metrics"]["replay_verified"] == 1
    assert item["details"][-1].startswith("(uncommitted)")


def test_the_main_checkout_does_not_leak_into_the_replay(story, monkeypatch) -> None:
    # The main checkout has the finished code; if the replay imported it, the test would
    # already pass at the parent and the replay would wrongly fail.
    story.commit("test: discount", **{TEST: DISCOUNT_TEST})
    story.commit("feat: discount", **{SRC: DISCOUNT})
    monkeypatch.setenv("PYTHONPATH", str(story.path / "src") + os.pathsep + str(story.path))
    _, item = story.verify(mode="replay")
    assert item["metrics"]["replay_verified"] == 1, item


def test_a_replay_that_times_out_is_unverified(story) -> None:
    story.commit(
        "wip: slow\n\nPBE-Waive: spike",
        **{SRC: "import time\n\n\ndef apply(price, percent):\n    time.sleep(30)\n"},
    )
    story.commit("test: discount", **{TEST: DISCOUNT_TEST})
    story.commit("feat: discount", **{SRC: DISCOUNT})
    _, item = story.verify("-o", "pbe_replay_timeout=3", mode="replay")
    assert item["status"] == "error", item
    assert "timed out" in item["findings"][0]["message"]
    assert worktrees(story) == 1


def test_imports_resolving_to_the_main_checkout_make_the_replay_unverified(story) -> None:
    # A sys.path entry into the main checkout stands in for an editable install.
    leaky = (
        "import os\nimport sys\n\n"
        "sys.path.insert(0, os.path.join(os.environ.get('PBE_REPLAY_MAIN', '.'), 'src'))\n"
    )
    story.commit("test: discount", **{TEST: leaky + DISCOUNT_TEST})
    story.commit("feat: discount", **{SRC: DISCOUNT})
    _, item = story.verify(mode="replay")
    assert item["status"] == "error", item
    [finding] = item["findings"]
    assert "resolved to the main checkout" in finding["message"]
