"""The repository stands alone: its specification is docs/spec/, every reference to a section of it
names a section that exists, every relative link in the docs resolves inside the repository, and
nothing reads a folder beside the checkout."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "docs" / "spec"
_SECTION_REF = re.compile(r"docs/spec/(CONTRACT|DOMAIN)\.md §([0-9]+)(?:[–/-]§?([0-9]+))?")
_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
_OUTSIDE = re.compile(r"\.\./shared|parent[^a-z\n]*/ *[\"']shared[\"']")


def _tracked_text_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    files = []
    for name in listed:
        path = REPO / name
        if name.startswith(("docs/spec/seeds/", "bench/results/")) or not path.is_file():
            continue
        try:
            path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        files.append(path)
    return files


def _sections(name: str) -> set[str]:
    text = (SPEC / f"{name}.md").read_text(encoding="utf-8")
    return set(re.findall(r"^## ([0-9]+)\.", text, flags=re.M))


def test_the_spec_is_in_the_repository():
    assert _sections("CONTRACT") == {str(n) for n in range(1, 7)}
    assert _sections("DOMAIN") == {str(n) for n in range(1, 9)}
    # DOMAIN names the government documents in seeds/, beside it
    assert len(list((SPEC / "seeds").glob("*.txt"))) == 4
    # the indicator table the marts reproduce (DOMAIN §6) is in Yinchuan's plan
    assert "重错码率" in (SPEC / "seeds" / "001_ff6f9059fffe5689.txt").read_text(encoding="utf-8")


def test_no_file_reads_or_points_outside_the_repository():
    offenders = [
        str(p.relative_to(REPO))
        for p in _tracked_text_files()
        if p != Path(__file__) and _OUTSIDE.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_every_section_reference_names_a_section_that_exists():
    sections = {name: _sections(name) for name in ("CONTRACT", "DOMAIN")}
    dangling = []
    for path in _tracked_text_files():
        for m in _SECTION_REF.finditer(path.read_text(encoding="utf-8")):
            for number in filter(None, (m.group(2), m.group(3))):
                if number not in sections[m.group(1)]:
                    dangling.append(f"{path.relative_to(REPO)}: {m.group(0)}")
    assert dangling == []


@pytest.mark.parametrize(
    "doc", sorted(str(p.relative_to(REPO)) for p in [*REPO.glob("*.md"), *REPO.glob("docs/**/*.md")])
)
def test_relative_links_in_the_docs_resolve(doc):
    path = REPO / doc
    broken = []
    for target in _LINK.findall(path.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        resolved = (path.parent / target).resolve()
        if not resolved.exists() or REPO not in resolved.parents:
            broken.append(target)
    assert broken == []
