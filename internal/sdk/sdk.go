package sdk

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

//go:embed node-v3/package.json node-v3/package-lock.json node-v2/package.json node-v2/package-lock.json
var manifests embed.FS

// PythonBoto3 is the boto3 version installed from PyPI where pip reaches it.
const PythonBoto3 = "1.34.0"

// Kit names.
const (
	NodeV3 = "node-v3"
	NodeV2 = "node-v2"
	Python = "python"
)

// For says which kit a runtime ships: "" for none (custom runtimes, Go).
func For(runtime string) string {
	if v, ok := strings.CutPrefix(runtime, "nodejs"); ok {
		n, err := strconv.Atoi(strings.TrimSuffix(v, ".x"))
		if err != nil {
			return ""
		}
		if n >= 18 {
			return NodeV3
		}
		return NodeV2
	}
	if strings.HasPrefix(runtime, "python3.") {
		return Python
	}
	return ""
}

// Describe names a kit for people.
func Describe(kit string) string {
	switch kit {
	case NodeV3:
		return "the AWS SDK for JavaScript v3"
	case NodeV2:
		return "the AWS SDK for JavaScript v2 (aws-sdk)"
	case Python:
		return "boto3"
	}
	return kit
}

// Cache installs kits into a folder and finds them there.
type Cache struct {
	dir string
	log *slog.Logger
	// DebianPackages is where Debian's Python packages live (a test may
	// point it elsewhere).
	DebianPackages string

	mu    sync.Mutex
	found map[string]string
	err   map[string]error
}

// NewCache returns the machine's cache: dir, else CLOUDLET_CACHE_DIR, else
// the user's cache folder + /cloudlet/sdk.
func NewCache(dir string, log *slog.Logger) *Cache {
	if dir == "" {
		dir = os.Getenv("CLOUDLET_CACHE_DIR")
	}
	if dir == "" {
		// Never a shared temporary folder: what is found in the cache runs
		// inside every function.
		if base, err := os.UserCacheDir(); err == nil {
			dir = filepath.Join(base, "cloudlet", "sdk")
		} else if os.Geteuid() == 0 {
			dir = "/var/cache/cloudlet/sdk"
		}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Cache{dir: dir, log: log, DebianPackages: "/usr/lib/python3/dist-packages", found: map[string]string{}, err: map[string]error{}}
}

// Dir is the folder of the cache.
func (c *Cache) Dir() string { return c.dir }

// Ensure returns the folder of kit, installing it first if this machine
// does not have it yet. For the Node kits the folder holds node_modules;
// for Python it is a folder to put on sys.path. A failure is remembered
// for the life of the Cache, so a deploy of many functions says it once.
func (c *Cache) Ensure(kit string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.found[kit]; ok {
		return d, nil
	}
	if err, ok := c.err[kit]; ok {
		return "", err
	}
	var d string
	var err error
	switch kit {
	case NodeV3, NodeV2:
		d, err = c.node(kit)
	case Python:
		d, err = c.python()
	default:
		err = fmt.Errorf("no SDK kit %q", kit)
	}
	if err != nil {
		c.err[kit] = err
		return "", err
	}
	c.found[kit] = d
	return d, nil
}

// trusted checks that p is a folder of this process's user that nobody
// else may write: a kit found there runs inside every function.
func trusted(p string) error {
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		return err
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR || int(st.Uid) != os.Geteuid() || st.Mode&0o022 != 0 {
		return fmt.Errorf("%s is not a folder of uid %d that only it may write: not trusted as the SDK cache (remove it, or set CLOUDLET_CACHE_DIR)", p, os.Geteuid())
	}
	return nil
}

// locked runs f holding the cache's lock for name, shared by every process.
func (c *Cache) locked(name string, f func() error) error {
	if c.dir == "" {
		return errors.New("no cache folder: set HOME or CLOUDLET_CACHE_DIR")
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return err
	}
	if err := trusted(c.dir); err != nil {
		return err
	}
	lf, err := os.OpenFile(filepath.Join(c.dir, ".lock-"+name), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lf.Close()
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX); err != nil {
		return err
	}
	defer unix.Flock(int(lf.Fd()), unix.LOCK_UN)
	return f()
}

// install makes final by running fill on a temporary folder beside it and
// renaming that into place, unless final exists already.
func (c *Cache) install(final string, fill func(tmp string) error) error {
	return c.locked(filepath.Base(final), func() error {
		if _, err := os.Stat(final); err == nil {
			return nil
		}
		// What an install killed half-way left (the lock is ours).
		stale, _ := filepath.Glob(filepath.Join(c.dir, ".tmp-"+filepath.Base(final)+"-*"))
		for _, p := range stale {
			os.RemoveAll(p)
		}
		tmp, err := os.MkdirTemp(c.dir, ".tmp-"+filepath.Base(final)+"-")
		if err != nil {
			return err
		}
		os.Chmod(tmp, 0o755)
		if err := fill(tmp); err != nil {
			os.RemoveAll(tmp)
			return err
		}
		// Readable by the instances' user whatever the umask was.
		filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type()&fs.ModeSymlink == 0 {
				if st, err := d.Info(); err == nil {
					mode := st.Mode().Perm() | 0o444
					if d.IsDir() || mode&0o111 != 0 {
						mode |= 0o111
					}
					os.Chmod(p, mode&^0o022)
				}
			}
			return nil
		})
		if err := os.Rename(tmp, final); err != nil {
			os.RemoveAll(tmp)
			return err
		}
		return nil
	})
}

func digest(files ...[]byte) string {
	h := sha256.New()
	for _, f := range files {
		h.Write(f)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// installTimeout bounds one installation.
const installTimeout = 10 * time.Minute

func (c *Cache) node(kit string) (string, error) {
	pkg, _ := manifests.ReadFile(kit + "/package.json")
	lock, _ := manifests.ReadFile(kit + "/package-lock.json")
	final := filepath.Join(c.dir, kit+"-"+digest(pkg, lock))
	if _, err := os.Stat(final); err == nil {
		return final, trustedKit(c.dir, final)
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("cannot install %s into %s: npm is not installed (install Node.js with npm, or bundle the SDK with your functions)", Describe(kit), c.dir)
	}
	c.log.Info("installing "+Describe(kit)+" that Lambda's runtimes ship, once for this machine", "into", final)
	start := time.Now()
	err = c.install(final, func(tmp string) error {
		if err := os.WriteFile(filepath.Join(tmp, "package.json"), pkg, 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(tmp, "package-lock.json"), lock, 0o644); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = tmp
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("npm ci: %v: %s", err, lastLines(out, 5))
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("cannot install %s into %s (%w): check that npm reaches its registry, or bundle the SDK with your functions", Describe(kit), c.dir, err)
	}
	c.log.Info("installed "+Describe(kit), "in", time.Since(start).Round(time.Millisecond))
	return final, nil
}

// pythonPackages are what boto3 needs, as Debian lays them out: Debian's
// botocore imports requests (which it unvendored) and so needs its
// dependencies too.
var pythonPackages = []string{"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py",
	"requests", "idna", "certifi", "charset_normalizer", "chardet"}

// optionalPython are requests' dependencies, of which Debian versions
// have some.
var optionalPython = map[string]bool{"idna": true, "certifi": true, "charset_normalizer": true, "chardet": true}

func (c *Cache) python() (string, error) {
	final := filepath.Join(c.dir, "python-boto3-"+PythonBoto3)
	if _, err := os.Stat(final); err == nil {
		return final, trustedKit(c.dir, final)
	}
	debian := c.debianBoto3()
	if debian != "" {
		if _, err := os.Stat(debian); err == nil {
			return debian, trustedKit(c.dir, debian)
		}
	}
	var pipErr error
	if py, err := exec.LookPath("python3"); err == nil {
		c.log.Info("installing boto3 that Lambda's Python runtimes ship, once for this machine", "into", final)
		pipErr = c.install(final, func(tmp string) error {
			ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input",
				"--retries", "0", "--timeout", "15", "--target", tmp, "boto3=="+PythonBoto3)
			cmd.Env = append(os.Environ(), "PIP_NO_INPUT=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("pip install boto3==%s: %v: %s", PythonBoto3, err, lastLines(out, 3))
			}
			return nil
		})
		if pipErr == nil {
			return final, nil
		}
	} else {
		pipErr = errors.New("python3 is not on PATH")
	}
	if debian == "" {
		return "", fmt.Errorf("cannot provide boto3 (%v; Debian's python3-boto3 is not installed either): install python3-boto3 (apt-get install python3-boto3, as `make deps` does), let pip reach PyPI, or bundle boto3 with your functions", pipErr)
	}
	c.log.Info("PyPI is out of reach; boto3 comes from Debian's python3-boto3", "pip", pipErr)
	err := c.install(debian, func(tmp string) error {
		for _, p := range pythonPackages {
			src := filepath.Join(c.DebianPackages, p)
			if _, err := os.Stat(src); err != nil {
				if optionalPython[p] {
					continue
				}
				return fmt.Errorf("Debian's python3-boto3 lacks %s: %w", p, err)
			}
			if err := os.Symlink(src, filepath.Join(tmp, p)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("cannot provide boto3 from Debian's packages: %w", err)
	}
	return debian, nil
}

// debianBoto3 is the folder for the boto3 that Debian installed, named by
// its version; "" when it is not installed.
func (c *Cache) debianBoto3() string {
	m, _ := filepath.Glob(filepath.Join(c.DebianPackages, "boto3-*.*-info"))
	if len(m) == 0 {
		return ""
	}
	v := strings.TrimPrefix(filepath.Base(m[0]), "boto3-")
	v = strings.TrimSuffix(strings.TrimSuffix(v, ".egg-info"), ".dist-info")
	return filepath.Join(c.dir, "python-debian-boto3-"+v+"-2") // -2: with requests
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// trustedKit checks the cache folder and a kit found in it.
func trustedKit(dir, kit string) error {
	if err := trusted(dir); err != nil {
		return err
	}
	return trusted(kit)
}
