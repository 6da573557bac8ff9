// Package e2e holds end-to-end tests that drive a real, in-process Cloudlet
// server with clients nobody here wrote: the AWS SDK for JavaScript v3 (under
// e2e/js, installed by scripts/deps.sh) and the aws CLI v2 (/usr/bin/aws,
// Debian's awscli package).
package e2e
