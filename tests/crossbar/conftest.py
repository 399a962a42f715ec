"""Fixtures shared by the crossbar tests."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Built-in networks are cached in a temporary folder, not in the user's ~/.cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("MEMFIT_CACHE_DIR", str(tmp_path_factory.mktemp("memfit-cache")))
    yield
    mp.undo()
