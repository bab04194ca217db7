"""Density clustering (hdbscan) of customers, with profiles and stability."""

from segment.cluster._cluster import DEFAULT_FIT_SAMPLE, ClusterResult, cluster, default_min_cluster_size

__all__ = ["DEFAULT_FIT_SAMPLE", "ClusterResult", "cluster", "default_min_cluster_size"]
