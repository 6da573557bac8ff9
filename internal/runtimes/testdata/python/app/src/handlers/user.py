from lib.util import double


def get(event, context):
    return {"user": event["id"], "double": double(event["id"]), "module": __name__}
