// Package readme keeps the README's tutorial true: its test extracts the
// files the tutorial shows into a fresh module that uses this repository
// through a replace directive, as a reader would, and runs their test.
package readme
