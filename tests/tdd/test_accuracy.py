"""Verdicts a reviewer agrees with: each cause of a wrong verdict seen on real histories.

Each test builds the shape a real history had (see issue 17) in a real repository and runs
the item end to end, under per-test coverage and, where the cause is about evidence, under
the names mapping too (``--cov=src`` without ``--cov-context``).
"""

from __future__ import annotations

import pytest

from pytest_pbe.git import Classifier
from pytest_pbe.tdd.source import outline

SRC = "src__shop__discount_py"
TEST = "tests__test_discount_py"
DISCOUNT = "def apply(price, percent):\n    return round(price * (100 - percent) / 100, 2)\n"
DISCOUNT_TEST = (
    "from shop.discount import apply\n\n\n"
    "def test_apply_takes_the_percentage_off():\n    assert apply(200, 10) == 180\n"
)
NAMES = ("--cov=src", "--cov-report=")


def verdicts(item) -> list[str]:
    return [line.split()[1] for line in item["details"]]


# Cause 3: edits that change no behaviour are not judged as behaviour.

NOT_BEHAVIOUR = {
    "a comment under the def line": (
        "def apply(price, percent):\n    # percent is 0..100\n"
        "    return round(price * (100 - percent) / 100, 2)\n"
    ),
    "a suppression comment": (
        "def apply(price, percent):\n"
        "    return round(price * (100 - percent) / 100, 2)  # type: ignore[no-any-return]\n"
    ),
    "a noqa comment": "def apply(price, percent):  # noqa: ANN001\n"
    "    return round(price * (100 - percent) / 100, 2)\n",
    "a docstring": (
        'def apply(price, percent):\n    """Take the percentage off."""\n'
        "    return round(price * (100 - percent) / 100, 2)\n"
    ),
    "a reformat": (
        "def apply(price, percent):\n    return round(\n        price * (100 - percent) / 100,"
        "\n        2,\n    )\n"
    ),
}


@pytest.mark.parametrize("edit", sorted(NOT_BEHAVIOUR))
def test_an_edit_that_changes_no_code_is_exempt_even_without_tests(story, edit: str) -> None:
    story.commit("feat: discount, no test yet", **{SRC: DISCOUNT})
    story.base = story.git("rev-parse", "HEAD")
    story.commit(f"style: {edit}", **{SRC: NOT_BEHAVIOUR[edit]})
    _, item = story.verify()
    assert item["status"] == "passed", item
    assert verdicts(item) == ["exempt"]
    assert "no executable line changed" in item["details"][0]


def test_a_comment_line_under_a_header_is_not_executable() -> None:
    out = outline(
        b"if True:\n    # why\n    x = 1\n\ndef f(\n    a,\n):\n    # note\n    return a\n"
    )
    assert out.is_executable(1)
    assert not out.is_executable(2)
    assert {5, 6, 7} <= out.executable
    assert not out.is_executable(8)


def test_a_string_line_that_looks_like_a_comment_is_still_code() -> None:
    out = outline(b'QUERY = """\n# not a comment\nselect 1\n"""\n')
    assert out.is_executable(2)


def test_code_and_a_comment_in_another_unit_judge_only_the_code(story) -> None:
    two = DISCOUNT + "\n\ndef twice(price):\n    return price * 2\n"
    story.commit("test: twice", tests__test_twice_py=(
        "from shop.discount import twice\n\n\ndef test_twice():\n    assert twice(2) == 4\n"
    ))  # fmt: skip
    story.commit("feat: twice", **{SRC: two})
    story.base = story.git("rev-parse", "HEAD")
    changed = two.replace("return price * 2", "return price + price").replace(
        "def apply(price, percent):\n", "def apply(price, percent):\n    # untested, known\n"
    )
    story.commit("refactor: twice", **{SRC: changed})
    _, item = story.verify()
    assert item["status"] == "passed", item
    assert verdicts(item) == ["refactor"]


# Cause 2 and 3 in tests: an earlier test edit counts only when the test's code changed.

TEST_EDITS = {
    "a comment": DISCOUNT_TEST.replace("    assert", "    # ten percent\n    assert"),
    "a docstring": DISCOUNT_TEST.replace("    assert", '    """Ten percent."""\n    assert'),
    "an assertion message": DISCOUNT_TEST.replace("== 180\n", '== 180, "ten percent off"\n'),
}


@pytest.mark.parametrize("edit", sorted(TEST_EDITS))
def test_an_earlier_test_edit_that_checks_nothing_new_does_not_make_test_first(
    story, edit: str
) -> None:
    story.commit("feat: discount", **{SRC: DISCOUNT, TEST: DISCOUNT_TEST})
    story.base = story.git("rev-parse", "HEAD")
    story.commit(f"test: {edit}", **{TEST: TEST_EDITS[edit]})
    story.commit("refactor: discount", **{SRC: DISCOUNT.replace("100 - percent", "-percent + 100")})
    _, item = story.verify()
    assert verdicts(item) == ["exempt", "refactor"]


def test_an_earlier_new_assertion_still_makes_test_first(story) -> None:
    story.commit("feat: discount", **{SRC: DISCOUNT, TEST: DISCOUNT_TEST})
    story.base = story.git("rev-parse", "HEAD")
    story.commit("test: no discount on free items", **{
        TEST: DISCOUNT_TEST + "    assert apply(0, 10) == 0\n"
    })  # fmt: skip
    story.commit(
        "fix: free items", **{SRC: DISCOUNT.replace("return", "return 0 if not price else")}
    )
    _, item = story.verify()
    assert verdicts(item) == ["exempt", "test-first"]


# Cause 4: a change whose existing tests had to be fixed later is test-after, not refactor.

TWO_TESTS = DISCOUNT_TEST + (
    "\n\ndef test_apply_with_no_percentage_keeps_the_price():\n    assert apply(200, 0) == 200\n"
)


@pytest.mark.parametrize("names", [False, True], ids=["coverage", "names"])
def test_a_change_whose_existing_test_was_fixed_later_is_test_after(story, names: bool) -> None:
    story.commit("feat: discount", **{SRC: DISCOUNT, TEST: TWO_TESTS})
    story.base = story.git("rev-parse", "HEAD")
    changed = story.commit("feat: whole units", **{SRC: DISCOUNT.replace(", 2)", ")")})
    fixed = story.commit("test: fix", **{TEST: TWO_TESTS.replace("== 180", "== 180.0")})
    _, item = story.verify(*(NAMES if names else ()))
    assert verdicts(item) == ["test-after", "exempt"]
    [finding] = item["findings"]
    assert finding["commit"] == changed
    assert f"arrived later in {fixed[:7]}" in finding["message"]


# Cause 7: test support lives in the tests' directories.


@pytest.mark.parametrize(
    "path",
    ["tests/utils/factories.py", "tests/__init__.py", "hc/api/tests/helpers.py", "test/support.py"],
)
def test_helpers_in_a_test_directory_are_test_code_without_testpaths(path: str) -> None:
    assert Classifier().classify(path) == "test"


@pytest.mark.parametrize("path", ["src/shop/testing_tools.py", "src/contest/x.py", "latest/a.py"])
def test_a_directory_whose_name_only_contains_test_is_source(path: str) -> None:
    assert Classifier().classify(path) == "source"


# Cause 1: code that runs only at import is judged by the tests that use it.

ERRORS_TEST = (
    "import pytest\n\nfrom shop.errors import OutOfStock\nfrom shop.stock import take\n\n\n"
    "def test_taking_the_last_item_twice_is_out_of_stock():\n"
    "    with pytest.raises(OutOfStock) as raised:\n        take({'pen': 0}, 'pen')\n"
    "    assert raised.value.status == 409\n"
)
ERRORS = 'class OutOfStock(Exception):\n    """Nothing left."""\n\n    status = 409\n'
STOCK = (
    "from shop.errors import OutOfStock\n\n\ndef take(stock, name):\n"
    "    if not stock[name]:\n        raise OutOfStock(name)\n    stock[name] -= 1\n"
)


@pytest.mark.parametrize("names", [False, True], ids=["coverage", "names"])
def test_a_class_without_methods_is_judged_by_the_tests_that_use_it(story, names: bool) -> None:
    story.commit("test: out of stock", tests__test_stock_py=ERRORS_TEST)
    story.commit("feat: out of stock", src__shop__errors_py=ERRORS, src__shop__stock_py=STOCK)
    _, item = story.verify(*(NAMES if names else ()))
    assert item["status"] == "passed", item
    assert verdicts(item) == ["exempt", "test-first"]


def test_a_class_no_test_uses_is_still_untested(story) -> None:
    story.commit("test: out of stock", tests__test_stock_py=ERRORS_TEST)
    story.commit("feat: out of stock", src__shop__errors_py=ERRORS, src__shop__stock_py=STOCK)
    story.base = story.git("rev-parse", "HEAD")
    sha = story.commit("feat: gone", src__shop__errors_py=ERRORS + "\n\nclass Gone(Exception):\n"
                       "    status = 410\n")  # fmt: skip
    _, item = story.verify()
    assert item["status"] == "failed", item
    [finding] = item["findings"]
    assert (finding["commit"], finding["rule"]) == (sha, "untested")


def test_a_module_constant_is_judged_by_the_tests_that_run_code_naming_it(story) -> None:
    story.commit("test: limit", tests__test_cart_py=(
        "from shop.cart import add\n\n\ndef test_a_cart_holds_three_items():\n"
        "    cart = []\n    for _ in range(4):\n        add(cart, 'pen')\n"
        "    assert len(cart) == 3\n"
    ))  # fmt: skip
    story.commit(
        "feat: limit",
        src__shop__settings_py="LIMIT = 3\n",
        src__shop__cart_py="from shop import settings\n\n\ndef add(cart, item):\n"
        "    if len(cart) < settings.LIMIT:\n        cart.append(item)\n",
    )
    _, item = story.verify()
    assert item["status"] == "passed", item
    assert verdicts(item) == ["exempt", "test-first"]


# Cause 8: each violation says how to settle it for commits already made.


def test_test_after_advice_names_the_rebase_and_the_waiver(story) -> None:
    code = story.commit("feat: discount", **{SRC: DISCOUNT})
    story.commit("test: discount", **{TEST: DISCOUNT_TEST})
    _, item = story.verify()
    [finding] = item["findings"]
    parent = story.git("rev-parse", f"{code}^")[:7]
    assert f"git rebase -i {parent}" in finding["message"]
    assert "PBE-Waive: <reason>" in finding["message"]


def test_following_the_untested_advice_to_the_letter_settles_it(story) -> None:
    code = story.commit("feat: discount", **{SRC: DISCOUNT})
    _, item = story.verify()
    [finding] = item["findings"]
    assert "commit the test before it" in finding["message"]
    # As the message says: the test in a commit of its own, moved before the code's.
    story.commit("test: discount", **{TEST: DISCOUNT_TEST})
    story.git("rebase", "-q", "--onto", story.base, code, "HEAD")
    story.git("cherry-pick", code)
    _, item = story.verify()
    assert item["status"] == "passed", item
    assert verdicts(item) == ["exempt", "test-first"]


def test_uncommitted_advice_says_to_commit_the_test_first(story) -> None:
    story.write("src/shop/discount.py", DISCOUNT)
    _, item = story.verify()
    [finding] = item["findings"]
    assert "commit a test that fails without it first" in finding["message"]


def test_a_finding_on_code_run_at_import_says_which_evidence_judged(story) -> None:
    story.commit("feat: out of stock", src__shop__errors_py=ERRORS, src__shop__stock_py=STOCK)
    story.commit("test: out of stock", tests__test_stock_py=ERRORS_TEST)
    _, item = story.verify()
    errors = [f for f in item["findings"] if f["path"] == "src/shop/errors.py"]
    assert [f["rule"] for f in errors] == ["test-after"]
    assert "judged by tests that use OutOfStock (code that runs at import)" in errors[0]["message"]


# Cause 6: findings point at HEAD's lines, whatever later commits did to the file.


def test_a_finding_points_at_the_lines_as_they_stand_at_head(story) -> None:
    code = story.commit("feat: discount", **{SRC: DISCOUNT})
    story.commit("docs: header", **{SRC: "# Pricing.\n#\n# Rules of the shop.\n" + DISCOUNT})
    _, item = story.verify()
    [finding] = item["findings"]
    assert finding["commit"] == code
    assert (finding["path"], finding["line"], finding["end_line"]) == ("src/shop/discount.py", 4, 5)


def test_a_finding_follows_a_rename_and_says_when_the_code_is_gone(story) -> None:
    code = story.commit("feat: discount", **{SRC: DISCOUNT})
    story.git("mv", "src/shop/discount.py", "src/shop/pricing.py")
    story.commit("refactor: rename")
    _, item = story.verify()
    [finding] = item["findings"]
    assert (finding["path"], finding["line"]) == ("src/shop/pricing.py", 1)
    story.write("src/shop/pricing.py", "def apply(price, rate):\n    return price\n")
    story.commit("feat: no discounts")
    _, item = story.verify()
    [first] = [f for f in item["findings"] if f["commit"] == code]
    assert (first["path"], first["line"]) == ("src/shop/pricing.py", None)
    assert first["message"].startswith(
        f"lines 1-2 of src/shop/discount.py changed in {code[:7]} 'feat: discount' (no longer "
        "at HEAD as written)"
    )


# Cause 5: replay runs exactly the tests added or changed for the commit, down to new cases.

PARAM_TEST = (
    "import pytest\n\nfrom shop.discount import apply\n\n\n"
    "@pytest.mark.parametrize(('price', 'percent', 'expected'), [{cases}])\n"
    "def test_apply(price, percent, expected):\n    assert apply(price, percent) == expected\n"
)
OLD_CASE = "(200, 10, 180)"
NEW_CASE = "(200, 150, 0)"


@pytest.mark.parametrize("order", ["paired", "test-first"])
def test_replay_judges_only_the_new_case_of_a_parametrized_test(story, order: str) -> None:
    story.commit("feat: discount", **{SRC: DISCOUNT, TEST: PARAM_TEST.format(cases=OLD_CASE)})
    story.base = story.git("rev-parse", "HEAD")
    cases = PARAM_TEST.format(cases=f"{OLD_CASE}, {NEW_CASE}")
    capped = DISCOUNT.replace("    return", "    percent = min(percent, 100)\n    return")
    if order == "paired":
        story.commit("fix: cap the discount", **{SRC: capped, TEST: cases})
    else:
        story.commit("test: a discount over 100%", **{TEST: cases})
        story.commit("fix: cap the discount", **{SRC: capped})
    _, item = story.verify(mode="replay")
    assert item["metrics"]["replay_verified"] == 1, item
    assert item["metrics"]["replay_failed"] == 0, item["findings"]


def test_replay_still_runs_every_case_of_a_test_whose_body_changed(story) -> None:
    story.commit("feat: discount", **{SRC: DISCOUNT, TEST: PARAM_TEST.format(cases=OLD_CASE)})
    story.base = story.git("rev-parse", "HEAD")
    changed = PARAM_TEST.format(cases=OLD_CASE).replace("== expected", "== expected + 0")
    story.commit("feat: same", **{SRC: DISCOUNT.replace(", 2)", ", ndigits=2)"), TEST: changed})
    _, item = story.verify(mode="replay")
    assert item["metrics"]["replay_failed"] == 1, item
