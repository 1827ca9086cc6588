"""git over HTTP with the real git CLI: access by role, push policy, release, submit."""

from __future__ import annotations

import asyncio
import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from traitlets.config import Config

from grader_service.errors import BadRequest
from grader_service.git.commands import git, git_text
from grader_service.git.layout import RepoAddress, RepoType
from grader_service.git.repos import MAIN, ensure_bare_repo, is_commit_on_main, main_tip
from grader_service.handlers import git as git_handlers
from tests.conftest import TOKENS
from tests.convert.notebooks import HIDDEN_TEXT, MARK_SCHEME_TEXT
from tests.gitutil import GitClient, write_source_assignment
from tests.utils import ApiClient, MockGraderService, assert_error

pytestmark = pytest.mark.asyncio


def client(app: MockGraderService, user: str) -> GitClient:
    return GitClient(app.url, TOKENS[user], user)


@pytest_asyncio.fixture
async def released(app: MockGraderService, api: ApiClient, tmp_path: Path) -> dict[str, Any]:
    """An assignment whose source was pushed and released by the service."""
    r = await api.post("lectures/1/assignments", user="instructor", body={"name": "ps1"})
    aid = r.json["id"]
    teacher = client(app, "instructor")
    src = tmp_path / "source"
    await teacher.clone(f"lect1/{aid}/source", src)
    write_source_assignment(src)
    await teacher.commit_all(src, "Problem set 1")
    await teacher.run("push", "--quiet", "origin", "main", cwd=src)
    r = await api.post(f"lectures/1/assignments/{aid}/release", user="instructor")
    assert r.status == 201, r.body
    return {"id": aid, "release": r.json}


async def test_pushing_the_source_marks_a_new_assignment_pushed(
    app: MockGraderService, api: ApiClient, tmp_path: Path
) -> None:
    r = await api.post("lectures/1/assignments", user="instructor", body={"name": "ps2"})
    aid = r.json["id"]
    teacher = client(app, "instructor")
    src = tmp_path / "source"
    await teacher.clone(f"lect1/{aid}/source", src)  # a fetch changes nothing
    r = await api.get(f"lectures/1/assignments/{aid}", user="instructor")
    assert r.json["status"] == "created"
    write_source_assignment(src)
    await teacher.commit_all(src, "Problem set 2")
    await teacher.run("push", "--quiet", "origin", "main", cwd=src)
    r = await api.get(f"lectures/1/assignments/{aid}", user="instructor")
    assert r.json["status"] == "pushed"


async def test_release_is_generated_by_the_service(
    app: MockGraderService, api: ApiClient, released: dict[str, Any], tmp_path: Path
) -> None:
    release = released["release"]
    assert release["files"] == ["data.csv", "ps1.ipynb"]
    assert release["points"] == 12.0 and release["tag"] == "release-1"
    assert release["assignment"]["status"] == "released"
    # the student's clone has the student version: no solutions, no hidden tests
    work = tmp_path / "student"
    await client(app, "student").clone(f"lect1/{released['id']}/user/student", work)
    notebook = (work / "ps1.ipynb").read_text()
    assert HIDDEN_TEXT not in notebook and MARK_SCHEME_TEXT not in notebook
    assert "BEGIN SOLUTION" not in notebook and (work / "data.csv").exists()
    assert not (work / "gradebook.json").exists()
    # students get the gradebook without sources; staff with them
    r = await api.get(f"lectures/1/assignments/{released['id']}/properties", user="student")
    assert HIDDEN_TEXT not in json.dumps(r.json)
    r = await api.get(f"lectures/1/assignments/{released['id']}/properties", user="tutor")
    assert HIDDEN_TEXT in json.dumps(r.json)


async def test_push_and_submit_roundtrip(
    app: MockGraderService, api: ApiClient, released: dict[str, Any], tmp_path: Path
) -> None:
    student = client(app, "student")
    work = tmp_path / "work"
    await student.clone(f"lect1/{released['id']}/user/student", work)
    (work / "ps1.ipynb").write_text((work / "ps1.ipynb").read_text().replace("YOUR", "MY"))
    sha = await student.commit_all(work, "my answers")
    await student.run("push", "--quiet", "origin", "main", cwd=work)
    r = await api.post(
        f"lectures/1/assignments/{released['id']}/submissions",
        user="student",
        body={"commit_hash": sha},
    )
    assert r.status == 201 and r.json["commit_hash"] == sha


@pytest.mark.parametrize(
    ("user", "repo", "push", "allowed"),
    [
        ("student", "source", False, False),
        ("student", "release", False, False),
        ("tutor", "release", False, True),
        ("instructor", "release", True, False),
        ("student", "user/tutor", False, False),
        ("tutor", "user/student", False, True),
        ("tutor", "user/student", True, False),
        ("outsider", "user/outsider", False, False),
        ("student", "autograde/user/student", False, False),
    ],
)
async def test_access_by_repository_type_and_role(
    app: MockGraderService,
    released: dict[str, Any],
    tmp_path: Path,
    user: str,
    repo: str,
    push: bool,
    allowed: bool,
) -> None:
    git = client(app, user)
    if not push:
        code, out = await git.clone(f"lect1/{released['id']}/{repo}", tmp_path / "c", check=False)
        assert (code == 0) == allowed, out
        if not allowed:
            assert "403" in out or "404" in out
        return
    work = tmp_path / "w"
    await client(app, "instructor").clone(f"lect1/{released['id']}/source", work)
    await git.run(
        "remote", "set-url", "origin", git.url(f"lect1/{released['id']}/{repo}"), cwd=work
    )
    code, out = await git.run("push", "origin", "HEAD:main", cwd=work, check=False)
    assert (code == 0) == allowed, out


@pytest.mark.parametrize(
    ("setup", "rule"),
    [
        ({"big.ipynb": 3 * 1024 * 1024}, "larger than the limit"),
        ({"notes.exe": 10}, "may not be submitted"),
        ({f"n{i}.ipynb": 1 for i in range(12)}, "more than the limit of 10 files"),
    ],
)
async def test_push_policy_refuses_with_the_rule(
    app: MockGraderService,
    api: ApiClient,
    released: dict[str, Any],
    tmp_path: Path,
    setup: dict[str, int],
    rule: str,
) -> None:
    path = f"lectures/1/assignments/{released['id']}"
    settings = {"max_file_size_mb": 1, "max_file_count": 10, "allowed_files": ["*.py"]}
    assert (await api.put(path, user="instructor", body={"settings": settings})).status == 200
    student = client(app, "student")
    work = tmp_path / "work"
    await student.clone(f"lect1/{released['id']}/user/student", work)
    _, before = await student.run("ls-remote", "origin", "main", cwd=work)
    for name, size in setup.items():
        (work / name).write_bytes(b"x" * size)
    await student.commit_all(work, "too much")
    code, out = await student.run("push", "origin", "main", cwd=work, check=False)
    assert code != 0
    assert "grader-service refused this push" in out and rule in out, out
    _, after = await student.run("ls-remote", "origin", "main", cwd=work)
    assert after == before
    # a helper module matching allowed_files is fine
    await student.run("reset", "--quiet", "--hard", "origin/main", cwd=work)
    (work / "helpers.py").write_text("X = 1\n")
    await student.commit_all(work, "helper")
    await student.run("push", "--quiet", "origin", "main", cwd=work)


async def test_a_large_file_deleted_again_before_the_push_is_still_refused(
    app: MockGraderService, api: ApiClient, released: dict[str, Any], tmp_path: Path
) -> None:
    path = f"lectures/1/assignments/{released['id']}"
    settings = {"max_file_size_mb": 1, "allowed_files": ["*.csv"]}
    assert (await api.put(path, user="instructor", body={"settings": settings})).status == 200
    student = client(app, "student")
    work = tmp_path / "work"
    await student.clone(f"lect1/{released['id']}/user/student", work)
    (work / "dump.csv").write_bytes(b"1,2\n" * 400_000)  # 1.5 MiB
    await student.commit_all(work, "oops")
    (work / "dump.csv").unlink()
    await student.commit_all(work, "removed again")
    code, out = await student.run("push", "origin", "main", cwd=work, check=False)
    assert code != 0 and "dump.csv: 1.5 MiB is larger than the limit of 1.0 MiB" in out, out


async def test_history_cannot_be_rewritten(
    app: MockGraderService, released: dict[str, Any], tmp_path: Path
) -> None:
    student = client(app, "student")
    work = tmp_path / "work"
    await student.clone(f"lect1/{released['id']}/user/student", work)
    await student.run("commit", "--quiet", "--amend", "-m", "rewritten", cwd=work)
    code, out = await student.run("push", "--force", "origin", "main", cwd=work, check=False)
    assert code != 0, out


@pytest.mark.parametrize(
    "path",
    [
        "lect1/1/user/../../../etc/info/refs",
        "lect1/1/user/%2e%2e/info/refs",
        "lect1/1/nonsense/info/refs",
        "lect1/abc/source/info/refs",
        "lect1/1/user/a/b/info/refs",
        "../x/1/source/info/refs",
        "lect1/1/source",
    ],
)
async def test_malformed_and_traversal_paths_are_refused(api: ApiClient, path: str) -> None:
    r = await api.get(f"/git/{path}?service=git-upload-pack", user="instructor")
    assert r.status in (400, 404), (r.status, r.body)


async def test_unauthenticated_git_gets_basic_challenge(api: ApiClient) -> None:
    r = await api.get("/git/lect1/1/source/info/refs?service=git-upload-pack")
    assert_error(r, 401)
    assert r.headers["WWW-Authenticate"].startswith("Basic")


def upload_pack_request(want: str) -> bytes:
    """What ``git fetch`` POSTs for one commit (protocol v0): a want, a flush, done."""

    def pkt(text: str) -> bytes:
        return f"{len(text) + 4:04x}{text}".encode()

    return pkt(f"want {want}\n") + b"0000" + pkt("done\n")


async def test_smart_http_speaks_git_protocol_with_gzip_bodies(
    api: ApiClient, released: dict[str, Any]
) -> None:
    repo = f"/git/lect1/{released['id']}/user/student"
    r = await api.get(f"{repo}/info/refs?service=git-upload-pack", user="student")
    assert r.status == 200
    assert r.headers["Content-Type"] == "application/x-git-upload-pack-advertisement"
    assert r.headers["Cache-Control"].startswith("no-cache")
    # v0: a line naming the service and a flush, then the refs
    assert r.body.startswith(b"001e# service=git-upload-pack\n0000")
    head = r.body[len(b"001e# service=git-upload-pack\n0000") + 4 :][:40].decode()
    assert all(c in "0123456789abcdef" for c in head) and len(head) == 40

    # git gzips larger fetch requests: the service inflates them on the way to git
    pack = {"Content-Type": "application/x-git-upload-pack-request"}
    body = gzip.compress(upload_pack_request(head))
    r = await api.post(
        f"{repo}/git-upload-pack",
        user="student",
        headers=pack | {"Content-Encoding": "gzip"},
        raw_body=body,
    )
    assert r.status == 200 and b"PACK" in r.body, r.body[:200]
    # a body cut short is refused, and an encoding git never sends as well
    r = await api.post(
        f"{repo}/git-upload-pack",
        user="student",
        headers=pack | {"Content-Encoding": "gzip"},
        raw_body=body[: len(body) // 2],
    )
    assert_error(r, 400)
    r = await api.post(
        f"{repo}/git-upload-pack",
        user="student",
        headers=pack | {"Content-Encoding": "br"},
        raw_body=body,
    )
    assert_error(r, 415)


async def test_gzip_bodies_may_not_inflate_beyond_the_limit(make_app: Any, tmp_path: Path) -> None:
    c = Config()
    c.GraderService.max_body_size = 64 * 1024
    app = await make_app(c)
    api = ApiClient(app.url, TOKENS)
    try:
        r = await api.post("lectures/1/assignments", user="instructor", body={"name": "bomb"})
        teacher = client(app, "instructor")
        await teacher.clone(f"lect1/{r.json['id']}/source", tmp_path / "src")
        bomb = gzip.compress(b"0" * (1024 * 1024))  # 1 KiB that inflates to 1 MiB
        r = await api.post(
            f"/git/lect1/{r.json['id']}/source/git-upload-pack",
            user="instructor",
            headers={
                "Content-Type": "application/x-git-upload-pack-request",
                "Content-Encoding": "gzip",
            },
            raw_body=bomb,
        )
        assert_error(r, 413)
    finally:
        api.close()


async def test_reset_to_release_keeps_history(
    app: MockGraderService, api: ApiClient, released: dict[str, Any], tmp_path: Path
) -> None:
    student = client(app, "student")
    work = tmp_path / "work"
    await student.clone(f"lect1/{released['id']}/user/student", work)
    (work / "ps1.ipynb").write_text("{}")
    await student.commit_all(work, "broke it")
    await student.run("push", "--quiet", "origin", "main", cwd=work)
    r = await api.post(f"lectures/1/assignments/{released['id']}/reset", user="student")
    assert r.status == 201
    await student.run("pull", "--quiet", "--ff-only", cwd=work)
    assert "BEGIN SOLUTION" not in (work / "ps1.ipynb").read_text()
    assert json.loads((work / "ps1.ipynb").read_text())["cells"]
    _, log = await student.run("log", "--format=%s", cwd=work)
    assert log.splitlines()[:2] == ["Reset to the released assignment", "broke it"]


async def test_release_happens_on_schedule(make_app: Any, tmp_path: Path) -> None:
    c = Config()
    c.ReleaseScheduler.interval = 0.2
    app = await make_app(c)
    api = ApiClient(app.url, TOKENS)
    try:
        soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
        r = await api.post(
            "lectures/1/assignments",
            user="instructor",
            body={"name": "exam", "settings": {"release_at": soon}},
        )
        aid = r.json["id"]
        teacher = client(app, "instructor")
        src = tmp_path / "exam"
        await teacher.clone(f"lect1/{aid}/source", src)
        write_source_assignment(src)
        await teacher.commit_all(src, "exam")
        await teacher.run("push", "--quiet", "origin", "main", cwd=src)
        assert_error(await api.get(f"lectures/1/assignments/{aid}", user="student"), 404)
        for _ in range(100):
            r = await api.get(f"lectures/1/assignments/{aid}", user="student")
            if r.status == 200:
                break
            await asyncio.sleep(0.1)
        assert r.status == 200 and r.json["status"] == "released" and r.json["points"] == 12.0
    finally:
        api.close()


async def test_twenty_students_push_and_submit_at_once(make_app: Any, tmp_path: Path) -> None:
    students = [f"s{i:02d}" for i in range(20)]
    c = Config()
    c.StaticTokenAuthenticator.tokens = {f"tok-{s}": s for s in students} | {"tok-t": "teacher"}
    c.GraderService.load_roles = {
        "crowd": [
            {"role": "instructor", "members": ["teacher"]},
            {"role": "student", "members": students},
        ]
    }
    app = await make_app(c)
    tokens = {s: f"tok-{s}" for s in students} | {"teacher": "tok-t"}
    api = ApiClient(app.url, tokens)
    try:
        lecture = (await api.get("lectures", user="teacher")).json[0]["id"]
        r = await api.post(f"lectures/{lecture}/assignments", user="teacher", body={"name": "hw"})
        aid = r.json["id"]
        teacher = GitClient(app.url, "tok-t", "teacher")
        await teacher.clone(f"crowd/{aid}/source", tmp_path / "src")
        write_source_assignment(tmp_path / "src")
        await teacher.commit_all(tmp_path / "src", "hw")
        await teacher.run("push", "--quiet", "origin", "main", cwd=tmp_path / "src")
        assert (
            await api.post(f"lectures/{lecture}/assignments/{aid}/release", user="teacher")
        ).status == 201

        async def work_and_submit(student: str) -> tuple[str, int]:
            git = GitClient(app.url, f"tok-{student}", student)
            work = tmp_path / student
            await git.clone(f"crowd/{aid}/user/{student}", work)
            (work / "answer.ipynb").write_text(
                '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
            )
            sha = await git.commit_all(work, f"work of {student}")
            await git.run("push", "--quiet", "origin", "main", cwd=work)
            r = await api.post(
                f"lectures/{lecture}/assignments/{aid}/submissions",
                user=student,
                body={"commit_hash": sha},
            )
            return sha, r.status

        results = await asyncio.gather(*(work_and_submit(s) for s in students))
        assert [status for _, status in results] == [201] * len(students)
        r = await api.get(
            f"lectures/{lecture}/assignments/{aid}/submissions?instructor-version=true",
            user="teacher",
        )
        assert sorted(s["commit_hash"] for s in r.json) == sorted(sha for sha, _ in results)
    finally:
        api.close()


async def test_main_tip_is_read_from_loose_and_packed_refs(tmp_path: Path) -> None:
    repo = tmp_path / "repo.git"
    await ensure_bare_repo(repo)
    assert main_tip(repo) is None and not await is_commit_on_main(repo, "a" * 40)
    empty_tree = await git_text("hash-object", "-t", "tree", "-w", "--stdin", cwd=repo, input=b"")
    first = await git_text("commit-tree", empty_tree, "-m", "one", cwd=repo)
    second = await git_text("commit-tree", empty_tree, "-p", first, "-m", "two", cwd=repo)
    await git("update-ref", MAIN, second, cwd=repo)
    assert main_tip(repo) == second
    await git("pack-refs", "--all", cwd=repo)  # what gc does: the loose ref is gone
    assert not (repo / "refs" / "heads" / "main").exists()
    assert main_tip(repo) == second
    # the tip without git, an older commit through git, anything else not at all
    assert await is_commit_on_main(repo, second) and await is_commit_on_main(repo, first)
    assert not await is_commit_on_main(repo, empty_tree)
    assert not await is_commit_on_main(repo, "b" * 40)


async def test_pushes_pack_the_repository_every_gc_every_pushes(
    make_app: Any, tmp_path: Path
) -> None:
    c = Config()
    c.GitServer.gc_every_pushes = 2
    app = await make_app(c)
    api = ApiClient(app.url, TOKENS)
    try:
        aid = await api.post("lectures/1/assignments", user="instructor", body={"name": "gc"})
        aid = aid.json["id"]
        teacher = client(app, "instructor")
        work = tmp_path / "src"
        await teacher.clone(f"lect1/{aid}/source", work)
        repo = app.git_server.directory(RepoAddress("lect1", aid, RepoType.SOURCE))
        # every push keeps its pack, and gc --auto merges as soon as there are two
        await git("config", "transfer.unpackLimit", "1", cwd=repo)
        await git("config", "gc.autoPackLimit", "1", cwd=repo)

        def packs() -> int:
            return len(list((repo / "objects" / "pack").glob("*.pack")))

        for n in range(3):
            (work / "notes.md").write_text(f"version {n}\n")
            await teacher.commit_all(work, f"v{n}")
            await teacher.run("push", "--quiet", "origin", "main", cwd=work)
            if n == 0:
                assert packs() == 1
            elif n == 1:  # the second push's gc merges the two packs into one
                for _ in range(100):  # gc runs after the response, in the background
                    if packs() == 1:
                        break
                    await asyncio.sleep(0.05)
                assert packs() == 1, "the second push did not start git gc"
        assert packs() == 2  # the third push does not start gc
        assert main_tip(repo) == (await teacher.run("rev-parse", "HEAD", cwd=work))[1].strip()
    finally:
        api.close()


@pytest.mark.parametrize("username", ["..", ".", "", "a/../../x", "../../etc", "a\0b"])
async def test_a_repository_directory_never_leaves_the_git_root(
    tmp_path: Path, username: str
) -> None:
    # addresses built by code (a username from the hub), not only parsed from URLs
    with pytest.raises(BadRequest):
        RepoAddress("lect1", 1, RepoType.USER, username=username).directory(tmp_path)
    inside = RepoAddress("lect1", 1, RepoType.USER, username="a.b").directory(tmp_path)
    assert inside == tmp_path / "lect1" / "1" / "user" / "a.b"


async def test_a_removed_role_ends_git_access_with_the_next_transfer(
    app: MockGraderService,
    api: ApiClient,
    released: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the requests of one transfer share its first request's checks, for a short while
    monkeypatch.setattr(git_handlers, "GRANT_SECONDS", 0.3)
    student = client(app, "student")
    work = tmp_path / "work"
    await student.clone(f"lect1/{released['id']}/user/student", work)
    assert (await api.delete("lectures/1/roles?usernames=student", user="instructor")).status == 204
    await asyncio.sleep(0.4)
    code, out = await student.run("fetch", "origin", cwd=work, check=False)
    assert code != 0 and "403" in out, out
