"""Cloudlet's Python runtime (started by bootstrap.py, which only imports
this module so that its compiled bytecode is cached).

It loads the function's handler and serves invocations over the private
instance channel described in internal/runtimes/doc.go: frames in on fd 3,
frames out on fd 4, logs on fd 1 (run unbuffered, with -u).

Startup is the cold start, so this file imports almost nothing: `posix`
instead of `os`, the C half of `json` (`_json`) instead of `json` (which pulls
in `re` and `enum`), and `logging` only when user code imports it (a
meta-path hook then attaches Lambda's root handler, as AWS's runtime does at
startup). Error documents, log lines and handler resolution follow AWS's
awslambdaric so that functions see what they see on Lambda.
"""

import sys
import posix as _posix
import time as _time

try:
    import _json
except ImportError:  # not CPython: use the json package
    _json = None

_IN = 3
_OUT = 4
_MAX_FRAME = 16 << 20
_KIND_INVOKE = 0x49
_KIND_SPECIALISE = 0x53
_READY = b"Y"
_INIT_ERROR = b"N"
_RESPONSE = b"R"
_ERROR = b"E"

_environ = _posix.environ  # bytes keys; os.environ, once imported, wraps this same dict


def _getenv(name, default=None):
    v = _environ.get(name.encode())
    return default if v is None else v.decode("utf-8", "surrogateescape")


_request_id = None
_trace_set = False

# ---------------------------------------------------------------------------
# The channel.


def _write_all(data):
    view = memoryview(data)
    while view:
        try:
            n = _posix.write(_OUT, view)
        except InterruptedError:
            continue
        except BlockingIOError:
            _time.sleep(0.001)
            continue
        view = view[n:]


def _send(kind, body):
    if len(body) + 1 > _MAX_FRAME:
        kind = _ERROR
        body = _to_json(
            _make_error(
                "Response payload size exceeded maximum allowed payload size (%d bytes)." % (_MAX_FRAME - 1),
                "Function.ResponseSizeTooLarge",
                None,
                _request_id,
            )
        ).encode()
    try:
        _write_all(b"".join(((len(body) + 1).to_bytes(4, "little"), kind, body)))
    except BrokenPipeError:
        _exit(0)  # the platform closed the channel: nobody is listening


def _read(n):
    while True:
        try:
            return _posix.read(_IN, n)
        except InterruptedError:
            continue
        except BlockingIOError:
            _time.sleep(0.001)


_pending = b""


def _read_frame():
    """Returns the next frame (kind byte + body) or None at EOF."""
    global _pending
    buf = _pending
    while len(buf) < 4:
        chunk = _read(65536)
        if not chunk:
            if buf:
                _protocol_error("channel closed inside a frame")
            return None
        buf += chunk
    n = int.from_bytes(buf[:4], "little")
    if n == 0 or n > _MAX_FRAME:
        _protocol_error("bad frame length %d" % n)
    need = 4 + n
    if len(buf) >= need:
        _pending = buf[need:]
        return buf[4:need]
    # A large frame: read straight into its final buffer.
    frame = bytearray(n)
    have = len(buf) - 4
    frame[:have] = buf[4:]
    view = memoryview(frame)
    while have < n:
        try:
            m = _posix.readv(_IN, [view[have:]])
        except InterruptedError:
            continue
        except BlockingIOError:
            _time.sleep(0.001)
            continue
        if m == 0:
            _protocol_error("channel closed inside a frame")
        have += m
    _pending = b""
    return bytes(frame)


def _protocol_error(msg):
    sys.stderr.write("cloudlet runtime: protocol error: %s\n" % msg)
    _exit(2)


def _exit(code):
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        _posix._exit(code)


# ---------------------------------------------------------------------------
# JSON without importing the json package (its import costs more than the
# rest of startup). Same C scanner and encoder that json.loads/json.dumps use.

_WS = " \t\n\r"


class _ScanContext:
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}.__getitem__
    memo = None


def _default(o):
    if type(o).__name__ == "Decimal":  # what DynamoDB hands out for numbers
        if o.is_nan():
            return float("nan")
        if o.is_finite() and o == o.to_integral_value():
            return int(o)
        return float(o)
    raise TypeError("Object of type %s is not JSON serializable" % o.__class__.__name__)


_scan = None
_encode = None
_markers = {}
_ensure_ascii = True


def _setup_json():
    global _scan, _encode, _ensure_ascii
    # AWS's python3.12 runtime and later answer with non-ASCII characters as is.
    ee = _getenv("AWS_EXECUTION_ENV", "")
    if ee.startswith("AWS_Lambda_python3."):
        try:
            _ensure_ascii = int(ee[len("AWS_Lambda_python3."):]) < 12
        except ValueError:
            pass
    if _json is None:
        return
    try:
        _scan = _json.make_scanner(_ScanContext)
        _encode = _json.make_encoder(
            _markers,
            _default,
            _json.encode_basestring_ascii if _ensure_ascii else _json.encode_basestring,
            None,  # indent
            ": ",
            ", ",
            False,  # sort_keys
            False,  # skipkeys
            True,  # allow_nan
        )
    except Exception:
        _scan = _encode = None


def _loads(data):
    s = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
    if _scan is not None and s and s[0] not in _WS:
        try:
            obj, end = _scan(s, 0)
        except StopIteration:
            pass  # let json.loads say what is wrong
        else:
            if end == len(s) or not s[end:].strip(_WS):
                return obj
    import json

    return json.loads(s)


def _to_json(obj):
    if _encode is not None:
        try:
            return "".join(_encode(obj, 0))
        except BaseException:
            _markers.clear()
            raise
    import json

    return json.dumps(obj, default=_default, ensure_ascii=_ensure_ascii)


# ---------------------------------------------------------------------------
# Errors, shaped as awslambdaric shapes them.


class _Fault(Exception):
    def __init__(self, exception_type, msg, trace=None):
        self.exception_type = exception_type
        self.msg = msg
        self.trace = trace


def _make_error(message, error_type, stack_trace, invoke_id=None):
    return {
        "errorMessage": message if message else "",
        "errorType": error_type if error_type else "",
        "requestId": invoke_id if invoke_id is not None else "",
        "stackTrace": stack_trace if stack_trace else [],
    }


def _fault_result(exc, invoke_id=None):
    import traceback

    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(exc.__traceback__)]
    for i in range(len(frames)):
        if "/_cloudlet_runtime.py" not in frames[i][0] and "/bootstrap.py" not in frames[i][0]:
            frames = frames[i:]
            break
    return _make_error(str(exc), type(exc).__name__, traceback.format_list(frames), invoke_id)


def _log_error(result):
    desc = "[ERROR]"
    etype = result.get("errorType")
    if etype:
        desc += " " + etype
    emsg = result.get("errorMessage")
    if emsg:
        if etype:
            desc += ":"
        desc += " " + emsg
    lines = [desc]
    stack = result.get("stackTrace")
    if stack is not None:
        lines.append("Traceback (most recent call last):")
        for element in stack:
            if element == "":
                lines.append("")
                continue
            for line in element.splitlines():
                stripped = line.lstrip(" ")
                lines.append("\u00a0" * (len(line) - len(stripped)) + stripped)
    sys.stdout.write("\r".join(lines) + "\n")


# ---------------------------------------------------------------------------
# logging: Lambda's root handler, attached when (if ever) logging is imported.


def _configure_logging(logging):
    logging.Formatter.converter = _time.gmtime

    class LambdaLoggerHandler(logging.Handler):
        def emit(self, record):
            sys.stdout.write(self.format(record))

    class LambdaLoggerFilter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = _request_id or ""
            record.tenant_id = None
            return True

    handler = LambdaLoggerHandler()
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    handler.addFilter(LambdaLoggerFilter())
    root = logging.getLogger()
    level = (_getenv("AWS_LAMBDA_LOG_LEVEL") or "").upper()
    if level in logging._nameToLevel:
        root.setLevel(level)
    root.addHandler(handler)


class _AfterLoader:
    def __init__(self, loader, after):
        self._loader = loader
        self._after = after

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        self._after(module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _AfterImport:
    """A meta-path finder that, the first time the module `name` is
    imported, runs after(module) once it is loaded, then leaves: what a
    function may never import costs nothing."""

    def __init__(self, name, after):
        self._name = name
        self._after = after

    def find_spec(self, name, path=None, target=None):
        if name != self._name:
            return None
        sys.meta_path.remove(self)
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find is not None else None
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _AfterLoader(spec.loader, self._after)
                return spec
        return None


# Lets a botocore older than AWS_ENDPOINT_URL support (1.31.57; Debian's
# boto3 1.26 is one) reach Cloudlet's endpoint without code changes: a
# client created with no endpoint_url gets AWS_ENDPOINT_URL_<SERVICE> or
# AWS_ENDPOINT_URL, as newer botocore does by itself.
def _patch_endpoint(module):
    import os

    import botocore

    try:
        version = tuple(int(x) for x in botocore.__version__.split(".")[:3])
    except ValueError:
        return
    if version >= (1, 31, 57):
        return
    create = module.Session.create_client

    def create_client(self, service_name, *args, **kwargs):
        # endpoint_url is the fifth parameter after service_name.
        if len(args) < 5 and kwargs.get("endpoint_url") is None:
            env = os.environ
            url = env.get("AWS_ENDPOINT_URL_" + service_name.upper().replace("-", "_")) or env.get("AWS_ENDPOINT_URL")
            if url:
                kwargs["endpoint_url"] = url
        return create(self, service_name, *args, **kwargs)

    module.Session.create_client = create_client


# ---------------------------------------------------------------------------
# The context object (awslambdaric's LambdaContext).


class CognitoIdentity(object):
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]

    def __repr__(self):
        return "CognitoIdentity([cognito_identity_id=%s,cognito_identity_pool_id=%s])" % (
            self.cognito_identity_id,
            self.cognito_identity_pool_id,
        )


class Client(object):
    __slots__ = ["installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name"]


class ClientContext(object):
    __slots__ = ["custom", "env", "client"]


def _obj_from_dict(cls, d):
    if d is None:
        return None
    obj = cls()
    for field in cls.__slots__:
        setattr(obj, field, d.get(field, None))
    return obj


_function_name = None
_function_version = None
_memory_size = None
_log_group = None
_log_stream = None
_function_arn = None


class LambdaContext(object):
    def __init__(self, invoke_id, client_context, cognito_identity, epoch_deadline_time_in_ms, invoked_function_arn=None, tenant_id=None):
        self.aws_request_id = invoke_id
        self.log_group_name = _log_group
        self.log_stream_name = _log_stream
        self.function_name = _function_name
        self.memory_limit_in_mb = _memory_size
        self.function_version = _function_version
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        self.client_context = _obj_from_dict(ClientContext, client_context)
        if self.client_context is not None:
            self.client_context.client = _obj_from_dict(Client, self.client_context.client)
        self.identity = _obj_from_dict(CognitoIdentity, {})
        if cognito_identity is not None:
            self.identity.cognito_identity_id = cognito_identity.get("cognitoIdentityId")
            self.identity.cognito_identity_pool_id = cognito_identity.get("cognitoIdentityPoolId")
        self._epoch_deadline_time_in_ms = epoch_deadline_time_in_ms

    def get_remaining_time_in_millis(self):
        delta = self._epoch_deadline_time_in_ms - int(_time.time() * 1000)
        return delta if delta > 0 else 0

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        return (
            "LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,function_name=%s,"
            "memory_limit_in_mb=%s,function_version=%s,invoked_function_arn=%s,client_context=%s,"
            "identity=%s,tenant_id=%s])"
            % (
                self.aws_request_id,
                self.log_group_name,
                self.log_stream_name,
                self.function_name,
                self.memory_limit_in_mb,
                self.function_version,
                self.invoked_function_arn,
                self.client_context,
                self.identity,
                self.tenant_id,
            )
        )


def _parse_header_json(raw, name):
    if not raw:
        return None
    if raw[:1] not in (b"{", b"[", b" "):  # base64 of the JSON
        import binascii

        try:
            raw = binascii.a2b_base64(raw)
        except Exception:
            pass
    try:
        return _loads(raw)
    except Exception as e:
        raise _Fault("Runtime.LambdaContextUnmarshalError", "Unable to parse %s JSON: %s" % (name, e))


# ---------------------------------------------------------------------------
# Loading the handler and serving invocations.


def _get_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise _Fault("Runtime.MalformedHandlerName", "Bad handler '{}': {}".format(handler, str(e)))
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise _Fault(
                "Runtime.BuiltInModuleConflict",
                "Cannot use built-in module {} as a handler module".format(modname),
            )
        name = modname.replace("/", ".")
        __import__(name)
        m = sys.modules[name]
    except ImportError as e:
        raise _Fault("Runtime.ImportModuleError", "Unable to import module '{}': {}".format(modname, str(e)))
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise _Fault("Runtime.UserCodeSyntaxError", "Syntax error in module '{}': {}".format(modname, str(e)), trace)
    try:
        return getattr(m, fname)
    except AttributeError:
        raise _Fault("Runtime.HandlerNotFound", "Handler '{}' missing on module '{}'".format(fname, modname), None)


def _set_trace(trace):
    global _trace_set
    if trace:
        _environ[b"_X_AMZN_TRACE_ID"] = trace
        _posix.putenv(b"_X_AMZN_TRACE_ID", trace)
        _trace_set = True
    elif _trace_set:
        _environ.pop(b"_X_AMZN_TRACE_ID", None)
        _posix.unsetenv(b"_X_AMZN_TRACE_ID")
        _trace_set = False


def _serve(request_handler):
    global _request_id
    while True:
        frame = _read_frame()
        if frame is None:
            _exit(0)
        if frame[0] != _KIND_INVOKE:
            _protocol_error("unexpected frame kind %d" % frame[0])
        parts = frame.split(b"\n", 5)
        if len(parts) != 6:
            _protocol_error("malformed invoke frame")
        invoke_id = parts[0][1:].decode()
        _request_id = invoke_id
        _set_trace(parts[2])
        error_result = None
        try:
            try:
                deadline = int(parts[1])
            except ValueError:
                deadline = 0
            context = LambdaContext(
                invoke_id,
                _parse_header_json(parts[3], "Client Context"),
                _parse_header_json(parts[4], "Cognito Identity"),
                deadline,
                _function_arn,
            )
            try:
                event = _loads(parts[5])
            except Exception as e:
                raise _Fault("Runtime.UnmarshalError", "Unable to unmarshal input: {}".format(str(e)))
            response = request_handler(event, context)
            if isinstance(response, bytes):
                result = response
            else:
                try:
                    result = _to_json(response).encode()
                except Exception as e:
                    raise _Fault("Runtime.MarshalError", "Unable to marshal response: {}".format(str(e)), None)
        except _Fault as e:
            error_result = _make_error(e.msg, e.exception_type, e.trace, invoke_id)
        except Exception as e:
            error_result = _fault_result(e, invoke_id)
        if error_result is not None:
            _log_error(error_result)
            _send(_ERROR, _to_json(error_result).encode())
        else:
            _send(_RESPONSE, result)


def _setup_path(task_root):
    """sys.path as Lambda has it: the task root first, then PYTHONPATH (which
    -I makes the interpreter ignore), the standard library, then the
    interpreter's site-packages (which -S leaves out; .pth files in them are
    not processed)."""
    head = [task_root]
    for p in (_getenv("PYTHONPATH") or "").split(":"):
        if p:
            head.append(p if p.startswith("/") else task_root + "/" + p)
    # The SDK the runtime ships (boto3), after the function's own code, as
    # /var/runtime is on Lambda; the variable is Cloudlet's, not the function's.
    sdk = _getenv("_CLOUDLET_SDK_PATH")
    if sdk:
        head.append(sdk)
        _posix.unsetenv("_CLOUDLET_SDK_PATH")
        _environ.pop(b"_CLOUDLET_SDK_PATH", None)
        sys.meta_path.insert(0, _AfterImport("botocore.session", _patch_endpoint))
    tail = []
    v = "%d.%d" % sys.version_info[:2]
    seen = set()
    for prefix in (sys.prefix, sys.exec_prefix):
        if prefix in seen:
            continue
        seen.add(prefix)
        libdirs = [sys.platlibdir] if sys.platlibdir == "lib" else [sys.platlibdir, "lib"]
        candidates = [prefix + "/local/lib/python" + v + "/dist-packages", prefix + "/lib/python3/dist-packages"]
        candidates += [prefix + "/" + d + "/python" + v + "/site-packages" for d in libdirs]
        candidates.append(prefix + "/lib/python" + v + "/dist-packages")
        for d in candidates:
            if d in tail:
                continue
            try:
                _posix.stat(d)
            except OSError:
                continue
            tail.append(d)
    here = __file__.rpartition("/")[0]
    sys.path[:] = head + [p for p in sys.path if p not in head and p not in tail and p != here] + tail


# Standard-library modules a stem cell imports before it waits: what
# functions import most, and what costs most to import (json alone pulls in
# re and enum: ~8 ms). Their import is then off the cold start, as in the
# SOCK paper's zygotes; the modules are pristine, as nothing runs before the
# function but this bootstrap, which does not touch them.
_PRELOAD = (
    "json", "re", "datetime", "decimal", "uuid", "base64", "hashlib", "hmac", "logging",
    "typing", "dataclasses", "urllib.parse", "http.client", "collections", "functools",
)


def _specialise():
    """Turns a stem cell into an instance of a function: waits for the 'S'
    frame, takes the environment it carries as its own (the C environment
    too, for child processes) and moves to the function's code (doc.go,
    "Stem cells")."""
    for name in _PRELOAD:
        try:
            __import__(name)
        except ImportError:
            pass
    _send(_READY, b"")
    frame = _read_frame()
    if frame is None:
        _exit(0)
    if frame[0] != _KIND_SPECIALISE:
        _protocol_error("unexpected frame kind %d in a stem cell" % frame[0])
    for k in list(_environ):
        _posix.unsetenv(k)
        del _environ[k]
    for entry in frame[1:].split(b"\0"):
        k, sep, v = entry.partition(b"=")
        if sep and k:
            _posix.putenv(k, v)
            _environ[k] = v
    root = _getenv("LAMBDA_TASK_ROOT")
    if root:
        _posix.chdir(root)
    _time.tzset()


def main():
    global _function_name, _function_version, _memory_size, _log_group, _log_stream, _function_arn
    if _getenv("CLOUDLET_STEM") == "1":
        _specialise()
    task_root = _getenv("LAMBDA_TASK_ROOT") or _posix.getcwd()
    _setup_path(task_root)
    if _getenv("PYTHONDONTWRITEBYTECODE"):
        sys.dont_write_bytecode = True
    import builtins

    if not hasattr(builtins, "exit"):  # normally added by site, which -S skips
        builtins.exit = builtins.quit = sys.exit
    _setup_json()
    _function_name = _getenv("AWS_LAMBDA_FUNCTION_NAME")
    _function_version = _getenv("AWS_LAMBDA_FUNCTION_VERSION")
    _memory_size = _getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    _log_group = _getenv("AWS_LAMBDA_LOG_GROUP_NAME")
    _log_stream = _getenv("AWS_LAMBDA_LOG_STREAM_NAME")
    _function_arn = "arn:aws:lambda:%s:%s:function:%s" % (
        _getenv("AWS_REGION") or "us-east-1",
        _getenv("CLOUDLET_ACCOUNT_ID") or "000000000000",
        _function_name or "",
    )
    if "logging" in sys.modules:
        _configure_logging(sys.modules["logging"])
    else:
        sys.meta_path.insert(0, _AfterImport("logging", _configure_logging))

    try:
        request_handler = _get_handler(_getenv("_HANDLER") or "")
    except _Fault as e:
        error_result = _make_error(e.msg, e.exception_type, e.trace)
    except Exception as e:
        error_result = _fault_result(e)
    else:
        _send(_READY, b"")
        _serve(request_handler)
        return
    _log_error(error_result)
    _send(_INIT_ERROR, _to_json(error_result).encode())
    _exit(1)

