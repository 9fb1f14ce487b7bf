//! Kubernetes API request classification. Being built.
