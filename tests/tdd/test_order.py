"""The tdd item on real histories: verdicts, modes, mappings, and what it reports."""

from __future__ import annotations

import pytest

DISCOUNT = "def apply(price, percent):\n    return round(price * (100 - percent) / 100, 2)\n"
DISCOUNT_TEST = (
    "from shop.discount import apply\n\n\n"
    "def test_apply_takes_the_percentage_off():\n    assert apply(200, 10) == 180\n"
)
SRC = "src__shop__discount_py"
TEST = "tests__test_discount_py"


def verdicts(item) -> list[str]:
    return [line.split()[1] for line in item["details"]]


def test_it_passes_a_history_where_the_test_came_first(story) -> None:
    story.commit("test: discount", **{TEST: DISCOUNT_TEST})
    story.commit("feat: discount", **{SRC: DISCOUNT})
    result, item = story.verify()
    assert item["status"] == "passed", item
    assert item["metrics"]["test_first"] == 1
    assert item["metrics"]["commits"] == 2
    assert item["metrics"]["violations"] == 0
    assert item["metrics"]["mode"] == "order"
    assert item["metrics"]["mapping"] == "coverage"
    assert "per-test coverage contexts" in item["summary"]
    assert verdicts(item) == ["exempt", "test-first"]
    assert result.ret == 0


def test_it_accepts_code_that_came_with_its_test_in_order_mode(story) -> None:
    story.commit("feat: discount with test", **{SRC: DISCOUNT, TEST: DISCOUNT_TEST})
    story.commit("docs: readme", README_md="# shop\n")
    _, item = story.verify()
    assert item["status"] == "passed", item
    assert item["metrics"]["paired"] == 1


def test_strict_mode_wants_the_test_in_an_earlier_commit(story) -> None:
    sha = story.commit("feat: discount with test", **{SRC: DISCOUNT, TEST: DISCOUNT_TEST})
    story.commit("chore: other", README_md="# shop\n")
    result, item = story.verify(mode="strict")
    assert item["status"] == "failed"
    assert item["metrics"]["violations"] == 1
    [finding] = item["findings"]
    assert finding["rule"] == "paired"
    assert finding["commit"] == sha
    assert "strict mode wants the failing test in an earlier commit" in finding["message"]
    assert result.ret != 0


def test_it_reports_code_whose_test_arrived_later(story) -> None:
    code = story.commit("feat: discount", **{SRC: DISCOUNT})
    later = story.commit("test: discount", **{TEST: DISCOUNT_TEST})
    result, item = story.verify()
    assert item["status"] == "failed"
    assert item["metrics"]["test_after"] == 1
    assert item["metrics"]["violations"] == 1
    [finding] = item["findings"]
    assert finding["commit"] == code
    assert len(code) == 40
    assert finding["path"] == "src/shop/discount.py"
    assert (finding["line"], finding["end_line"]) == (1, 2)
    # The location is the finding's own (printed before the message): not repeated in it.
    assert finding["message"].startswith(
        f"changed in {code[:7]} 'feat: discount' with no test; "
        f"test_discount.py arrived later in {later[:7]}"
    )
    assert "src/shop/discount.py" not in finding["message"]
    result.stdout.fnmatch_lines(
        [f"*src/shop/discount.py:1-2 [[]{code[:10]}]  test-after: changed in {code[:7]} 'feat*"]
    )
    # The timeline is printed under the failed item.
    result.stdout.fnmatch_lines(
        [f"*{code[:10]}*test-after*feat: discount*", f"*{later[:10]}*exempt*test: discount*"]
    )


def test_it_reports_code_that_no_test_exercises(story) -> None:
    story.commit("test: something else", tests__test_other_py="def test_x():\n    assert True\n")
    code = story.commit("feat: discount", **{SRC: DISCOUNT})
    _, item = story.verify()
    assert item["status"] == "failed"
    assert item["metrics"]["untested"] == 1
    [finding] = item["findings"]
    assert finding["rule"] == "untested"
    assert finding["commit"] == code
    assert finding["message"].startswith(
        f"changed in {code[:7]} 'feat: discount' with no test exercising it by the end of the "
        "range (mapping: "
    )


def test_a_finding_over_separate_runs_of_lines_names_the_runs(story) -> None:
    # The finding's location spans 1-6; the message says which lines of it changed.
    two = DISCOUNT + "\n\n# a comment\ndef twice(price):\n    return price * 2\n"
    story.commit("test: something else", tests__test_other_py="def test_x():\n    assert True\n")
    code = story.commit("feat: discount", **{SRC: two})
    _, item = story.verify()
    [finding] = item["findings"]
    assert (finding["line"], finding["end_line"]) == (1, 7)
    assert finding["message"].startswith(f"lines 1-2, 6-7 changed in {code[:7]} 'feat: discount'")


def test_a_change_exercised_by_tests_that_already_existed_is_a_refactor(story) -> None:
    story.commit("test: discount", **{TEST: DISCOUNT_TEST})
    story.commit("feat: discount", **{SRC: DISCOUNT})
    story.base = story.git("rev-parse", "HEAD")
    refactor = (
        "def apply(price, percent):\n    factor = (100 - percent) / 100\n"
        "    return round(price * factor, 2)\n"
    )
    story.commit("refactor: name the factor", **{SRC: refactor})
    _, item = story.verify()
    assert item["status"] == "passed", item
    assert verdicts(item) == ["refactor"]


def test_exempt_commits_are_listed_with_their_reason(story) -> None:
    story.commit("test: discount", **{TEST: DISCOUNT_TEST})
    unused = "\n\ndef unused():\n    return 1\n"
    story.commit("feat: discount", **{SRC: DISCOUNT + unused})
    story.commit("docs: comment", **{SRC: "# pricing rules\n" + DISCOUNT + unused})
    story.commit("chore: drop unused", **{SRC: "# pricing rules\n" + DISCOUNT})
    story.commit("build: generated", src__shop__table_py="# @generated by tool\nX = 1\n")
    story.commit("chore: vendored", src__shop__vendor__lib_py="Y = 2\n")
    _, item = story.verify("-o", "pbe_tdd_exclude=src/shop/vendor/**")
    assert item["status"] == "passed", item
    details = "\n".join(item["details"])
    assert "no executable line changed" in details
    assert "pure deletion" in details
    assert details.count("[no source change]") == 3  # the test, generated, excluded


def test_a_waiver_trailer_exempts_a_commit_and_is_counted(story) -> None:
    story.commit("feat: discount\n\nPBE-Waive: spike, thrown away next sprint", **{SRC: DISCOUNT})
    _, item = story.verify()
    assert item["status"] == "passed", item
    assert item["metrics"]["waived"] == 1
    assert "1 waived (PBE-Waive)" in item["summary"]
    assert "waived: spike, thrown away next sprint" in item["details"][0]


def test_a_merge_commit_is_exempt_and_its_parents_are_judged(story) -> None:
    story.git("checkout", "-q", "-b", "topic")
    topic = story.commit("feat: discount", **{SRC: DISCOUNT})
    story.git("checkout", "-q", "feature")
    story.commit("chore: readme", README_md="# shop\n")
    story.git("merge", "-q", "--no-ff", "-m", "Merge topic", "topic")
    _, item = story.verify()
    assert item["status"] == "failed"
    assert "merge commit: its parents are judged" in "\n".join(item["details"])
    assert [f["commit"] for f in item["findings"]] == [topic]


def test_a_squashed_range_says_it_can_only_show_pairing(story) -> None:
    story.commit("feat: discount (squashed)", **{SRC: DISCOUNT, TEST: DISCOUNT_TEST})
    _, item = story.verify()
    assert item["status"] == "passed"
    assert "can only show pairing" in item["summary"]


def test_renames_keep_the_history_of_the_tests_and_the_code(story) -> None:
    story.commit("test: discount", tests__test_price_py=DISCOUNT_TEST)
    story.commit("feat: discount", **{SRC: DISCOUNT})
    story.git("mv", "tests/test_price.py", "tests/test_discount.py")
    story.git("mv", "src/shop/discount.py", "src/shop/rebate.py")
    story.write("tests/test_discount.py", DISCOUNT_TEST.replace("shop.discount", "shop.rebate"))
    story.commit("refactor: rename")
    _, item = story.verify()
    assert item["status"] == "passed", item
    assert verdicts(item)[:2] == ["exempt", "test-first"]


def test_uncommitted_work_is_judged_as_a_final_pseudo_commit(story) -> None:
    story.commit("test: discount", **{TEST: DISCOUNT_TEST})
    story.write("src/shop/discount.py", DISCOUNT)
    story.write("src/shop/tax.py", "def vat(amount):\n    return amount * 0.2\n")
    _, item = story.verify()
    assert item["status"] == "failed"
    assert item["details"][-1].startswith("(uncommitted)")
    [finding] = item["findings"]
    assert finding["commit"] is None
    assert finding["path"] == "src/shop/tax.py"
    assert "changed in the uncommitted work" in finding["message"]


def test_coverage_credits_a_test_that_exercises_code_indirectly(story) -> None:
    story.commit(
        "test: checkout total",
        tests__test_checkout_py=(
            "from shop.checkout import total\n\n\n"
            "def test_total_adds_vat():\n    assert total(100) == 120\n"
        ),
    )
    story.commit(
        "feat: checkout",
        src__shop__tax_py="def vat(amount):\n    return amount * 0.2\n",
        src__shop__checkout_py="from shop.tax import vat\n\n\n"
        "def total(amount):\n    return amount + vat(amount)\n",
    )
    _, precise = story.verify()
    assert precise["status"] == "passed", precise
    assert precise["metrics"]["mapping"] == "coverage"
    # Without per-test contexts (pytest-cov without --cov-context) only names and imports
    # are left, and nothing names or imports shop.tax.
    _, names = story.verify("--cov=src", "--cov-report=")
    assert names["metrics"]["mapping"] == "names"
    assert "test naming and imports" in names["summary"]
    assert names["status"] == "failed"
    assert [f["path"] for f in names["findings"]] == ["src/shop/tax.py"]


def test_names_mapping_judges_by_test_file_name_and_imports(story) -> None:
    story.commit("test: discount", **{TEST: DISCOUNT_TEST})
    story.commit("feat: discount", **{SRC: DISCOUNT})
    late = story.commit("feat: tax", src__shop__tax_py="def vat(amount):\n    return amount / 5\n")
    story.commit(
        "test: tax",
        tests__test_tax_py=(
            "from shop import tax\n\n\ndef test_vat():\n    assert tax.vat(5) == 1\n"
        ),
    )
    _, item = story.verify("--cov=src", "--cov-report=")
    assert item["metrics"]["mapping"] == "names"
    assert verdicts(item) == ["exempt", "test-first", "test-after", "exempt"]
    assert [f["commit"] for f in item["findings"]] == [late]
    assert "mapping: test naming and imports" in item["findings"][0]["message"]


def test_it_is_skipped_when_switched_off(story) -> None:
    story.commit("feat: discount", **{SRC: DISCOUNT})
    _, item = story.verify(mode="off")
    assert item["status"] == "skipped"
    assert item["summary"] == "switched off: pbe_tdd = off"


def test_it_is_skipped_when_there_is_nothing_to_judge(story) -> None:
    story.write("notes.txt", "uncommitted, but not code\n")
    _, item = story.verify()
    assert item["status"] == "skipped"
    assert item["summary"] == "no new commits or uncommitted changes to judge"


def test_an_unusable_git_base_is_an_error_not_a_pass(story) -> None:
    story.commit("feat: discount", **{SRC: DISCOUNT})
    story.base = "no-such-branch"
    result, item = story.verify()
    assert item["status"] == "error"
    assert "no-such-branch" in item["summary"]
    assert result.ret != 0


@pytest.mark.parametrize("mode", ["order", "strict"])
def test_the_metrics_carry_every_verdict_count(story, mode: str) -> None:
    story.commit("test: discount", **{TEST: DISCOUNT_TEST})
    story.commit("feat: discount", **{SRC: DISCOUNT})
    _, item = story.verify(mode=mode)
    metrics = item["metrics"]
    for key in ("test_first", "paired", "refactor", "exempt", "test_after", "untested"):
        assert key in metrics
    assert metrics["mode"] == mode


GIT_AWAY_AFTER_THE_TESTS = """
import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session):
    (session.config.rootpath / ".git").rename(session.config.rootpath / ".git-away")
"""


def test_the_history_is_read_beside_the_tests_so_judging_asks_git_nothing(story) -> None:
    # Everything the verdicts need from git (the range's log, its raw changes with blob ids)
    # is read while the tests run: with the repository gone by then, the judging still works.
    story.commit("test: discount", **{TEST: DISCOUNT_TEST})
    story.commit("feat: discount", **{SRC: DISCOUNT})
    story.write("tests/conftest.py", GIT_AWAY_AFTER_THE_TESTS)
    story.git("add", "-A")
    story.git("commit", "-q", "-m", "test: conftest")
    try:
        _, item = story.verify()
    finally:
        (story.path / ".git-away").rename(story.path / ".git")
    assert item["status"] == "passed", item
    assert verdicts(item) == ["exempt", "test-first", "exempt"]
