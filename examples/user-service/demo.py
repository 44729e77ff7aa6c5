"""The main job, on a copy of this service: a red checklist, then the fix and a green one.

    python examples/user-service/demo.py [--keep] [--report-dir DIR]

1. copies the service to a temporary directory and commits it on ``main``;
2. on a feature branch, adds a feature test-first (a failing test, then the code);
3. adds a CSV export WITHOUT a test, and runs ``pytest --pbe-verify``: red;
4. fixes it the TDD way (the untested commit is redone: its test first, then the code)
   and runs ``pytest --pbe-verify`` again: green.

Exit status 0 when the demo behaved as expected (red naming the untested file, then
green), 1 when it did not, 2 when it could not run (git missing, say).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
UNTESTED_FILE = "src/user_service/export.py"
IGNORE = shutil.ignore_patterns(
    "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".benchmarks", ".coverage*",
    "*.db",
)  # fmt: skip

DEACTIVATE_TEST = """\
from __future__ import annotations

from fastapi.testclient import TestClient


def test_a_deactivated_user_is_kept_but_inactive(
    client: TestClient, alice: dict[str, object]
) -> None:
    response = client.post(f"/users/{alice['id']}/deactivate")
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert client.get(f"/users/{alice['id']}").json()["is_active"] is False


def test_deactivating_an_unknown_user_is_not_found(client: TestClient) -> None:
    assert client.post("/users/999/deactivate").status_code == 404
"""

DEACTIVATE_CODE = """

@router.post("/{user_id}/deactivate")
def deactivate_user(user_id: int, repo: Repository) -> UserOut:
    user = _found(repo, user_id)
    user.is_active = False
    return UserOut.model_validate(repo.save(user))
"""

EXPORT_CODE = '''\
"""CSV export of the users, for the people who live in spreadsheets."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from user_service.api import Repository
from user_service.models import User

router = APIRouter(tags=["export"])

COLUMNS = ("id", "email", "name", "is_active", "created_at")


def to_csv(users: Iterable[User]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\\n")
    writer.writerow(COLUMNS)
    for user in users:
        writer.writerow([user.id, user.email, user.name, user.is_active, user.created_at])
    return buffer.getvalue()


@router.get("/export/users.csv", response_class=PlainTextResponse)
def export_users(repo: Repository) -> str:
    return to_csv(repo.list(limit=10_000))
'''

EXPORT_TEST = """\
from __future__ import annotations

from fastapi.testclient import TestClient


def test_it_exports_the_users_as_csv(client: TestClient, alice: dict[str, object]) -> None:
    response = client.get("/export/users.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    header, row = response.text.splitlines()
    assert header == "id,email,name,is_active,created_at"
    assert row.startswith(f"{alice['id']},alice@example.com,Alice,True,")
"""

APP_ANCHOR = "    app.include_router(users_router)\n"
APP_EXPORT = "    app.include_router(users_router)\n    app.include_router(export.router)\n"
IMPORT_ANCHOR = "from user_service.api import router as users_router\n"
IMPORT_EXPORT = "from user_service import export\n" + IMPORT_ANCHOR


class DemoError(Exception):
    """The demo could not run (as opposed to: it ran and showed something unexpected)."""


def say(text: str) -> None:
    print(f"\n### demo: {text}", flush=True)


def git_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "CI_", "PBE_", "GIT_", "PRE_COMMIT"))
        and k not in ("CI", "GITLAB_CI", "CHANGE_TARGET", "SYSTEM_PULLREQUEST_TARGETBRANCH")
    }
    env.update(
        GIT_AUTHOR_NAME="Demo Developer",
        GIT_AUTHOR_EMAIL="dev@example.com",
        GIT_COMMITTER_NAME="Demo Developer",
        GIT_COMMITTER_EMAIL="dev@example.com",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
    )
    return env


class Demo:
    def __init__(self, work: Path, report_dir: Path | None) -> None:
        self.work = work
        self.report_dir = report_dir
        self.env = git_env()

    def git(self, *args: str) -> str:
        git = shutil.which("git")
        if git is None:
            raise DemoError("git is not installed: the demo builds a git history")
        proc = subprocess.run(  # noqa: S603  # an argument vector of our own, no shell
            [git, *args], cwd=self.work, env=self.env, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise DemoError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout.strip()

    def write(self, rel: str, text: str) -> None:
        path = self.work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def edit(self, rel: str, old: str, new: str) -> None:
        path = self.work / rel
        text = path.read_text(encoding="utf-8")
        if old not in text:
            raise DemoError(f"{rel} has changed: {old.strip()!r} not found; update demo.py")
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        print(f"  commit {self.git('rev-parse', '--short', 'HEAD')}  {message}", flush=True)

    def verify(self, name: str) -> tuple[int, str]:
        """``pytest --pbe-verify`` in the copy, output shown live; (exit status, output)."""
        args = [sys.executable, "-m", "pytest", "--pbe-verify", "--pbe-base", "main"]
        args += ["-p", "no:cacheprovider", "-q"]
        if self.report_dir is not None:
            out = self.report_dir / name
            out.mkdir(parents=True, exist_ok=True)
            # "--opt=value": pytest finds its config file before it knows plugin options,
            # and would take a separate existing path outside the project as a test path.
            args += [f"--pbe-report-json={out / 'report.json'}"]
            args += [f"--pbe-report-md={out / 'report.md'}", f"--pbe-report-html={out}"]
        say(f"$ pytest --pbe-verify --pbe-base main   ({name})")
        proc = subprocess.run(  # noqa: S603  # an argument vector of our own, no shell
            args,
            cwd=self.work,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        print(proc.stdout, end="", flush=True)
        return proc.returncode, proc.stdout

    def run(self) -> bool:
        say(f"a copy of the user service in {self.work}")
        shutil.copytree(HERE, self.work, ignore=IGNORE, dirs_exist_ok=True)
        (self.work / "demo.py").unlink()
        self.git("init", "-q", "-b", "main")
        self.commit("User service: CRUD for users")
        self.git("checkout", "-q", "-b", "feature")

        say("a feature, test first: the failing test, then the code")
        self.write("tests/test_deactivate.py", DEACTIVATE_TEST)
        self.commit("Test: deactivating a user keeps it, inactive")
        with (self.work / "src/user_service/api.py").open("a", encoding="utf-8") as handle:
            handle.write(DEACTIVATE_CODE)
        self.commit("Deactivate users")

        say("a change WITHOUT a test: a CSV export")
        self.write(UNTESTED_FILE, EXPORT_CODE)
        self.edit("src/user_service/app.py", IMPORT_ANCHOR, IMPORT_EXPORT)
        self.edit("src/user_service/app.py", APP_ANCHOR, APP_EXPORT)
        self.commit("Export users as CSV")
        red, red_output = self.verify("red")

        say("the fix, the TDD way: redo the export commit with its test first")
        self.git("reset", "-q", "--hard", "HEAD~1")
        self.write("tests/test_export.py", EXPORT_TEST)
        self.commit("Test: users export as CSV")
        self.write(UNTESTED_FILE, EXPORT_CODE)
        self.edit("src/user_service/app.py", IMPORT_ANCHOR, IMPORT_EXPORT)
        self.edit("src/user_service/app.py", APP_ANCHOR, APP_EXPORT)
        self.commit("Export users as CSV")
        green, _ = self.verify("green")

        problems = []
        if red == 0:
            problems.append("the change without a test passed the checklist (expected red)")
        elif UNTESTED_FILE not in red_output:
            problems.append(f"the red checklist does not name the untested {UNTESTED_FILE}")
        if green != 0:
            problems.append(f"the fixed history did not pass the checklist (exit {green})")
        if problems:
            say("UNEXPECTED: " + "; ".join(problems))
            return False
        say(f"as expected: red (exit {red}) naming {UNTESTED_FILE}, then green (exit 0)")
        return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=textwrap.dedent(__doc__ or "").strip())
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy")
    parser.add_argument(
        "--report-dir", type=Path, help="write each run's JSON, Markdown and HTML reports here"
    )
    options = parser.parse_args(argv)
    report_dir = options.report_dir.resolve() if options.report_dir else None
    temp = Path(tempfile.mkdtemp(prefix="pbe-demo-"))
    try:
        ok = Demo(temp / "user-service", report_dir).run()
    except DemoError as exc:
        print(f"demo: cannot run: {exc}", file=sys.stderr)
        return 2
    finally:
        if options.keep:
            print(f"demo: the copy is kept in {temp / 'user-service'}")
        else:
            shutil.rmtree(temp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
