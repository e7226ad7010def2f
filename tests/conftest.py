"""Shared test helpers: where the saved portal pages are, and skip rules."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The real saved pages are never committed; they sit in ../shared beside the checkout.
FIXTURES = ROOT.parent / "shared" / "fixtures" / "fct-pages"


@pytest.fixture
def fct_page():
    def load(name: str) -> str:
        path = FIXTURES / name
        if not path.is_file():
            pytest.skip(f"saved portal pages not available ({path} missing)")
        return path.read_text(encoding="utf-8")

    return load
