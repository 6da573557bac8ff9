import json


def handler(event, context):
    name = (event.get("queryStringParameters") or {}).get("name") or "World"
    return {"statusCode": 200, "body": json.dumps({"message": f"Hello, {name}!"})}
