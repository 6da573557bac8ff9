import json
import os

import boto3

sqs = boto3.client("sqs")
table = boto3.resource("dynamodb").Table(os.environ["RESULTS_TABLE"])


def producer(event, context):
    if not event.get("body"):
        return {"statusCode": 400, "body": json.dumps({"message": "No body was found"})}
    sqs.send_message(
        QueueUrl=os.environ["QUEUE_URL"],
        MessageBody=event["body"],
        MessageAttributes={"kind": {"StringValue": "job", "DataType": "String"}},
    )
    return {"statusCode": 200, "body": json.dumps({"message": "Message accepted!"})}


def consumer(event, context):
    for record in event["Records"]:
        if record["body"] == "poison":
            raise ValueError("cannot process a poisoned job")
        table.put_item(Item={"job": record["body"], "kind": record["messageAttributes"]["kind"]["stringValue"]})
