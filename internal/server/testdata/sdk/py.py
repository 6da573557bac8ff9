import boto3


def list(event, context):
    out = boto3.client("lambda").list_functions()
    return {"names": sorted(f["FunctionName"] for f in out["Functions"]), "boto3": boto3.__version__}
