# Cloudlet's stem cell for runtimes that bring their own executable
# (provided.*, go1.x): a pre-started sandboxed process that, once told which
# program to run and with which environment, becomes it by execve. It speaks
# the private channel (internal/runtimes/doc.go): 'Y' when ready, then one
# 'X' frame: the program's path NUL, then KEY=value NUL entries.
import posix


def _read_exact(n):
    data = b""
    while len(data) < n:
        chunk = posix.read(3, n - len(data))
        if not chunk:
            posix._exit(0)
        data += chunk
    return data


def main():
    posix.write(4, (1).to_bytes(4, "little") + b"Y")
    n = int.from_bytes(_read_exact(4), "little")
    if n < 2 or n > 16 << 20:
        posix._exit(2)
    frame = _read_exact(n)
    if frame[:1] != b"X":
        posix._exit(2)
    parts = frame[1:].split(b"\0")
    path, env = parts[0], {}
    for entry in parts[1:]:
        k, sep, v = entry.partition(b"=")
        if sep and k:
            env[k] = v
    root = env.get(b"LAMBDA_TASK_ROOT")
    if root:
        posix.chdir(root)
    posix.close(3)
    posix.close(4)
    try:
        posix.execve(path, [path], env)
    except OSError as e:
        posix.write(2, ("cloudlet: cannot run %s: %s\n" % (path.decode("utf-8", "replace"), e.strerror)).encode())
        posix._exit(127)


main()
