"""Placeholder handler of the corpus SAM application (never run: the corpus is only scanned)."""


def handler(event, context):
    return {"statusCode": 202, "body": "accepted"}
