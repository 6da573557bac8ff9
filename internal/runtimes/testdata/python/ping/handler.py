def ping(event, context):
    return {"statusCode": 200, "body": "ok"}
