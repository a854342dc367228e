// Package drivertest is what the CTI drivers' tests share: a TestMain that
// builds the switchboard binary and fails the run on leaked goroutines
// ([Main]), a recorder of a started driver's events ([Start]), and the
// real binary run under a plugins supervisor ([Supervise]). The scenarios
// themselves stay in each driver's tests, and the ones every driver must
// pass are drivers/conformance.
package drivertest
