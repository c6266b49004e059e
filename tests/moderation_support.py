"""Helpers shared by the moderation tests: queue comments, call the moderator API."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from service.moderation_api import get_moderation

SAMPLE_TEXTS = [
    "Great reporting, thanks for covering the council meeting.",
    "BUY CHEAP WATCHES NOW at www.cheap-watches.example click here!!!",
    "You are an idiot and everyone here hates you.",
    "I disagree with the mayor, but this article is fair.",
    "Earn $5000 a week from home, message me now",
    "What a stupid moron, get lost",
]


def review_everything(services, site: str = "demo") -> None:
    """Make every comment of ``site`` go to review, whatever the model scores."""
    services.sites.update(
        site,
        review_thresholds={"spam": 0.0, "abuse": 0.0},
        reject_thresholds={"spam": 1.0, "abuse": 1.0},
    )


def queue_comments(ingest, count: int, prefix: str = "c", **fields) -> list[str]:
    """Send ``count`` comments through intake; returns their ids."""
    ids = []
    for index in range(count):
        comment_id = f"{prefix}{index}"
        body = {
            "id": comment_id,
            "text": SAMPLE_TEXTS[index % len(SAMPLE_TEXTS)] + f" #{index}",
            "article_id": "a1",
            "author": {"id": f"u{index % 3}", "name": f"Reader {index % 3}"},
            **fields,
        }
        response = ingest(body)
        assert response.status_code == 200, response.get_json()
        ids.append(comment_id)
    return ids


class Moderator:
    """Calls the moderator API with one bearer key."""

    def __init__(self, client: FlaskClient, key: str, site: str = "demo") -> None:
        self.client = client
        self.key = key
        self.site = site

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.key}"}

    def get(self, path: str, **params):
        return self.client.get(
            f"/v1/sites/{self.site}{path}", query_string=params, headers=self.headers
        )

    def post(self, path: str, body=None):
        return self.client.post(f"/v1/sites/{self.site}{path}", json=body, headers=self.headers)

    def claim(self, limit: int = 10, **body):
        return self.post("/queue/claim", {"limit": limit, **body})

    def decide(self, comment_id: str, decision: str, **body):
        return self.post(f"/queue/{comment_id}/decision", {"decision": decision, **body})


def moderation(app):
    with app.app_context():
        return get_moderation()


def csrf_of(html: str) -> str:
    """The CSRF token a page's form carries."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def log_in_with_form(client, email: str, password: str):
    """Log ``client`` in through the login form, as a moderator's browser does."""
    token = csrf_of(client.get("/ui/login").get_data(as_text=True))
    return client.post(
        "/ui/login", data={"email": email, "password": password, "csrf_token": token}
    )
