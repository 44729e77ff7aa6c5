from __future__ import annotations

import pytest

from pytest_pbe.git import Classifier
from pytest_pbe.git.classify import glob_match, path_selected


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("*.py", "a.py", True),
        ("*.py", "pkg/deep/a.py", True),  # no slash in pattern: basename match
        ("src/*.py", "src/a.py", True),
        ("src/*.py", "src/sub/a.py", False),  # '*' stops at '/'
        ("src/**/*.py", "src/a.py", True),  # '**/' may match nothing
        ("src/**/*.py", "src/x/y/a.py", True),
        ("src/**", "src/x/y/a.py", True),
        ("**/gen_*.py", "a/b/gen_x.py", True),
        ("docs/?.md", "docs/a.md", True),
        ("docs/?.md", "docs/ab.md", False),
        ("[ab].txt", "b.txt", True),
        ("[!ab].txt", "b.txt", False),
        ("build/", "build/x.py", True),  # a directory pattern covers what is under it
        ("tests", "tests/test_a.py", True),
        ("tests", "src/tests.py", False),
        ("a b/$(x);.py", "a b/$(x);.py", True),
    ],
)
def test_glob_match(pattern: str, path: str, expected: bool) -> None:
    assert glob_match(pattern, path) is expected


def test_path_selected_include_and_exclude() -> None:
    assert path_selected("src/a.py", include=(), exclude=())
    assert path_selected("src/a.py", include=("src/**",), exclude=())
    assert not path_selected("lib/a.py", include=("src/**",), exclude=())
    assert not path_selected("src/gen/a.py", include=("src/**",), exclude=("src/gen/**",))


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("src/app/users.py", "source"),
        ("tests/test_users.py", "test"),
        ("app/users_test.py", "test"),
        ("tests/conftest.py", "test"),
        ("conftest.py", "test"),
        ("README.md", "other"),
        ("src/app/data.json", "other"),
        ("test_notes.txt", "other"),
    ],
)
def test_default_classification(path: str, kind: str) -> None:
    assert Classifier().classify(path) == kind


def test_testpaths_make_helpers_tests() -> None:
    c = Classifier(testpaths=("tests", "it/"))
    assert c.classify("tests/helpers.py") == "test"
    assert c.classify("it/sub/util.py") == "test"
    assert c.classify("tests/data.json") == "other"
    assert c.classify("testsuite/x.py") == "source"


def test_custom_python_files_and_exclude() -> None:
    c = Classifier(python_files=("check_*.py",), exclude=("src/gen/**", "*_pb2.py"))
    assert c.classify("check_x.py") == "test"
    assert c.classify("test_x.py") == "source"
    assert c.classify("src/gen/x.py") == "other"
    assert c.classify("src/api/a_pb2.py") == "other"


def test_source_suffixes() -> None:
    c = Classifier(source_suffixes=(".py", ".pyx"))
    assert c.classify("src/fast.pyx") == "source"
    assert c.classify("src/fast.c") == "other"
