from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from gitrepo import GitRepo, make_repo

from pytest_pbe.errors import ParseError
from pytest_pbe.git import ChangeSet, Classifier, Repository, collect_changes
from pytest_pbe.git.diff import (
    file_line_count,
    parse_raw_z,
    parse_unified_zero,
    text_line_count,
)

BASE = "".join(f"line {i}\n" for i in range(1, 11))


def lines(*numbers: int) -> list[str]:
    return [f"line {i}\n" for i in numbers]


def changes(repo: GitRepo, base: str = "HEAD", **kw: object) -> ChangeSet:
    r = Repository.discover(repo.path)
    return collect_changes(r, repo.base_at(base), **kw)  # type: ignore[arg-type]


# --- the pure parsers -------------------------------------------------------------------


def test_parse_unified_zero_basic() -> None:
    patch = (
        b"diff --git a/f b/f\nindex 1..2 100644\n--- a/f\n+++ b/f\n"
        b"@@ -2 +2 @@ a\n-b\n+B\n"
        b"@@ -3,0 +4,2 @@ c\n+d\n+e\n"
        b"@@ -7,2 +8,0 @@\n-x\n-y\n"
        b"diff --git a/g b/g\nold mode 100644\nnew mode 100755\n"
        b"diff --git a/h b/h\nnew file mode 100644\n--- /dev/null\n+++ b/h\n"
        b"@@ -0,0 +1 @@\n++++ looks like a header\n\\ No newline at end of file\n"
    )
    assert parse_unified_zero(patch) == [frozenset({2, 4, 5}), frozenset(), frozenset({1})]


def test_parse_unified_zero_context_lines_are_not_new() -> None:
    # diff.interHunkContext can glue hunks together with context lines in between.
    patch = b"diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n-a\n+A\n b\n-c\n+C\n"
    assert parse_unified_zero(patch) == [frozenset({1, 3})]


def test_parse_unified_zero_no_newline_marker_between_lines() -> None:
    patch = b"diff --git a/f b/f\n@@ -4 +4,2 @@ c\n-d\n\\ No newline at end of file\n+d\n+e\n"
    assert parse_unified_zero(patch) == [frozenset({4, 5})]


def test_parse_unified_zero_empty() -> None:
    assert parse_unified_zero(b"") == []


@pytest.mark.parametrize(
    "garbage",
    [
        b"hello world\n",
        b"diff --git a/f b/f\n@@ -1 +1 @@\n-a\n",  # truncated hunk
        b"diff --git a/f b/f\n@@ -x +1 @@\n+a\n",  # malformed hunk header
        b"diff --git a/f b/f\n@@ -1 +1 @@\n-a\n*a\n",  # unknown line tag
        b"diff --git a/f b/f\n@@ -1 +1 @@\n-a\n+a\nstray\n",  # text after a hunk
    ],
)
def test_parse_unified_zero_rejects_garbage(garbage: bytes) -> None:
    with pytest.raises(ParseError):
        parse_unified_zero(garbage)


def test_parse_raw_z() -> None:
    data = (
        b":100644 100644 aaa 000 M\0f\0:100644 100644 bbb ccc R087\0old name\0new\nname\0"
        b"\0diff --git a/f b/f\n"
    )
    entries, rest = parse_raw_z(data)
    assert [(e.status, e.old_path, e.path) for e in entries] == [
        ("M", None, "f"),
        ("R", "old name", "new\nname"),
    ]
    assert rest == b"diff --git a/f b/f\n"


@pytest.mark.parametrize("garbage", [b":100644 M\0f\0", b":100644 100644 a b M\0"])
def test_parse_raw_z_rejects_garbage(garbage: bytes) -> None:
    with pytest.raises(ParseError):
        parse_raw_z(garbage)


@pytest.mark.parametrize(
    ("data", "count"),
    [
        (b"", 0),
        (b"a", 1),
        (b"a\n", 1),
        (b"a\nb", 2),
        (b"a\r\nb\r\n", 2),
        (b"\n\n", 2),
    ],
)
def test_text_line_count(data: bytes, count: int) -> None:
    assert text_line_count(data) == count


def test_text_line_count_binary() -> None:
    assert text_line_count(b"abc\0def\n") is None


# --- against real repositories -------------------------------------------------------------


def test_clean_tree_has_no_new_code(repo: GitRepo) -> None:
    cs = changes(repo)
    assert cs.files == ()
    assert not cs.dirty
    assert cs.root == repo.path.resolve()
    assert cs.head_sha == repo.sha("HEAD")
    assert cs.include_uncommitted


def test_added_lines(repo: GitRepo) -> None:
    repo.write(
        "src/app.py", "".join([*lines(1, 2, 3), "new a\n", "new b\n", *lines(*range(4, 11))])
    )
    cs = changes(repo)
    assert cs.lines_for("src/app.py") == {4, 5}
    (change,) = cs.files
    assert (change.status, change.kind, change.old_path) == ("modified", "source", None)
    assert cs.dirty


def test_modified_line(repo: GitRepo) -> None:
    repo.write("src/app.py", BASE.replace("line 7\n", "line seven\n"))
    assert changes(repo).lines_for("src/app.py") == {7}


def test_pure_deletion_is_no_new_code(repo: GitRepo) -> None:
    repo.write("src/app.py", BASE.replace("line 2\n", ""))
    cs = changes(repo)
    assert cs.files == ()
    assert cs.lines_for("src/app.py") == frozenset()
    assert cs.dirty


def test_deleted_file_is_no_new_code(repo: GitRepo) -> None:
    (repo.path / "src" / "app.py").unlink()
    assert changes(repo).files == ()


def test_crlf_file(repo: GitRepo) -> None:
    repo.write("win.py", b"a\r\nb\r\nc\r\n")
    repo.commit("crlf")
    repo.write("win.py", b"a\r\nB\r\nc\r\nd\r\n")
    assert changes(repo).lines_for("win.py") == {2, 4}


def test_no_final_newline(repo: GitRepo) -> None:
    repo.write("a.py", "a\nb")
    repo.write("b.py", "a\nb\n")
    repo.commit("no eol")
    repo.write("a.py", "a\nb\nc")  # 'b' gained its newline, 'c' is new and lacks one
    repo.write("b.py", "a\nb\nc")
    cs = changes(repo)
    assert cs.lines_for("a.py") == {2, 3}
    assert cs.lines_for("b.py") == {3}


def test_rename_with_edit_counts_only_edited_lines(repo: GitRepo) -> None:
    repo.git("mv", "src/app.py", "src/renamed.py")
    repo.write("src/renamed.py", BASE.replace("line 5\n", "line five\n"))
    cs = changes(repo)
    (change,) = cs.files
    assert (change.path, change.status, change.old_path) == (
        "src/renamed.py",
        "renamed",
        "src/app.py",
    )
    assert change.lines == {5}


def test_committed_pure_rename_is_no_new_code(repo: GitRepo) -> None:
    repo.git("mv", "src/app.py", "src/moved.py")
    repo.commit("move")
    assert changes(repo, "HEAD~1").files == ()


def test_binary_files_are_read_as_text_and_judged_by_kind(repo: GitRepo) -> None:
    # git diff --text: lines come from the bytes, never from git's binary guess; the
    # files are "other", so no item judges them. An untracked non-Python binary is skipped.
    repo.write("blob.bin", b"\x00\x01\x02binary\n")
    repo.commit("binary")
    repo.write("blob.bin", b"\x00\x01\x02changed\nmore\n")
    repo.write("new.bin", b"\x00new\n")
    repo.git("add", "new.bin")
    repo.write("untracked.bin", b"PNG\x00\x00\n")
    repo.write("untracked.py", b"x = 1\n\x00\n")
    got = {f.path: (f.kind, sorted(f.lines)) for f in changes(repo).files}
    assert got == {
        "blob.bin": ("other", [1, 2]),
        "new.bin": ("other", [1]),
        "untracked.py": ("source", [1, 2]),
    }
    assert {f.path for f in changes(repo, "HEAD~1").files} == set(got)


def test_mode_only_change(repo: GitRepo) -> None:
    (repo.path / "src" / "app.py").chmod(0o755)
    cs = changes(repo)
    assert cs.files == ()
    assert cs.dirty


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks")
def test_symlinks_contribute_nothing(repo: GitRepo) -> None:
    (repo.path / "committed_link").symlink_to("src/app.py")
    repo.commit("link")
    (repo.path / "untracked_link").symlink_to("src/app.py")
    (repo.path / "committed_link").unlink()
    (repo.path / "committed_link").symlink_to("elsewhere/and/longer")
    assert changes(repo, "HEAD~1").files == ()
    # a symlink replaced by a regular file: its lines are all new
    (repo.path / "committed_link").unlink()
    repo.write("committed_link", "now a file\nwith two lines\n")
    assert changes(repo, "HEAD~1").lines_for("committed_link") == {1, 2}


def test_submodule_bump_contributes_nothing(repo: GitRepo, tmp_path: Path) -> None:
    lib = make_repo(tmp_path / "lib")
    lib.write("lib.py", "x = 1\n")
    lib.commit("lib 1")
    repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib.path), "sub")
    repo.commit("add submodule")
    lib.write("lib.py", "x = 2\ny = 3\n")
    lib.commit("lib 2")
    sub = GitRepo(repo.path / "sub")
    sub.git("-c", "protocol.file.allow=always", "pull", "-q", "origin", "main")
    cs = changes(repo, "HEAD")
    assert [f.path for f in cs.files] == []
    repo.commit("bump")
    cs = changes(repo, "HEAD~2")
    assert [f.path for f in cs.files] == [".gitmodules"]


WEIRD = [
    "with space.py",
    "ünïcödé.py",
    'q"uote.py',
    "it's.py",
    "-leading-dash.py",
    "$(touch pwned);.py",
    "tab\there.py",
    "new\nline.py",
    "back\\slash.py",
    "dir with space/ñ.py",
]


@pytest.mark.parametrize("tracked", [True, False])
def test_weird_paths_come_through_exactly(repo: GitRepo, tracked: bool) -> None:
    for name in WEIRD:
        repo.write(name, "one\n")
    if tracked:
        repo.commit("weird")
    for name in WEIRD:
        repo.write(name, "one\ntwo\n")
    cs = changes(repo, "HEAD~1" if tracked else "HEAD")
    assert sorted(cs.by_path()) == sorted(WEIRD)
    assert all(cs.lines_for(name) == {1, 2} for name in WEIRD)
    assert all(f.status == ("added" if tracked else "untracked") for f in cs.files)
    assert not (repo.path / "pwned").exists()
    if tracked:  # and measured from the commit that added them: only the edit
        assert all(changes(repo, "HEAD").lines_for(name) == {2} for name in WEIRD)


def test_non_utf8_path(repo: GitRepo) -> None:
    if sys.platform == "darwin":
        pytest.skip("APFS refuses non-UTF-8 names")
    name = os.fsdecode(b"latin1-\xe9.py")
    target = repo.path / name
    target.write_bytes(b"x = 1\n")
    assert changes(repo).lines_for(name) == {1}
    repo.commit("latin1")
    target.write_bytes(b"x = 1\ny = 2\n")
    assert changes(repo, "HEAD~1").lines_for(name) == {1, 2}


def test_untracked_files(repo: GitRepo) -> None:
    repo.write(".gitignore", "ignored.py\nbuild/\n")
    repo.commit("ignore")
    repo.write("three.py", "a\nb\nc\n")
    repo.write("no_eol.py", "a\nb")
    repo.write("empty.py", "")
    repo.write("ignored.py", "a\n")
    repo.write("build/out.py", "a\n")
    repo.write("pkg/sub/mod.py", "a\n\n")
    nested = make_repo(repo.path / "nested")
    nested.write("inner.py", "a\n")
    nested.commit("inner")
    cs = changes(repo)
    assert {f.path: f.lines for f in cs.files} == {
        "three.py": {1, 2, 3},
        "no_eol.py": {1, 2},
        "pkg/sub/mod.py": {1, 2},
    }
    assert all(f.status == "untracked" for f in cs.files)
    assert cs.dirty


def test_untracked_only_is_dirty(repo: GitRepo) -> None:
    repo.write("notes.txt", "x\n")
    cs = changes(repo)
    assert cs.dirty
    assert cs.lines_for("notes.txt") == {1}
    assert cs.by_path()["notes.txt"].kind == "other"


def test_intent_to_add_counts_whole(repo: GitRepo) -> None:
    repo.write("ita.py", "a\nb\n")
    repo.git("add", "-N", "ita.py")
    cs = changes(repo)
    assert cs.lines_for("ita.py") == {1, 2}
    assert cs.by_path()["ita.py"].status == "added"


def test_committed_staged_unstaged_in_one_file(repo: GitRepo) -> None:
    base = repo.base_at("HEAD")
    content = ["committed\n", *lines(*range(1, 11))]
    repo.write("src/app.py", "".join(content))
    repo.commit("commit one line")
    content[5] = "staged\n"  # was 'line 5', now at line 6
    repo.write("src/app.py", "".join(content))
    repo.git("add", "src/app.py")
    content.append("unstaged\n")
    repo.write("src/app.py", "".join(content))
    r = Repository.discover(repo.path)
    assert collect_changes(r, base).lines_for("src/app.py") == {1, 6, 12}
    only_committed = collect_changes(r, base, include_uncommitted=False)
    assert only_committed.lines_for("src/app.py") == {1}
    assert only_committed.dirty
    assert not only_committed.include_uncommitted


def test_include_uncommitted_false_ignores_untracked(repo: GitRepo) -> None:
    repo.write("later.py", "x\n")
    r = Repository.discover(repo.path)
    assert collect_changes(r, repo.base_at("HEAD"), include_uncommitted=False).files == ()


def test_include_exclude_and_classification(repo: GitRepo) -> None:
    repo.write("src/pkg/mod.py", "a\n")
    repo.write("src/pkg/gen/auto.py", "a\n")
    repo.write("tests/test_mod.py", "a\n")
    repo.write("tests/conftest.py", "a\n")
    repo.write("docs/index.md", "a\n")
    cs = changes(repo, include=["src/**", "tests/**"], exclude=["**/gen/**"])
    assert [(f.path, f.kind) for f in cs.files] == [
        ("src/pkg/mod.py", "source"),
        ("tests/conftest.py", "test"),
        ("tests/test_mod.py", "test"),
    ]
    custom = changes(repo, classifier=Classifier(exclude=("src/pkg/**",)))
    assert custom.by_path()["src/pkg/mod.py"].kind == "other"
    assert custom.by_path()["docs/index.md"].kind == "other"


def test_files_sorted_by_path(repo: GitRepo) -> None:
    for name in ("b.py", "a.py", "c/a.py", "B.py"):
        repo.write(name, "x\n")
    assert [f.path for f in changes(repo).files] == ["B.py", "a.py", "b.py", "c/a.py"]


def test_changes_measured_from_merge_base(feature: GitRepo) -> None:
    r = Repository.discover(feature.path)  # main moved on (main2.py) after feature forked
    from pytest_pbe.git import resolve_base

    base = resolve_base(r, explicit="main", environ={})
    cs = collect_changes(r, base)
    assert [f.path for f in cs.files] == ["feature.py"]


def test_works_from_a_subdirectory_cwd(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    repo.write("src/new.py", "a\n")
    repo.write("top.py", "a\n")
    monkeypatch.chdir(repo.path / "src")
    assert [f.path for f in changes(repo).files] == ["src/new.py", "top.py"]


@pytest.mark.parametrize(
    ("data", "count"),
    [(b"", 0), (b"a", 1), (b"a\n", 1), (b"a\nb", 2), (b"x" * 9000 + b"\n" * 3, 3)],
)
def test_file_line_count(tmp_path: Path, data: bytes, count: int) -> None:
    path = tmp_path / "f"
    path.write_bytes(data)
    assert file_line_count(path) == count == text_line_count(data)


def test_file_line_count_binary(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 7000 + b"\0")
    assert file_line_count(path) is None
    path.write_bytes(b"x" * 9000 + b"\0")  # beyond git's sniffing window: text
    assert file_line_count(path) == 1


def test_file_line_count_chunk_boundary(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"a\n" * 600_000 + b"tail")
    assert file_line_count(path) == 600_001
