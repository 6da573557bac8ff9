import os
import time

count = 0


def handler(event, context):
    global count
    count += 1
    mode = event.get("mode")
    if mode == "error":
        raise ValueError("asked to fail")
    if mode == "sleep":
        time.sleep(event.get("s", 60))
    if mode == "context":
        return {
            "requestId": context.aws_request_id,
            "functionName": context.function_name,
            "memory": context.memory_limit_in_mb,
            "remaining": context.get_remaining_time_in_millis(),
        }
    print("python handled", count)
    return {"echo": event, "count": count, "pid": os.getpid()}
