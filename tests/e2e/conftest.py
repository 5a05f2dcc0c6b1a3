import pytest


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Each test module compiles into its own disk cache."""
    monkeypatch.setenv("CELLC_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cellc-cache"))
