"""Region markers: SOLUTION, HIDDEN TESTS, ALWAYS HIDDEN TESTS and MARK SCHEME.

A region is delimited by two lines that contain the marker text (``### BEGIN SOLUTION``
or ``# BEGIN SOLUTION`` both match, as in nbgrader). Solutions are replaced by a stub;
the other regions are removed together with their delimiter lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import RegionError


@dataclass(frozen=True)
class Region:
    """A pair of region delimiters."""

    begin: str
    end: str

    def present(self, source: str) -> bool:
        """True if the source contains the region's begin or end marker."""
        return self.begin in source or self.end in source


SOLUTION = Region("BEGIN SOLUTION", "END SOLUTION")
HIDDEN_TESTS = Region("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
ALWAYS_HIDDEN_TESTS = Region("BEGIN ALWAYS HIDDEN TESTS", "END ALWAYS HIDDEN TESTS")
MARK_SCHEME = Region("BEGIN MARK SCHEME", "END MARK SCHEME")


def replace_region(source: str, region: Region, stub: str | None) -> tuple[str, bool]:
    """Replace every region by ``stub`` (indented like its begin line) or drop it if None.

    Returns the new source and whether a region was found. Raises RegionError on
    nested or unbalanced markers, because a half-removed solution would leak it.
    """
    out: list[str] = []
    inside = False
    found = False
    for line in source.splitlines(keepends=True):
        if region.begin in line:
            if inside:
                raise RegionError(f"nested '{region.begin}' marker")
            inside = found = True
            if stub is not None:
                indent = line[: len(line) - len(line.lstrip())]
                out.extend(indent + stub_line + "\n" for stub_line in stub.splitlines())
            continue
        if region.end in line:
            if not inside:
                raise RegionError(f"'{region.end}' without '{region.begin}'")
            inside = False
            continue
        if not inside:
            out.append(line)
    if inside:
        raise RegionError(f"'{region.begin}' without '{region.end}'")
    text = "".join(out)
    # splitlines() loses the "no trailing newline" fact of the last kept line
    if text.endswith("\n") and not source.endswith("\n"):
        text = text[:-1]
    return text, found


def strip_region(source: str, region: Region) -> str:
    """Remove every ``region`` (with its delimiters) from ``source``."""
    return replace_region(source, region, None)[0]


def region_lines(source: str, region: Region, *, delimiters: bool = False) -> list[str]:
    """The lines inside every ``region`` of ``source``, with the delimiter lines if asked."""
    inside = False
    lines: list[str] = []
    for line in source.splitlines():
        if region.begin in line or region.end in line:
            inside = region.begin in line
            if delimiters:
                lines.append(line)
        elif inside:
            lines.append(line)
    return lines


def strip_hidden(source: str, *, always_hidden_only: bool = False) -> str:
    """Remove always-hidden tests, and hidden tests too unless ``always_hidden_only``."""
    source = strip_region(source, ALWAYS_HIDDEN_TESTS)
    if not always_hidden_only:
        source = strip_region(source, HIDDEN_TESTS)
    return source


def has_hidden_tests(source: str) -> bool:
    """True if the source has any hidden or always-hidden test region."""
    return HIDDEN_TESTS.present(source) or ALWAYS_HIDDEN_TESTS.present(source)
