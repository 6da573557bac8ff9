// Package iam holds the principals that may call Cloudlet's AWS APIs and
// their credentials.
//
// Today it knows two kinds of principal: the admin (the credentials the
// operator configured, test/test by default on loopback) and each deployed
// function, which gets its own generated key pair so that function code never
// sees the admin's credentials. Policy evaluation comes later; keys are held
// in memory and reissued on every deploy.
package iam
