# Cloudlet's Python runtime launcher. The runtime itself is the module
# _cloudlet_runtime, imported rather than run so that its bytecode is cached
# (compiling it costs more than the rest of startup).
import sys

if __name__ == "__main__":  # not when multiprocessing re-imports the main module
    sys.path.insert(0, __file__.rpartition("/")[0])
    import _cloudlet_runtime

    _cloudlet_runtime.main()
