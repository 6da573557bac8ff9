import json


def handler(event, context):
    body = json.loads(event.get("body") or "{}")
    print(f"greeting {body.get('name', 'World')} in {context.function_name}")
    return {"greeting": f"Hello, {body.get('name', 'World')}!"}
