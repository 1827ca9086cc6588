"""Who may pull from and push to which repository."""

from __future__ import annotations

from ..orm import LectureRole
from .layout import RepoType

STAFF = (LectureRole.TUTOR, LectureRole.INSTRUCTOR)


def may_access(
    repo_type: RepoType,
    *,
    push: bool,
    role: LectureRole | None,
    is_admin: bool,
    is_owner: bool,
) -> bool:
    """The access rule of every repository type.

    - source: tutors and instructors pull and push (it holds the solutions);
    - release: tutors and instructors pull; only the service writes it;
    - user: the student pulls and pushes their own; staff pull anyone's;
    - autograde: staff pull; only the service writes it;
    - feedback: the student pulls their own, staff pull; only the service writes it;
    - edit: staff pull and push (corrections of one submission).
    """
    staff = is_admin or role in STAFF
    if repo_type == RepoType.SOURCE:
        return staff
    if repo_type in (RepoType.RELEASE, RepoType.AUTOGRADE):
        return staff and not push
    if repo_type == RepoType.USER:
        return (is_owner and role is not None) or (staff and not push)
    if repo_type == RepoType.FEEDBACK:
        return not push and (staff or (is_owner and role is not None))
    if repo_type == RepoType.EDIT:
        return staff
    return False
