// Package watch reports changes to a project's files.
//
// It watches a folder tree (skipping .git, node_modules, __pycache__ and
// Cloudlet's data directory), follows folders created later, and coalesces a
// burst of events into one notification after a quiet period, so that a
// save that touches several files redeploys once.
package watch
