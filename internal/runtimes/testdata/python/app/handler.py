"""Fixture handlers for the Python bootstrap tests."""
import os
import sys
import time
from decimal import Decimal

from lib.util import double  # a module in a subfolder of the task root

COUNT = 0


def hello(event, context):
    return {"hello": event.get("name", "world"), "double": double(2)}


def ping(event, context):
    return {"statusCode": 200, "body": "ok"}


def none(event, context):
    return None


def context_fields(event, context):
    first = context.get_remaining_time_in_millis()
    time.sleep(0.005)
    second = context.get_remaining_time_in_millis()
    cc = context.client_context
    return {
        "aws_request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "invoked_function_arn": context.invoked_function_arn,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "client_custom": cc.custom if cc else None,
        "client_app_title": cc.client.app_title if cc and cc.client else None,
        "identity_id": context.identity.cognito_identity_id,
        "identity_pool": context.identity.cognito_identity_pool_id,
        "first": first,
        "second": second,
        "trace_env": os.environ.get("_X_AMZN_TRACE_ID"),
        "cwd": os.getcwd(),
        "path0": sys.path[0],
    }


def log(event, context):
    import logging

    logger = logging.getLogger()
    logger.setLevel(logging.INFO)
    print("printed line")
    logger.info("info via logging %s", "arg")
    logging.getLogger("child").warning("child warning")
    sys.stderr.write("stderr line\n")
    return "logged"


def raises(event, context):
    raise ValueError("something broke")


class CustomError(Exception):
    pass


def custom(event, context):
    return helper_that_raises()


def helper_that_raises():
    raise CustomError("custom failure")


def decimal(event, context):
    return {"int": Decimal("10"), "frac": Decimal("1.5")}


def unserializable(event, context):
    return {"obj": object()}


def cycle(event, context):
    a = {}
    a["self"] = a
    return a


def echo(event, context):
    return event


def size(event, context):
    return {"length": len(event["data"])}


def big(event, context):
    return {"data": "x" * event["n"]}


def counter(event, context):
    global COUNT
    COUNT += 1
    return {"count": COUNT}


def unicode(event, context):
    return {"text": event["text"] + " \u2713"}


def raw_bytes(event, context):
    return b"raw bytes"


def exits(event, context):
    sys.exit(3)


not_a_function = 42


def environ(event, context):
    import os
    import subprocess

    return {
        "env": dict(os.environ),
        "cwd": os.getcwd(),
        "child": subprocess.run(["/usr/bin/env"], capture_output=True, text=True).stdout,
        "path": __import__("sys").path,
    }
