"""The `modq` command line against a real Redis: sites, keys and offline scoring."""

from __future__ import annotations

import json

import pytest
import redis
from click.testing import CliRunner, Result

from service.apikeys import ApiKeyStore
from service.cli import main
from service.keys import RedisKeys

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def modq(redis_server, redis_client):
    """Run `modq ARGS...` in process against the test Redis (emptied for each test)."""
    runner = CliRunner()

    def run(*args: str, input: str | bytes | None = None, env: dict | None = None) -> Result:
        environment = {"MODQ_REDIS_URL": redis_server.url, **(env or {})}
        return runner.invoke(main, list(args), input=input, env=environment, catch_exceptions=False)

    return run


def one_line_error(result: Result) -> str:
    """The error a failed command printed, checked to be one line and no traceback."""
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


def every_stored_string(client: redis.Redis) -> list[bytes]:
    """Every key name, value, hash field and member in the Redis database."""
    found: list[bytes] = []
    for key in client.scan_iter():
        found.append(key)
        kind = client.type(key)
        if kind == b"string":
            found.append(client.get(key))
        elif kind == b"hash":
            for field, value in client.hgetall(key).items():
                found += [field, value]
        elif kind == b"set":
            found += list(client.smembers(key))
        elif kind == b"zset":
            found += client.zrange(key, 0, -1)
        elif kind == b"list":
            found += client.lrange(key, 0, -1)
        elif kind == b"stream":
            for _, fields in client.xrange(key):
                for field, value in fields.items():
                    found += [field, value]
    return found


# --- sites ------------------------------------------------------------------------------------


def test_sites_create_show_update_list(modq):
    created = modq(
        "sites", "create", "daily-news", "--max-length", "500",
        "--review-threshold", "spam=0.4", "--review-threshold", "abuse=0.3",
        "--reject-threshold", "abuse=0.8", "--banned-word", "idiot", "--suspect-word", "stupid",
    )  # fmt: skip
    assert created.exit_code == 0, created.output

    shown = modq("sites", "show", "daily-news")
    assert shown.exit_code == 0
    settings = json.loads(shown.output)
    assert settings["max_length"] == 500
    assert settings["review_thresholds"] == {"spam": 0.4, "abuse": 0.3}
    assert settings["reject_thresholds"] == {"spam": 0.9, "abuse": 0.8}
    assert settings["banned_words"] == ["idiot"]
    assert settings["suspect_words"] == ["stupid"]

    updated = modq("sites", "update", "daily-news", "--review-threshold", "spam=0.6")
    assert updated.exit_code == 0, updated.output
    settings = json.loads(modq("sites", "show", "daily-news").output)
    assert settings["review_thresholds"] == {"spam": 0.6, "abuse": 0.3}
    assert settings["max_length"] == 500
    assert settings["banned_words"] == ["idiot"]

    modq("sites", "create", "another")
    listed = modq("sites", "list")
    assert listed.exit_code == 0
    assert listed.stdout.splitlines() == ["another", "daily-news"]


def test_sites_update_replaces_and_clears_word_lists(modq):
    modq("sites", "create", "news", "--banned-word", "a", "--suspect-word", "b")
    modq("sites", "update", "news", "--banned-word", "x", "--banned-word", "y")
    settings = json.loads(modq("sites", "show", "news").output)
    assert settings["banned_words"] == ["x", "y"]
    assert settings["suspect_words"] == ["b"]

    modq("sites", "update", "news", "--clear-banned-words", "--clear-suspect-words")
    settings = json.loads(modq("sites", "show", "news").output)
    assert settings["banned_words"] == settings["suspect_words"] == []


def test_sites_list_when_there_are_none(modq):
    listed = modq("sites", "list")
    assert listed.exit_code == 0
    assert listed.stdout == ""
    assert "modq sites create" in listed.stderr


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("spam", "is not CATEGORY=P"),
        ("spam:0.5", "is not CATEGORY=P"),
        ("spam=", "is not a number"),
        ("spam=high", "is not a number"),
        ("toxic=0.5", "unknown category 'toxic'"),
        ("spam=1.5", "within 0..1"),
        ("spam=-0.1", "within 0..1"),
        ("spam=nan", "within 0..1"),
    ],
)
@pytest.mark.parametrize("option", ["--review-threshold", "--reject-threshold"])
def test_bad_threshold_is_a_usage_error(modq, redis_client, option, value, complaint):
    result = modq("sites", "create", "news", option, value)
    assert result.exit_code == 2
    assert complaint in result.stderr
    assert "Usage: modq sites create" in result.stderr
    assert redis_client.dbsize() == 0


def test_review_threshold_above_reject_threshold_is_refused(modq, redis_client):
    result = modq("sites", "create", "news", "--review-threshold", "spam=0.95")
    assert result.exit_code == 1
    assert "above its reject threshold" in one_line_error(result)
    assert redis_client.dbsize() == 0


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (("sites", "create", "Bad Name"), "must be 1-63 lowercase letters"),
        (("sites", "show", "missing"), "no site called 'missing'"),
        (("sites", "update", "missing", "--max-length", "10"), "no site called 'missing'"),
    ],
)
def test_site_errors_are_one_line(modq, args, complaint):
    result = modq(*args)
    assert result.exit_code == 1
    assert complaint in one_line_error(result)


def test_creating_a_site_twice_is_refused(modq):
    modq("sites", "create", "news", "--max-length", "100")
    again = modq("sites", "create", "news")
    assert again.exit_code == 1
    assert "already exists" in one_line_error(again)
    assert json.loads(modq("sites", "show", "news").output)["max_length"] == 100


def test_max_length_must_be_positive(modq):
    result = modq("sites", "create", "news", "--max-length", "0")
    assert result.exit_code == 2
    assert "--max-length" in result.stderr


# --- keys -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "prefix"), [("ingest", "mqi_"), ("moderator", "mqm_")])
def test_keys_create_prints_the_key_last_and_stores_only_its_hash(modq, redis_client, role, prefix):
    modq("sites", "create", "news")
    result = modq("keys", "create", "--site", "news", "--role", role)
    assert result.exit_code == 0, result.output

    lines = result.stdout.splitlines()
    secret = lines[-1]
    assert secret.startswith(prefix) and " " not in secret
    assert secret not in "\n".join(lines[:-1])

    record = ApiKeyStore(redis_client, RedisKeys()).find(secret)
    assert record is not None
    assert (record.site, record.role, record.active) == ("news", role, True)
    assert not any(secret.encode() in value for value in every_stored_string(redis_client))


def test_keys_create_refuses_an_unknown_site(modq, redis_client):
    result = modq("keys", "create", "--site", "nowhere", "--role", "ingest")
    assert result.exit_code == 1
    assert "no site called 'nowhere'" in one_line_error(result)
    assert ApiKeyStore(redis_client, RedisKeys()).list() == []


def test_keys_create_refuses_an_unknown_role(modq):
    modq("sites", "create", "news")
    result = modq("keys", "create", "--site", "news", "--role", "admin")
    assert result.exit_code == 2
    assert "'admin' is not one of 'ingest', 'moderator'" in result.stderr


def test_keys_list_shows_keys_but_never_the_key(modq):
    modq("sites", "create", "news")
    modq("sites", "create", "blog")
    news_key = modq("keys", "create", "--site", "news", "--role", "ingest").stdout.splitlines()[-1]
    blog_key = modq("keys", "create", "--site", "blog", "--role", "moderator").stdout.splitlines()[
        -1
    ]

    listed = modq("keys", "list")
    assert listed.exit_code == 0
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["ID", "SITE", "ROLE", "CREATED", "REVOKED"]
    assert sorted(row.split()[1:3] for row in rows) == [["blog", "moderator"], ["news", "ingest"]]
    assert all(row.split()[0].startswith("key_") and row.split()[4] == "-" for row in rows)
    assert news_key not in listed.output and blog_key not in listed.output

    only_news = modq("keys", "list", "--site", "news").stdout.splitlines()[1:]
    assert [row.split()[1] for row in only_news] == ["news"]


@pytest.mark.parametrize("by", ["key", "id"])
def test_keys_revoke_by_key_or_by_id(modq, redis_client, by):
    modq("sites", "create", "news")
    secret = modq("keys", "create", "--site", "news", "--role", "ingest").stdout.splitlines()[-1]
    store = ApiKeyStore(redis_client, RedisKeys())
    key_id = store.find(secret).id

    result = modq("keys", "revoke", secret if by == "key" else key_id)
    assert result.exit_code == 0, result.output
    assert key_id in result.stdout and "revoked" in result.stdout
    assert not store.find(secret).active
    row = modq("keys", "list").stdout.splitlines()[1].split()
    assert row[0] == key_id and row[4] != "-"


def test_keys_revoke_an_unknown_key(modq):
    result = modq("keys", "revoke", "key_000000000000")
    assert result.exit_code == 1
    assert "no such key" in one_line_error(result)


# --- configuration and Redis errors -----------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"MODQ_REDIS_URL": UNREACHABLE_REDIS}, "cannot reach Redis"),
        ({"MODQ_REDIS_URL": UNREACHABLE_REDIS, "MODQ_REDIS_CLUSTER": "1"}, "cannot reach Redis"),
        ({"MODQ_REDIS_URL": "localhost:6379"}, "MODQ_REDIS_URL is not a usable Redis URL"),
        ({"MODQ_MAX_BODY_BYTES": "lots"}, "MODQ_MAX_BODY_BYTES must be an integer"),
    ],
)
@pytest.mark.parametrize("args", [("sites", "list"), ("keys", "list"), ("score", "--site", "x")])
def test_configuration_and_redis_errors_are_one_line(modq, env, complaint, args):
    result = modq(*args, env=env)
    assert result.exit_code == 1
    assert complaint in one_line_error(result)


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"PORT": "http"}, "PORT must be a TCP port number"),
        ({"PORT": "70000"}, "PORT must be a TCP port number"),
        ({"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY must be a positive integer"),
        ({"MODQ_LOG_LEVEL": "chatty"}, "MODQ_LOG_LEVEL must be"),
        ({"MODQ_CACHE_SECONDS": "-1"}, "MODQ_CACHE_SECONDS must be at least 0"),
    ],
)
def test_serve_refuses_bad_settings_before_starting(modq, env, complaint):
    result = modq("serve", env=env)
    assert result.exit_code == 1
    assert complaint in one_line_error(result)


def test_serve_refuses_a_missing_model(modq, tmp_path):
    result = modq("serve", env={"MODQ_MODEL_PATH": str(tmp_path / "nothing")})
    assert result.exit_code == 1
    assert "no model at" in one_line_error(result)


# --- score ------------------------------------------------------------------------------------

RESULT_FIELDS = [
    "id",
    "site",
    "decision",
    "scores",
    "reasons",
    "model_version",
    "status",
    "language",
]


def jsonl(*items: object) -> str:
    return "".join((item if isinstance(item, str) else json.dumps(item)) + "\n" for item in items)


def test_score_reads_json_lines_and_writes_one_result_each(modq, redis_client):
    lines = jsonl(
        {"id": "en-1", "text": "Thank you for this careful reporting on the city budget."},
        {"id": "ko-1", "text": "좋은 기사 감사합니다. 많이 배웠어요.", "language": "ko"},
        "{not json",
        {"id": "abuse-1", "text": "You are a worthless idiot, shut up you moron."},
        {"id": "ko-abuse", "text": "이 병신 같은 새끼야 꺼져"},
        {"id": 7, "text": "an id must be a string"},
        {"id": "blank", "text": " \u200b "},
    )
    result = modq("score", input=lines, env={"MODQ_REDIS_URL": UNREACHABLE_REDIS})
    assert result.exit_code == 0, result.output
    results = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(results) == 7

    english, korean, not_json, abuse, korean_abuse, bad_id, blank = results
    for scored in (english, korean, abuse, korean_abuse):
        assert list(scored) == RESULT_FIELDS
        assert scored["site"] is None
        assert set(scored["scores"]) == {"spam", "abuse"}
        assert all(0.0 <= p <= 1.0 for p in scored["scores"].values())
        assert scored["model_version"]
    assert (english["id"], english["decision"], english["status"]) == (
        "en-1",
        "approve",
        "approved",
    )
    assert english["language"] == "en"
    assert (korean["id"], korean["decision"], korean["language"]) == ("ko-1", "approve", "ko")
    assert abuse["decision"] in ("review", "reject") and abuse["scores"]["abuse"] > 0.5
    assert korean_abuse["language"] == "ko" and korean_abuse["scores"]["abuse"] > 0.5
    assert any("idiot" in reason or "moron" in reason for reason in abuse["reasons"])

    assert not_json == {"id": None, "error": not_json["error"]}
    assert not_json["error"]["code"] == "invalid_request" and not_json["error"]["line"] == 3
    assert "not valid JSON" in not_json["error"]["message"]
    assert bad_id["id"] is None and bad_id["error"]["field"] == "id"
    assert blank["id"] == "blank" and blank["error"]["code"] == "text_empty"


def test_score_with_a_site_uses_its_settings_and_records_nothing(modq, redis_client):
    modq("sites", "create", "strict", "--banned-word", "sausage", "--suspect-word", "budget")
    before = sorted(redis_client.scan_iter())
    lines = jsonl(
        {"id": "1", "text": "The S-A-U-S-A-G-E stand at the fair was great."},
        {"id": "2", "text": "Is the budget really balanced?"},
        {"id": "3", "text": "A lovely photo of the harbour."},
    )
    result = modq("score", "--site", "strict", input=lines)
    assert result.exit_code == 0, result.output
    banned, suspect, plain = (json.loads(line) for line in result.stdout.splitlines())
    assert banned["site"] == "strict"
    assert (banned["decision"], banned["status"]) == ("reject", "rejected")
    assert 'banned word: "sausage"' in banned["reasons"]
    assert (suspect["decision"], suspect["status"]) == ("review", "pending_review")
    assert plain["decision"] == "approve"
    assert sorted(redis_client.scan_iter()) == before


def test_score_thresholds_come_from_the_site(modq):
    modq(
        "sites",
        "create",
        "lenient",
        "--reject-threshold",
        "abuse=1",
        "--review-threshold",
        "abuse=1",
    )
    line = jsonl({"id": "1", "text": "You are a worthless idiot, shut up you moron."})
    default = json.loads(modq("score", input=line).stdout)
    lenient = json.loads(modq("score", "--site", "lenient", input=line).stdout)
    assert default["scores"] == lenient["scores"]
    assert default["decision"] != "approve"
    assert lenient["decision"] == "approve"


def test_score_takes_text_of_any_length(modq):
    text = "A long and considered comment about the article. " * 200
    result = modq("score", input=jsonl({"id": "long", "text": text}))
    scored = json.loads(result.stdout)
    assert scored["id"] == "long" and scored["decision"] == "approve"


def test_score_survives_bytes_that_are_not_utf8(modq):
    lines = (
        b'{"id": "a", "text": "\xff\xfe"}\n' + jsonl({"id": "b", "text": "Fine words."}).encode()
    )
    result = modq("score", input=lines)
    assert result.exit_code == 0
    broken, fine = (json.loads(line) for line in result.stdout.splitlines())
    assert "not valid UTF-8" in broken["error"]["message"]
    assert fine["id"] == "b" and fine["decision"] == "approve"


def test_score_refuses_an_unknown_site(modq):
    result = modq("score", "--site", "nowhere", input=jsonl({"id": "1", "text": "hello"}))
    assert result.exit_code == 1
    assert "no site called 'nowhere'" in one_line_error(result)


SECRET = "whsec-from-elsewhere-123"


def set_webhook_of_new_site(modq, *args: str, **options):
    """Create site `demo` and give it a webhook URL with ``args`` for the secret."""
    assert modq("sites", "create", "demo").exit_code == 0
    url = "https://news.example/hooks/modq"
    return modq("sites", "update", "demo", "--webhook-url", url, *args, **options)


@pytest.mark.parametrize(
    ("args", "input", "env"),
    [
        (["--webhook-secret", "-"], SECRET + "\n", {}),
        (["--webhook-secret-env", "HOOK_SECRET"], None, {"HOOK_SECRET": SECRET}),
    ],
)
def test_the_webhook_secret_can_stay_off_the_command_line(modq, redis_client, args, input, env):
    result = set_webhook_of_new_site(modq, *args, input=input, env=env)
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    stored = json.loads(redis_client.get(RedisKeys().site_config("demo")))
    assert stored["webhook_secret"] == SECRET


@pytest.mark.parametrize(
    ("args", "input", "env"),
    [
        (["--webhook-secret", "-"], "\n", {}),  # what `openssl rand ... |` gives when it fails
        (["--webhook-secret-env", "HOOK_SECRET"], None, {"HOOK_SECRET": ""}),
    ],
)
def test_an_empty_webhook_secret_from_stdin_or_a_variable_is_an_error(modq, args, input, env):
    result = set_webhook_of_new_site(modq, *args, input=input, env=env)
    assert result.exit_code == 2, result.output


def test_an_unset_webhook_secret_variable_is_an_error(modq):
    result = set_webhook_of_new_site(modq, "--webhook-secret-env", "NOPE")
    assert result.exit_code == 2 and "NOPE is not set" in result.output
