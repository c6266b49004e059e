"""The discovery document of modq's Perspective methods, for clients built from one.

Perspective's own Python sample builds its client with Google's API client library::

    discovery.build("commentanalyzer", "v1alpha1", developerKey=KEY, static_discovery=False,
                    discoveryServiceUrl=".../$discovery/rest?version=v1alpha1")

which first reads this document to learn the methods' paths. It describes the two methods modq
serves (``comments.analyze``, ``comments.suggestscore``) with modq's address as the root, so such
a client moves to modq by changing ``discoveryServiceUrl`` alone. Only the fields modq reads are
described; the library sends whatever body it is given.
"""

from __future__ import annotations

VERSION = "v1alpha1"


def _object(description: str, **properties: dict) -> dict:
    return {"type": "object", "description": description, "properties": properties}


def _string(description: str) -> dict:
    return {"type": "string", "description": description}


def _ref(name: str, description: str = "") -> dict:
    return {"$ref": name, "description": description} if description else {"$ref": name}


def _map_of(name: str, description: str) -> dict:
    return {"type": "object", "description": description, "additionalProperties": _ref(name)}


def _list_of(item: dict, description: str) -> dict:
    return {"type": "array", "description": description, "items": item}


def _number(description: str) -> dict:
    return {"type": "number", "format": "float", "description": description}


def _boolean(description: str) -> dict:
    return {"type": "boolean", "description": description}


def _schemas() -> dict:
    schemas = {
        "TextEntry": _object(
            "A piece of text.",
            text=_string("The text; up to 20 KiB."),
            type=_string("Only PLAIN_TEXT is read."),
        ),
        "AttributeParameters": _object(
            "How to score one attribute.",
            scoreType=_string("Only PROBABILITY, the default."),
            scoreThreshold=_number("Scores below this are left out of the answer."),
        ),
        "Context": _object("Accepted and ignored.", text=_string("Ignored.")),
        "AnalyzeCommentRequest": _object(
            "A comment to score.",
            comment=_ref("TextEntry", "The comment."),
            context=_ref("Context", "Accepted and ignored."),
            requestedAttributes=_map_of(
                "AttributeParameters",
                "Attributes to score: TOXICITY, SEVERE_TOXICITY, INSULT, PROFANITY, THREAT, "
                "IDENTITY_ATTACK (each with an _EXPERIMENTAL form) and SPAM.",
            ),
            languages=_list_of(_string("A language code."), "en and ko are scored."),
            spanAnnotations=_boolean("Score each sentence too."),
            dropUnsupportedAttributes=_boolean("Leave out attributes modq does not score."),
            doNotStore=_boolean("modq keeps nothing of an analysis, whatever this says."),
            clientToken=_string("Echoed back."),
            sessionId=_string("Accepted and ignored."),
            communityId=_string("Accepted and ignored."),
        ),
        "Score": _object(
            "A score.",
            value=_number("The probability, 0 to 1."),
            type=_string("PROBABILITY."),
        ),
        "SpanScore": _object(
            "The score of one span of the text, in UTF-16 code units.",
            begin={"type": "integer", "format": "int32", "description": "Start offset."},
            end={"type": "integer", "format": "int32", "description": "End offset."},
            score=_ref("Score", "The span's score."),
        ),
        "AttributeScores": _object(
            "One attribute's scores.",
            summaryScore=_ref("Score", "The whole comment's score."),
            spanScores=_list_of(_ref("SpanScore"), "Each sentence's score, if asked for."),
        ),
        "AnalyzeCommentResponse": _object(
            "The comment's scores.",
            attributeScores=_map_of("AttributeScores", "Per requested attribute."),
            languages=_list_of(_string("A language code."), "The languages as sent."),
            detectedLanguages=_list_of(_string("A language code."), "What modq detected."),
            clientToken=_string("The request's clientToken."),
        ),
        "SuggestCommentScoreRequest": _object(
            "A moderator's score for a comment, kept as a labeled example for retraining.",
            comment=_ref("TextEntry", "The comment."),
            context=_ref("Context", "Accepted and ignored."),
            attributeScores=_map_of(
                "AttributeScores", "0.5 or more on an abuse attribute labels the comment abusive."
            ),
            languages=_list_of(_string("A language code."), "The comment's languages."),
            communityId=_string("Kept with the example."),
            clientToken=_string("comment:ID names the comment; echoed back."),
        ),
        "SuggestCommentScoreResponse": _object(
            "The suggestion was kept.", clientToken=_string("The request's clientToken.")
        ),
    }
    for name, schema in schemas.items():
        schema["id"] = name
    return schemas


def _method(name: str, request: str, response: str, description: str) -> dict:
    return {
        "id": f"commentanalyzer.comments.{name}",
        "path": f"{VERSION}/comments:{name}",
        "flatPath": f"{VERSION}/comments:{name}",
        "httpMethod": "POST",
        "parameters": {},
        "parameterOrder": [],
        "request": {"$ref": request},
        "response": {"$ref": response},
        "description": description,
    }


def discovery_document(root_url: str) -> dict:
    """The REST description of the Perspective methods served under ``root_url``.

    :param root_url: the address the methods' paths hang off, ending in ``/``
        (``http://HOST:8000/perspective/``).
    """
    return {
        "kind": "discovery#restDescription",
        "discoveryVersion": "v1",
        "id": f"commentanalyzer:{VERSION}",
        "name": "commentanalyzer",
        "version": VERSION,
        "title": "Perspective Comment Analyzer API, served by modq",
        "description": "modq's spam and abuse scores under Perspective's comment methods.",
        "protocol": "rest",
        "rootUrl": root_url,
        "servicePath": "",
        "baseUrl": root_url,
        "batchPath": "batch",
        "parameters": {
            "key": {
                "type": "string",
                "location": "query",
                "description": "A modq ingest key of the site.",
            },
            "alt": {
                "type": "string",
                "location": "query",
                "default": "json",
                "enum": ["json"],
                "description": "Only JSON.",
            },
        },
        "schemas": _schemas(),
        "resources": {
            "comments": {
                "methods": {
                    "analyze": _method(
                        "analyze",
                        "AnalyzeCommentRequest",
                        "AnalyzeCommentResponse",
                        "Scores a comment; keeps nothing.",
                    ),
                    "suggestscore": _method(
                        "suggestscore",
                        "SuggestCommentScoreRequest",
                        "SuggestCommentScoreResponse",
                        "Keeps a suggested score as a labeled example of the key's site.",
                    ),
                }
            }
        },
    }
