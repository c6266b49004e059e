"""`modq models prune`: stored models that nothing needs are deleted; served and rollback ones stay."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from model.scorer import DEFAULT_MODEL_DIR
from service.cli import main
from service.keys import RedisKeys
from service.registry import ModelRegistry
from service.sites import SiteStore


@pytest.fixture
def registry(redis_client) -> ModelRegistry:
    SiteStore(redis_client, RedisKeys()).create("demo")
    return ModelRegistry(redis_client, RedisKeys())


@pytest.fixture
def register(registry, tmp_path):
    """Register a copy of the shipped model under another version (its files still verify)."""

    def make(version: str, trained_for: str | None = None) -> str:
        folder = tmp_path / version
        shutil.copytree(DEFAULT_MODEL_DIR, folder)
        manifest_path = Path(folder) / "manifest.json"
        manifest = json.loads(manifest_path.read_text())
        manifest["version"] = version
        manifest_path.write_text(json.dumps(manifest))
        return registry.register(folder, trained_for=trained_for).version

    return make


@pytest.fixture
def modq(redis_server):
    runner = CliRunner()

    def run(*args: str) -> Result:
        env = {"MODQ_REDIS_URL": redis_server.url}
        return runner.invoke(main, list(args), env=env, catch_exceptions=False)

    return run


def stored_versions(registry: ModelRegistry) -> list[str]:
    return [r.version for r in registry.list()]


@pytest.fixture
def demo_models(registry, register) -> list[str]:
    """Six models trained for demo, two for every site; demo's history is d3, d2, d1 (d3 active)
    and the global model is d4, a demo-trained one promoted for every site."""
    versions = [register(f"d{i}", "demo") for i in range(1, 7)]
    register("g1")
    register("g2")
    for version in ("d1", "d2", "d3"):
        registry.promote(version, "demo")
    registry.promote("d4")
    return versions


def test_prune_keeps_the_active_the_rollback_target_and_the_newest(modq, registry, demo_models):
    result = modq("models", "prune", "--site", "demo", "--keep", "1")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[1] for line in lines if line.startswith("deleted ")] == ["d1", "d5"]
    assert "kept d2 (rollback target for site demo)" in lines
    assert "kept d3 (active for site demo)" in lines
    assert "kept d4 (active for every site)" in lines
    assert "kept d6 (among the 1 newest)" in lines
    assert lines[-1] == "Deleted 2 models trained for site 'demo', kept 4."

    assert stored_versions(registry) == ["d2", "d3", "d4", "d6", "g1", "g2"]
    assert not registry.connection.exists(registry.keys.model("d1"), registry.keys.model("d5"))
    # A rollback never reaches a deleted model: demo goes back to d2, then to the global d4.
    assert registry.history("demo") == ["d3", "d2"]
    assert registry.rollback("demo") == ("d3", "d2")
    assert registry.load("d2").version == "d2"
    assert registry.rollback("demo") == ("d2", None)
    assert registry.serving("demo") == "d4"


def test_prune_without_a_site_prunes_the_models_for_every_site(modq, registry, demo_models):
    result = modq("models", "prune", "--keep", "1")
    assert result.exit_code == 0, result.output
    assert "deleted g1 " in result.output and "kept g2 (among the 1 newest)" in result.output
    assert stored_versions(registry) == [*demo_models, "g2"]


def test_a_dry_run_deletes_nothing(modq, registry, demo_models):
    before = stored_versions(registry)
    result = modq("models", "prune", "--site", "demo", "--keep", "2", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would delete d1 " in result.output and "would delete d5" not in result.output
    assert (
        result.output.splitlines()[-1] == "Would delete 1 models trained for site 'demo', kept 5."
    )
    assert stored_versions(registry) == before
    assert registry.history("demo") == ["d3", "d2", "d1"]


@pytest.mark.parametrize("keep", ["0", "-3"])
def test_keeping_fewer_than_one_is_refused(modq, registry, demo_models, keep):
    result = modq("models", "prune", "--site", "demo", "--keep", keep)
    assert result.exit_code == 2
    assert "--keep" in result.output
    assert stored_versions(registry) == [*demo_models, "g1", "g2"]


def test_prune_refuses_an_unknown_site(modq, registry):
    result = modq("models", "prune", "--site", "nosuch", "--keep", "1")
    assert result.exit_code == 1
