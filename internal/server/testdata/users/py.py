# Reads a user with boto3 as Lambda ships it: no endpoint in the code.
import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["USERS_TABLE"])


def get(event, context):
    item = table.get_item(Key={"id": event["id"]}).get("Item")
    return {"name": item["name"] if item else None}
