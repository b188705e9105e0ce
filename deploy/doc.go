// Package deploy holds the recipes for running the examples in production —
// a container image (Dockerfile), a Cloud Run service (cloudrun.yaml) and a
// Kubernetes Deployment (kubernetes.yaml) — and a test that builds a
// binary exactly as the Dockerfile does and checks what the recipes rely on.
package deploy
