// Package sdk provides the AWS SDKs that Lambda's runtimes ship, so that a
// handler that requires '@aws-sdk/client-dynamodb' or imports boto3 without
// bundling it runs here as it does on Lambda.
//
// Kits, each pinned to versions recorded in this repository:
//   - node-v3: the AWS SDK for JavaScript v3 clients of every service Cloudlet
//     serves or will serve next (node-v3/package.json and its lock file),
//     for nodejs18.x and later;
//   - node-v2: aws-sdk v2, for nodejs16.x and older, as those runtimes had it;
//   - python: boto3 (and botocore, s3transfer and their dependencies), from
//     PyPI at the version PythonBoto3 pins where pip reaches it, else from
//     Debian's python3-boto3 (what `make deps` installs), whose version is
//     whatever Debian ships.
//
// Each kit is installed once per machine into Cloudlet's cache
// (CLOUDLET_CACHE_DIR, else the user's cache folder + /cloudlet/sdk), into a
// folder named by its kit and a digest of what it pins, under a file lock so
// that concurrent servers install it once, into a temporary folder renamed
// into place when complete: a folder that exists is whole. Installing says
// so in the log first (it takes seconds); when no source can be reached the
// error says what to do, and the caller deploys without the kit (a project
// that bundles its own SDK still works).
//
// Nothing is ever written into the user's project. The sandbox shows a
// kit read-only (package lambda says where), after the function's own code
// on the module path, so a project's own copy wins, as on Lambda.
package sdk
