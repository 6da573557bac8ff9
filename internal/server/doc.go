// Package server assembles Cloudlet: the function registry, the HTTP gateway,
// the AWS API endpoint and the admin endpoints under /_cloudlet/, and owns
// their lifecycle (Start, Ready, Close).
//
// Guarantees:
//   - A deploy is a transaction: the project is loaded, validated and every
//     function prepared before anything changes; a failed deploy leaves the
//     previous version serving and returns an error that names file, line and
//     field where it can.
//   - Deploys are serialised. A successful deploy is recorded durably in the
//     store (internal/store, the data directory's cloudlet.db) before it is
//     acknowledged, and a server started on that data directory deploys it
//     again, so an acknowledged deploy survives kill -9. A data directory
//     from before the store (deployed.json) is moved into it at start.
//   - The functions' resource policies (AddPermission) are in the store
//     before they are acknowledged (a lambda-policies.json from before the
//     store moves into it at start).
//   - Listeners bind to the addresses given (loopback by default); a listener
//     beyond loopback with the default admin credentials is refused.
//   - Addresses with port 0 get a random free port (for tests), reported by
//     GatewayURL and APIURL.
package server
