import urllib.parse

import boto3

s3 = boto3.client("s3")


def handler(event, context):
    for r in event["Records"]:
        key = urllib.parse.unquote_plus(r["s3"]["object"]["key"])
        body = s3.get_object(Bucket=r["s3"]["bucket"]["name"], Key=key)["Body"].read().decode()
        s3.put_object(Bucket="thumbs-thumbnails", Key="py-out/" + key[len("py/"):], Body=body[::-1].encode())
