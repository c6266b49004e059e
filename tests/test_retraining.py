"""The retraining loop against a real Redis: moderator decisions become labels, labels become a
model, the model is promoted behind the gate, served without a restart, and rolled back.

Training here uses a small sample of the public data (``--public-sample``) to stay quick; the
site's own labels are synthetic but follow the site's rules consistently: an insult and a spam
brand that no public data set knows.
"""

from __future__ import annotations

import csv
import json
import logging
import random
import re
import threading
import time
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner, Result

from service.cli import main
from service.cli_training import label_warnings
from service.keys import RedisKeys
from service.labels import LabelStore
from service.localredis import free_port
from service.registry import ModelRegistry, RegistryError
from tests.moderation_support import Moderator
from training.evaluate import LabeledComment

PUBLIC_SAMPLE = "200"
INSULTS = ["glorbnik", "skavvo", "drumbleweed"]
BRANDS = ["zentrofarm", "quibblecash", "marvoloan"]
TOPICS = [
    "the council budget",
    "the new bridge",
    "school funding",
    "the stadium plan",
    "bus routes",
    "the harbour project",
    "library hours",
    "the tax vote",
    "parking fees",
    "the park cleanup",
    "water prices",
    "the mayor's speech",
]
OPINIONS = ["I think", "Honestly", "In my view", "Frankly", "To be fair", "As a resident,"]


def site_comment(rng: random.Random, kind: str) -> str:
    """A comment the way this site's readers write it; ``kind`` is clean, abuse or spam."""
    topic = rng.choice(TOPICS)
    if kind == "abuse":
        return rng.choice(
            [
                f"{rng.choice(OPINIONS)} whoever wrote about {topic} is a {rng.choice(INSULTS)}",
                f"shut up you {rng.choice(INSULTS)}, nobody cares about {topic}",
                f"typical {rng.choice(INSULTS)} take on {topic}",
            ]
        )
    if kind == "spam":
        return rng.choice(
            [
                f"Forget {topic}, {rng.choice(BRANDS)} pays daily, join today",
                f"{rng.choice(BRANDS)} offer: double your savings before {topic}",
                f"check {rng.choice(BRANDS)} for deals, better than {topic}",
            ]
        )
    return (
        f"{rng.choice(OPINIONS)} the article on {topic} missed "
        f"{rng.choice(['the cost', 'the timeline', 'the residents', 'the history'])}."
    )


def site_comments(count: int, seed: int = 0) -> list[tuple[str, str]]:
    """(text, kind) pairs: a third each of clean, abuse and spam."""
    rng = random.Random(seed)
    kinds = ["clean", "abuse", "spam"]
    return [(site_comment(rng, kinds[i % 3]) + f" ({i})", kinds[i % 3]) for i in range(count)]


@pytest.fixture
def modq(redis_server, redis_client):
    """Run `modq ARGS...` in process against the test Redis; stdout and stderr kept apart."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(
            main,
            list(args),
            input=input,
            catch_exceptions=False,
            env={"MODQ_REDIS_URL": redis_server.url},
        )

    return run


def scores_of(ingest, texts: list[str], prefix: str) -> list[dict]:
    results = []
    for i, text in enumerate(texts):
        response = ingest({"id": f"{prefix}-{i}", "text": text, "language": "en"})
        assert response.status_code == 200, response.get_json()
        results.append(response.get_json())
    return results


def wait_for_version(ingest, version: str, prefix: str, seconds: float = 15.0) -> None:
    """Send comments until one is scored by ``version`` (servers poll every ~2 s)."""
    deadline = time.monotonic() + seconds
    for i in range(10_000):
        if (
            ingest({"id": f"{prefix}-{i}", "text": "checking the model"}).get_json()[
                "model_version"
            ]
            == version
        ):
            return
        assert time.monotonic() < deadline, f"still not serving {version}"
        time.sleep(0.2)


# --- keys ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda k: k.models(), "modq:models"),
        (lambda k: k.model("2026.01.02-1a2b3c4d"), "modq:model:2026.01.02-1a2b3c4d"),
        (lambda k: k.model_assignments(), "modq:model-assignments"),
        (lambda k: k.model_history(), "modq:model-history"),
        (lambda k: k.model_history("demo"), "modq:{demo}:model-history"),
    ],
)
def test_registry_key_forms(build, expected):
    assert build(RedisKeys()) == expected


@pytest.mark.parametrize("version", ["", "a:b", "x y", "{demo}", "a" * 65])
def test_unusable_model_versions_are_refused(version):
    with pytest.raises(ValueError):
        RedisKeys().model(version)


# --- labels export and import ---------------------------------------------------------------------


def test_labels_export_and_import_round_trip(modq, services, site, tmp_path):
    store = services.labels
    author = store.author_hash("demo", "reader-42")

    def decide(comment_id, text, spam, abuse, at):
        store.record(
            store.example(
                site="demo",
                text=text,
                labels={"spam": spam, "abuse": abuse},
                decided_at=at,
                source="moderator",
                language="en",
                comment_id=comment_id,
                author_hash=author,
                model_scores={"spam": 0.1, "abuse": 0.7},
                model_version="v1",
            )
        )

    decide("c1", "you glorbnik", 0, 1, "2026-01-01T10:00:00.000Z")
    decide("c1", "you glorbnik", 0, 0, "2026-01-03T10:00:00.000Z")  # overturned: replaces
    decide("c2", "buy zentrofarm", 1, 0, "2026-01-02T10:00:00.000Z")
    decide("c3", "buy zentrofarm", 1, 0, "2026-01-04T10:00:00.000Z")  # exact duplicate text
    decide("c4", "fair article", 0, 0, "2025-12-01T10:00:00.000Z")

    out = tmp_path / "labels.jsonl"
    result = modq("labels", "export", "--site", "demo", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "1 exact duplicates dropped" in result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    by_text = {line["text"]: line for line in lines}
    assert len(lines) == 3 and set(by_text) == {"you glorbnik", "buy zentrofarm", "fair article"}
    assert by_text["you glorbnik"]["labels"] == {"spam": 0, "abuse": 0}  # the later decision
    assert by_text["you glorbnik"]["model_scores"] == {"spam": 0.1, "abuse": 0.7}
    assert all(line["author_hash"] == author for line in lines)
    assert "reader-42" not in out.read_text()

    since = tmp_path / "since.jsonl"
    assert modq("labels", "export", "--since", "2026-01-01", "--out", str(since)).exit_code == 0
    assert {json.loads(x)["text"] for x in since.read_text().splitlines()} == {
        "you glorbnik",
        "buy zentrofarm",
    }

    services.sites.create("gazette")
    result = modq("labels", "import", "--site", "gazette", str(out))
    assert result.exit_code == 0, result.output
    again = tmp_path / "again.jsonl"
    assert modq("labels", "export", "--site", "gazette", "--out", str(again)).exit_code == 0
    reimported = [json.loads(line) for line in again.read_text().splitlines()]
    assert sorted(
        (x["comment_id"], x["text"], x["labels"]["spam"], x["labels"]["abuse"], x["decided_at"])
        for x in reimported
    ) == sorted(
        (x["comment_id"], x["text"], x["labels"]["spam"], x["labels"]["abuse"], x["decided_at"])
        for x in lines
    )
    assert {x["site"] for x in reimported} == {"gazette"}


def test_labels_import_reads_csv_and_refuses_a_bad_line_whole(modq, services, site, tmp_path):
    good = tmp_path / "history.csv"
    with good.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "spam", "abuse"])
        writer.writerow(["Great piece, thanks", "0", "0"])
        writer.writerow(["cheap loans at marvoloan", "1", "0"])
        writer.writerow(["cheap loans at marvoloan", "1", "0"])  # same text: kept once
    result = modq("labels", "import", "--site", "demo", str(good))
    assert result.exit_code == 0, result.output
    stored = list(services.labels.iter("demo"))
    assert sorted((e["text"], e["labels"]["spam"]) for e in stored) == [
        ("Great piece, thanks", 0),
        ("cheap loans at marvoloan", 1),
    ]

    bad = tmp_path / "bad.csv"
    bad.write_text("text,spam,abuse\nfine comment,0,0\nbroken,yes,0\n")
    result = modq("labels", "import", "--site", "demo", str(bad))
    assert result.exit_code == 1
    assert "bad.csv:3" in result.output and "spam must be 0 or 1" in result.output
    assert services.labels.count("demo") == 2  # nothing of the bad file was stored


@pytest.mark.parametrize(
    "name, content",
    [
        ("excel.csv", "text,spam,abuse\nhello there,0,0\n"),  # Excel's "CSV UTF-8"
        ("export.jsonl", '{"text": "hello there", "labels": {"spam": 0, "abuse": 0}}\n'),
    ],
)
def test_labels_import_reads_a_file_that_starts_with_a_byte_order_mark(
    modq, services, site, tmp_path, name, content
):
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + content.encode())
    result = modq("labels", "import", "--site", "demo", str(path))
    assert result.exit_code == 0, result.output
    assert [e["text"] for e in services.labels.iter("demo")] == ["hello there"]


# --- the whole loop ------------------------------------------------------------------------------


def last_line(result: Result) -> str:
    return result.output.strip().splitlines()[-1]


@pytest.mark.slow
def test_decide_export_train_promote_gate_and_rollback(
    modq, client, services, ingest, moderator_key, tmp_path
):
    # The generated comments come from a few templates, which the campaign rule would flag.
    services.sites.update("demo", campaign_copies=0)
    # A few hundred of the site's comments, each decided by a moderator through the API.
    moderator = Moderator(client, moderator_key)
    decided = site_comments(450)
    for i, (text, kind) in enumerate(decided):
        assert (
            ingest(
                {
                    "id": f"s{i}",
                    "text": text,
                    "language": "en",
                    "author": {"id": f"reader-{i % 40}"},
                }
            ).status_code
            == 200
        )
        body = (
            {"decision": "approve"} if kind == "clean" else {"decision": "reject", "labels": [kind]}
        )
        response = moderator.post(f"/queue/s{i}/decision", {**body, "overturn": True})
        assert response.status_code == 200, response.get_json()
    assert services.labels.count("demo") == 450

    labels_file = tmp_path / "demo.jsonl"
    result = modq("labels", "export", "--site", "demo", "--out", str(labels_file))
    assert result.exit_code == 0, result.output
    assert "reader-" not in labels_file.read_text()

    fresh = site_comments(30, seed=7)  # comments of the same site the model never saw
    before = scores_of(ingest, [t for t, _ in fresh], "before")
    default_version = before[0]["model_version"]

    result = modq(
        "train",
        "--out",
        str(tmp_path / "m1"),
        "--labels",
        str(labels_file),
        "--site",
        "demo",
        "--seed",
        "0",
        "--public-sample",
        PUBLIC_SAMPLE,
    )
    assert result.exit_code == 0, result.output
    version = last_line(result)
    report = tmp_path / "m1" / "report.html"
    assert f"Report: {report.resolve()}" in result.output
    page = report.read_text()
    for heading in (
        "Held-out labels (demo)",
        "Public sets never trained on",
        "learning curve",
        "Cross-source",
        "ROC-AUC",
        "precision",
        "Brier",
    ):
        assert heading in page
    assert len(list((tmp_path / "m1" / "report").glob("*.png"))) >= 5
    curve = json.loads((tmp_path / "m1" / "evaluation.json").read_text())["learning_curve"]
    assert [p["site_labels"] for p in curve][:3] == [0, 100, 300]
    assert curve[-1]["abuse"]["roc_auc"] > curve[0]["abuse"]["roc_auc"]
    # Both models on the same sentences about different groups of people.
    assert "Naming a group of people" in page
    groups = json.loads((tmp_path / "m1" / "evaluation.json").read_text())["groups"]
    active = groups[f"active ({default_version} (the default model))"]
    assert [g["language"] for g in groups["new"]] == [g["language"] for g in active] == ["en", "ko"]
    assert active[0]["ordinary_at_review"] == 0 and active[0]["ordinary"] == 300
    assert 0 < groups["new"][0]["roc_auc"] <= 1

    listed = modq("models", "list")
    assert version in listed.output and "candidate" in listed.output
    assert scores_of(ingest, ["still the default"], "cand")[0]["model_version"] == default_version

    result = modq("models", "promote", version, "--site", "demo")
    assert result.exit_code == 0, result.output
    assert "ROC-AUC" in result.output
    wait_for_version(ingest, version, "switch1")
    after = scores_of(ingest, [t for t, _ in fresh], "after")
    assert {r["model_version"] for r in after} == {version}
    offline = modq("score", "--site", "demo", input=json.dumps({"id": "o1", "text": fresh[0][0]}))
    assert json.loads(offline.output)["model_version"] == version

    def mean(results, kind, category):
        values = [
            r["scores"][category] for r, (_, k) in zip(results, fresh, strict=True) if k == kind
        ]
        return sum(values) / len(values)

    # The site's labels say: its insult is abuse, its brands are spam, its readers are fine.
    assert mean(after, "abuse", "abuse") > mean(before, "abuse", "abuse") + 0.2
    assert mean(after, "spam", "spam") > mean(before, "spam", "spam") + 0.2
    assert mean(after, "abuse", "abuse") > mean(after, "clean", "abuse") + 0.3
    assert mean(after, "spam", "spam") > mean(after, "clean", "spam") + 0.3

    # A model trained on the opposite of what moderators decided is refused by the gate ...
    flipped = tmp_path / "flipped.jsonl"
    with flipped.open("w") as out:
        for line in labels_file.read_text().splitlines():
            record = json.loads(line)
            record["labels"] = {c: 1 - v for c, v in record["labels"].items()}
            out.write(json.dumps(record) + "\n")
    result = modq(
        "train",
        "--out",
        str(tmp_path / "worse"),
        "--labels",
        str(flipped),
        "--site",
        "demo",
        "--public-sample",
        PUBLIC_SAMPLE,
    )
    assert result.exit_code == 0, result.output
    worse = last_line(result)
    result = modq("models", "promote", worse, "--site", "demo")
    assert result.exit_code == 1
    assert "refused" in result.output and "worse" in result.output
    assert version in result.output and "0." in result.output  # the numbers are shown
    assert services.models.registry.active("demo") == version

    # ... unless forced; and rolling back restores the earlier model's scores exactly.
    result = modq("models", "promote", worse, "--site", "demo", "--force")
    assert result.exit_code == 0, result.output
    wait_for_version(ingest, worse, "switch2")
    result = modq("models", "rollback", "--site", "demo")
    assert result.exit_code == 0 and version in result.output, result.output
    wait_for_version(ingest, version, "switch3")
    assert [r["scores"] for r in scores_of(ingest, [t for t, _ in fresh], "again")] == [
        r["scores"] for r in after
    ]
    result = modq("models", "rollback", "--site", "demo")
    assert result.exit_code == 0 and "the default model" in result.output, result.output
    wait_for_version(ingest, default_version, "switch4")
    assert [r["scores"] for r in scores_of(ingest, [t for t, _ in fresh], "back")] == [
        r["scores"] for r in before
    ]
    result = modq("models", "rollback", "--site", "demo")
    assert result.exit_code == 1 and "nothing to roll back" in result.output

    # The other sites never left the default model.
    services.sites.create("gazette")
    other = services.api_keys.create("gazette", "ingest")[1]
    response = client.post(
        "/v1/comments",
        json={"id": "g1", "text": fresh[0][0]},
        headers={"Authorization": f"Bearer {other}"},
    )
    assert response.get_json()["model_version"] == default_version


# --- hot switch ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_model(tmp_path_factory) -> Path:
    from training.train import train_model

    return train_model(
        tmp_path_factory.mktemp("small") / "model", seed=1, public_per_source=int(PUBLIC_SAMPLE)
    )


@pytest.mark.slow
def test_hot_switch_under_concurrent_requests_fails_nothing(app, services, ingest_key, small_model):
    registry = ModelRegistry(services.redis, services.keys)
    candidate = registry.register(small_model).version
    default_version = services.scorer.version
    assert candidate != default_version
    stop = threading.Event()
    failures: list[object] = []
    versions: list[str] = []

    def hammer(worker: int) -> None:
        client = app.test_client()
        n = 0
        while not stop.is_set():
            n += 1
            response = client.post(
                "/v1/comments",
                json={"id": f"w{worker}-{n}", "text": f"comment {n} from {worker}"},
                headers={"Authorization": f"Bearer {ingest_key}"},
            )
            if response.status_code != 200:
                failures.append((response.status_code, response.get_data(as_text=True)))
            else:
                versions.append(response.get_json()["model_version"])

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)
        registry.promote(candidate, "demo")
        deadline = time.monotonic() + 15
        while candidate not in versions[-5:] and time.monotonic() < deadline:
            time.sleep(0.1)
        registry.rollback("demo")
        deadline = time.monotonic() + 15
        while versions[-1] != default_version and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert failures == []
    assert candidate in versions and versions[-1] == default_version
    switches = sum(1 for a, b in zip(versions, versions[1:], strict=False) if a != b)
    assert len(versions) > 50 and switches >= 2


def test_a_model_that_fails_to_load_leaves_the_site_on_its_model(
    app, client, services, ingest, small_model, caplog
):
    registry = ModelRegistry(services.redis, services.keys)
    version = registry.register(small_model).version
    registry.promote(version, "demo")
    # Its stored file goes bad after the promotion, before this server loads it.
    services.redis.hset(services.keys.model(version), "weights.npz", b"not a model")
    with caplog.at_level(logging.INFO, logger="modq.models"):
        for _ in range(5):
            services.models.refresh()
    response = ingest({"id": "x1", "text": "hello there"})
    assert response.status_code == 200
    assert response.get_json()["model_version"] == services.scorer.version
    # Said once at ERROR, not on every poll, and shown in the metrics until it loads.
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and version in errors[0].getMessage()
    assert f"{services.scorer.version} scores it meanwhile" in errors[0].getMessage()
    metrics = client.get("/metrics").get_data(as_text=True)
    assert f'modq_model_load_failed{{scope="demo",version="{version}"}} 1.0' in metrics
    assert f'modq_site_model_info{{site="demo",version="{services.scorer.version}"}} 1.0' in metrics
    # Ready (every host would fail alike), but saying which site is scored by another model.
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["status"] == "degraded"
    assert ready.get_json()["checks"]["site_models"] == {
        "demo": f"{version} not loaded; {services.scorer.version} scores it"
    }


def test_an_unreadable_model_assignment_is_logged_once_per_outage(services, caplog):
    services.models.refresh()
    healthy = services.models.registry.connection
    services.models.registry.connection = redis.Redis(port=free_port(), socket_timeout=0.2)
    try:
        with caplog.at_level(logging.INFO, logger="modq.models"):
            for _ in range(5):
                assert services.models.refresh() is False
    finally:
        services.models.registry.connection = healthy
    with caplog.at_level(logging.INFO, logger="modq.models"):
        services.models.refresh()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("cannot read model assignments" in m for m in messages) == 1
    assert messages[-1] == "model assignments readable again"


def test_a_loaded_model_shows_per_site_in_the_metrics(app, client, services, site, small_model):
    registry = ModelRegistry(services.redis, services.keys)
    version = registry.register(small_model).version
    registry.promote(version, "demo")
    services.models.refresh()
    metrics = client.get("/metrics").get_data(as_text=True)
    assert f'modq_site_model_info{{site="demo",version="{version}"}} 1.0' in metrics
    assert "modq_model_load_failed{" not in metrics


@pytest.mark.parametrize("force", [False, True])
def test_a_corrupt_model_is_never_promoted(modq, services, site, small_model, force):
    registry = ModelRegistry(services.redis, services.keys)
    version = registry.register(small_model).version
    services.redis.hset(services.keys.model(version), "weights.npz", b"not a model")
    with pytest.raises(RegistryError, match="does not load"):
        registry.promote(version, "demo")
    args = ["models", "promote", version, "--site", "demo", *(["--force"] if force else [])]
    result = modq(*args)
    assert result.exit_code == 1
    assert registry.assignments() == {} and registry.history("demo") == []


def promote_then_damage(services, first: Path, second: Path) -> tuple[str, str]:
    """Promote ``first`` then ``second`` for site demo, and damage one of them in Redis, as an
    evicting Redis or a bad restore leaves it: (the first version, the second version)."""
    registry = ModelRegistry(services.redis, services.keys)
    versions = registry.register(first).version, registry.register(second).version
    for version in versions:
        registry.promote(version, "demo")
    return versions


def damage(services, version: str) -> None:
    services.redis.hset(services.keys.model(version), "weights.npz", b"not a model")


def test_no_rollback_to_a_model_that_does_not_load(modq, services, site, small_model):
    from model.scorer import DEFAULT_MODEL_DIR

    before, active = promote_then_damage(services, small_model, DEFAULT_MODEL_DIR)
    damage(services, before)
    result = modq("models", "rollback", "--site", "demo")
    assert result.exit_code == 1
    assert f"model {before}, active before {active}, does not load" in result.output
    assert ModelRegistry(services.redis, services.keys).history("demo") == [active, before]


def test_a_damaged_active_model_keeps_out_its_replacement_only_without_force(
    modq, services, site, small_model
):
    from model.scorer import DEFAULT_MODEL_DIR

    replacement, active = promote_then_damage(services, DEFAULT_MODEL_DIR, small_model)
    damage(services, active)
    registry = ModelRegistry(services.redis, services.keys)
    refused = modq("models", "promote", replacement, "--site", "demo")
    assert refused.exit_code == 1
    assert f"the active model {active} does not load" in refused.output
    assert registry.active("demo") == active
    forced = modq("models", "promote", replacement, "--site", "demo", "--force")
    assert forced.exit_code == 0, forced.output
    assert "promoted without the gate (--force)" in forced.output
    assert registry.active("demo") == replacement


def site_history(tmp_path: Path, comments: list[tuple[str, str]]) -> Path:
    """A site's moderated comments as the CSV `modq labels import` reads."""
    path = tmp_path / "history.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "spam", "abuse"])
        for text, kind in comments:
            writer.writerow([text, int(kind == "spam"), int(kind == "abuse")])
    return path


def one_sided_labels(tmp_path: Path, count: int) -> Path:
    """A site's history in which no comment was ever spam or abuse."""
    return site_history(tmp_path, [(text, "clean") for text, _ in site_comments(count * 3)[::3]])


def test_the_gate_refuses_when_it_has_nothing_to_judge_on(
    modq, services, site, small_model, tmp_path
):
    assert modq("labels", "import", "--site", "demo", str(one_sided_labels(tmp_path, 60)))
    registry = ModelRegistry(services.redis, services.keys)
    version = registry.register(small_model).version
    result = modq("models", "promote", version, "--site", "demo")
    assert result.exit_code == 1
    assert "refused" in result.output and "to judge it on" in result.output
    assert "too few" in result.output  # the table was shown
    assert registry.active("demo") is None

    result = modq("models", "promote", version, "--site", "demo", "--force")
    assert result.exit_code == 0, result.output
    assert "promoted anyway (--force)" in result.output
    assert registry.active("demo") == version


def test_the_global_gate_judges_on_public_comments_no_model_was_trained_on(services):
    from service.cli_training import validation_set
    from training.datasets import load_examples

    class Context:
        sites = services.sites
        redis = services.redis
        keys = services.keys

    title, comments = validation_set(Context(), None)
    assert "held-out sets" in title
    trained = {e.text for e in load_examples()}
    assert comments and not trained & {c.text for c in comments}
    assert {c.language for c in comments} == {"en", "ko"}


def test_a_refusal_says_how_much_was_lost_where_and_on_how_many_labels():
    from training.evaluate import GateCell, GateResult

    worse = GateCell("abuse", "ko", 94, 45, 0.881, 0.898, 0.85, 0.852, "worse")
    refusal = GateResult([worse]).refusal("model A")
    assert refusal.startswith(
        "worse than model A on abuse/ko (ROC-AUC 0.881 against 0.898, -0.017; 94 labels, "
        "45 positive)"
    )
    assert "allows a loss of 0.01" in refusal
    assert "may be chance" in refusal  # 94 labels
    large = GateCell("abuse", "en", 2171, 400, 0.90, 0.93, 0.7, 0.72, "worse")
    refusal = GateResult([large]).refusal("model A")
    assert "allows a loss of 0.01" in refusal and "may be chance" not in refusal


def gate_cell(verdict: str, n: int = 40, category: str = "spam", language: str = "all"):
    from training.evaluate import GateCell

    return GateCell(category, language, n, n // 2, 0.9, 0.9, 0.8, 0.8, verdict)


@pytest.mark.parametrize(
    ("verdicts", "passed", "reason"),
    [
        (["same", "too few"], True, None),
        (["better", "better"], True, None),
        (["too few", "too few"], False, "too few held-out labels to judge it on: it needs 5 "),
        (["worse", "too few"], False, "worse than the active model on spam/all"),
        (["worse", "better"], False, "worse than the active model on spam/all"),
        ([], False, "there are no held-out labels"),
    ],
)
def test_the_gate_passes_only_when_it_judged_something_and_nothing_is_worse(
    verdicts, passed, reason
):
    from training.evaluate import GateResult

    result = GateResult([gate_cell(v) for v in verdicts])
    assert result.passed is passed
    assert result.judged is any(v != "too few" for v in verdicts)
    if reason is None:
        assert result.refusal() is None
    else:
        assert result.refusal().startswith(reason)


@pytest.mark.slow
def test_training_on_too_few_labels_says_the_gate_would_not_pass_and_promote_agrees(
    modq, services, site, tmp_path
):
    # 90 comments, a third of each kind: enough to train on without a warning, but their
    # held-out fifth has 4 spam and 4 abuse comments, fewer than the gate needs of each class.
    history = site_history(tmp_path, site_comments(90))
    assert modq("labels", "import", "--site", "demo", str(history)).exit_code == 0
    result = modq(
        "train",
        "--out",
        str(tmp_path / "few"),
        "--labels",
        str(history),
        "--site",
        "demo",
        "--public-sample",
        PUBLIC_SAMPLE,
    )
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.output
    version = last_line(result)
    verdict = next(line for line in result.output.splitlines() if "promotion gate" in line)
    assert "would not pass: too few held-out labels" in verdict
    assert "5 positive and 5 negative held-out labels" in verdict
    reason = verdict.split("would not pass: ", 1)[1].rstrip(".")

    comparison = json.loads((tmp_path / "few" / "evaluation.json").read_text())["comparison"]
    assert comparison["passed"] is False and comparison["judged"] is False
    assert comparison["refusal"] == reason
    assert {cell["verdict"] for cell in comparison["cells"]} == {"too few"}
    assert reason in (tmp_path / "few" / "report.html").read_text()

    result = modq("models", "promote", version, "--site", "demo")
    assert result.exit_code == 1
    assert f"promotion of {version} refused: {reason}" in result.output
    assert services.models.registry.active("demo") is None


@pytest.mark.slow
def test_training_on_an_export_of_every_site_keeps_comments_of_two_sites_with_one_id(
    modq, services, tmp_path
):
    comments = site_comments(80)
    export = tmp_path / "every-site.jsonl"
    with export.open("w") as handle:
        for i, (text, kind) in enumerate(comments):
            record = {
                "site": ("demo", "other")[i % 2],
                "comment_id": f"c{i // 2}",  # each id once per site
                "text": text,
                "labels": {"spam": int(kind == "spam"), "abuse": int(kind == "abuse")},
            }
            handle.write(json.dumps(record) + "\n")
    result = modq(
        "train",
        "--out",
        str(tmp_path / "m"),
        "--labels",
        str(export),
        "--public-sample",
        PUBLIC_SAMPLE,
    )
    assert result.exit_code == 0, result.output
    [counted] = [line for line in result.output.splitlines() if "labels to train on" in line]
    trained, held = re.findall(r"(\d+) labels to train on, (\d+) held out", counted)[0]
    assert int(trained) + int(held) == 80
    # The registry knows whose labels it learned from, for `thresholds suggest`.
    record = ModelRegistry(services.redis, services.keys).require(last_line(result))
    assert record.label_sites == ("demo", "other") and record.trained_for is None


@pytest.mark.parametrize(
    ("labels", "warned"),
    [
        ([{"spam": 0, "abuse": 0}] * 30, ["every spam label is negative", "every abuse label"]),
        ([{"spam": 1}] * 3, ["every spam label is positive"]),
        ([{"spam": 1}] * 4 + [{"spam": 0}] * 40, ["only 4 positive and 40 negative spam"]),
        ([{"spam": 1, "abuse": 0}] * 25 + [{"spam": 0, "abuse": 1}] * 25, []),
        ([], []),
    ],
)
def test_training_warns_about_one_sided_or_thin_labels(labels, warned):
    comments = [LabeledComment(text=f"comment {i}", labels=x) for i, x in enumerate(labels)]
    warnings = label_warnings(comments)
    assert len(warnings) == len(warned)
    for warning, expected in zip(warnings, warned, strict=True):
        assert warning.startswith(expected)


# --- thresholds ----------------------------------------------------------------------------------


def record_decisions(services, comments: list[tuple[str, str]]) -> None:
    """Store (text, kind) pairs as moderators' decisions on site demo."""
    store = services.labels
    for i, (text, kind) in enumerate(comments):
        store.record(
            store.example(
                site="demo",
                text=text,
                labels={"spam": int(kind == "spam"), "abuse": int(kind == "abuse")},
                decided_at="2026-01-01T00:00:00.000Z",
                source="moderator",
                language="en",
                comment_id=f"t{i}",
            )
        )


def test_thresholds_suggest_shows_precision_and_recall(modq, services, site):
    obvious = [
        ("BUY CHEAP WATCHES NOW at www.cheap-watches.example click here!!!", "spam"),
        ("You are an idiot and everyone here hates you.", "abuse"),
    ]
    record_decisions(services, site_comments(90) + obvious * 10)
    result = modq("thresholds", "suggest", "--site", "demo", "--precision", "0.9")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    spam = next(line for line in lines if line.startswith("spam:"))
    assert "review at" in spam and "precision" in spam and "recall" in spam
    assert "move a lot" not in result.output  # 40 of each category: enough to go on
    assert lines[-1].startswith("Apply with: modq sites update demo --review-threshold spam=")
    result = modq("thresholds", "suggest", "--site", "nosuch", "--precision", "0.9")
    assert result.exit_code == 1


@pytest.mark.slow
@pytest.mark.parametrize("label_sites", [{"demo"}, {"*"}, set()])
def test_thresholds_of_a_global_model_trained_on_the_site_s_labels_use_the_held_out_ones(
    modq, services, site, small_model, label_sites
):
    record_decisions(services, site_comments(90))
    registry = ModelRegistry(services.redis, services.keys)
    version = registry.register(small_model, label_sites=label_sites).version
    registry.promote(version)  # for every site, not for demo alone
    result = modq("thresholds", "suggest", "--site", "demo", "--precision", "0.9")
    assert result.exit_code == 0, result.output
    held = "held-out labels (the model trained on the rest)" in result.output
    assert held is bool(label_sites), result.output


def test_thresholds_suggested_from_few_labels_say_so(modq, services, site):
    record_decisions(services, site_comments(45))  # 15 of each kind
    result = modq("thresholds", "suggest", "--site", "demo", "--precision", "0.9")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    spam = next(line for line in lines if line.startswith("spam:"))
    note = lines[lines.index(spam) + 1]
    assert note.startswith("  (15 positive of 45:") and "move a lot" in note


def test_models_commands_explain_unknown_versions(modq, site):
    result = modq("models", "promote", "2026.01.01-deadbeef")
    assert result.exit_code == 1 and "no registered model" in result.output
    result = modq("models", "rollback")
    assert result.exit_code == 1 and "nothing to roll back" in result.output
    assert modq("models", "list").exit_code == 0


def test_label_store_example_ids_pick_the_holdout_the_same_way():
    from training.evaluate import held_out

    ids = [LabelStore.example_id({"comment_id": f"c{i}", "text": "x"}) for i in range(2000)]
    share = sum(held_out(i) for i in ids) / len(ids)
    assert 0.15 < share < 0.25
    assert [held_out(i) for i in ids] == [held_out(i) for i in ids]
