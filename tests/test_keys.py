"""Every Redis key has one exact form; per-site keys share the site's hash slot."""

import pytest

from service.keys import RedisKeys


@pytest.fixture
def keys():
    return RedisKeys()


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda k: k.sites(), "modq:sites"),
        (lambda k: k.api_key("ab12"), "modq:apikey:ab12"),
        (lambda k: k.api_key_index(), "modq:apikeys"),
        (lambda k: k.web_session("ab12"), "modq:web-session:ab12"),
        (lambda k: k.rate_limit_prefix(), "modq:ratelimit"),
        (lambda k: k.site_config("demo"), "modq:{demo}:config"),
        (lambda k: k.comment("demo", "c-1"), "modq:{demo}:comment:c-1"),
        (lambda k: k.queue("demo"), "modq:{demo}:queue"),
        (lambda k: k.leases("demo"), "modq:{demo}:leases"),
        (lambda k: k.queue_since("demo"), "modq:{demo}:queue-since"),
        (lambda k: k.campaigns("demo", 493000), "modq:{demo}:campaigns:493000"),
        (lambda k: k.audit("demo"), "modq:{demo}:audit"),
        (lambda k: k.labels("demo"), "modq:{demo}:labels"),
        (lambda k: k.label_salt("demo"), "modq:{demo}:label-salt"),
        (lambda k: k.webhook_events("demo"), "modq:{demo}:webhook-events"),
        (lambda k: k.webhook_due("demo"), "modq:{demo}:webhook-due"),
        (lambda k: k.webhook_held("demo"), "modq:{demo}:webhook-held"),
        (lambda k: k.webhook_dead("demo"), "modq:{demo}:webhook-dead"),
    ],
)
def test_key_forms(keys, build, expected):
    assert build(keys) == expected


def test_comment_ids_with_braces_stay_in_the_site_slot(keys):
    # Redis hashes only the first {...}, so a brace in a comment id cannot move the key.
    assert keys.comment("demo", "{x}").startswith("modq:{demo}:")


@pytest.mark.parametrize("site", ["", "Demo", "a b", "x{y}", "a" * 64, "-lead"])
def test_invalid_site_names_are_refused(keys, site):
    with pytest.raises(ValueError):
        keys.queue(site)


def test_prefix_is_configurable_and_checked():
    assert RedisKeys("news").queue("demo") == "news:{demo}:queue"
    with pytest.raises(ValueError):
        RedisKeys("a:b")
